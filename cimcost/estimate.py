"""The estimator: specs + network + rule -> hardware -> phase plan -> costs -> Estimate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import Config, Options, load_config, parse_set
from .costs import ENERGY_KEYS, TRAFFIC_KEYS, PhaseCost, phase_cost
from .errors import InputError
from .hardware import AREA_KEYS, Hardware, build_hardware
from .mapping import chip_utilization, search_tile_size, tile_shape
from .network import Network, load_network, mlp
from .plan import Plan, Schedule, Topology, bottleneck, build_plan, longest_path
from .rules import FeedbackDecl, RuleDecl, get_rule


@dataclass
class Estimate:
    """The result of one estimate.  ``to_dict()`` is exactly what ``cimcost estimate --json``
    prints: SI units (m^2, J, s, bytes), every total equal to the sum of its breakdown."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.data

    @property
    def area(self) -> float:
        return float(self.data["area"]["total"])

    @property
    def energy(self) -> float:
        return float(self.data["energy"]["total"])

    @property
    def latency(self) -> float:
        return float(self.data["latency"]["total"])

    @property
    def traffic(self) -> float:
        return float(self.data["traffic"]["total"])


def _num(x: Any) -> Any:
    arr = np.asarray(x, dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def _book(values: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = {k: _num(values.get(k, 0.0)) for k in keys}
    extra = {k: _num(v) for k, v in values.items() if k not in keys}
    out.update(extra)
    return out


def _with_total(breakdown: dict[str, Any], **extra: Any) -> dict[str, Any]:
    total = sum(np.asarray(v, dtype=float) for v in breakdown.values())
    return {"total": _num(total), "breakdown": breakdown, **extra}


KERNEL_BLOCK = 32_768  # design points per compute() call in sweeps: temporaries stay in cache

_ALLOCATOR_TUNED = False


def tune_allocator() -> None:
    """Keep numpy's temporaries off ``mmap`` (glibc only; a no-op elsewhere).

    A block of design points creates about a thousand short-lived arrays of a few hundred kB.
    glibc serves each from a fresh ``mmap`` and returns it with ``munmap``, so every one of
    them pays page faults; raising the mmap and trim thresholds lets them reuse heap memory,
    which doubles the kernel's throughput.  Called by the sweep engine, never by ``estimate``.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return
    _ALLOCATOR_TUNED = True
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 128 << 20)


@dataclass
class Costs:
    """Raw results of one evaluation; every value may be a numpy array over design points."""

    area: dict[str, Any]
    energy: dict[str, Any]
    energy_by_phase: dict[str, Any]
    latency: Any
    latency_breakdown: dict[str, Any]
    latency_by_phase: dict[str, Any]
    latency_work: dict[str, Any]
    traffic: dict[str, Any]
    traffic_by_phase: dict[str, Any]
    hardware: Hardware
    plan: Plan
    # per phase kind and component, summed over instances (overlap ignored for latency)
    phase_energy: dict[str, dict[str, Any]] = field(default_factory=dict)
    phase_work: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, Any]:
        return {"area": sum(self.area.values()), "energy": sum(self.energy.values()),
                "latency": self.latency, "traffic": sum(self.traffic.values())}


def _serial(plan: Plan, durations: dict[str, dict[str, Any]]) -> tuple[Schedule, Schedule]:
    """Schedules with no overlap at all: per-sample and per-batch phases summed."""
    out = []
    for graph in (plan.sample, plan.batch):
        comp: dict[str, Any] = {}
        phase: dict[str, Any] = {}
        for key in graph.nodes:
            for c, v in durations[key].items():
                comp[c] = comp.get(c, 0.0) + v
                name = plan.nodes[key].decl.name
                phase[name] = phase.get(name, 0.0) + v
        out.append(Schedule(sum(comp.values()), comp, phase))
    return out[0], out[1]


def _phase_costs(plan: Plan, hw: Hardware, network: Network) -> dict[str, PhaseCost]:
    """Price every phase instance once per distinct signature: layers of the same shape (with
    the same operations in front, on equally sized WGUs) cost the same, so a deep uniform
    network prices its hidden layers once."""
    cache: dict[tuple[Any, ...], PhaseCost] = {}
    out: dict[str, PhaseCost] = {}
    for key, node in plan.nodes.items():
        if node.layer is None:
            out[key] = phase_cost(node, hw, network)
            continue
        ly = network.layers[node.layer]
        arrays = hw.wgu_arrays[node.unit] if node.unit is not None else None
        signature = (
            node.decl.name, ly.in_features, ly.out_features, ly.positions, ly.in_elements,
            ly.out_elements,
            tuple((op.kind, op.in_elements, op.out_elements) for op in network.ops_for(node.layer)),
            id(hw.feedback.get(node.layer)),
            arrays if arrays is None or np.ndim(arrays) == 0 else id(arrays),
        )
        if signature not in cache:
            cache[signature] = phase_cost(node, hw, network)
        out[key] = cache[signature]
    return out


def compute(network: Network, rule: RuleDecl, p: dict[str, Any], opts: Options) -> Costs:
    """The cost model proper.  ``p`` maps dotted parameter names to floats or to numpy arrays
    of one shape (one element per design point); every result broadcasts to that shape."""
    shared_feedback = (isinstance(rule.feedback, FeedbackDecl)
                       and rule.feedback.shape == "classes_by_width"
                       and opts.feedback_matrix == "sliced")
    plan = build_plan(rule, Topology.of(network), opts.wgus, shared_feedback,
                      shared_buffer=not opts.buffer_per_wgu, assignment=opts.wgu_assignment,
                      update_every=opts.update_every)
    if opts.tile_search:
        p = {**p, **search_tile_size(network, p)}
    hw = build_hardware(network, rule, p, opts, plan.wgu_layers)
    costs = _phase_costs(plan, hw, network)
    batch = p["training.batch_size"]
    steps = p["training.steps"]
    durations = {k: costs[k].latency for k in plan.nodes}
    sample_sched = longest_path(plan.sample, plan.nodes, durations)
    batch_sched = longest_path(plan.batch, plan.nodes, durations)
    parts: list[tuple[Any, Any]]
    if not opts.phase_overlap:
        # every phase instance after the other (NeuroSim's accounting)
        serial = _serial(plan, durations)
        parts = [(serial[0], batch), (serial[1], 1.0)]
    elif opts.execution == "pipelined":
        # samples stream through the layers: after the first one, a new sample leaves every
        # interval set by the busiest unit (a layer's arrays, a WGU)
        interval = bottleneck(plan.sample, plan.nodes, durations, not opts.buffer_per_wgu)
        parts = [(sample_sched, 1.0), (interval, batch - 1.0), (batch_sched, 1.0)]
    else:
        parts = [(sample_sched, batch), (batch_sched, 1.0)]
    latency_total = steps * sum(mult * sched.latency for sched, mult in parts)
    lat_comp: dict[str, Any] = {}
    lat_phase: dict[str, Any] = {}
    for sched, mult in parts:
        for c, v in sched.by_component.items():
            lat_comp[c] = lat_comp.get(c, 0.0) + steps * mult * v
        for c, v in sched.by_phase.items():
            lat_phase[c] = lat_phase.get(c, 0.0) + steps * mult * v

    # per phase kind and component, summed over its instances; instances that share a cost
    # (same-shaped layers) are counted, not added one by one
    groups: dict[tuple[int, str], list[Any]] = {}
    for key, node in plan.nodes.items():
        mult = steps * (batch if node.decl.per == "sample" else 1.0)
        group = groups.setdefault((id(costs[key]), node.decl.name), [costs[key], 0.0])
        group[1] = group[1] + mult
    phase_energy: dict[str, dict[str, Any]] = {}
    phase_work: dict[str, dict[str, Any]] = {}
    phase_traffic: dict[str, dict[str, Any]] = {}
    for (_, name), (pc, mult) in groups.items():
        for book, values in ((phase_energy, pc.energy), (phase_work, pc.latency),
                             (phase_traffic, pc.traffic)):
            entry = book.setdefault(name, {})
            for comp, v in values.items():
                entry[comp] = entry.get(comp, 0.0) + mult * v
    work = {name: sum(book.values(), 0.0) for name, book in phase_work.items()}
    energy: dict[str, Any] = dict.fromkeys(ENERGY_KEYS, 0.0)
    traffic: dict[str, Any] = dict.fromkeys(TRAFFIC_KEYS, 0.0)
    for totals, books in ((energy, phase_energy), (traffic, phase_traffic)):
        for book in books.values():
            for comp, v in book.items():
                totals[comp] = totals[comp] + v
    energy_phase = {name: sum(book.values(), 0.0) for name, book in phase_energy.items()}
    traffic_phase = {name: sum(book.values(), 0.0) for name, book in phase_traffic.items()}
    energy["leakage"] = sum(hw.leakage.values()) * latency_total
    energy_phase["leakage"] = energy["leakage"]
    lat_breakdown = {k: lat_comp.get(k, 0.0) for k in ENERGY_KEYS[:-1]}
    return Costs(dict(hw.area), energy, energy_phase, latency_total, lat_breakdown, lat_phase,
                 work, traffic, traffic_phase, hw, plan, phase_energy, phase_work)


def to_report(network: Network, rule: RuleDecl, cfg: Config, c: Costs) -> dict[str, Any]:
    """The JSON document ``cimcost estimate --json`` prints, for a single design point."""
    p = c.hardware.p
    hw = c.hardware
    batch, steps = p["training.batch_size"], p["training.steps"]
    layers = []
    for ly, m in zip(network.layers, hw.maps, strict=True):
        layers.append({"name": ly.name, "type": ly.kind, "rows": ly.in_features,
                       "cols": ly.out_features, "positions": ly.positions,
                       "cells_rows": _num(m.rows), "cells_cols": _num(m.cols),
                       "tiles": _num(m.tiles), "subarrays": _num(m.subarrays),
                       "duplication": _num(m.duplication), "utilization": _num(m.utilization)})
    data: dict[str, Any] = {
        "rule": rule.name,
        "network": network.name,
        "scope": {"batch_size": _num(batch), "steps": _num(steps),
                  "samples": _num(batch * steps),
                  "note": "totals cover `steps` training steps of `batch_size` samples each"},
        "hardware": {
            "tiles": _num(hw.total_tiles),
            "pes": _num(hw.total_tiles * p["tile.pe_rows"] * p["tile.pe_cols"]),
            "subarrays": _num(hw.subarrays),
            "feedback_subarrays": _num(sum(fb.subarrays for fb in hw.feedback.values())),
            "stashed_bytes_per_sample": _num(
                sum(ly.in_elements for ly in network.layers) * p["precision.activation"] / 8
                if rule.stashes_input else 0.0),
            "wgus": c.plan.wgus,
            "wgu_arrays": [_num(a) for a in hw.wgu_arrays],
            "wgu_layers": [[network.layers[i].name for i in g] for g in c.plan.wgu_layers],
            "transposable": rule.readout == "transposable",
            "tile_cells": [_num(tile_shape(p)[0] * p["subarray.rows"]),
                           _num(tile_shape(p)[1] * p["subarray.cols"])],
            "global_bus_width_bits": _num(hw.global_bus_width),
            "global_buffer_bytes": _num(hw.global_buffer_banks * hw.global_buffer_cores
                                        * p["global_buffer.core_bits"] / 8),
            "utilization": _num(chip_utilization(hw.maps, p)),
            "layers": layers,
        },
        "area": _with_total(_book(c.area, AREA_KEYS)),
        "energy": _with_total(_book(c.energy, ENERGY_KEYS),
                              by_phase={k: _num(v) for k, v in c.energy_by_phase.items()}),
        "latency": _with_total(_book(c.latency_breakdown, ENERGY_KEYS[:-1]),
                               by_phase={k: _num(v) for k, v in c.latency_by_phase.items()},
                               work_by_phase={k: _num(v) for k, v in c.latency_work.items()},
                               note="breakdown and by_phase follow the critical path and sum "
                                    "to the total; work_by_phase is each phase's own time "
                                    "summed over its instances, overlap ignored"),
        "traffic": _with_total(_book(c.traffic, TRAFFIC_KEYS),
                               by_phase={k: _num(v) for k, v in c.traffic_by_phase.items()}),
        "config": {"floorplan": cfg.files["floorplan"], "tech_file": cfg.files["tech"],
                   "memory_file": cfg.files["memory"], "circuits_file": cfg.files["circuits"],
                   "technology": cfg.tech.name, "memory": cfg.memory.name},
    }
    data["latency"]["total"] = _num(c.latency)
    data["warnings"] = [rule.conv_note] if rule.conv_note and network.has_conv else []
    for book in ("area", "energy", "latency", "traffic"):
        if not np.all(np.isfinite(data[book]["total"])):
            raise InputError(f"the {book} came out as {data[book]['total']}: some parameter is "
                             "out of the range the models cover", field=book)
    return data


def evaluate(network: Network, rule: RuleDecl, cfg: Config) -> Estimate:
    # parameters far outside the models' range overflow; to_report refuses non-finite totals
    with np.errstate(all="ignore"):
        c = compute(network, rule, cfg.params(), cfg.options())
    return Estimate(to_report(network, rule, cfg, c))


def estimate(
    network: Network | str | list[int],
    rule: str | RuleDecl = "inference",
    *,
    floorplan: str | None = None,
    tech: str | None = None,
    memory: str | None = None,
    circuits: str | None = None,
    set: dict[str, Any] | list[str] | None = None,  # noqa: A002 - mirrors the CLI flag
) -> Estimate:
    """Estimate area, energy, latency and traffic of ``network`` trained (or run) with ``rule``.

    ``network`` is a :class:`Network`, a path to a network YAML file, or a list of MLP sizes.
    ``set`` overrides fields by dotted path, e.g. ``{"adc.bits": 4}`` or ``["adc.bits=4"]``."""
    if isinstance(network, str):
        network = load_network(network)
    elif isinstance(network, (list, tuple)):
        network = mlp(list(network))
    if not isinstance(network, Network):
        raise InputError("network must be a Network, a YAML path or a list of sizes",
                         field="network")
    overrides: dict[str, Any] = {}
    if isinstance(set, dict):
        overrides = dict(set)
    elif set:
        overrides = dict(parse_set(item) for item in set)
    cfg = load_config(floorplan, tech, memory, circuits, overrides)
    return evaluate(network, get_rule(rule), cfg)
