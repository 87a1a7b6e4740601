"""Networks: a layer graph (networkx DiGraph underneath) of weighted layers (dense, conv) and
the operations between them (pooling, flatten, element-wise add).

``Network.layers`` lists the weighted layers in topological order; they are what maps onto
arrays and what a learning rule trains.  ``Network.ops`` holds the other nodes, each charged
to the forward step of the weighted layer that consumes its output.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .specs import LayerSpec, NetworkSpec, validate_document
from .yamlio import LocatedDocument, load_yaml

if TYPE_CHECKING:
    import networkx as nx

MAX_LAYERS = 100_000
MAX_FEATURES = 1 << 24
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Layer:
    """A weighted layer as a matrix: ``in_features`` rows (C_in x K x K for a convolution),
    ``out_features`` columns (output channels), applied at ``positions`` output positions."""

    name: str
    in_features: int
    out_features: int
    activation: str = "relu"
    inputs: tuple[str, ...] = ()
    kind: str = "dense"
    positions: int = 1
    in_shape: Shape = ()
    out_shape: Shape = ()

    @property
    def weights(self) -> int:
        return self.in_features * self.out_features

    @property
    def in_elements(self) -> int:
        """Values in the input tensor (what the buffer sends once)."""
        return math.prod(self.in_shape) if self.in_shape else self.in_features

    @property
    def out_elements(self) -> int:
        return math.prod(self.out_shape) if self.out_shape else self.out_features


@dataclass(frozen=True)
class Op:
    """A node without weights: pooling, flatten or element-wise add."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    in_elements: int
    out_elements: int
    charged_to: int  # index of the weighted layer whose forward step pays for it


@dataclass
class Network:
    name: str
    input_features: int
    layers: list[Layer]
    ops: list[Op] = field(default_factory=list)
    input_shape: Shape = ()
    source: str = "<inline>"
    preds: list[list[int]] = field(default_factory=list)  # weighted predecessors per layer
    succs: list[list[int]] = field(default_factory=list)
    _graph: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.preds:  # a chain
            n = len(self.layers)
            self.preds = [[i - 1] if i else [] for i in range(n)]
            self.succs = [[i + 1] if i < n - 1 else [] for i in range(n)]

    @property
    def classes(self) -> int:
        return self.layers[-1].out_elements

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def has_conv(self) -> bool:
        return any(ly.kind == "conv" for ly in self.layers)

    @property
    def graph(self) -> nx.DiGraph:
        """The layer graph: every layer and op by name plus 'input'; edges carry tensors."""
        if self._graph is None:
            import networkx as nx

            g = nx.DiGraph()
            g.add_node("input", features=self.input_features)
            nodes: list[Layer | Op] = [*self.layers, *self.ops]
            for node in nodes:
                g.add_node(node.name, node=node)
                for src in node.inputs:
                    g.add_edge(src, node.name)
            self._graph = g
        return self._graph

    def ops_for(self, layer: int) -> list[Op]:
        return [op for op in self.ops if op.charged_to == layer]


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
        if s > MAX_FEATURES:  # the network file's limit (specs.LayerSpec.in/out_features)
            raise InputError(f"size {s} at position {i} is too large", field="mlp",
                             expected=f"at most {MAX_FEATURES}")
    if len(sizes) - 1 > MAX_LAYERS:
        raise InputError(f"{len(sizes) - 1} layers is more than the limit of {MAX_LAYERS}",
                         field="mlp")
    layers = []
    prev = "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layer = Layer(f"fc{i + 1}", a, b, "softmax" if last else activation, (prev,),
                      in_shape=(a,), out_shape=(b,))
        layers.append(layer)
        prev = layer.name
    label = name or "mlp-" + "-".join(str(s) for s in sizes)
    return Network(label, sizes[0], layers, input_shape=(sizes[0],))


def _pair(v: int | list[int] | None, default: int) -> tuple[int, int]:
    if v is None:
        return default, default
    if isinstance(v, int):
        return v, v
    return v[0], v[1]


def _window(size: int, k: int, s: int, pad: int) -> int:
    return (size + 2 * pad - k) // s + 1


def network_from_document(doc: LocatedDocument) -> Network:
    raw_layers = doc.data.get("layers") if isinstance(doc.data, dict) else None
    if isinstance(raw_layers, list) and len(raw_layers) > MAX_LAYERS:  # before validating them all
        raise InputError(f"{len(raw_layers)} layers is more than the limit of {MAX_LAYERS}",
                         file=doc.file, line=doc.line_of(("layers",)), field="layers",
                         expected=f"at most {MAX_LAYERS} layers")
    spec: NetworkSpec = validate_document(NetworkSpec, doc)
    in_shape: Shape = tuple(spec.input_shape) if spec.input_shape else (spec.input_features or 0,)
    shapes: dict[str, Shape] = {"input": in_shape}
    kinds: dict[str, str] = {"input": "input"}
    order: list[str] = []
    specs: dict[str, LayerSpec] = {}
    inputs_of: dict[str, tuple[str, ...]] = {}
    layers: list[Layer] = []
    index: dict[str, int] = {}
    previous = "input"

    def fail(i: int, msg: str, key: str | None = None, expected: str | None = None) -> InputError:
        where: tuple[Any, ...] = ("layers", i) + ((key,) if key else ())
        return InputError(msg, file=doc.file, line=doc.line_of(where),
                          field=f"layers[{i}]" + (f".{key}" if key else ""), expected=expected)

    for i, ls in enumerate(spec.layers):
        if ls.name in shapes:
            raise fail(i, f"layer name '{ls.name}' is used twice", "name", "unique layer names")
        inputs = tuple(ls.inputs) if ls.inputs else (previous,)
        for src in inputs:
            if src not in shapes:
                raise fail(i, f"input '{src}' is not an earlier layer", "inputs",
                           "the name of an earlier layer or 'input'")
        if ls.type != "add" and len(inputs) != 1:
            raise fail(i, f"a {ls.type} layer takes exactly one input", "inputs")
        x = shapes[inputs[0]]
        flat = math.prod(x)
        if ls.type == "dense":
            if ls.in_features is not None and ls.in_features != flat:
                raise fail(i, f"in_features is {ls.in_features} but '{inputs[0]}' gives {flat} "
                           "features: layer sizes do not chain", "in_features", str(flat))
            assert ls.out_features is not None
            out: Shape = (ls.out_features,)
            layer = Layer(ls.name, flat, ls.out_features, ls.activation, inputs, "dense", 1, x, out)
        elif ls.type in ("conv", "maxpool", "avgpool"):
            if len(x) != 3:
                raise fail(i, f"a {ls.type} layer needs a [channels, height, width] input but "
                           f"'{inputs[0]}' gives shape {list(x)}", "type",
                           "input_shape: [C, H, W] on the network")
            kh, kw = _pair(ls.kernel, 1)
            stride = ls.stride or (1 if ls.type == "conv" else kh)
            oh, ow = (_window(x[1], kh, stride, ls.padding), _window(x[2], kw, stride, ls.padding))
            if oh < 1 or ow < 1:
                raise fail(i, f"kernel {kh}x{kw} does not fit the {x[1]}x{x[2]} input", "kernel")
            if ls.type == "conv":
                assert ls.out_channels is not None
                out = (ls.out_channels, oh, ow)
                layer = Layer(ls.name, x[0] * kh * kw, ls.out_channels, ls.activation, inputs,
                              "conv", oh * ow, x, out)
            else:
                out = (x[0], oh, ow)
        elif ls.type == "global_avgpool":
            if len(x) != 3:
                raise fail(i, "global_avgpool needs a [channels, height, width] input", "type")
            out = (x[0], 1, 1)
        elif ls.type == "flatten":
            out = (flat,)
        else:  # add
            if len(inputs) < 2:
                raise fail(i, "an add layer needs two or more inputs", "inputs")
            for src in inputs[1:]:
                if shapes[src] != x:
                    raise fail(i, f"cannot add '{src}' of shape {list(shapes[src])} to "
                               f"'{inputs[0]}' of shape {list(x)}", "inputs", "equal shapes")
            out = x
        if ls.type in ("dense", "conv"):
            index[ls.name] = len(layers)
            layers.append(layer)
        shapes[ls.name] = out
        kinds[ls.name] = ls.type
        order.append(ls.name)
        specs[ls.name] = ls
        inputs_of[ls.name] = inputs
        previous = ls.name

    consumed = {src for name in order for src in inputs_of[name]}
    dangling = [n for n in order[:-1] if n not in consumed]
    if dangling:
        raise InputError(f"layer(s) {', '.join(dangling)} feed nothing", file=doc.file,
                         field="layers", expected="a graph that ends in the last layer")
    if order[-1] not in index:
        raise InputError(f"the last layer '{order[-1]}' has no weights", file=doc.file,
                         field="layers", expected="a dense or conv output layer")
    if not layers:
        raise InputError("the network has no dense or conv layer", file=doc.file, field="layers")

    # weighted predecessors through ops, and ops charged to the weighted layer after them
    def weighted_sources(name: str) -> set[str]:
        out_set: set[str] = set()
        stack = list(inputs_of.get(name, ()))
        visited: set[str] = set()  # without it, chained multi-input adds are exponential
        while stack:
            src = stack.pop()
            if src in visited:
                continue
            visited.add(src)
            if src in index:
                out_set.add(src)
            elif src != "input":
                stack.extend(inputs_of[src])
        return out_set

    consumers: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for src in inputs_of[n]:
            if src != "input":
                consumers[src].append(n)

    charged_memo: dict[str, int] = {}

    def charged(name: str) -> int:
        only = consumers[name]
        if len(only) == 1 and only[0] in charged_memo:  # a chain of ops: same answer, O(1)
            return charged_memo[only[0]]
        stack = deque([name])
        seen = set()
        while stack:
            n = stack.popleft()
            for c in consumers[n]:
                if c in index:
                    return index[c]
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return max(index[s] for s in weighted_sources(name)) if weighted_sources(name) else 0

    for n in reversed(order):  # consumers first, so chains of ops are answered from the memo
        if n not in index:
            charged_memo[n] = charged(n)
    ops = [Op(n, kinds[n], inputs_of[n], sum(math.prod(shapes[s]) for s in inputs_of[n]),
              math.prod(shapes[n]), charged_memo[n]) for n in order if n not in index]
    preds = [sorted(index[s] for s in weighted_sources(ly.name)) for ly in layers]
    succs: list[list[int]] = [[] for _ in layers]
    for i, ps in enumerate(preds):
        for j in ps:
            succs[j].append(i)
    input_features = math.prod(in_shape)
    return Network(spec.name, input_features, layers, ops, in_shape, doc.file, preds, succs)


def load_network(path: str | Path) -> Network:
    return network_from_document(load_yaml(path))
