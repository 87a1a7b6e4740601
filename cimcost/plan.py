"""Turn a rule declaration and a network into a phase DAG and schedule it.

Nodes are phase instances (``forward[3]``, or ``error`` when one read serves every layer);
edges come from the rule's ``after`` lists, plus ordering edges that serialise the phases
sharing one weight-gradient unit.  Durations are numpy arrays, so the longest path is an
elementwise max/sum in topological order and carries its per-component breakdown along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .components.base import Num
from .rules import PhaseDecl, RuleDecl, parse_ref

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class PhaseNode:
    key: str  # e.g. "grad[3]" or "error"
    decl: PhaseDecl
    layer: int | None  # 0-based layer index, None for a phase shared by all layers
    unit: int | None = None  # WGU index for phases on a WGU


@dataclass
class Plan:
    rule: RuleDecl
    depth: int
    wgus: int
    sample: nx.DiGraph  # per-sample phases
    batch: nx.DiGraph  # per-batch phases
    nodes: dict[str, PhaseNode] = field(default_factory=dict)
    wgu_layers: list[list[int]] = field(default_factory=list)


class Topology:
    """Weighted layers 0..depth-1 and who feeds whom (through pooling, flatten, add)."""

    def __init__(self, depth: int, preds: list[list[int]] | None = None,
                 succs: list[list[int]] | None = None) -> None:
        self.depth = depth
        self.preds = preds if preds is not None else [[i - 1] if i else [] for i in range(depth)]
        self.succs = succs if succs is not None else [[i + 1] if i < depth - 1 else []
                                                      for i in range(depth)]

    @classmethod
    def of(cls, network: object) -> Topology:
        return cls(network.depth, network.preds, network.succs)  # type: ignore[attr-defined]

    def select(self, selector: str) -> list[int]:
        every = list(range(self.depth))
        if selector == "all":
            return every
        if selector == "hidden":
            return every[:-1]
        if selector == "last":
            return every[-1:]
        return [i for i in every if self.preds[i]]  # not_first

    def resolve(self, index: str, layer: int) -> list[int]:
        if index == "l":
            return [layer]
        if index == "l-1":
            return list(self.preds[layer])
        if index == "l+1":
            return list(self.succs[layer])
        if index == "last":
            return [self.depth - 1]
        return [i for i in range(self.depth) if not self.preds[i]]  # first


def select_layers(selector: str, depth: int | Topology) -> list[int]:
    topo = depth if isinstance(depth, Topology) else Topology(depth)
    return topo.select(selector)


def rule_wgus(rule: RuleDecl, depth: int | Topology, override: int | None) -> int:
    trained = len(trained_layers(rule, depth))
    if rule.wgus == 0 or trained == 0:
        return 0
    if override is not None:
        return max(1, min(int(override), trained))
    return trained if rule.wgus == "per_layer" else min(int(rule.wgus), trained)


def assign_layers(trained: list[int], units: int, how: str = "round_robin") -> list[list[int]]:
    """Trained layers to WGUs: ``round_robin`` (i-th trained layer to unit i mod k) or
    ``blocks`` (consecutive runs of about N/k layers per unit)."""
    groups: list[list[int]] = [[] for _ in range(units)]
    for pos, layer in enumerate(trained):
        unit = pos % units if how == "round_robin" else pos * units // len(trained)
        groups[unit].append(layer)
    return groups


def trained_layers(rule: RuleDecl, depth: int | Topology) -> list[int]:
    return sorted({ly for ph in rule.phases if ph.runs_on == "wgu"
                   for ly in select_layers(ph.layers, depth)})


def build_plan(rule: RuleDecl, depth: int | Topology, wgus_override: int | None, shared_feedback: bool,
               shared_buffer: bool = False, assignment: str = "round_robin",
               update_every: str = "batch") -> Plan:
    """``shared_feedback``: one sliced feedback matrix serves every layer with one read.
    ``shared_buffer``: all WGUs stream gradients through one global-buffer bank, so their
    phases run one at a time even when there are several WGUs.
    ``update_every='sample'``: per-batch phases (weight updates) run after every sample."""
    import networkx as nx

    topo = depth if isinstance(depth, Topology) else Topology(depth)
    depth = topo.depth
    trained = trained_layers(rule, topo)
    wgus = min(rule_wgus(rule, depth, wgus_override), len(trained))
    groups = assign_layers(trained, wgus, assignment) if wgus else []
    unit_of = {ly: u for u, g in enumerate(groups) for ly in g}

    plan = Plan(rule, depth, wgus, nx.DiGraph(), nx.DiGraph(), wgu_layers=groups)
    instances: dict[str, dict[int, str]] = {}
    if update_every == "sample":
        rule = rule.model_copy(update={"phases": [ph.model_copy(update={"per": "sample"})
                                                  for ph in rule.phases]})
        plan.rule = rule
    for ph in rule.phases:
        graph = plan.sample if ph.per == "sample" else plan.batch
        layers = topo.select(ph.layers)
        instances[ph.name] = {}
        # a feedback read shared by every layer (one sliced matrix, one input e) happens once
        if ph.op in ("mvm_feedback", "lookup") and shared_feedback and layers:
            node = PhaseNode(ph.name, ph, None)
            plan.nodes[node.key] = node
            graph.add_node(node.key)
            for ly in layers:
                instances[ph.name][ly] = node.key
            continue
        for ly in layers:
            node = PhaseNode(f"{ph.name}[{ly + 1}]", ph, ly,
                             unit_of.get(ly) if ph.runs_on == "wgu" else None)
            plan.nodes[node.key] = node
            graph.add_node(node.key)
            instances[ph.name][ly] = node.key

    for key, node in plan.nodes.items():
        graph = plan.sample if node.decl.per == "sample" else plan.batch
        own_layers = [node.layer] if node.layer is not None else topo.select(node.decl.layers)
        for ref in node.decl.after:
            phase, index = parse_ref(ref)
            for ly in own_layers:
                for target in topo.resolve(index, ly):
                    src = instances.get(phase, {}).get(target)
                    if src is None or src == key:
                        continue  # boundary: no such instance (e.g. forward[0])
                    if plan.nodes[src].decl.per != node.decl.per:
                        continue  # per-batch phases follow the whole batch anyway
                    graph.add_edge(src, key)

    for graph in (plan.sample, plan.batch):
        _serialise_units(graph, plan.nodes, shared_buffer)
    return plan


def _serialise_units(graph: nx.DiGraph, nodes: dict[str, PhaseNode], as_one: bool) -> None:
    """Phases sharing a WGU run one after another, in the order the dependencies suggest
    (longest-path depth in hops, then name): edges respect one total order, so no cycle."""
    import networkx as nx

    rank: dict[str, int] = {}
    for key in nx.topological_sort(graph):
        rank[key] = max((rank[p] + 1 for p in graph.predecessors(key)), default=0)
    by_unit: dict[int, list[str]] = {}
    for key in graph.nodes:
        unit = nodes[key].unit
        if unit is not None:
            by_unit.setdefault(0 if as_one else unit, []).append(key)
    for keys in by_unit.values():
        keys.sort(key=lambda k: (rank[k], nodes[k].layer if nodes[k].layer is not None else -1,
                                 k))
        for a, b in zip(keys[:-1], keys[1:], strict=True):
            graph.add_edge(a, b)


def resource_of(node: PhaseNode, shared_buffer: bool) -> tuple[str, int]:
    """The unit a phase occupies: a layer's arrays, a WGU, or the feedback store."""
    if node.unit is not None:
        return ("wgu", 0 if shared_buffer else node.unit)
    if node.decl.op in ("mvm_feedback", "lookup"):
        return ("feedback", -1 if node.layer is None else node.layer)
    return ("arrays", -1 if node.layer is None else node.layer)


def bottleneck(graph: nx.DiGraph, nodes: dict[str, PhaseNode],
               durations: dict[str, dict[str, Num]], shared_buffer: bool) -> Schedule:
    """The busiest unit per sample: in a pipeline it sets the interval between samples."""
    busy: dict[tuple[str, int], dict[str, Num]] = {}
    phases: dict[tuple[str, int], dict[str, Num]] = {}
    for key in graph.nodes:
        res = resource_of(nodes[key], shared_buffer)
        book = busy.setdefault(res, {})
        pbook = phases.setdefault(res, {})
        for c, v in durations[key].items():
            book[c] = book.get(c, 0.0) + v
            name = nodes[key].decl.name
            pbook[name] = pbook.get(name, 0.0) + v
    best: Num = 0.0
    comp: dict[str, Num] = {}
    phase: dict[str, Num] = {}
    for res, book in busy.items():
        total = sum(book.values())
        better = total > best
        best = np.where(better, total, best)
        comp = {c: np.where(better, book.get(c, 0.0), comp.get(c, 0.0)) for c in set(comp) | set(book)}
        pb = phases[res]
        phase = {c: np.where(better, pb.get(c, 0.0), phase.get(c, 0.0)) for c in set(phase) | set(pb)}
    return Schedule(best, comp, phase)


@dataclass
class Schedule:
    latency: Num
    by_component: dict[str, Num]
    by_phase: dict[str, Num]


def longest_path(graph: nx.DiGraph, nodes: dict[str, PhaseNode],
                 durations: dict[str, dict[str, Num]]) -> Schedule:
    """Critical path through ``graph``; ``durations[node][component]`` are arrays.  The returned
    breakdowns are those of the critical path, so they sum exactly to the latency.

    Forward pass: each node's finish time and which predecessor set it (per design point).
    Backward pass, in reverse topological order: every point walks its own critical path once
    and collects that path's component and phase times."""
    import networkx as nx

    order = list(nx.topological_sort(graph))
    if not order:
        return Schedule(0.0, {}, {})
    shape = np.broadcast_shapes(*(np.shape(v) for k in order for v in durations[k].values()))
    position = {k: i for i, k in enumerate(order)}
    summed: dict[int, np.ndarray] = {}  # instances sharing one duration book share its sum
    for k in order:
        if id(durations[k]) not in summed:
            summed[id(durations[k])] = np.broadcast_to(sum(durations[k].values(), np.zeros(shape)),
                                                       shape)
    totals = {k: summed[id(durations[k])] for k in order}
    finish: dict[str, np.ndarray] = {}
    came_from: dict[str, np.ndarray] = {}
    for key in order:
        preds = list(graph.predecessors(key))
        if not preds:
            finish[key] = totals[key]
            came_from[key] = np.full(shape, -1)
            continue
        if len(preds) == 1:
            best, choice = finish[preds[0]], np.full(shape, position[preds[0]])
        else:
            stacked = np.stack([finish[pr] for pr in preds])
            pick = np.argmax(stacked, axis=0)
            best = np.take_along_axis(stacked, pick[None], axis=0)[0]
            choice = np.asarray([position[pr] for pr in preds])[pick]
        finish[key] = best + totals[key]
        came_from[key] = choice
    ends = np.stack([finish[k] for k in order])
    current = np.argmax(ends, axis=0)
    latency = np.take_along_axis(ends, current[None], axis=0)[0]
    comps = sorted({c for k in order for c in durations[k]})
    phases = sorted({nodes[k].decl.name for k in order})
    by_comp = {c: np.zeros(shape) for c in comps}
    by_phase = {ph: np.zeros(shape) for ph in phases}
    for key in reversed(order):
        here = current == position[key]
        if not here.any():
            continue
        everywhere = bool(here.all())
        for c, v in durations[key].items():
            by_comp[c] += v if everywhere else np.where(here, v, 0.0)
        by_phase[nodes[key].decl.name] += totals[key] if everywhere else np.where(here, totals[key], 0.0)
        current = came_from[key] if everywhere else np.where(here, came_from[key], current)
    unwrap = (lambda a: float(a)) if not shape else (lambda a: a)
    return Schedule(unwrap(latency), {c: unwrap(v) for c, v in by_comp.items()},
                    {ph: unwrap(v) for ph, v in by_phase.items()})
