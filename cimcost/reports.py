"""``cimcost report``: one quantity swept, several learning rules, a table, JSON/CSV and a figure.

Three reports:

- ``depth``: MLPs ``input-(width × (N-1))-classes`` for each depth N (N weight layers);
- ``width``: MLPs of a fixed depth for each hidden width;
- ``param``: any ``--set`` path swept over a range or a list, on a base network.

Every point is one :func:`cimcost.estimate` call per rule; the results are the full
``estimate --json`` objects plus a ``point`` field naming the swept values.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import units
from .errors import InputError

DEFAULT_RULES = "bp,dfa"
DEFAULT_DEPTHS = "2..10"
DEFAULT_WIDTHS = "64,256,512,1024,1025,2048"
DEFAULT_NETWORK = "examples/mlp-784-1024x4-10.yaml"
PLOT_FORMATS = (".png", ".svg", ".pdf")
_RANGE_HELP = "a..b (inclusive), a..b:step, or a list a,b,c"

# Axis labels for the swept quantity; anything else is labelled with its --set path.
AXIS_LABELS = {
    "depth": "network depth N (weight layers)",
    "width": "hidden features per layer",
    "adc.bits": "ADC resolution (bits)",
    "transposed_adc.bits": "transposed-readout ADC resolution (bits)",
    "adc.columns_per_adc": "columns per ADC",
    "subarray.rows": "subarray rows",
    "subarray.cols": "subarray columns",
    "training.wgus": "weight-gradient units",
    "training.batch_size": "batch size",
    "tech.vdd": "supply voltage (V)",
}


# --------------------------------------------------------------------------- ranges

def _whole(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(f"'{text.strip()}' is not a whole number", field=what,
                         expected=_RANGE_HELP + " of whole numbers") from None


def parse_range(text: str, what: str) -> list[int]:
    """Whole numbers from ``a..b``, ``a..b:step`` or ``a,b,c`` (``what`` names the flag)."""
    text = text.strip()
    if not text:
        raise InputError("no values given", field=what, expected=_RANGE_HELP)
    if ".." in text:
        body, _, step_text = text.partition(":")
        start_text, _, end_text = body.partition("..")
        start, end = _whole(start_text, what), _whole(end_text, what)
        step = _whole(step_text, what) if step_text else 1
        if step <= 0:
            raise InputError(f"step {step} in '{text}' is not positive", field=what,
                             expected=_RANGE_HELP + " with step ≥ 1")
        if end < start:
            raise InputError(f"empty range '{text}': the end {end} is below the start {start}",
                             field=what, expected=f"a..b with a ≤ b, e.g. {end}..{start}")
        return list(range(start, end + 1, step))
    values = [_whole(part, what) for part in text.split(",")]
    _no_repeats(values, text, what)
    return values


def _no_repeats(values: list[Any], text: str, what: str) -> None:
    seen: list[Any] = []
    for v in values:
        if v in seen:
            raise InputError(f"'{v}' is listed twice in '{text}'", field=what, expected=_RANGE_HELP)
        seen.append(v)


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``adc.bits=3..8`` -> ``("adc.bits", [3, 4, 5, 6, 7, 8])``; lists may hold any YAML scalar."""
    from .config import parse_set, split_assignment

    path, spec = split_assignment(text, "param", "adc.bits=3..8 or tech.vdd=0.8,0.9,1.0")
    spec = spec.strip()
    if ".." in spec:
        return path, parse_range(spec, path)
    values = [parse_set(f"{path}={part}")[1] for part in spec.split(",")]
    _no_repeats(values, spec, path)
    return path, values


def parse_rules(text: str) -> list[str]:
    from .rules import parse_rule_list

    return parse_rule_list(text)


# --------------------------------------------------------------------------- the sweep

@dataclass
class Point:
    """One value of the swept quantity: its label, the network and the --set overrides."""

    values: dict[str, Any]
    network: Any
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """A finished report: ``results`` holds one estimate object (plus ``point``) per point and rule,
    ordered point-major."""

    kind: str  # depth | width | param
    axis: list[str]  # the keys of each point, e.g. ["depth"] or ["adc.bits"]
    rules: list[str]
    results: list[dict[str, Any]]

    @property
    def points(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for r in self.results:
            if not out or out[-1] != r["point"]:
                out.append(r["point"])
        return out

    def result(self, point: dict[str, Any], rule: str) -> dict[str, Any]:
        for r in self.results:
            if r["point"] == point and r["rule_requested"] == rule:
                return r
        raise KeyError((point, rule))

    def to_json(self) -> list[dict[str, Any]]:
        """The --json array: each estimate object with its ``point`` (internal keys removed)."""
        return [{k: v for k, v in r.items() if k != "rule_requested"} for r in self.results]


def depth_points(depths: Iterable[int], width: int, inputs: int = 784, classes: int = 10) -> list[Point]:
    """MLPs ``inputs-(width × (N-1))-classes`` for each N in ``depths``."""
    from .network import mlp

    _positive(width, "--width")
    _positive(inputs, "--input")
    _positive(classes, "--classes")
    points = []
    for n in depths:
        if n < 1:
            raise InputError(f"depth {n} has no layers", field="--depths",
                             expected="depths ≥ 1 (N weight layers)")
        points.append(Point({"depth": n}, mlp([inputs] + [width] * (n - 1) + [classes])))
    return points


def width_points(widths: Iterable[int], depth: int = 5, inputs: int = 784, classes: int = 10) -> list[Point]:
    """MLPs of ``depth`` weight layers with each hidden width in ``widths``."""
    from .network import mlp

    if depth < 2:
        raise InputError(f"depth {depth} has no hidden layer to widen", field="--depth",
                         expected="a depth ≥ 2")
    _positive(inputs, "--input")
    _positive(classes, "--classes")
    points = []
    for w in widths:
        _positive(w, "--widths")
        points.append(Point({"width": w}, mlp([inputs] + [w] * (depth - 1) + [classes])))
    return points


def param_points(network: Any, sweeps: list[tuple[str, list[Any]]]) -> list[Point]:
    """The cartesian product of the swept ``--set`` paths on one base network."""
    paths = [p for p, _ in sweeps]
    if len(set(paths)) != len(paths):
        raise InputError("a parameter is swept twice", field="param")
    return [Point(dict(zip(paths, combo, strict=True)), network, dict(zip(paths, combo, strict=True)))
            for combo in itertools.product(*(values for _, values in sweeps))]


def _positive(value: int, what: str) -> None:
    if value < 1:
        raise InputError(f"{value} is not a positive width", field=what, expected="a whole number ≥ 1")


def run_report(kind: str, points: list[Point], rules: list[str], *, base_set: dict[str, Any] | None = None,
               progress: Callable[[], None] | None = None, **config: Any) -> Report:
    """Estimate every point under every rule. ``base_set`` holds --set overrides common to all points
    (a swept path may not be among them); ``progress`` is called after each estimate."""
    from .estimate import estimate

    base = dict(base_set or {})
    for p in points:
        clash = sorted(set(p.overrides) & set(base))
        if clash:
            raise InputError(f"'{clash[0]}' is both swept and fixed with --set", field=clash[0],
                             expected="sweep it or --set it, not both")
    results = []
    for p in points:
        for rule in rules:
            d = estimate(p.network, rule, set={**base, **p.overrides}, **config).to_dict()
            results.append({"point": dict(p.values), **d, "rule_requested": rule})
            if progress is not None:
                progress()
    axis = list(points[0].values) if points else []
    return Report(kind, axis, rules, results)


# --------------------------------------------------------------------------- rows and table

def _top(book: dict[str, Any]) -> str:
    breakdown = book["breakdown"]
    return max(breakdown, key=breakdown.get) if breakdown else "–"


def csv_rows(report: Report) -> list[dict[str, Any]]:
    """One row per point and rule: the point, the totals in SI units and the dominant components."""
    rows = []
    for r in report.results:
        hw = r["hardware"]
        rows.append({
            **r["point"],
            "rule": r["rule"],
            "area_m2": r["area"]["total"],
            "energy_J": r["energy"]["total"],
            "latency_s": r["latency"]["total"],
            "traffic_bytes": r["traffic"]["total"],
            "samples": r["scope"]["samples"],
            "tiles": hw["tiles"],
            "subarrays": hw["subarrays"],
            "utilization": hw["utilization"],
            "wgus": hw["wgus"],
            "top_area": _top(r["area"]),
            "top_energy": _top(r["energy"]),
            "top_latency": _top(r["latency"]),
        })
    return rows


def _point_text(point: dict[str, Any]) -> str:
    return ", ".join(f"{v}" for v in point.values())


_TABLE_SCALES = {
    "area": ((1e6, "mm²"),),
    "energy": ((1.0, "J"), (1e3, "mJ"), (1e6, "µJ"), (1e9, "nJ"), (1e12, "pJ")),
    "latency": ((1.0, "s"), (1e3, "ms"), (1e6, "µs"), (1e9, "ns"), (1e12, "ps")),
    "traffic": ((1e-12, "TB"), (1e-9, "GB"), (1e-6, "MB"), (1e-3, "kB"), (1.0, "B")),
}


def _num(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def render_table(report: Report, console: Any = None) -> None:
    """One row per point; per rule: area, energy, latency, traffic, utilisation and the largest
    area / energy / latency components. Units sit in the headers, one prefix per quantity."""
    from rich.console import Console
    from rich.table import Table

    first = report.results[0]
    scope = first["scope"]
    what = (f"per training step (batch {scope['batch_size']:g})" if scope["steps"] == 1
            else f"over {scope['steps']:g} steps of batch {scope['batch_size']:g}")
    base = {"depth": "MLPs by depth", "width": "MLPs by hidden width"}.get(report.kind, first["network"])
    fp = str(first["config"]["floorplan"])
    table = Table(title=f"cimcost report {report.kind} — {base}; floorplan {fp}; energy, latency and "
                  f"traffic {what}", title_justify="left", header_style="bold cyan", show_edge=False)
    scales = {book: units.common_scale([r[book]["total"] for r in report.results], sc)
              for book, sc in _TABLE_SCALES.items()}
    table.add_column(" / ".join(report.axis), justify="right")
    for rule in report.rules:
        for book in ("area", "energy", "latency", "traffic"):
            table.add_column(f"{rule} {book}\n{scales[book][1]}", justify="right")
        table.add_column(f"{rule} util.\n%", justify="right")
        table.add_column(f"{rule} largest\narea · energy · latency", justify="left")
    for point in report.points:
        cells = [_point_text(point)]
        for rule in report.rules:
            r = report.result(point, rule)
            cells += [_num(r[book]["total"] * scales[book][0]) for book in ("area", "energy", "latency",
                                                                           "traffic")]
            cells += [f"{100 * r['hardware']['utilization']:.1f}",
                      f"{_top(r['area'])} · {_top(r['energy'])} · {_top(r['latency'])}"]
        table.add_row(*cells)
    if console is None:
        console = Console()
        if not console.is_terminal:  # a file or a pipe: never wrap the table
            wide = console.measure(table, options=console.options.update_width(10_000)).maximum
            console = Console(width=max(console.width, wide))
    console.print(table)


# --------------------------------------------------------------------------- command line

def register(sub: Any) -> None:
    from .cli import add_config_args

    p = sub.add_parser("report", help="sweep depth, width or any --set parameter over rules; "
                       "table, JSON/CSV and a figure")
    kinds = p.add_subparsers(dest="kind", metavar="{depth,width,param}")
    kinds.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--rules", default=DEFAULT_RULES,
                       help=f"comma-separated rules (default: {DEFAULT_RULES})")
        add_config_args(q)
        q.add_argument("--plot", metavar="FILE", help="write a figure; format by extension: "
                       + ", ".join(PLOT_FORMATS))
        out = q.add_mutually_exclusive_group()
        out.add_argument("--json", action="store_true",
                         help="JSON array: one estimate object per point and rule, plus 'point'")
        out.add_argument("--csv", action="store_true", help="CSV: one row per point and rule with the totals")
        q.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
        q.set_defaults(func=run)

    def shape(q: argparse.ArgumentParser) -> None:
        q.add_argument("--input", type=int, default=784, help="input features (default: 784)")
        q.add_argument("--classes", type=int, default=10, help="output classes (default: 10)")

    d = kinds.add_parser("depth", help="MLPs input-(width × (N-1))-classes over depth N")
    d.add_argument("--depths", default=DEFAULT_DEPTHS, help=f"{_RANGE_HELP} (default: {DEFAULT_DEPTHS})")
    d.add_argument("--width", type=int, default=1024, help="hidden features per layer (default: 1024)")
    shape(d)
    common(d)

    w = kinds.add_parser("width", help="MLPs of a fixed depth over the hidden width")
    w.add_argument("--widths", default=DEFAULT_WIDTHS, help=f"{_RANGE_HELP} (default: {DEFAULT_WIDTHS})")
    w.add_argument("--depth", type=int, default=5, help="weight layers (default: 5)")
    shape(w)
    common(w)

    q = kinds.add_parser("param", help="any --set path over a range or list, on one network")
    q.add_argument("sweep", nargs="+", metavar="PATH=VALUES",
                   help="e.g. adc.bits=3..8, subarray.rows=64,128,256 (several: their product); "
                        "a network YAML file may follow")
    q.add_argument("--mlp", help="an MLP inline instead of a file: widths, input first, e.g. 784,1024,10")
    common(q)


def _check_plot_path(path: str | None) -> None:
    if path is None:
        return
    p = Path(path)
    if p.suffix.lower() not in PLOT_FORMATS:
        raise InputError(f"unknown figure format '{p.suffix or path}'", field="--plot",
                         expected="a file ending in " + ", ".join(PLOT_FORMATS))
    if not p.parent.is_dir():
        raise InputError(f"folder '{p.parent}' does not exist", field="--plot")


def _points_from_args(args: argparse.Namespace) -> list[Point]:
    if args.kind == "depth":
        return depth_points(parse_range(args.depths, "--depths"), args.width, args.input, args.classes)
    if args.kind == "width":
        return width_points(parse_range(args.widths, "--widths"), args.depth, args.input, args.classes)
    from .cli import network_from_args
    from .config import data_root

    sweeps, files = [], []
    for item in args.sweep:
        if "=" in item:
            sweeps.append(parse_param(item))
        else:
            files.append(item)
    if not sweeps:
        given = f": '{files[0]}' has no '=values'" if files else ""
        raise InputError(f"nothing to sweep{given}", field="param", expected="e.g. adc.bits=3..8")
    if len(files) > 1:
        raise InputError(f"more than one network file: {', '.join(files)}", field="network")
    ns = argparse.Namespace(network=files[0] if files else None, mlp=args.mlp)
    if ns.network is None and ns.mlp is None:
        default = Path(DEFAULT_NETWORK)
        ns.network = str(default if default.exists() else data_root() / DEFAULT_NETWORK)
    return param_points(network_from_args(ns), sweeps)


def _show_progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stdout.isatty() and sys.stderr.isatty()


def run(args: argparse.Namespace) -> int:
    from .config import parse_set

    rules = parse_rules(args.rules)
    _check_plot_path(args.plot)
    points = _points_from_args(args)
    base = dict(parse_set(item) for item in args.set)
    config = {"floorplan": args.floorplan, "tech": args.tech, "memory": args.memory,
              "circuits": args.circuits}
    total = len(points) * len(rules)
    if _show_progress(args) and total > 1:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn(f"report {args.kind}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("estimates", total=total)
            report = run_report(args.kind, points, rules, base_set=base,
                                progress=lambda: bar.advance(task), **config)
    else:
        report = run_report(args.kind, points, rules, base_set=base, **config)

    if args.plot:
        from .plots import plot_report

        plot_report(report, args.plot)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.csv:
        rows = csv_rows(report)
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        render_table(report)
        if args.plot:
            print(f"figure written to {args.plot}")
    return 0
