"""Design-space sweeps: ``cimcost sweep space.yaml --out results.parquet``.

A sweep walks the design points of a :mod:`~cimcost.space` in chunks (~64k points).  Inside a
chunk, points are grouped by structure (options, parameter set and network); each group is
one call of the vectorised kernel :func:`cimcost.estimate.compute` per rule, with every
numeric parameter — including the constants that differ between techfiles and memory cells —
as a numpy array.  There is no Python loop over design points.

Results stream to disk chunk by chunk: ``OUT.parts/chunk-000123.parquet`` (written to
``.tmp``, fsynced, renamed), beside a manifest holding the space hash.  A rerun of the same
command skips every finished chunk; at the end the chunks are joined into ``OUT`` and the
parts folder removed.  Engines: ``local`` (a process pool over the local cores) and ``dask``
(chunks as tasks on a dask cluster, optional extra ``cimcost[dask]``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from .space import TOTALS, Space, load_space

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
    from .estimate import compute

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
        n = len(sel)
        for r, rule in enumerate(space.rules):
            c = compute(net, rule, p, opts)
            tot = c.totals
            for t in TOTALS:
                totals[t][r, sel] = np.broadcast_to(np.asarray(tot[t], dtype=float), (n,))
            books = {"area": c.area, "energy": c.energy, "latency": c.latency_breakdown,
                     "traffic": c.traffic}
            for book, comp in space.shares:
                part = np.broadcast_to(np.asarray(books[book].get(comp, 0.0), dtype=float), (n,))
                whole = totals[book][r, sel]
                shares[(book, comp)][r, sel] = np.divide(part, whole, out=np.zeros(n),
                                                         where=whole != 0)

    cols: Columns = {"rule": np.repeat(np.asarray(space.rule_labels, dtype=str), m)}
    for i, d in enumerate(space.dims):
        cols[d.name] = np.tile(_values(space, i, picks[i]), n_rules)
    for t in TOTALS:
        cols[t] = totals[t].reshape(-1)
    for book, comp in space.shares:
        cols[f"{book}.{comp}_share"] = shares[(book, comp)].reshape(-1)
    if space.constraints:
        keep = np.ones(m * n_rules, dtype=bool)
        for con in space.constraints:
            keep &= con.mask(cols[con.column])
        if not keep.all():
            cols = {k: v[keep] for k, v in cols.items()}
    return cols


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
            import pyarrow.parquet as pq

            table = pa.Table.from_pydict(cols, schema=_schema(space))
            pq.write_table(table, f)
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
    return parts / f"chunk-{k:06d}.{fmt}"


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
        import pyarrow.parquet as pq

        schema = _schema(space)
        with pq.ParquetWriter(tmp, schema) as writer:
            for k in range(space.chunks):
                table = pq.read_table(_chunk_path(parts, k, fmt), schema=schema)
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


def _run_dask(space: Space, todo: list[int], scheduler: str | None,
              retries: int) -> Iterator[tuple[int, Columns | None]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
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
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _progress(total: int, done: int, show: bool) -> Iterator[Callable[[int], None]]:
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

    progress = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("points"), TextColumn("{task.fields[rate]}"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=Console(stderr=True))
    start = time.perf_counter()
    counted = [0]
    with progress:
        task = progress.add_task("sweep", total=total, completed=done, rate="")

        def advance(n: int) -> None:
            counted[0] += n
            rate = counted[0] / max(time.perf_counter() - start, 1e-9)
            progress.update(task, advance=n, rate=f"{rate:,.0f} pts/s")

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
    points_run = 0
    in_memory: dict[int, Columns] = {}
    start = time.perf_counter()
    if engine == "dask":
        stream = _run_dask(sp, todo, scheduler, retries)
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
    if not args.quiet:
        print(msg, file=sys.stderr)
    return 0
