"""Design-space sweeps: ``cimcost sweep space.yaml --out results.parquet``.

A sweep walks the design points of a :mod:`~cimcost.space` in chunks (~64k points).  Inside a
chunk, points are grouped by structure (options, parameter set and network); each group is
one call of the vectorised kernel :func:`cimcost.estimate.compute` per rule, with every
numeric parameter — including the constants that differ between techfiles and memory cells —
as a numpy array.  There is no Python loop over design points.

Results stream to disk chunk by chunk: ``OUT.parts/chunk-000123.arrow`` (written to
``.tmp``, fsynced, renamed), beside a manifest holding the space hash.  A rerun of the same
command skips every finished chunk; at the end the chunks are joined into ``OUT`` and the
parts folder removed.  Engines: ``local`` (a process pool over the local cores) and ``dask``
(chunks as tasks on a dask cluster, optional extra ``cimcost[dask]``).

With an ``accuracy`` section, every distinct training configuration (rule, network and the
dimensions :mod:`cimcost.training` reads) is trained once before the chunks run — in parallel,
on the same engine — and cached in ``OUT.accuracy/<key>.json``; chunks look the accuracy up.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .space import DEFAULT_TRAIN_BATCH, TOTALS, Space, load_space

Columns = dict[str, np.ndarray]
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


# ---------------------------------------------------------------------------- evaluation


def _choices(space: Space, k: int) -> tuple[int, list[np.ndarray]]:
    """Per dimension, the value index (discrete) or the value (sampled distribution) of
    every design point of chunk ``k``."""
    start, stop = space.chunk_bounds(k)
    m = stop - start
    out: list[np.ndarray] = []
    if space.sample is not None:
        rng = np.random.default_rng([space.seed, k])
        for d in space.dims:
            if d.values is not None:
                out.append(rng.integers(0, d.size, m))
            else:
                assert d.dist is not None
                kind, lo, hi = d.dist
                if kind == "uniform":
                    out.append(rng.uniform(lo, hi, m))
                else:
                    out.append(np.exp(rng.uniform(np.log(lo), np.log(hi), m)))
        return m, out
    idx = np.arange(start, stop, dtype=np.int64)
    for d, stride in zip(space.dims, space.strides(), strict=True):
        out.append((idx // stride) % d.size)
    return m, out


def _values(space: Space, dim_i: int, picks: np.ndarray) -> np.ndarray:
    d = space.dims[dim_i]
    if d.values is None:
        return picks
    return d.array()[picks]


def evaluate_chunk(space: Space, k: int) -> Columns:
    """Every row of chunk ``k`` (rule-major: all points for the first rule, then the next),
    constraints applied.  Deterministic: the same space and ``k`` give the same columns."""
    from .estimate import KERNEL_BLOCK, compute, tune_allocator

    tune_allocator()
    m, picks = _choices(space, k)
    struct = [i for i, d in enumerate(space.dims) if d.kind in ("config", "network")]
    numeric = [i for i, d in enumerate(space.dims) if d.kind == "numeric"]
    # one integer code per distinct structure in the chunk
    code = np.zeros(m, dtype=np.int64)
    for i in struct:
        code = code * space.dims[i].size + picks[i]
    uniq, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)  # first: a point of each distinct structure
    # merge structures that share options, parameter names and network: their differences are
    # numbers (techfile and memory constants), which go into the kernel as arrays
    groups: dict[Any, list[int]] = {}
    combos: list[tuple[dict[str, Any], Any, Any]] = []
    for u in range(len(uniq)):
        p0 = int(first[u])
        cfg_choice = {space.dims[i].name: space.dims[i].values[picks[i][p0]]  # type: ignore[index]
                      for i in struct if space.dims[i].kind == "config"}
        net_choice = {space.dims[i].name: space.dims[i].values[picks[i][p0]]  # type: ignore[index]
                      for i in struct if space.dims[i].kind == "network"}
        params, opts = space.config_for(cfg_choice)
        net = space.network_for(net_choice)
        combos.append((params, opts, net))
        key = (tuple(sorted(params)), repr(opts), id(net))
        groups.setdefault(key, []).append(u)

    n_rules = len(space.rules)
    totals = {t: np.empty((n_rules, m)) for t in TOTALS}
    shares = {s: np.empty((n_rules, m)) for s in space.shares}
    for members in groups.values():
        if len(members) == len(uniq):
            sel = np.arange(m)
            local = inverse
        else:
            mask = np.isin(inverse, members)
            sel = np.nonzero(mask)[0]
            remap = np.full(len(uniq), -1, dtype=np.int64)
            remap[members] = np.arange(len(members))
            local = remap[inverse[sel]]
        params0, opts, net = combos[members[0]]
        p: dict[str, Any] = {}
        for pname in params0:
            vals = [combos[u][0][pname] for u in members]
            if all(v == vals[0] for v in vals):
                p[pname] = vals[0]
            else:
                p[pname] = np.asarray(vals, dtype=float)[local]
        for i in numeric:
            p[space.dims[i].name] = np.asarray(_values(space, i, picks[i][sel]), dtype=float)
        for start in range(0, len(sel), KERNEL_BLOCK):
            # the kernel runs fastest on blocks whose temporaries stay in cache
            block = slice(start, start + KERNEL_BLOCK)
            rows = sel[block]
            n = len(rows)
            pb = {k: (v[block] if isinstance(v, np.ndarray) and v.ndim == 1 else v)
                  for k, v in p.items()}
            for r, rule in enumerate(space.rules):
                c = compute(net, rule, pb, opts)
                tot = c.totals
                for t in TOTALS:
                    totals[t][r, rows] = np.broadcast_to(np.asarray(tot[t], dtype=float), (n,))
                books = {"area": c.area, "energy": c.energy, "latency": c.latency_breakdown,
                         "traffic": c.traffic}
                for book, comp in space.shares:
                    part = np.broadcast_to(np.asarray(books[book].get(comp, 0.0), dtype=float),
                                           (n,))
                    whole = totals[book][r, rows]
                    shares[(book, comp)][r, rows] = np.divide(part, whole, out=np.zeros(n),
                                                              where=whole != 0)

    cols: Columns = {"rule": np.repeat(np.asarray(space.rule_labels, dtype=str), m)}
    for i, d in enumerate(space.dims):
        cols[d.name] = np.tile(_values(space, i, picks[i]), n_rules)
    for t in TOTALS:
        cols[t] = totals[t].reshape(-1)
    if space.accuracy is not None:
        cols["accuracy"] = _accuracy_rows(space, picks, m).reshape(-1)
    for book, comp in space.shares:
        cols[f"{book}.{comp}_share"] = shares[(book, comp)].reshape(-1)
    if space.constraints:
        keep = np.ones(m * n_rules, dtype=bool)
        for con in space.constraints:
            keep &= con.mask(cols[con.column])
        if not keep.all():
            cols = {k: v[keep] for k, v in cols.items()}
    return cols


def _combo(space: Space, dims: list[int], row: Any) -> tuple[Any, ...]:
    """A training combination: per training dimension the value index (discrete) or value."""
    return tuple(int(v) if space.dims[i].values is not None else float(v)
                 for i, v in zip(dims, row, strict=True))


def _accuracy_rows(space: Space, picks: list[np.ndarray], m: int) -> np.ndarray:
    """(rules, m): the cached accuracy of every point's training combination."""
    table = space.accuracy_table
    if table is None:
        raise RuntimeError("the accuracy table is missing: sweep() trains before evaluating chunks")
    dims = space.accuracy_dims()
    if not dims:
        return np.repeat(table[()][:, None], m, axis=1)
    mat = np.column_stack([np.asarray(picks[i], dtype=float) for i in dims])
    uniq, inverse = np.unique(mat, axis=0, return_inverse=True)
    vals = np.stack([table[_combo(space, dims, row)] for row in uniq], axis=1)
    result: np.ndarray = vals[:, inverse.reshape(-1)]
    return result


def _concat(parts: list[Columns], space: Space) -> Columns:
    names = [c for c, _ in space.columns()]
    if not parts:
        return _empty(space)
    return {n: np.concatenate([p[n] for p in parts]) for n in names}


def _empty(space: Space) -> Columns:
    kinds = {"str": str, "int": np.int64, "float": float}
    return {n: np.empty(0, dtype=kinds[t]) for n, t in space.columns()}


# ---------------------------------------------------------------------------- files


def _need_pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise InputError("writing or reading Parquet needs pyarrow, which is not installed",
                         field="--out", expected="pip install 'cimcost[parquet]', or an --out "
                         "file ending in .csv") from None
    return pyarrow


def _schema(space: Space) -> Any:
    pa = _need_pyarrow()
    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
    meta = {b"cimcost.space_hash": space.hash.encode(), b"cimcost.space": space.file.encode()}
    return pa.schema([(n, types[t]) for n, t in space.columns()], metadata=meta)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_chunk(cols: Columns, path: Path, fmt: str, space: Space) -> None:
    """Write atomically: ``path.tmp``, fsync, rename.  A crash leaves no file named ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        if fmt == "parquet":
            import pyarrow as pa

            table = pa.Table.from_pydict(cols, schema=_schema(space))
            with pa.ipc.new_file(f, table.schema) as ipc:
                ipc.write_table(table)
        else:
            f.write(_csv_bytes(cols, space))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _csv_bytes(cols: Columns, space: Space, header: bool = False) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = [c for c, _ in space.columns()]
    if header:
        w.writerow(names)
    lists = [cols[n].tolist() for n in names]  # Python floats: repr round-trips exactly
    w.writerows(zip(*lists, strict=True))
    return buf.getvalue().encode()


def _chunk_path(parts: Path, k: int, fmt: str) -> Path:
    # Parquet output is staged as uncompressed Arrow IPC chunks: encoding happens once, when
    # the chunks are joined, instead of twice
    return parts / f"chunk-{k:06d}.{'arrow' if fmt == 'parquet' else fmt}"


def _prepare_parts(out: Path, space: Space, fmt: str, fresh: bool) -> tuple[Path, int]:
    """The parts folder, emptied unless it holds chunks of this very space; returns it and the
    number of chunks already finished."""
    parts = out.with_name(out.name + ".parts")
    manifest = parts / "manifest.json"
    want = {"space_hash": space.hash, "format": fmt, "chunks": space.chunks,
            "chunk_size": space.chunk_size, "points": space.points, "rules": space.rule_labels,
            "columns": [c for c, _ in space.columns()], "space": space.file}
    if parts.exists():
        ok = False
        if not fresh and manifest.is_file():
            try:
                have = json.loads(manifest.read_text())
                ok = have.get("space_hash") == space.hash and have.get("format") == fmt
            except (OSError, ValueError):
                ok = False
        if not ok:
            for f in parts.iterdir():
                if f.name == "manifest.json" or f.name.startswith("chunk-"):
                    f.unlink()
        for f in parts.glob("chunk-*.tmp"):  # half-written chunks of an interrupted run
            f.unlink()
    parts.mkdir(parents=True, exist_ok=True)
    if not manifest.is_file():
        tmp = parts / "manifest.json.tmp"
        tmp.write_text(json.dumps(want, indent=1))
        os.replace(tmp, manifest)
        _fsync_dir(parts)
    done = sum(1 for k in range(space.chunks) if _chunk_path(parts, k, fmt).exists())
    return parts, done


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``OUT.lock`` so two sweeps never write the same output."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    lock = out.with_name(out.name + ".lock")
    with open(lock, "w") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"another cimcost sweep is writing '{out}'", field="--out",
                             expected="one sweep per output file") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                lock.unlink()


def _assemble(out: Path, parts: Path, space: Space, fmt: str) -> int:
    """Join finished chunks, in order, into ``out`` (atomically); returns the row count."""
    tmp = out.with_name(out.name + ".tmp")
    rows = 0
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = _schema(space)
        with pq.ParquetWriter(tmp, schema) as writer:
            for k in range(space.chunks):
                with pa.memory_map(str(_chunk_path(parts, k, fmt))) as src:
                    table = pa.ipc.open_file(src).read_all()
                rows += table.num_rows
                if table.num_rows:
                    writer.write_table(table)
    else:
        with open(tmp, "wb") as f:
            f.write(_csv_bytes(_empty(space), space, header=True))
            for k in range(space.chunks):
                with open(_chunk_path(parts, k, fmt), "rb") as src:
                    data = src.read()
                rows += data.count(b"\n")
                f.write(data)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    _fsync_dir(out.parent)
    shutil.rmtree(parts)
    return rows


# ---------------------------------------------------------------------------- accuracy


@dataclass(frozen=True)
class TrainJob:
    """One training run: everything that decides its result (and nothing else)."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    rule: str
    trained: tuple[bool, ...]
    hw: Any  # cimcost.training.Hardware
    options: Any  # cimcost.training.Options
    dataset: str
    data: str | None
    seed: int
    limit: int | None
    stamp: str

    @functools.cached_property
    def key(self) -> str:
        doc = dataclasses.asdict(self)
        doc["code"] = _training_code_hash()
        text = json.dumps(doc, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def describe(self) -> dict[str, Any]:
        return {"rule": self.rule, "sizes": list(self.sizes), "dataset": self.dataset,
                "hardware": self.hw.to_dict(), "epochs": self.options.epochs,
                "batch_size": self.options.batch_size, "seed": self.seed, "limit": self.limit,
                "feedback": self.options.feedback}


@functools.lru_cache(maxsize=1)
def _training_code_hash() -> str:
    """The training engine's source: cached accuracies of an older engine are not reused."""
    root = Path(__file__).resolve().parent / "training"
    h = hashlib.sha256()
    for f in sorted(root.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@dataclass
class AccuracyStats:
    combinations: int = 0  # distinct training combinations in the space (per rule)
    trainings: int = 0  # distinct training runs they need
    run: int = 0  # trained by this call
    cached: int = 0  # found in OUT.accuracy/
    seconds: float = 0.0


def _training_combos(space: Space) -> list[tuple[Any, ...]]:
    """Every distinct training combination that occurs in the space."""
    spec = space.accuracy
    assert spec is not None
    dims = space.accuracy_dims()
    limit = max(1, spec.max_trainings // len(space.rules))

    def too_many(n: str) -> InputError:
        names = ", ".join(["rule"] + [space.dims[i].name for i in dims])
        return InputError(f"the accuracy column needs {n} trainings (distinct combinations of "
                          f"{names}), more than accuracy.max_trainings = {spec.max_trainings}",
                          file=space.file, field="accuracy.max_trainings",
                          expected="fewer values of the training parameters, or a larger "
                          "accuracy.max_trainings")

    if space.sample is None:
        n = math.prod(space.dims[i].size for i in dims)
        if n > limit:
            raise too_many(f"{n * len(space.rules):,}")
        return [tuple(c) for c in itertools.product(*(range(space.dims[i].size) for i in dims))]
    seen: dict[tuple[Any, ...], None] = {}
    for k in range(space.chunks):
        _, picks = _choices(space, k)
        if not dims:
            return [()]
        mat = np.unique(np.column_stack([np.asarray(picks[i], dtype=float) for i in dims]), axis=0)
        for row in mat:
            seen[_combo(space, dims, row)] = None
        if len(seen) > limit:
            raise too_many(f"more than {limit * len(space.rules):,}")
    return list(seen)


def _training_jobs(space: Space, combos: list[tuple[Any, ...]]) -> list[list[TrainJob]]:
    """Per combination, the training run of every rule."""
    from .training.engine import Options, resolve_rule
    from .training.hardware import Hardware

    spec = space.accuracy
    assert spec is not None
    dims = space.accuracy_dims()
    hw_cache: dict[Any, tuple[Any, str, int]] = {}
    out = []
    for combo in combos:
        values: dict[str, Any] = {}
        for i, c in zip(dims, combo, strict=True):
            d = space.dims[i]
            values[d.name] = d.values[c] if d.values is not None else c
        net_choice = {k: v for k, v in values.items()
                      if space.dim(k).kind == "network"}
        cfg_values = {k: v for k, v in values.items() if k not in net_choice}
        net = space.network_for(net_choice)
        ckey = tuple(sorted((k, str(v)) for k, v in cfg_values.items()))
        if ckey not in hw_cache:
            cfg = space.training_config(cfg_values)
            batch = spec.batch_size or int(cfg_values.get("training.batch_size", DEFAULT_TRAIN_BATCH))
            hw_cache[ckey] = (Hardware.from_config(cfg), str(cfg.floorplan.training.feedback_matrix),
                              batch)
        hw, feedback, batch = hw_cache[ckey]
        sizes = (net.input_features, *(ly.out_features for ly in net.layers))
        jobs = []
        for rule in space.rules:
            name, trained = resolve_rule(rule, net.depth)
            # fields a rule never reads do not make another training
            rule_hw = hw if name == "bp" else dataclasses.replace(
                hw, transposed_adc_bits=None, transposed_adc_rows=None)
            opts = Options(epochs=spec.epochs, batch_size=batch, seed=spec.seed,
                           feedback=feedback if name in ("dfa", "sdfa", "drtp") else "sliced")
            jobs.append(TrainJob(sizes, tuple(ly.activation for ly in net.layers), name,
                                 tuple(trained), rule_hw, opts, spec.dataset, spec.data, spec.seed,
                                 spec.limit, spec.stamp))
        out.append(jobs)
    return out


_DATA: dict[tuple[Any, ...], Any] = {}  # per process: the last data set loaded


def _job_data(job: TrainJob) -> Any:
    from .training.data import load_dataset

    key = (job.dataset, job.data, job.seed, job.limit)
    if key not in _DATA:
        _DATA.clear()
        data = load_dataset(job.dataset, job.data, seed=job.seed)
        _DATA[key] = data.subset(train=job.limit) if job.limit else data
    return _DATA[key]


def train_job(job: TrainJob, data: Any = None) -> tuple[str, dict[str, Any]]:
    """Run one training (``data``: the loaded data set, else loaded here and kept per process)."""
    from .training.engine import final_accuracy

    start = time.perf_counter()
    # final_accuracy pins one BLAS thread, so every engine gives the same accuracies
    acc, history = final_accuracy(job.sizes, job.activations, job.rule,
                                  _job_data(job) if data is None else data, job.hw,
                                  job.options, job.trained)
    return job.key, {"accuracy": acc, "history": [h.to_dict() for h in history],
                     "seconds": time.perf_counter() - start}


def _read_cached(path: Path) -> float | None:
    try:
        rec = json.loads(path.read_text())
        return float(rec["accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_cached(path: Path, job: TrainJob, result: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    rec = {"key": job.key, **result, "job": job.describe()}
    with open(tmp, "w") as f:
        json.dump(rec, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _run_trainings(jobs: list[TrainJob], engine: str, workers: int, client: Any,
                   retries: int) -> Iterator[tuple[str, dict[str, Any]]]:
    if engine == "dask":
        from dask.distributed import as_completed

        data = client.scatter(_job_data(jobs[0]), broadcast=True)
        _DATA.clear()  # the workers hold it now
        futs = [client.submit(train_job, job, data, retries=retries, pure=False,
                              key=f"cimcost-train-{job.key}") for job in jobs]
        for fut in as_completed(futs):
            yield fut.result()
            fut.release()
        return
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield train_job(job)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import as_completed as done

    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as pool:
        futures = [pool.submit(train_job, job) for job in jobs]
        try:
            for fut in done(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def prepare_accuracy(space: Space, cache: Path | None = None, *, engine: str = "local",
                     workers: int = 1, client: Any = None, retries: int = 3,
                     progress: bool = False) -> AccuracyStats:
    """Train every distinct training configuration of ``space`` not found in the ``cache``
    folder (each result is stored there as it finishes) and fill ``space.accuracy_table``."""
    stats = AccuracyStats()
    if space.accuracy is None:
        return stats
    start = time.perf_counter()
    combos = _training_combos(space)
    jobs = _training_jobs(space, combos)
    unique: dict[str, TrainJob] = {}
    for row in jobs:
        for job in row:
            unique.setdefault(job.key, job)
    results: dict[str, float] = {}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for key in unique:
            acc = _read_cached(cache / f"{key}.json")
            if acc is not None:
                results[key] = acc
    missing = [job for key, job in unique.items() if key not in results]
    stats.combinations, stats.trainings = len(combos), len(unique)
    stats.cached = len(unique) - len(missing)
    if missing:
        with _progress(len(unique), stats.cached, progress, "train", "trainings") as advance:
            stream = _run_trainings(missing, engine, workers, client, retries)
            try:
                for key, result in stream:
                    results[key] = float(result["accuracy"])
                    if cache is not None:
                        _store_cached(cache / f"{key}.json", unique[key], result)
                    stats.run += 1
                    advance(1)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
    space.accuracy_table = {combo: np.array([results[job.key] for job in row])
                            for combo, row in zip(combos, jobs, strict=True)}
    stats.seconds = time.perf_counter() - start
    return stats


# ---------------------------------------------------------------------------- engines

_WORKER: dict[str, Any] = {}  # per worker process: the space and where chunks go, sent once


def _init_worker(space: Space, parts: Path | None, fmt: str) -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    _WORKER.update(space=space, parts=parts, fmt=fmt)


def _pool_task(k: int) -> tuple[int, Columns | None]:
    """Evaluate chunk ``k``; with an output file the worker stores the chunk itself (the
    writes run in parallel) and returns no columns."""
    space: Space = _WORKER["space"]
    cols = evaluate_chunk(space, k)
    if _WORKER["parts"] is None:
        return k, cols
    _write_chunk(cols, _chunk_path(_WORKER["parts"], k, _WORKER["fmt"]), _WORKER["fmt"], space)
    return k, None


def _dask_task(space: Space, k: int) -> tuple[int, Columns]:
    return k, evaluate_chunk(space, k)


def _run_serial(space: Space, todo: list[int]) -> Iterator[tuple[int, Columns | None]]:
    for k in todo:
        yield k, evaluate_chunk(space, k)


def _run_pool(space: Space, todo: list[int], workers: int, parts: Path | None,
              fmt: str) -> Iterator[tuple[int, Columns | None]]:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    # forkserver: safe with the progress bar's thread; workers import cimcost once
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(space, parts, fmt))
    pending: set[Future[tuple[int, Columns | None]]] = set()
    queue = list(reversed(todo))
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # bounded: memory stays flat
                pending.add(pool.submit(_pool_task, queue.pop()))
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                yield fut.result()
    finally:
        pool.shutdown(wait=not pending, cancel_futures=True)


@contextlib.contextmanager
def _dask_client(scheduler: str | None) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("the dask engine needs dask.distributed, which is not installed",
                         field="--engine", expected="pip install 'cimcost[dask]', or --engine "
                         "local") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                               processes=True)
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_dask(client: Any, space: Space, todo: list[int],
              retries: int) -> Iterator[tuple[int, Columns | None]]:
    from dask.distributed import as_completed

    remote = client.scatter(space, broadcast=True)
    window = max(4, 2 * sum(client.nthreads().values()))
    queue = list(reversed(todo))
    ac = as_completed()
    pending = 0

    def submit() -> None:
        nonlocal pending
        k = queue.pop()
        ac.add(client.submit(_dask_task, remote, k, retries=retries, pure=False,
                             key=f"cimcost-chunk-{space.hash}-{k}"))
        pending += 1

    while queue and pending < window:
        submit()
    for fut in ac:
        k, cols = fut.result()
        pending -= 1
        fut.release()
        if queue:
            submit()
        yield k, cols


@contextlib.contextmanager
def _progress(total: int, done: int, show: bool, label: str = "sweep",
              unit: str = "points") -> Iterator[Callable[[int], None]]:
    """A rich progress bar (design points, points/s, ETA) on a terminal; silent otherwise."""
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        TextColumn(unit), TextColumn("{task.fields[rate]}"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=Console(stderr=True))
    start = time.perf_counter()
    counted = [0]
    with progress:
        task = progress.add_task(label, total=total, completed=done, rate="")

        def advance(n: int) -> None:
            counted[0] += n
            rate = counted[0] / max(time.perf_counter() - start, 1e-9)
            progress.update(task, advance=n, rate=f"{rate:,.0f} pts/s" if unit == "points"
                            else f"{rate:,.2f} {unit}/s")

        yield advance


# ---------------------------------------------------------------------------- API


@dataclass
class SweepResult:
    """What :func:`sweep` did.  ``table`` is the result table (dict of numpy columns): held in
    memory when no output file was given, else read back from ``path`` on first access.
    ``points`` counts the design points evaluated by this call (not those resumed)."""

    space: Space
    path: Path | None
    rows: int
    points: int
    seconds: float
    chunks_run: int
    chunks_skipped: int
    _table: Columns | None = field(default=None, repr=False)
    accuracy: AccuracyStats | None = None  # trainings needed, run and reused (accuracy spaces)

    @property
    def points_per_second(self) -> float:
        return self.points * len(self.space.rules) / max(self.seconds, 1e-12)

    @property
    def table(self) -> Columns:
        if self._table is None:
            assert self.path is not None
            self._table = read_table(self.path)
        return self._table


def read_table(path: str | Path) -> Columns:
    """A sweep result file (Parquet or CSV) as a dict of numpy columns."""
    from .pareto import iter_batches

    parts = list(iter_batches(path))
    if not parts:
        return {}
    return {n: np.concatenate([p[n] for p in parts]) for n in parts[0]}


def sweep(
    space: str | Path | dict[str, Any] | Space,
    out: str | Path | None = None,
    *,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    retries: int = 3,
    fresh: bool = False,
    progress: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> SweepResult:
    """Evaluate every design point of ``space`` under every rule it names.

    ``space`` is a space YAML file, the same as a mapping, or a loaded :class:`Space`.  With
    ``out`` (``.parquet`` or ``.csv``) rows stream to disk chunk by chunk and an interrupted
    sweep resumes where it stopped; without it the table is returned in memory
    (``result.table``).  ``engine`` is ``"local"`` (``workers`` processes, default: all cores)
    or ``"dask"`` (``scheduler`` address, default: a 2-worker LocalCluster).  ``on_chunk(k)``
    is called after chunk ``k`` is safely stored."""
    sp = space if isinstance(space, Space) else load_space(space, chunk_size)
    lock = _locked(Path(out)) if out is not None else contextlib.nullcontext()
    with lock:
        return _sweep(sp, out, engine, workers, scheduler, retries, fresh, progress, on_chunk)


def _sweep(sp: Space, out: str | Path | None, engine: str, workers: int | None,
           scheduler: str | None, retries: int, fresh: bool, progress: bool,
           on_chunk: Callable[[int], None] | None) -> SweepResult:
    if engine not in ("local", "dask"):
        raise InputError(f"unknown engine '{engine}'", field="--engine", expected="local or dask")
    if scheduler and engine != "dask":
        raise InputError("--scheduler needs --engine dask", field="--scheduler")
    out_path = Path(out) if out is not None else None
    fmt = ""
    parts: Path | None = None
    if out_path is not None:
        fmt = FORMATS.get(out_path.suffix.lower(), "")
        if not fmt:
            raise InputError(f"cannot tell the format of '{out_path}'", field="--out",
                             expected="a file ending in .parquet or .csv")
        if fmt == "parquet":
            _need_pyarrow()
        if not out_path.parent.is_dir():
            raise InputError(f"folder '{out_path.parent}' does not exist", field="--out")
        parts, _ = _prepare_parts(out_path, sp, fmt, fresh)
        todo = [k for k in range(sp.chunks) if not _chunk_path(parts, k, fmt).exists()]
    else:
        todo = list(range(sp.chunks))
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers < 1:
        raise InputError(f"--workers is {n_workers}", field="--workers", expected="at least 1")
    todo_set = set(todo)
    points_done = sum(sp.chunk_bounds(k)[1] - sp.chunk_bounds(k)[0] for k in range(sp.chunks)
                      if k not in todo_set)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(_dask_client(scheduler)) if engine == "dask" else None
        acc_stats = None
        if sp.accuracy is not None and todo:
            cache = out_path.with_name(out_path.name + ".accuracy") if out_path else None
            acc_stats = prepare_accuracy(sp, cache, engine=engine, workers=n_workers,
                                         client=client, retries=retries, progress=progress)
        res = _evaluate(sp, todo, engine, n_workers, client, retries, parts, fmt, out_path,
                        progress, on_chunk, points_done)
    res.accuracy = acc_stats
    return res


def _evaluate(sp: Space, todo: list[int], engine: str, n_workers: int, client: Any, retries: int,
              parts: Path | None, fmt: str, out_path: Path | None, progress: bool,
              on_chunk: Callable[[int], None] | None, points_done: int) -> SweepResult:
    points_run = 0
    in_memory: dict[int, Columns] = {}
    start = time.perf_counter()
    stream: Iterator[tuple[int, Columns | None]]
    if engine == "dask":
        stream = _run_dask(client, sp, todo, retries)
    elif n_workers > 1 and len(todo) > 1:
        stream = _run_pool(sp, todo, min(n_workers, len(todo)), parts, fmt)
    else:
        stream = _run_serial(sp, todo)
    with _progress(sp.points, int(points_done), progress) as advance:
        try:
            for k, cols in stream:
                if parts is None:
                    assert cols is not None
                    in_memory[k] = cols
                elif cols is not None:  # else a pool worker has stored it
                    _write_chunk(cols, _chunk_path(parts, k, fmt), fmt, sp)
                a, b = sp.chunk_bounds(k)
                points_run += b - a
                advance(b - a)
                if on_chunk is not None:
                    on_chunk(k)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    seconds = time.perf_counter() - start
    if out_path is not None:
        assert parts is not None
        rows = _assemble(out_path, parts, sp, fmt)
        return SweepResult(sp, out_path, rows, points_run, seconds, len(todo), sp.chunks - len(todo))
    table = _concat([in_memory[k] for k in sorted(in_memory)], sp)
    return SweepResult(sp, None, len(table["rule"]), points_run, seconds, len(todo), 0, table)


# ---------------------------------------------------------------------------- CLI


def register(sub: Any) -> None:
    p = sub.add_parser("sweep", help="evaluate a design space (millions of points) to a table",
                       description="Evaluate every design point of a space file under every "
                       "rule it names; write one row per (point, rule).  Rerun the same command "
                       "to resume an interrupted sweep.")
    p.add_argument("space", help="space YAML file (see docs/sweeps.md, examples/spaces/)")
    p.add_argument("--out", required=True, help="result file: .parquet (needs cimcost[parquet]) "
                   "or .csv")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local: a process pool on this machine (default); dask: a dask cluster")
    p.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://HOST:8786 (default: a "
                   "2-worker LocalCluster)")
    p.add_argument("--workers", type=int, help="local engine: processes (default: all cores)")
    p.add_argument("--chunk-size", type=int, help="design points per chunk (default 65536)")
    p.add_argument("--retries", type=int, default=3, help="dask: retries of a failed chunk")
    p.add_argument("--fresh", action="store_true", help="discard finished chunks of an earlier run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    show = not args.quiet and sys.stderr.isatty()
    res = sweep(args.space, args.out, engine=args.engine, workers=args.workers,
                scheduler=args.scheduler, chunk_size=args.chunk_size, retries=args.retries,
                fresh=args.fresh, progress=show)
    sp = res.space
    msg = (f"{res.rows} rows ({sp.points} points x {len(sp.rules)} rules"
           + (f", {sp.points * len(sp.rules) - res.rows} cut by constraints" if sp.constraints
              else "") + f") -> {res.path}")
    if res.chunks_skipped:
        msg += f"; resumed: {res.chunks_skipped} of {sp.chunks} chunks were already done"
    if res.chunks_run:
        msg += f"; {res.seconds:.1f} s, {res.points_per_second:,.0f} evaluations/s"
    if res.accuracy is not None:
        a = res.accuracy
        msg += (f"; accuracy: {a.trainings} trainings ({a.run} run, {a.cached} reused from "
                f"{res.path}.accuracy/), {a.seconds:.1f} s")
    if not args.quiet:
        print(msg, file=sys.stderr)
    return 0
