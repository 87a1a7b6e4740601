"""ONNX models: the layer graph of a feed-forward network.

Needs the optional ``onnx`` package (``pip install 'cimcost[onnx]'``).  Supported operators:

* weighted: ``Gemm``, ``MatMul`` with a constant (initializer) weight, ``Conv`` (group 1,
  dilation 1, equal strides, padding that is the same on every side or that gives the same
  output size as such padding);
* activations, attached to the weighted layer they follow: ``Relu``, ``Sigmoid``, ``Tanh``,
  ``Softmax``/``LogSoftmax`` (as ``softmax``); after a non-weighted node they are passed
  through (a note says so);
* ``MaxPool``, ``AveragePool``, ``GlobalAveragePool``, ``Flatten`` (axis 1), ``Reshape`` to
  2-D (as ``flatten``);
* ``Add``: of two activations, a residual ``add`` layer; of an activation and a constant (a
  bias after ``MatMul``), folded into the layer before it;
* passed through with a note (their cost is not modelled): ``Identity``, ``Dropout``,
  ``BatchNormalization``;
* shape arithmetic that only feeds ``Reshape`` (``Constant``, ``Shape``, ``Gather``,
  ``Unsqueeze``, ``Squeeze``, ``Concat``, ``Cast``, ``Slice`` on constants) is ignored.

Any other operator is refused, all of them in one message with their node names.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..yamlio import read_input_bytes
from . import layer_name

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax",
               "LogSoftmax": "softmax"}
PASS_THROUGH = ("Identity", "Dropout", "BatchNormalization")
SHAPE_OPS = ("Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice")
LAYER_OPS = ("Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten",
             "Reshape", "Add")
SUPPORTED = (*LAYER_OPS, *ACTIVATIONS, *PASS_THROUGH, *SHAPE_OPS)
MAX_BYTES = 2 * 1024 ** 3


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise InputError("importing ONNX models needs the 'onnx' package, which is not installed",
                         field="onnx", expected="pip install 'cimcost[onnx]'") from None
    return onnx


def _window(size: int, k: int, s: int, pad: int, ceil: bool = False) -> int:
    span = size + 2 * pad - k
    return (-(-span // s) if ceil else span // s) + 1


class _Importer:
    def __init__(self, onnx: Any, model: Any, file: str) -> None:
        self.onnx = onnx
        self.file = file
        self.graph = model.graph
        self.init: dict[str, Any] = {t.name: t for t in self.graph.initializer}
        self.consts: dict[str, Any] = {}  # constant-like tensor -> numpy value or None
        self.alias: dict[str, str] = {}  # activation tensor -> our layer/op name (or 'input')
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.layers: list[dict[str, Any]] = []
        self.by_name: dict[str, dict[str, Any]] = {}
        self.taken: set[str] = {"input"}
        self.previous = "input"
        self.notes: dict[str, list[str]] = {}
        self.inferred: dict[str, list[int | None]] = {}
        for vi in [*self.graph.value_info, *self.graph.output, *self.graph.input]:
            self.inferred[vi.name] = self._dims(vi)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _dims(vi: Any) -> list[int | None]:
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            return []
        return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                for d in t.shape.dim]

    def err(self, node: Any, message: str, expected: str | None = None) -> InputError:
        return InputError(f"node '{node.name or node.op_type}' ({node.op_type}): {message}",
                          file=self.file, expected=expected)

    def note(self, kind: str, item: str) -> None:
        self.notes.setdefault(kind, []).append(item)

    def attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def const_value(self, name: str) -> Any:
        from onnx import numpy_helper

        if name in self.init:
            try:
                return numpy_helper.to_array(self.init[name])
            except Exception:  # external or malformed data: the shape is still known
                return None
        return self.consts.get(name)

    def weight_dims(self, node: Any, name: str) -> list[int]:
        if name in self.init:
            return list(self.init[name].dims)
        value = self.consts.get(name)
        if value is not None:
            return list(value.shape)
        raise self.err(node, f"weight '{name}' is not a constant", "an initializer")

    def emit(self, node: Any, layer: dict[str, Any], sources: list[str],
             shape: tuple[int, ...]) -> None:
        kind = layer["type"]
        name = layer_name(node.name, f"{kind}{len(self.layers) + 1}", self.taken)
        out: dict[str, Any] = {"name": name, "type": kind}
        if sources != [self.previous]:
            out["inputs"] = sources
        out.update((k, v) for k, v in layer.items() if k != "type")
        if any(s <= 0 for s in shape):
            raise self.err(node, f"gives an empty output of shape {list(shape)}")
        self.layers.append(out)
        self.by_name[name] = out
        self.shapes[name] = shape
        self.previous = name
        if node.output:
            self.alias[node.output[0]] = name

    def source(self, node: Any, tensor: str) -> tuple[str, tuple[int, ...]]:
        src = self.alias[tensor]
        return src, self.shapes[src]

    def padding(self, node: Any, size: tuple[int, int], kernel: tuple[int, int], stride: int,
                attrs: dict[str, Any], ceil: bool = False) -> int:
        """One symmetric padding giving the output size ONNX's attributes give."""
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            want = tuple(-(-s // stride) for s in size)
        elif auto == "VALID":
            want = tuple(_window(s, k, stride, 0) for s, k in zip(size, kernel, strict=True))
        else:
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if len(pads) != 4:
                raise self.err(node, f"pads {pads}", "4 values for a 2-D window")
            if pads[0] == pads[1] == pads[2] == pads[3] and not ceil:
                return int(pads[0])
            want = tuple((s + a + b - k + (stride - 1 if ceil else 0)) // stride + 1
                         for s, k, a, b in zip(size, kernel, pads[:2], pads[2:], strict=True))
        for pad in range(max(kernel) + 1):
            if all(_window(s, k, stride, pad) == w for s, k, w in zip(size, kernel, want, strict=True)):
                return pad
        raise self.err(node, f"padding giving a {want[0]}x{want[1]} output from {size[0]}x{size[1]} "
                       "is not the same on every side", "symmetric padding")

    def window(self, node: Any, attrs: dict[str, Any], x: tuple[int, ...],
               kernel: tuple[int, int]) -> tuple[int, int, int, int]:
        strides = list(attrs.get("strides", [1, 1]))
        if len(strides) != 2 or strides[0] != strides[1]:
            raise self.err(node, f"strides {strides}", "the same stride in both directions")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.err(node, "dilated windows are not supported", "dilations 1")
        stride = int(strides[0])
        if stride <= 0 or min(kernel) <= 0:
            raise self.err(node, "a kernel or stride is not positive")
        ceil = bool(attrs.get("ceil_mode", 0))
        pad = self.padding(node, (x[1], x[2]), kernel, stride, attrs, ceil)
        oh, ow = _window(x[1], kernel[0], stride, pad), _window(x[2], kernel[1], stride, pad)
        return stride, pad, oh, ow

    # ---------------------------------------------------------------- the graph
    def input(self) -> dict[str, Any]:
        inputs = [i for i in self.graph.input if i.name not in self.init]
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs) or "none"
            raise InputError(f"the graph has {len(inputs)} inputs ({names})", file=self.file,
                             expected="one input tensor")
        dims = self._dims(inputs[0])[1:]  # the first dimension is the batch
        if len(dims) not in (1, 3) or any(d is None for d in dims):
            raise InputError(f"input '{inputs[0].name}' has shape {self._dims(inputs[0])}",
                             file=self.file, expected="[batch, features] or [batch, C, H, W] "
                             "with known sizes")
        shape = tuple(int(d) for d in dims if d is not None)
        self.alias[inputs[0].name] = "input"
        self.shapes["input"] = shape
        return {"input_features": shape[0]} if len(shape) == 1 else {"input_shape": list(shape)}

    def check_supported(self) -> None:
        bad = [f"{n.op_type} (node '{n.name or '?'}')" for n in self.graph.node
               if n.op_type not in SUPPORTED or n.domain not in ("", "ai.onnx")]
        if bad:
            raise InputError(f"unsupported ONNX operator{'s' if len(bad) > 1 else ''}: "
                             + ", ".join(bad), file=self.file,
                             expected="only " + ", ".join(SUPPORTED))

    def run(self) -> None:
        for node in self.graph.node:
            self.node(node)
        outputs = [o.name for o in self.graph.output]
        if len(outputs) != 1:
            raise InputError(f"the graph has {len(outputs)} outputs", file=self.file,
                             expected="one output tensor")
        if outputs[0] not in self.alias or not self.layers:
            raise InputError(f"output '{outputs[0]}' is not computed by a supported layer",
                             file=self.file)
        if self.alias[outputs[0]] != self.previous:
            raise InputError(f"output '{outputs[0]}' is not computed by the last node",
                             file=self.file, expected="a graph whose last layer gives the output")

    def node(self, node: Any) -> None:
        op = node.op_type
        ins = [i for i in node.input if i]
        acts = [i for i in ins if i in self.alias]
        for i in ins:
            if i not in self.alias and i not in self.init and i not in self.consts:
                raise self.err(node, f"input '{i}' is not produced by an earlier node")
        if not node.output:
            raise self.err(node, "has no output")
        out0 = node.output[0]
        if op in SHAPE_OPS:
            if acts and op != "Shape":
                raise InputError(f"unsupported ONNX operator: {op} (node '{node.name or '?'}') on "
                                 "an activation", file=self.file, expected="shape arithmetic "
                                 "on constants only")
            value = None
            if op == "Constant":
                from onnx import numpy_helper

                tensor = self.attrs(node).get("value")
                value = numpy_helper.to_array(tensor) if tensor is not None else None
            for o in node.output:
                self.consts[o] = value
            return
        if not acts:  # arithmetic on constants only
            for o in node.output:
                self.consts[o] = None
            return
        x_name = acts[0]
        src, x = self.source(node, x_name)
        a = self.attrs(node)
        if op in PASS_THROUGH:
            self.alias[out0] = src
            self.note(f"passed through (cost not modelled): {op}", node.name or "?")
        elif op in ACTIVATIONS:
            target = self.by_name.get(src)
            if target is not None and target["type"] in ("dense", "conv") \
                    and target.get("activation") == "identity":
                target["activation"] = ACTIVATIONS[op]
            else:
                self.note(f"{op} after a node without weights, passed through", node.name or "?")
            self.alias[out0] = src
        elif op in ("Gemm", "MatMul"):
            if op == "MatMul" and len(acts) != 1:
                raise InputError(f"unsupported ONNX operator: MatMul (node '{node.name or '?'}') of "
                                 "two activations", file=self.file,
                                 expected="a constant (initializer) weight")
            if node.input[0] != x_name:
                raise self.err(node, "the weight must be the second input")
            if len(x) != 1:
                raise self.err(node, f"input of shape {list(x)}", "a flattened [batch, features] "
                               "input (add a Flatten)")
            dims = self.weight_dims(node, node.input[1])
            if len(dims) != 2:
                raise self.err(node, f"weight of shape {dims}", "a 2-D weight")
            if a.get("transA", 0):
                raise self.err(node, "transA=1 is not supported", "transA=0")
            fan_in, fan_out = (dims[1], dims[0]) if a.get("transB", 0) else (dims[0], dims[1])
            if fan_in != x[0]:
                raise self.err(node, f"weight has {fan_in} inputs but its input has {x[0]} features",
                               "layer sizes that chain")
            self.emit(node, {"type": "dense", "in_features": fan_in, "out_features": fan_out,
                             "activation": "identity"}, [src], (fan_out,))
        elif op == "Add":
            if len(acts) == 1:
                self.alias[out0] = src
                self.note("bias Add folded into the layer before it", node.name or "?")
                return
            other, y = self.source(node, acts[1])
            if x != y:
                raise self.err(node, f"adds shapes {list(x)} and {list(y)}", "equal shapes")
            self.emit(node, {"type": "add"}, [src, other], x)
        elif op == "Conv":
            if len(x) != 3:
                raise self.err(node, f"input of shape {list(x)}", "[batch, C, H, W]")
            dims = self.weight_dims(node, node.input[1])
            if len(dims) != 4:
                raise self.err(node, f"weight of shape {dims}", "a 2-D convolution [M, C, kH, kW]")
            if a.get("group", 1) != 1:
                raise self.err(node, f"grouped convolution (group={a['group']}) is not supported",
                               "group 1")
            if dims[1] != x[0]:
                raise self.err(node, f"weight expects {dims[1]} input channels but its input has "
                               f"{x[0]}", "layer sizes that chain")
            kernel = (int(dims[2]), int(dims[3]))
            stride, pad, oh, ow = self.window(node, a, x, kernel)
            self.emit(node, self.window_layer("conv", kernel, stride, pad, out_channels=int(dims[0]),
                                              activation="identity"), [src], (int(dims[0]), oh, ow))
        elif op in ("MaxPool", "AveragePool"):
            if len(x) != 3:
                raise self.err(node, f"input of shape {list(x)}", "[batch, C, H, W]")
            ks = list(a.get("kernel_shape", []))
            if len(ks) != 2:
                raise self.err(node, f"kernel_shape {ks}", "a 2-D window")
            kernel = (int(ks[0]), int(ks[1]))
            stride, pad, oh, ow = self.window(node, a, x, kernel)
            kind = "maxpool" if op == "MaxPool" else "avgpool"
            layer = self.window_layer(kind, kernel, stride, pad)
            layer["stride"] = stride  # ONNX's default stride is 1, cimcost's is the kernel
            self.emit(node, layer, [src], (x[0], oh, ow))
        elif op == "GlobalAveragePool":
            if len(x) != 3:
                raise self.err(node, f"input of shape {list(x)}", "[batch, C, H, W]")
            self.emit(node, {"type": "global_avgpool"}, [src], (x[0], 1, 1))
        elif op in ("Flatten", "Reshape"):
            if op == "Flatten" and a.get("axis", 1) != 1:
                raise self.err(node, f"axis {a['axis']}", "axis 1 (keep the batch dimension)")
            if op == "Reshape":
                target = self.const_value(node.input[1]) if len(node.input) > 1 else None
                rank = len(target) if target is not None and getattr(target, "ndim", 0) == 1 \
                    else len(self.inferred.get(out0, [])) or None
                if rank is None:
                    self.note("Reshape of unknown target shape taken as a flatten to 2-D",
                              node.name or "?")
                elif rank != 2:
                    raise self.err(node, f"reshape to {rank} dimensions", "a reshape to 2-D "
                                   "[batch, features]")
            if len(x) == 1:
                self.alias[out0] = src
            else:
                self.emit(node, {"type": "flatten"}, [src], (math.prod(x),))
        else:  # pragma: no cover - check_supported() refused it
            raise self.err(node, "unsupported operator")

    @staticmethod
    def window_layer(kind: str, kernel: tuple[int, int], stride: int, pad: int,
                     **extra: Any) -> dict[str, Any]:
        layer: dict[str, Any] = {"type": kind}
        if "out_channels" in extra:
            layer["out_channels"] = extra.pop("out_channels")
        layer["kernel"] = kernel[0] if kernel[0] == kernel[1] else list(kernel)
        if stride != 1:
            layer["stride"] = stride
        if pad:
            layer["padding"] = pad
        layer.update(extra)
        return layer


def import_onnx(path: str | Path, name: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """Read an ONNX model; return the cimcost network document and notes on what was folded
    or passed through."""
    onnx = _require_onnx()
    file = str(path)
    raw = read_input_bytes(path, MAX_BYTES, what="ONNX file")
    try:
        model = onnx.load_model_from_string(raw)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=file) from None
    except Exception as exc:  # protobuf's DecodeError and friends
        raise InputError(f"not an ONNX model ({type(exc).__name__})", file=file) from None
    if not model.graph.node:
        raise InputError("the ONNX graph has no nodes (is this an ONNX model?)", file=file)
    with contextlib.suppress(Exception):  # shapes come from initializers and attributes anyway
        model = onnx.shape_inference.infer_shapes(model)
    imp = _Importer(onnx, model, file)
    imp.check_supported()
    doc: dict[str, Any] = {"kind": "network",
                           "name": name or model.graph.name or f"{Path(path).stem} (imported from ONNX)"}
    doc.update(imp.input())
    imp.run()
    doc["layers"] = imp.layers
    notes = [f"{kind}: {', '.join(names)}" for kind, names in imp.notes.items()]
    return doc, notes
