"""Figures for ``cimcost report``: stacked per-component bars with total lines, one group per rule.

Sized for one column of a two-column paper (3.5 in wide, 8 pt text). Each panel shows one
quantity (area, latency, energy) against the swept parameter: for every point one stacked bar per
rule (the components, hatched per rule) and a line through the rule's totals. The width report adds
a panel with tiles and memory utilisation. matplotlib is imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import units
from .errors import InputError

if TYPE_CHECKING:
    from .reports import Report

COLUMN_WIDTH_IN = 3.5
PANEL_HEIGHT_IN = 1.85
HATCHES = ("", "////", "....", "xxxx", "\\\\\\\\", "oo", "--")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 2)))
MAX_COMPONENTS = 6  # per panel; the rest are drawn as "other"
MIN_SHARE = 0.02  # a component below this share at every point joins "other"

# Stable colours per component, so a component looks the same in every panel and figure.
_COMPONENT_ORDER = ("adc", "wgu", "interconnect", "buffer", "dram", "memory_array", "shift_add",
                    "accumulation", "decoder_driver", "column_mux", "feedback_array", "activation",
                    "leakage")
_PALETTE = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB",
            "#EE8866", "#44BB99", "#99DDFF", "#FFAABB", "#DDDDDD", "#777777")
OTHER_COLOUR = "#E8E8E8"

# (book, axis label, SI unit, candidate scales as (factor, prefix))
_PANELS = (
    ("area", "chip area", "m²", ((1e6, "mm²"),)),
    ("latency", "latency", "s", ((1.0, "s"), (1e3, "ms"), (1e6, "µs"), (1e9, "ns"))),
    ("energy", "energy", "J", ((1.0, "J"), (1e3, "mJ"), (1e6, "µJ"), (1e9, "nJ"))),
)


def _colour(name: str) -> str:
    if name in _COMPONENT_ORDER:
        return _PALETTE[_COMPONENT_ORDER.index(name) % len(_PALETTE)]
    return _PALETTE[hash(name) % len(_PALETTE)]


def _components(report: Report, book: str) -> list[str]:
    """The components worth a colour in this panel, largest first."""
    totals: dict[str, float] = {}
    shown: set[str] = set()
    for r in report.results:
        total = r[book]["total"] or 1.0
        for name, value in r[book]["breakdown"].items():
            totals[name] = totals.get(name, 0.0) + value / total
            if value / total >= MIN_SHARE:
                shown.add(name)
    ranked = sorted(shown, key=lambda n: -totals[n])
    return ranked[:MAX_COMPONENTS]


def _tick_label(point: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in point.values())


def _axis_label(report: Report) -> str:
    from .reports import AXIS_LABELS

    return " / ".join(AXIS_LABELS.get(a, a) for a in report.axis)


def _stacked_panel(ax: Any, report: Report, book: str, label: str, scales: Any) -> list[tuple[str, str]]:
    import numpy as np

    points = report.points
    rules = report.rules
    x = np.arange(len(points))
    group = 0.8
    width = group / len(rules)
    factor, unit = units.common_scale([r[book]["total"] for r in report.results], scales)
    names = _components(report, book)
    for k, rule in enumerate(rules):
        offset = (k - (len(rules) - 1) / 2) * width
        bottom = np.zeros(len(points))
        rows = [report.result(p, rule) for p in points]
        for name in [*names, "other"]:
            if name == "other":
                vals = np.array([r[book]["total"] - sum(r[book]["breakdown"].get(n, 0.0) for n in names)
                                 for r in rows]) * factor
                vals = np.clip(vals, 0.0, None)
                if not vals.any() or vals.max() < 1e-9 * max(bottom.max(), 1e-30):
                    continue
            else:
                vals = np.array([r[book]["breakdown"].get(name, 0.0) for r in rows]) * factor
            ax.bar(x + offset, vals, width * 0.92, bottom=bottom,
                   color=OTHER_COLOUR if name == "other" else _colour(name),
                   hatch=HATCHES[k % len(HATCHES)], edgecolor="#333333", linewidth=0.3)
            bottom += vals
        totals = np.array([r[book]["total"] for r in rows]) * factor
        ax.plot(x + offset, totals, color="black", linestyle=LINESTYLES[k % len(LINESTYLES)],
                marker=MARKERS[k % len(MARKERS)], markersize=3, linewidth=0.9)
    ax.set_ylabel(f"{label} ({unit})")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", linewidth=0.3, alpha=0.6)
    ax.set_axisbelow(True)
    used = [*names]
    if any(_has_other(r, book, names) for r in report.results):
        used.append("other")
    return [(n, OTHER_COLOUR if n == "other" else _colour(n)) for n in used]


def _has_other(r: dict[str, Any], book: str, names: list[str]) -> bool:
    rest = r[book]["total"] - sum(r[book]["breakdown"].get(n, 0.0) for n in names)
    return bool(rest > 1e-6 * max(r[book]["total"], 1e-300))


def _tiles_panel(ax: Any, report: Report) -> None:
    import numpy as np

    points = report.points
    x = np.arange(len(points))
    width = 0.8 / len(report.rules)
    right = ax.twinx()
    for k, rule in enumerate(report.rules):
        rows = [report.result(p, rule) for p in points]
        offset = (k - (len(report.rules) - 1) / 2) * width
        ax.bar(x + offset, [r["hardware"]["tiles"] for r in rows], width * 0.92, color="white",
               hatch=HATCHES[k % len(HATCHES)], edgecolor="#333333", linewidth=0.3)
        right.plot(x, [100 * r["hardware"]["utilization"] for r in rows], color="#CC3311",
                   linestyle=LINESTYLES[k % len(LINESTYLES)], marker=MARKERS[k % len(MARKERS)],
                   markersize=3, linewidth=0.9)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("tiles (bars)")
    right.set_ylabel("utilisation (%, line)", color="#CC3311")
    right.tick_params(axis="y", colors="#CC3311")
    right.set_ylim(0, 105)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", linewidth=0.3, alpha=0.6)
    ax.set_axisbelow(True)


def plot_report(report: Report, path: str, *, title: str | None = None) -> None:
    """Write the report's figure to ``path`` (PNG, SVG or PDF by extension)."""
    try:
        import matplotlib

        if "matplotlib.pyplot" not in __import__("sys").modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError:
        raise InputError("--plot needs matplotlib", field="--plot",
                         expected="pip install 'cimcost[plot]'") from None

    panels = list(_PANELS)
    extra = report.kind == "width"
    n = len(panels) + (1 if extra else 0)
    rc: Any = {"font.size": 7.5, "axes.labelsize": 7.5, "xtick.labelsize": 7, "ytick.labelsize": 7,
          "legend.fontsize": 6.5, "hatch.linewidth": 0.4, "axes.linewidth": 0.6,
          "svg.fonttype": "none", "pdf.fonttype": 42}
    with plt.rc_context(rc):
        fig, axes = plt.subplots(n, 1, figsize=(COLUMN_WIDTH_IN, PANEL_HEIGHT_IN * n + 0.8), sharex=True,
                                 layout="constrained")
        legend_components: dict[str, str] = {}
        for ax, (book, label, _unit, scales) in zip(axes, panels, strict=False):
            for name, colour in _stacked_panel(ax, report, book, label, scales):
                legend_components.setdefault(name, colour)
        if extra:
            _tiles_panel(axes[-1], report)
        points = report.points
        axes[-1].set_xticks(range(len(points)), [_tick_label(p) for p in points])
        axes[-1].set_xlabel(_axis_label(report))
        first = report.results[0]
        scope = first["scope"]
        head = title or _default_title(report)
        axes[0].set_title(f"{head}\nenergy and latency per training step (batch {scope['batch_size']:g})"
                          if scope["steps"] == 1 else head, fontsize=7.5)
        handles: list[Any] = [Line2D([], [], color="black", linestyle=LINESTYLES[k % len(LINESTYLES)],
                                     marker=MARKERS[k % len(MARKERS)], markersize=3, linewidth=0.9,
                                     label=f"{rule} total")
                              for k, rule in enumerate(report.rules)]
        handles += [Patch(facecolor="white", edgecolor="#333333", linewidth=0.3,
                          hatch=HATCHES[k % len(HATCHES)], label=f"{rule} bars")
                    for k, rule in enumerate(report.rules) if len(report.rules) > 1]
        handles += [Patch(facecolor=c, edgecolor="#333333", linewidth=0.3, label=name.replace("_", " "))
                    for name, c in legend_components.items()]
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, handlelength=2.2,
                   columnspacing=1.0)
        engine: Any = fig.get_layout_engine()
        engine.set(h_pad=0.02, hspace=0.02)
        fig.savefig(path, dpi=300)
        plt.close(fig)


def _default_title(report: Report) -> str:
    first = report.results[0]
    fp = first["config"]["floorplan"]
    fp_name = str(fp).rsplit("/", 1)[-1].removesuffix(".yaml")
    if report.kind == "depth":
        widths = {ly["cols"] for ly in first["hardware"]["layers"][:-1]}
        what = f"MLP {first['hardware']['layers'][0]['rows']}-({'/'.join(map(str, sorted(widths))) or '–'}"\
               f" × (N−1))-{first['hardware']['layers'][-1]['cols']}"
    elif report.kind == "width":
        layers = first["hardware"]["layers"]
        what = f"MLP {layers[0]['rows']}-(w × {len(layers) - 1})-{layers[-1]['cols']}"
    else:
        what = str(first["network"]).split(" (")[0]
    return f"{what}; {fp_name} floorplan"
