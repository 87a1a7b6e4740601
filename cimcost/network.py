"""Networks: an ordered set of layers with a layer graph (networkx DiGraph underneath)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .specs import NetworkSpec, validate_document
from .yamlio import LocatedDocument, load_yaml

if TYPE_CHECKING:
    import networkx as nx

MAX_LAYERS = 100_000


@dataclass(frozen=True)
class Layer:
    name: str
    in_features: int
    out_features: int
    activation: str = "relu"
    inputs: tuple[str, ...] = ()

    @property
    def weights(self) -> int:
        return self.in_features * self.out_features


@dataclass
class Network:
    name: str
    input_features: int
    layers: list[Layer]
    source: str = "<inline>"
    _graph: Any = field(default=None, repr=False)

    @property
    def classes(self) -> int:
        return self.layers[-1].out_features

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def graph(self) -> nx.DiGraph:
        """The layer graph: nodes are layer names plus 'input'; edges carry tensors."""
        if self._graph is None:
            import networkx as nx

            g = nx.DiGraph()
            g.add_node("input", features=self.input_features)
            for layer in self.layers:
                g.add_node(layer.name, layer=layer)
                for src in layer.inputs:
                    g.add_edge(src, layer.name)
            self._graph = g
        return self._graph

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "network",
            "name": self.name,
            "input_features": self.input_features,
            "layers": [
                {"name": ly.name, "type": "dense", "in_features": ly.in_features,
                 "out_features": ly.out_features, "activation": ly.activation}
                for ly in self.layers
            ],
        }


def mlp(sizes: Sequence[int], name: str | None = None, activation: str = "relu") -> Network:
    """An MLP from its layer widths, input first: ``mlp([784, 1024, 10])`` has two layers."""
    sizes = list(sizes)
    if len(sizes) < 2:
        raise InputError("an MLP needs at least an input size and an output size",
                         field="mlp", expected="a list like 784,1024,10")
    for i, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
            raise InputError(f"size {s!r} at position {i} is not a positive whole number",
                             field="mlp", expected="positive whole numbers")
    if len(sizes) - 1 > MAX_LAYERS:
        raise InputError(f"{len(sizes) - 1} layers is more than the limit of {MAX_LAYERS}",
                         field="mlp")
    layers = []
    prev = "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layer = Layer(f"fc{i + 1}", a, b, "softmax" if last else activation, (prev,))
        layers.append(layer)
        prev = layer.name
    label = name or "mlp-" + "-".join(str(s) for s in sizes)
    return Network(label, sizes[0], layers)


def network_from_document(doc: LocatedDocument) -> Network:
    spec: NetworkSpec = validate_document(NetworkSpec, doc)
    features = {"input": spec.input_features}
    layers: list[Layer] = []
    names: set[str] = set()
    for i, ls in enumerate(spec.layers):
        where = ("layers", i)
        if ls.name in names or ls.name == "input":
            raise InputError(f"layer name '{ls.name}' is used twice", file=doc.file,
                             line=doc.line_of(where + ("name",)), field=f"layers[{i}].name",
                             expected="unique layer names")
        inputs = tuple(ls.inputs) if ls.inputs else ((layers[-1].name,) if layers else ("input",))
        for src in inputs:
            if src not in features:
                raise InputError(f"input '{src}' is not an earlier layer", file=doc.file,
                                 line=doc.line_of(where + ("inputs",)), field=f"layers[{i}].inputs",
                                 expected="the name of an earlier layer or 'input'")
        if len(inputs) != 1:
            raise InputError("dense layers take exactly one input", file=doc.file,
                             line=doc.line_of(where + ("inputs",)), field=f"layers[{i}].inputs")
        incoming = features[inputs[0]]
        if ls.in_features is not None and ls.in_features != incoming:
            raise InputError(
                f"in_features is {ls.in_features} but '{inputs[0]}' gives {incoming} features: "
                "layer sizes do not chain", file=doc.file,
                line=doc.line_of(where + ("in_features",)), field=f"layers[{i}].in_features",
                expected=str(incoming))
        layer = Layer(ls.name, incoming, ls.out_features, ls.activation, inputs)
        layers.append(layer)
        names.add(ls.name)
        features[ls.name] = ls.out_features
    consumed = {src for ly in layers for src in ly.inputs}
    dangling = [ly.name for ly in layers[:-1] if ly.name not in consumed]
    if dangling:
        raise InputError(f"layer(s) {', '.join(dangling)} feed nothing", file=doc.file,
                         field="layers", expected="a chain or graph ending in the last layer")
    return Network(spec.name, spec.input_features, layers, source=doc.file)


def load_network(path: str | Path) -> Network:
    return network_from_document(load_yaml(path))
