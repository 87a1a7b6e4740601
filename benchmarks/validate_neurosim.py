"""Compare cimcost against the DNN+NeuroSim V2.1 on-chip-training reference runs.

Usage::

    python benchmarks/validate_neurosim.py [--reference DIR] [--floorplan FILE] [--markdown]
                                           [--summary] [--set PATH=VALUE ...]

For every ``*.json`` case with ``status: ok`` in the reference directory (default
``../shared/reference/neurosim-v2.1`` relative to the repository root) the MLP and the
parameters NeuroSim was built with (ADC levels, subarray size, muxing, batch size) are handed to
``cimcost.estimate(..., rule="bp")``.  Everything is compared **per image**: NeuroSim reports
per epoch (``batchSize * numIteration`` images, README ``epoch_definition``), cimcost per
``scope.samples`` = ``batch_size * steps`` images; the once-per-batch weight update is divided
the same way on both sides.

Flags: ``!`` marks a ratio cimcost/NeuroSim outside 0.8-1.25, ``!!`` one outside 0.5-1.5.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import cimcost

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference" / "neurosim-v2.1"
DEFAULT_FLOORPLAN = "floorplans/default.yaml"

TIGHT = (0.8, 1.25)
LOOSE = (0.5, 1.5)

# NeuroSim phase -> cimcost phase
PHASES = {"forward": "forward", "activation_gradient": "error", "weight_gradient": "grad",
          "weight_update": "update"}

# NeuroSim area line -> cimcost area components
AREA_MAP: dict[str, tuple[str, ...]] = {
    "cim_synaptic_array": ("memory_array", "feedback_array"),
    "adc": ("adc",),
    "accumulation": ("shift_add", "accumulation"),
    "other_peripheries": ("decoder_driver", "column_mux", "buffer", "activation"),
    "interconnect": ("interconnect",),
    "weight_gradient_unit": ("wgu",),
}

# NeuroSim energy breakdown line -> (cimcost components, which phases: "read" = every phase
# except the weight update, "update" = the update phase only, "all")
ENERGY_MAP: dict[str, tuple[tuple[str, ...], str]] = {
    "adc": (("adc",), "all"),
    "accumulation": (("shift_add", "accumulation"), "all"),
    "synaptic_array_wo_adc_and_other_periphery": (
        ("memory_array", "feedback_array", "decoder_driver", "column_mux"), "read"),
    "buffer": (("buffer",), "all"),
    "interconnect": (("interconnect",), "all"),
    "weight_gradient_calculation": (("wgu",), "all"),
    "weight_update": (("memory_array", "decoder_driver"), "update"),
    "dram": (("dram",), "all"),
}


# ----------------------------------------------------------------------------------------------
# reference side


@dataclass
class Case:
    name: str
    sweep: str
    sizes: list[int]
    overrides: dict[str, Any]
    images: float  # images per NeuroSim epoch
    data: dict[str, Any] = field(repr=False)

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1


def _log2_levels(levels: Any, name: str) -> int:
    bits = math.log2(float(levels))
    if abs(bits - round(bits)) > 1e-9:
        raise SystemExit(f"{name}={levels} is not a power of two; cannot map it to adc bits")
    return round(bits)


def load_case(path: Path) -> Case | None:
    data = json.loads(path.read_text())
    if data.get("status") != "ok":
        return None
    layers = data["network"]["layers"]
    sizes = [int(layers[0]["in_features"])] + [int(ly["out_features"]) for ly in layers]
    pe = data["param_effective"]
    overrides: dict[str, Any] = {
        "adc.bits": _log2_levels(pe["levelOutput"], "levelOutput"),
        "transposed_adc.bits": _log2_levels(pe["levelOutputAG"], "levelOutputAG"),
        "subarray.rows": int(pe["numRowSubArray"]),
        "subarray.cols": int(pe["numColSubArray"]),
        "adc.columns_per_adc": int(pe["numColMuxed"]),
        "transposed_adc.rows_per_adc": int(pe["numRowMuxedAG"]),
        "training.batch_size": int(pe["batchSize"]),
    }
    images = float(data["epoch_definition"]["images_per_epoch"])
    assert images == float(pe["batchSize"]) * float(pe["numIteration"])
    return Case(data["case"], data.get("sweep", ""), sizes, overrides, images, data)


def _case_key(c: Case) -> tuple[int, int, int]:
    return (0 if c.sweep.startswith("depth") or c.name.startswith("depth") else 1,
            c.depth, int(c.overrides["adc.bits"]))


def load_cases(ref: Path) -> tuple[list[Case], list[str]]:
    cases: list[Case] = []
    skipped: list[str] = []
    for path in sorted(ref.glob("*.json")):
        case = load_case(path)
        if case is None:
            skipped.append(path.stem)
        else:
            cases.append(case)
    cases.sort(key=_case_key)
    return cases, skipped


# ----------------------------------------------------------------------------------------------
# cimcost side


@dataclass
class Model:
    """One cimcost estimate, per image."""

    data: dict[str, Any]
    samples: float
    area: dict[str, float]  # m^2
    energy: dict[str, float]  # J per image, by component (all phases, leakage excluded)
    energy_phase_comp: dict[str, dict[str, float]] | None  # J per image, [phase][component]
    energy_phase: dict[str, float]  # J per image
    lat_total: float  # s per image, critical path of cimcost's schedule
    lat_crit: dict[str, float]  # s per image each phase contributes to the critical path
    lat_phase_comp: dict[str, dict[str, float]] | None  # s per image, [phase][component],
    # every instance of the phase summed (phases run one after another)
    seconds: float

    @property
    def lat_serial(self) -> dict[str, float] | None:
        if self.lat_phase_comp is None:
            return None
        return {ph: sum(c.values()) for ph, c in self.lat_phase_comp.items()}


Books = dict[str, dict[str, float]]


def _phase_books(sizes: list[int], floorplan: str, overrides: dict[str, Any]
                 ) -> tuple[Books, Books]:
    """Per-phase, per-component energy and latency, the latency summed over every instance of
    the phase (as if the phases ran one after another, which is how NeuroSim accounts them),
    over the same ``scope.samples`` as ``estimate``."""
    from cimcost.config import load_config
    from cimcost.estimate import compute
    from cimcost.rules import get_rule

    cfg = load_config(floorplan, None, None, None, dict(overrides))
    c = compute(cimcost.mlp(sizes), get_rule("bp"), cfg.params(), cfg.options())
    energy = {ph: {k: float(v) for k, v in book.items()} for ph, book in c.phase_energy.items()}
    busy = {ph: {k: float(v) for k, v in book.items()} for ph, book in c.phase_work.items()}
    return energy, busy


def run_model(case: Case, floorplan: str, extra: dict[str, Any] | None = None) -> Model:
    """``extra`` overrides (``--set``) are applied on top of the case's own parameters."""
    t0 = time.perf_counter()
    overrides = {**case.overrides, **(extra or {})}
    est = cimcost.estimate(cimcost.mlp(case.sizes), rule="bp", floorplan=floorplan,
                           set=dict(overrides))
    d = est.to_dict()
    samples = float(d["scope"]["samples"])
    area = {k: float(v) for k, v in d["area"]["breakdown"].items()}
    energy = {k: float(v) / samples for k, v in d["energy"]["breakdown"].items()
              if k != "leakage"}
    energy_phase = {k: float(v) / samples for k, v in d["energy"]["by_phase"].items()
                    if k != "leakage"}
    lat_crit = {k: float(v) / samples for k, v in d["latency"]["by_phase"].items()}
    phase_comp: Books | None = None
    lat_comp: Books | None = None
    try:
        books, busy = _phase_books(case.sizes, floorplan, overrides)
    except Exception as exc:  # noqa: BLE001 - internals may move; degrade to the public JSON
        warnings.warn(f"per-phase detail unavailable ({type(exc).__name__}: {exc}); "
                      "serial phase latencies and the read/update split are skipped",
                      stacklevel=1)
    else:
        phase_comp = {ph: {c: v / samples for c, v in comps.items()}
                      for ph, comps in books.items()}
        lat_comp = {ph: {c: v / samples for c, v in comps.items()}
                    for ph, comps in busy.items()}
        check = sum(sum(c.values()) for c in phase_comp.values())
        if not math.isclose(check, sum(energy.values()), rel_tol=1e-6):
            warnings.warn(f"{case.name}: per-phase energy {check:.6g} J does not match "
                          f"estimate() {sum(energy.values()):.6g} J", stacklevel=1)
    return Model(d, samples, area, energy, phase_comp, energy_phase,
                 float(d["latency"]["total"]) / samples, lat_crit, lat_comp,
                 time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------------
# comparison rows


@dataclass
class Row:
    label: str
    cim: float | None
    ref: float | None
    extra: str = ""  # optional extra column (e.g. the critical-path share)

    @property
    def ratio(self) -> float | None:
        if self.cim is None or self.ref is None or self.ref == 0.0:
            return None
        return self.cim / self.ref


def flag(ratio: float | None) -> str:
    if ratio is None or not math.isfinite(ratio):
        return ""
    if not LOOSE[0] <= ratio <= LOOSE[1]:
        return "!!"
    if not TIGHT[0] <= ratio <= TIGHT[1]:
        return "!"
    return ""


def fmt(v: float | None, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if v == 0.0:
        return "0"
    return f"{v:.{digits}g}"


def fmt_ratio(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.3f}" if 0.01 <= v < 100 else f"{v:.3g}"


def area_rows(case: Case, m: Model) -> list[Row]:
    """mm^2; ``extra`` names the cimcost components summed."""
    ref = case.data["area"]  # um^2
    rows = [Row("chip total", sum(m.area.values()) * 1e6, ref["chip_total"] * 1e-6, "all")]
    used: set[str] = set()
    for ns_key, comps in AREA_MAP.items():
        used.update(comps)
        rows.append(Row(ns_key, sum(m.area.get(c, 0.0) for c in comps) * 1e6,
                        ref[ns_key] * 1e-6, " + ".join(c for c in comps if c in m.area)))
    rest = sum(v for k, v in m.area.items() if k not in used)
    if rest:
        rows.append(Row("(unmapped)", rest * 1e6, None,
                        " + ".join(k for k in m.area if k not in used)))
    return rows


def _phase_energy(m: Model, comps: tuple[str, ...], which: str) -> float | None:
    if which == "all":
        return sum(m.energy.get(c, 0.0) for c in comps)
    if m.energy_phase_comp is None:
        return None
    phases = [ph for ph in m.energy_phase_comp if (ph == "update") == (which == "update")]
    return sum(m.energy_phase_comp[ph].get(c, 0.0) for ph in phases for c in comps)


def energy_rows(case: Case, m: Model) -> list[Row]:
    """uJ per image (dynamic energy: cimcost's leakage is left out, as NeuroSim's total is
    dynamic only).  ``extra`` names the cimcost side."""
    tot = case.data["total"]
    per = 1e-6 / case.images  # pJ per epoch -> uJ per image
    rows = [Row("total", sum(m.energy.values()) * 1e6, tot["energy"]["total"] * per,
                "all but leakage")]
    for ns_key, ph in PHASES.items():
        rows.append(Row(f"phase {ns_key}", m.energy_phase.get(ph, 0.0) * 1e6,
                        tot["energy"][ns_key] * per, f"phase {ph}"))
    for ns_key, (comps, which) in ENERGY_MAP.items():
        val = _phase_energy(m, comps, which)
        present = [c for c in comps if c in m.energy]
        label = " + ".join(present) + {"all": "", "read": " (all but update)",
                                       "update": " (update phase)"}[which]
        rows.append(Row(ns_key, None if val is None else val * 1e6,
                        tot["breakdown_energy"][ns_key] * per, label))
    return rows


CORE = ("memory_array", "feedback_array", "decoder_driver", "column_mux", "adc", "shift_add",
        "accumulation", "activation")


def latency_rows(case: Case, m: Model) -> list[Row]:
    """us per image.  ``cim`` is the phase's own time (every instance summed, phases one
    after another, as NeuroSim adds them); ``extra`` is what the phase contributes to
    cimcost's critical path.  The 'core' rows compare against NeuroSim's PEAK figures
    (compute only, no buffer, interconnect or DRAM)."""
    tot = case.data["total"]["latency"]
    peak = case.data["total"]["peak_latency"]
    per = 1e-3 / case.images  # ns per epoch -> us per image
    serial = m.lat_serial
    comp = m.lat_phase_comp
    rows = [Row("total, cimcost schedule", m.lat_total * 1e6, tot["total"] * per,
                fmt(m.lat_total * 1e6)),
            Row("total, phases serialised",
                None if serial is None else sum(serial.values()) * 1e6,
                tot["total"] * per, "")]
    for ns_key, ph in PHASES.items():
        own = None if serial is None else serial.get(ph, 0.0) * 1e6
        rows.append(Row(f"{ns_key} [{ph}]", own, tot[ns_key] * per,
                        fmt(m.lat_crit.get(ph, 0.0) * 1e6)))
    core_sets = {"forward": CORE, "activation_gradient": CORE, "weight_gradient": ("wgu",),
                 "weight_update": ("memory_array", "decoder_driver")}
    for ns_key, ph in PHASES.items():
        val = None if comp is None else sum(comp.get(ph, {}).get(c, 0.0)
                                            for c in core_sets[ns_key]) * 1e6
        rows.append(Row(f"{ns_key} core (NeuroSim PEAK)", val, peak[ns_key] * per, ""))
    return rows


# ----------------------------------------------------------------------------------------------
# output


def ratio_dict(case: Case, m: Model) -> dict[str, float | None]:
    """Every ratio the tables print, keyed ``area``, ``area.<line>``, ``energy``,
    ``energy.<line>``, ``latency`` (cimcost's schedule) and ``latency.<NeuroSim phase>``."""
    out: dict[str, float | None] = {}
    area = area_rows(case, m)
    out["area"] = area[0].ratio
    out.update({f"area.{r.label}": r.ratio for r in area[1:] if r.ratio is not None})
    energy = energy_rows(case, m)
    out["energy"] = energy[0].ratio
    out.update({f"energy.{r.label}": r.ratio for r in energy[1:] if r.ratio is not None})
    lat = latency_rows(case, m)
    out["latency"] = lat[0].ratio
    for row, ns_key in zip(lat[2:6], PHASES, strict=True):
        out[f"latency.{ns_key}"] = row.ratio
    return out


def table(headers: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        align = ["---"] + ["---:"] * (len(headers) - 1)
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(headers, widths, strict=True)))]
    out.append("  ".join("-" * w for w in widths))
    for r in body:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(out)


def rows_table(rows: list[Row], unit: str, markdown: bool, extra: str | None = None) -> str:
    headers = ["NeuroSim", f"cimcost {unit}", f"NeuroSim {unit}", "ratio", "flag"]
    if extra:
        headers.append(extra)
    body = []
    for r in rows:
        cells = [r.label, fmt(r.cim), fmt(r.ref), fmt_ratio(r.ratio), flag(r.ratio)]
        if extra:
            cells.append(r.extra)
        body.append(cells)
    return table(headers, body, markdown)


def heading(text: str, level: int, markdown: bool) -> str:
    if markdown:
        return "#" * level + " " + text
    bar = "=" if level <= 2 else "-"
    return f"{text}\n{bar * len(text)}"


def geomean(values: list[float]) -> float:
    vals = [v for v in values if v and math.isfinite(v) and v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else float("nan")


def _short(name: str) -> str:
    return name.replace("depth-", "").replace("-w1024", "").replace("adc-N5-", "N5-")


def component_section(results: list[tuple[Case, Model]], markdown: bool) -> list[str]:
    """Ratio of every area / energy line and of every latency phase, one column per case."""
    names = [_short(c.name) for c, _ in results]
    per_case = [(area_rows(c, m), energy_rows(c, m), latency_rows(c, m)) for c, m in results]
    out = [heading("Components: ratio cimcost / NeuroSim, every case", 2, markdown), ""]
    for title, idx, skip in (("area", 0, 1), ("energy per image", 1, 1),
                             ("latency per image", 2, 2)):
        labels = [r.label for r in per_case[0][idx][skip:] if r.ref is not None]
        body = []
        for label in labels:
            vals = []
            for rows in per_case:
                row = next(r for r in rows[idx] if r.label == label)
                vals.append(f"{fmt_ratio(row.ratio)} {flag(row.ratio)}".strip())
            body.append([label] + vals)
        out.append(table([title] + names, body, markdown))
        out.append("")
    return out


def trend_section(results: list[tuple[Case, Model]], markdown: bool) -> list[str]:
    depth = [(c, m) for c, m in results
             if c.name.startswith("depth") and c.overrides["adc.bits"] == 6]
    if len(depth) < 2:
        return []
    depth.sort(key=lambda cm: cm[0].depth)
    n = np.array([c.depth for c, _ in depth], dtype=float)
    series = {
        "latency us/image (NeuroSim = serial sum)": (
            np.array([m.lat_total * 1e6 for _, m in depth]),
            np.array([c.data["total"]["latency"]["total"] * 1e-3 / c.images for c, _ in depth])),
        "energy uJ/image (dynamic)": (
            np.array([sum(m.energy.values()) * 1e6 for _, m in depth]),
            np.array([c.data["total"]["energy"]["total"] * 1e-6 / c.images for c, _ in depth])),
        "area mm^2": (
            np.array([sum(m.area.values()) * 1e6 for _, m in depth]),
            np.array([c.data["area"]["chip_total"] * 1e-6 for c, _ in depth])),
    }
    out = [heading("Trend vs depth (width 1024, 6-bit ADC)", 2, markdown), ""]
    body = []
    lat_c, lat_n = series["latency us/image (NeuroSim = serial sum)"]
    en_c, en_n = series["energy uJ/image (dynamic)"]
    for i, (c, _) in enumerate(depth):
        body.append([f"N={c.depth}", fmt(lat_c[i]), fmt(lat_n[i]), fmt_ratio(lat_c[i] / lat_n[i]),
                     fmt(en_c[i]), fmt(en_n[i]), fmt_ratio(en_c[i] / en_n[i])])
    out.append(table(["depth", "latency cimcost us", "latency NeuroSim us", "ratio",
                      "energy cimcost uJ", "energy NeuroSim uJ", "ratio"], body, markdown))
    out.append("")
    fit_body = []
    for label, (cim, ref) in series.items():
        sc, ic = np.polyfit(n, cim, 1)
        sr, ir = np.polyfit(n, ref, 1)
        res_c = float(np.max(np.abs(cim - (sc * n + ic)) / cim))
        res_r = float(np.max(np.abs(ref - (sr * n + ir)) / ref))
        fit_body.append([label, fmt(sc), fmt(sr), fmt_ratio(sc / sr), flag(sc / sr),
                         fmt(ic), fmt(ir), f"{res_c:.1%} / {res_r:.1%}"])
    out.append(table(["least-squares fit y = a*N + b", "a cimcost", "a NeuroSim", "a ratio",
                      "flag", "b cimcost", "b NeuroSim", "max rel. residual cim / NS"],
                     fit_body, markdown))
    out.append("")
    return out


def resolve_floorplan(arg: str) -> str:
    """A path as given, relative to the repository root, or a name in floorplans/."""
    candidates = [Path(arg), REPO / arg, REPO / "floorplans" / arg,
                  REPO / "floorplans" / f"{arg}.yaml"]
    for c in candidates:
        if c.is_file():
            return str(c)
    available = ", ".join(sorted(p.stem for p in (REPO / "floorplans").glob("*.yaml")))
    raise SystemExit(f"floorplan '{arg}' not found (looked in the current directory, the "
                     f"repository root and floorplans/); available: {available or 'none'}.\n"
                     f"Run without --floorplan to use {DEFAULT_FLOORPLAN}.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                    help=f"NeuroSim reference directory (default {DEFAULT_REFERENCE})")
    ap.add_argument("--floorplan", default=DEFAULT_FLOORPLAN,
                    help="cimcost floorplan YAML: a path, or a name in floorplans/ "
                         "(default floorplans/default.yaml)")
    ap.add_argument("--markdown", action="store_true", help="print GitHub markdown tables")
    ap.add_argument("--summary", action="store_true",
                    help="only the aggregate table, the component matrix and the depth trend")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a floorplan/techfile field for every case, on top of the "
                         "case's own parameters (repeatable), e.g. "
                         "accounting.wgu_speedup_by_arrays=false")
    args = ap.parse_args(argv)
    from cimcost.config import parse_set

    extra = dict(parse_set(item) for item in args.set)

    ref: Path = args.reference
    if not ref.is_dir():
        raise SystemExit(f"NeuroSim reference directory not found: {ref}\n"
                         "pass --reference DIR (the folder with depth-N5-w1024.json etc.)")
    floorplan = resolve_floorplan(args.floorplan)
    cases, skipped = load_cases(ref)
    if not cases:
        raise SystemExit(f"no reference case with status 'ok' in {ref}")
    md = args.markdown

    t0 = time.perf_counter()
    results = [(c, run_model(c, floorplan, extra)) for c in cases]
    elapsed = time.perf_counter() - t0

    out: list[str] = []
    try:
        fp_name = str(Path(floorplan).resolve().relative_to(REPO))
    except ValueError:
        fp_name = floorplan
    out.append(heading("cimcost vs DNN+NeuroSim V2.1 (per image)", 1, md))
    out.append("")
    out.append(f"cimcost {getattr(cimcost, '__version__', '?')}, floorplan `{fp_name}`, "
               f"rule `bp`"
               + "".join(f", `--set {item}`" for item in args.set)
               + f"; reference `{ref}` ({len(cases)} cases"
               + (f", skipped not-ok: {', '.join(skipped)}" if skipped else "") + "). "
               f"Flags: `!` ratio outside {TIGHT[0]}-{TIGHT[1]}, `!!` outside "
               f"{LOOSE[0]}-{LOOSE[1]}.")
    out.append("")

    # aggregate
    body = []
    cols: dict[str, list[float]] = {k: [] for k in ("area", "energy", "lat", "ser", "fw", "ag",
                                                   "wg", "wu")}
    for c, m in results:
        a = area_rows(c, m)[0].ratio
        e = energy_rows(c, m)[0].ratio
        lr = latency_rows(c, m)
        vals = {"area": a, "energy": e, "lat": lr[0].ratio, "ser": lr[1].ratio,
                "fw": lr[2].ratio, "ag": lr[3].ratio, "wg": lr[4].ratio, "wu": lr[5].ratio}
        for k, v in vals.items():
            if v is not None:
                cols[k].append(v)
        body.append([c.name] + [f"{fmt_ratio(v)} {flag(v)}".strip() for v in vals.values()])
    body.append(["geometric mean"] + [fmt_ratio(geomean(v)) for v in cols.values()])
    out.append(heading("Aggregate: ratio cimcost / NeuroSim", 2, md))
    out.append("")
    out.append(table(["case", "area", "energy", "latency (schedule)", "latency (serial)",
                      "FW lat", "AG lat", "WG lat", "WU lat"], body, md))
    out.append("")
    out.extend(component_section(results, md))
    out.extend(trend_section(results, md))

    if not args.summary:
        for c, m in results:
            out.append(heading(f"{c.name}: {'-'.join(map(str, c.sizes))}, "
                               f"{c.overrides['adc.bits']}-bit ADC", 2, md))
            out.append("")
            out.append(f"cimcost: {m.data['hardware']['tiles']:.0f} "
                       f"tiles, {m.data['hardware']['subarrays']:.0f} subarrays; NeuroSim: "
                       f"{c.data['floorplan_derived']['total_tiles']} tiles, "
                       f"{c.data['floorplan_derived']['total_subarrays']} subarrays.")
            out.append("")
            out.append(heading("Area (mm^2)", 3, md))
            out.append("")
            out.append(rows_table(area_rows(c, m), "mm^2", md, extra="cimcost components"))
            out.append("")
            out.append(heading("Energy per image (uJ)", 3, md))
            out.append("")
            out.append(rows_table(energy_rows(c, m), "uJ", md, extra="cimcost side"))
            out.append("")
            out.append(heading("Latency per image (us)", 3, md))
            out.append("")
            out.append("Phase rows: cimcost = the phase's own time, phases one after another "
                       "(as NeuroSim adds them); last column = what the phase adds to "
                       "cimcost's overlapped schedule. Core rows: compute only (NeuroSim "
                       "PEAK; cimcost array+periphery, WGU, or cell writes).")
            out.append("")
            out.append(rows_table(latency_rows(c, m), "us", md, extra="on critical path us"))
            out.append("")
    out.append(f"({len(results)} estimates in {elapsed:.2f} s)")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
