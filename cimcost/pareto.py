"""Pareto fronts of sweep results: ``cimcost pareto results.parquet --minimize area,latency``.

A row is on the front when no other row is at least as good in every objective and strictly
better in one (rows with identical objectives are all kept).

* two objectives: sort by the first (ties by the second) and keep the rows that beat the
  running minimum of the second — O(n log n), two ``argsort`` calls;
* three or four: drop the rows dominated by a few pivot rows (vectorised), sort the rest
  lexicographically (a row can then only be dominated by an earlier one) and run a block
  nested loop against the growing front;
* files larger than memory: read in batches, keep each batch's front, and merge fronts as
  they come (the front of the union is the front of the union of fronts).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

Columns = dict[str, np.ndarray]
UNITS = {"area": ("mm²", 1e-6), "energy": ("J", 1.0), "latency": ("s", 1.0), "traffic": ("B", 1.0)}
BATCH_ROWS = 1 << 20


# ---------------------------------------------------------------------------- algorithms


def _lexorder(v: np.ndarray) -> np.ndarray:
    """Lexicographic order of the rows of ``v`` by successive stable argsorts (no lexsort)."""
    order = np.argsort(v[:, -1], kind="stable")
    for j in range(v.shape[1] - 2, -1, -1):
        order = order[np.argsort(v[order, j], kind="stable")]
    return order


def _front2(v: np.ndarray) -> np.ndarray:
    order = _lexorder(v)
    x, y = v[order, 0], v[order, 1]
    n = len(order)
    head = np.ones(n, dtype=bool)  # first of a run of identical points
    head[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])
    hy = y[head]
    best_before = np.empty(len(hy))
    best_before[0] = np.inf
    if len(hy) > 1:
        best_before[1:] = np.minimum.accumulate(hy)[:-1]
    keep_head = hy < best_before
    run = np.cumsum(head) - 1
    return np.sort(order[keep_head[run]])


def _dominated_by(cands: np.ndarray, front: np.ndarray, block: int = 4096) -> np.ndarray:
    """For each candidate row: is some row of ``front`` at least as good everywhere and
    strictly better somewhere?"""
    out = np.zeros(len(cands), dtype=bool)
    for s in range(0, len(front), block):
        f = front[s:s + block][None, :, :]
        c = cands[:, None, :]
        out |= (np.all(f <= c, axis=2) & np.any(f < c, axis=2)).any(axis=1)
    return out


def _frontk(v: np.ndarray, block: int = 256) -> np.ndarray:
    n, k = v.shape
    # pre-filter: rows dominated by a few good pivots (the best of each objective and of the
    # normalised sum) cannot be on the front
    span = np.ptp(v, axis=0)
    span[span == 0] = 1.0
    score = ((v - v.min(axis=0)) / span).sum(axis=1)
    pivots = {int(np.argmin(score))} | {int(np.argmin(v[:, j])) for j in range(k)}
    piv = v[sorted(pivots)]
    dead = np.zeros(n, dtype=bool)
    for s in range(0, n, 1 << 16):
        dead[s:s + (1 << 16)] = _dominated_by(v[s:s + (1 << 16)], piv)
    alive = np.nonzero(~dead)[0]
    order = alive[_lexorder(v[alive])]
    front: list[int] = []
    front_v = np.empty((0, k))
    for s in range(0, len(order), block):
        idx = order[s:s + block]
        c = v[idx]
        ok = ~_dominated_by(c, front_v) if len(front_v) else np.ones(len(idx), dtype=bool)
        idx, c = idx[ok], c[ok]
        if len(idx) > 1:
            ok = ~_dominated_by(c, c)
            idx, c = idx[ok], c[ok]
        front.extend(idx.tolist())
        front_v = np.concatenate([front_v, c])
    return np.sort(np.asarray(front, dtype=np.int64))


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the non-dominated rows of ``values`` (n x k, all minimised).
    Rows with a NaN are never on the front."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 2 or v.shape[1] < 1:
        raise ValueError("values must be an n x k array")
    finite = ~np.isnan(v).any(axis=1)
    idx = np.nonzero(finite)[0]
    v = v[idx]
    if len(v) == 0:
        return idx
    if v.shape[1] == 1:
        return idx[v[:, 0] == v[:, 0].min()]
    if v.shape[1] == 2:
        return idx[_front2(v)]
    return idx[_frontk(v)]


# ---------------------------------------------------------------------------- files


def iter_batches(path: str | Path, columns: Sequence[str] | None = None,
                 batch_rows: int = BATCH_ROWS) -> Iterator[Columns]:
    """A sweep result file (Parquet or CSV) in batches of numpy columns: bounded memory."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError("reading Parquet needs pyarrow, which is not installed", file=str(p),
                             expected="pip install 'cimcost[parquet]'") from None
        try:
            pf = pq.ParquetFile(p)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError(f"not a readable Parquet file: {exc}", file=str(p)) from None
        for batch in pf.iter_batches(batch_size=batch_rows, columns=list(columns) if columns else None):
            yield {name: _np(batch.column(i)) for i, name in enumerate(batch.schema.names)}
    elif p.suffix.lower() == ".csv":
        yield from _csv_batches(p, columns, batch_rows)
    else:
        raise InputError("cannot tell the format", file=str(p), expected="a .parquet or .csv file")


def _np(arr: Any) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) or pa.types.is_dictionary(
            arr.type):
        return np.asarray(arr.to_pylist(), dtype=str)
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _csv_batches(p: Path, columns: Sequence[str] | None, batch_rows: int) -> Iterator[Columns]:
    try:
        import pyarrow.csv as pcsv
    except ImportError:
        yield from _csv_batches_py(p, columns, batch_rows)
        return
    if p.stat().st_size == 0:
        return
    opts = pcsv.ConvertOptions(include_columns=list(columns) if columns else None)
    reader = pcsv.open_csv(p, read_options=pcsv.ReadOptions(block_size=64 << 20),
                           convert_options=opts)
    for batch in reader:
        yield {name: _np(batch.column(i)) for i, name in enumerate(batch.schema.names)}


def _csv_batches_py(p: Path, columns: Sequence[str] | None, batch_rows: int) -> Iterator[Columns]:
    import csv

    with open(p, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return
        want = list(columns) if columns else header
        pos = [header.index(c) for c in want if c in header]
        names = [header[i] for i in pos]
        while True:
            rows = [r for _, r in zip(range(batch_rows), reader, strict=False)]
            if not rows:
                return
            out: Columns = {}
            for name, i in zip(names, pos, strict=True):
                col = [r[i] for r in rows]
                try:
                    out[name] = np.asarray(col, dtype=float)
                except ValueError:
                    out[name] = np.asarray(col, dtype=str)
            yield out
            if len(rows) < batch_rows:
                return


def file_columns(path: str | Path) -> list[str]:
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        for batch in iter_batches(p, batch_rows=1):
            return list(batch)
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(p).schema_arrow.names)
    with open(p, newline="") as f:
        import csv

        return next(csv.reader(f), [])


def pareto_file(path: str | Path, minimize: Sequence[str], maximize: Sequence[str] = (),
                rule: str | None = None, batch_rows: int = BATCH_ROWS,
                cloud: int = 0) -> tuple[Columns, Columns | None]:
    """The front rows of a result file (all columns), in file order of first appearance, and
    optionally a uniform random sample of up to ``cloud`` rows for plotting."""
    objectives = list(minimize) + list(maximize)
    if not 1 <= len(objectives) <= 4:
        raise InputError(f"{len(objectives)} objectives", field="--minimize",
                         expected="1 to 4 objectives, e.g. --minimize area,latency")
    if len(set(objectives)) != len(objectives):
        raise InputError("an objective is named twice", field="--minimize")
    cols = file_columns(path)
    for o in objectives:
        if o not in cols:
            import difflib

            close = difflib.get_close_matches(o, cols, n=3)
            raise InputError(f"no column '{o}' in the results", file=str(path), field=o,
                             expected="one of " + ", ".join(close or cols[:12]))
    sign = np.array([1.0] * len(minimize) + [-1.0] * len(maximize))
    front: Columns | None = None
    sample: Columns | None = None
    seen = 0
    rng = np.random.default_rng(0)
    for batch in iter_batches(path, batch_rows=batch_rows):
        if rule is not None:
            if "rule" not in batch:
                raise InputError("the results have no 'rule' column", file=str(path), field="--rule")
            batch = {k: v[batch["rule"] == rule] for k, v in batch.items()}
        n = len(next(iter(batch.values()))) if batch else 0
        if n == 0:
            continue
        for o in objectives:
            if batch[o].dtype.kind not in "fiu":
                raise InputError(f"column '{o}' is not numeric", file=str(path), field=o)
        if cloud:
            sample = _reservoir(sample, batch, objectives + (["rule"] if "rule" in batch else []),
                                cloud, seen, rng)
        seen += n
        v = np.column_stack([batch[o].astype(float) for o in objectives]) * sign
        keep = pareto_front(v)
        part = {k: col[keep] for k, col in batch.items()}
        if front is None:
            front = part
        else:
            merged = {k: np.concatenate([front[k], part[k]]) for k in front}
            mv = np.column_stack([merged[o].astype(float) for o in objectives]) * sign
            front = {k: c[pareto_front(mv)] for k, c in merged.items()}
    if front is None:
        where = f" for rule '{rule}'" if rule else ""
        raise InputError(f"the results hold no rows{where}", file=str(path))
    # present the front sorted by the first objective
    order = np.argsort(front[objectives[0]] * sign[0], kind="stable")
    return {k: c[order] for k, c in front.items()}, sample


def _reservoir(sample: Columns | None, batch: Columns, names: list[str], size: int, seen: int,
               rng: np.random.Generator) -> Columns:
    """Keep a uniform sample of ``size`` rows over all batches (vectorised reservoir)."""
    n = len(batch[names[0]])
    if sample is None:
        take = rng.permutation(n)[:size]
        return {k: batch[k][take] for k in names}
    have = len(sample[names[0]])
    if have < size:
        extra = min(size - have, n)
        sample = {k: np.concatenate([sample[k], batch[k][:extra]]) for k in names}
        batch = {k: batch[k][extra:] for k in names}
        seen += extra
        n -= extra
    if n == 0:
        return sample
    # row j (global index seen + j) replaces a random slot with probability size/(seen+j+1)
    j = rng.integers(0, seen + np.arange(n) + 1)
    hit = j < size
    slots, rows = j[hit], np.nonzero(hit)[0]
    for k in names:
        sample[k][slots] = batch[k][rows]
    return sample


# ---------------------------------------------------------------------------- plot


def _unit(name: str, values: np.ndarray) -> tuple[str, float]:
    from .units import _PREFIXES

    base = name.split(".")[0]
    if name in ("energy", "latency", "traffic"):
        unit = {"energy": "J", "latency": "s", "traffic": "B"}[name]
        finite = values[np.isfinite(values)]
        mid = float(np.median(np.abs(finite))) if len(finite) else 1.0
        for scale, prefix in _PREFIXES:
            if mid >= scale:
                return f"{prefix}{unit}", scale
        return unit, 1.0
    if name == "area":
        return "mm²", 1e-6
    if name.endswith("_share"):
        return "%", 0.01
    del base
    return "", 1.0


def plot_front(front: Columns, cloud: Columns | None, objectives: list[str], out: str | Path,
               title: str = "") -> None:
    """Scatter the cloud, highlight the front; one panel per pair of objectives."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [(a, b) for i, a in enumerate(objectives) for b in objectives[i + 1:]]
    if not pairs:
        pairs = [(objectives[0], objectives[0])]
    ncols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.2 * nrows), squeeze=False)
    for ax, (a, b) in zip(axes.flat, pairs, strict=False):
        ua, sa = _unit(a, front[a].astype(float))
        ub, sb = _unit(b, front[b].astype(float))
        if cloud is not None and len(cloud[a]):
            ax.scatter(cloud[a] / sa, cloud[b] / sb, s=3, c="0.75", alpha=0.5, linewidths=0,
                       label=f"design points (sample of {len(cloud[a]):,})", rasterized=True)
        fa, fb = front[a] / sa, front[b] / sb
        if len(objectives) == 2:
            order = np.argsort(fa, kind="stable")
            ax.step(fa[order], fb[order], where="post", color="tab:red", lw=1)
        ax.scatter(fa, fb, s=14, c="tab:red", label=f"Pareto front ({len(fa):,})", zorder=3)
        for axis, vals, setter in ((a, np.r_[fa, cloud[a] / sa if cloud else []], ax.set_xscale),
                                   (b, np.r_[fb, cloud[b] / sb if cloud else []], ax.set_yscale)):
            pos = vals[vals > 0]
            if len(pos) == len(vals) and len(pos) and pos.max() / pos.min() > 100:
                setter("log")
            del axis
        ax.set_xlabel(f"{a} [{ua}]" if ua else a)
        ax.set_ylabel(f"{b} [{ub}]" if ub else b)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)


# ---------------------------------------------------------------------------- CLI


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def register(sub: Any) -> None:
    p = sub.add_parser("pareto", help="the Pareto front of sweep results",
                       description="Rows no other row beats in every objective; works on files "
                       "larger than memory.")
    p.add_argument("results", help="sweep result file (.parquet or .csv)")
    p.add_argument("--minimize", default="area,latency",
                   help="comma-separated columns to minimise (default: area,latency)")
    p.add_argument("--maximize", default="", help="comma-separated columns to maximise")
    p.add_argument("--rule", help="only rows of this rule")
    p.add_argument("--plot", help="draw the front over the cloud of design points to this image")
    p.add_argument("--out", help="also write the front rows to this .csv or .json file")
    p.add_argument("--json", action="store_true", help="print the front as a JSON array of objects")
    p.add_argument("--limit", type=int, default=40, help="table rows to print (default 40)")
    p.set_defaults(func=_run_cli)


def _records(front: Columns) -> list[dict[str, Any]]:
    names = list(front)
    lists = [front[n].tolist() for n in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def _run_cli(args: argparse.Namespace) -> int:
    minimize, maximize = _split(args.minimize), _split(args.maximize)
    objectives = minimize + maximize
    front, cloud = pareto_file(args.results, minimize, maximize, rule=args.rule,
                               cloud=200_000 if args.plot else 0)
    n = len(front[objectives[0]])
    if args.plot:
        plot_front(front, cloud, objectives, args.plot,
                   title=f"{Path(args.results).name}: Pareto front" +
                   (f" ({args.rule})" if args.rule else ""))
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() == ".json":
            out.write_text(json.dumps(_records(front), indent=1) + "\n")
        else:
            import csv

            with open(out, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(list(front))
                w.writerows(zip(*[front[k].tolist() for k in front], strict=True))
    if args.json:
        json.dump(_records(front), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    from . import units

    table = Table(title=f"Pareto front: {n} rows, {' / '.join(objectives)}")
    shown = ["rule"] if "rule" in front else []
    shown += objectives + [c for c in front if c not in objectives and c != "rule"
                           and c not in ("area", "energy", "latency", "traffic")
                           and not c.endswith("_share")]
    for c in shown:
        table.add_column(c, justify="left" if front[c].dtype.kind in "US" else "right")
    fmt = {"area": units.area, "energy": lambda v: units.si(v, "J"),
           "latency": lambda v: units.si(v, "s"), "traffic": units.data}
    for i in range(min(n, max(args.limit, 0))):
        cells = []
        for c in shown:
            v = front[c][i]
            if c in fmt:
                cells.append(fmt[c](float(v)))
            elif front[c].dtype.kind == "f":
                cells.append(f"{float(v):.4g}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console = Console()
    console.print(table)
    if n > args.limit:
        console.print(f"... {n - args.limit} more rows (--limit, --json or --out for all)")
    if args.plot:
        console.print(f"plot: {args.plot}")
    return 0
