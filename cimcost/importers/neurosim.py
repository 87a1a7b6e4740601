"""DNN+NeuroSim's ``NetWork.csv``: one line per weighted layer, 8 integers

``IFM_rows, IFM_cols, IFM_channels, kernel_rows, kernel_cols, output_channels,
followed_by_pooling, stride``.

* A fully connected layer is a 1x1 convolution on a 1x1 input: ``1,1,in,1,1,out,0,1``.
* ``followed_by_pooling = 1`` means a 2x2 max-pool with stride 2 follows the layer.
* NeuroSim's convolutions keep the feature-map size ('same' padding).  The padding of each
  convolution is inferred so that its (pooled) output matches the next line's IFM; 'same'
  padding, ``(kernel - 1) // 2``, is preferred and always used for the last convolution.
* A ``flatten`` is inserted before the first FC line that follows a convolution, and that FC
  line's ``IFM_channels`` must equal the flattened size.

Blank lines and lines starting with ``#`` are skipped.  Every other problem (wrong number of
fields, a field that is not a whole number, a non-positive size, a pooling flag other than 0/1,
shapes that do not chain) is an :class:`InputError` naming the file and line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..yamlio import read_input_text

COLUMNS = ("IFM_rows", "IFM_cols", "IFM_channels", "kernel_rows", "kernel_cols",
           "output_channels", "followed_by_pooling", "stride")
MAX_LINES = 100_000
MAX_BYTES = 4 * 1024 * 1024
# upper bounds per column; the network spec's own limits (specs.LayerSpec)
LIMITS = (1 << 16, 1 << 16, 1 << 24, 1 << 16, 1 << 16, 1 << 24, 1, 1 << 16)
_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Row:
    line: int
    rows: int
    cols: int
    channels: int
    kh: int
    kw: int
    out: int
    pool: bool
    stride: int

    @property
    def fc(self) -> bool:
        return self.rows == 1 and self.cols == 1 and self.kh == 1 and self.kw == 1


def read_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """A small UTF-8 text file, or an InputError naming it."""
    return read_input_text(path, max_bytes, what="NeuroSim network CSV")


def parse_rows(text: str, file: str = "NetWork.csv") -> list[Row]:
    rows: list[Row] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if len(rows) >= MAX_LINES:
            raise InputError(f"more than {MAX_LINES} layers", file=file, line=number)
        fields = [f.strip() for f in line.split(",")]
        if fields and fields[-1] == "":  # a trailing comma
            fields.pop()
        if len(fields) != len(COLUMNS):
            raise InputError(f"{len(fields)} fields instead of {len(COLUMNS)}", file=file,
                             line=number, expected=", ".join(COLUMNS))
        values = []
        for col, (name, text_value, limit) in enumerate(zip(COLUMNS, fields, LIMITS, strict=True)):
            if not _INT.fullmatch(text_value):
                shown = text_value if len(text_value) <= 40 else text_value[:37] + "..."
                raise InputError(f"'{shown}' is not a whole number", file=file, line=number,
                                 field=name, expected="8 comma-separated integers")
            value = int(text_value)
            if col == 6:
                if value not in (0, 1):
                    raise InputError(f"pooling flag is {value}", file=file, line=number,
                                     field=name, expected="0 or 1")
            elif value <= 0:
                raise InputError(f"{name} is {value}", file=file, line=number, field=name,
                                 expected="a whole number > 0")
            elif value > limit:
                raise InputError(f"{name} is {value}", file=file, line=number, field=name,
                                 expected=f"at most {limit}")
            values.append(value)
        rows.append(Row(number, values[0], values[1], values[2], values[3], values[4], values[5],
                        bool(values[6]), values[7]))
    if not rows:
        raise InputError("no layers (the file is empty)", file=file,
                         expected="one line of 8 integers per layer")
    return rows


def _window(size: int, k: int, s: int, pad: int) -> int:
    return (size + 2 * pad - k) // s + 1


def _conv_out(r: Row, pad: int) -> tuple[int, int] | None:
    oh, ow = _window(r.rows, r.kh, r.stride, pad), _window(r.cols, r.kw, r.stride, pad)
    if oh < 1 or ow < 1:
        return None
    if r.pool:
        if oh < 2 or ow < 2:
            return None
        oh, ow = oh // 2, ow // 2
    return oh, ow


def _describe(r: Row, pad: int) -> str:
    out = _conv_out(r, pad)
    conv = (f"a {r.kh}x{r.kw} convolution with stride {r.stride} and padding {pad} on "
            f"{r.rows}x{r.cols}")
    if out is None:
        return f"{conv} does not fit"
    return f"{conv} gives {out[0]}x{out[1]}" + (" after 2x2 pooling" if r.pool else "")


def _padding(r: Row, nxt: Row | None, file: str) -> tuple[int, tuple[int, int]]:
    """The padding of conv line ``r`` and its (pooled) output size, from the next line."""
    same = (max(r.kh, r.kw) - 1) // 2
    candidates = [same] + [p for p in range(max(r.kh, r.kw)) if p != same]

    def fits(pad: int) -> bool:
        out = _conv_out(r, pad)
        if out is None:
            return False
        if nxt is None:
            return True
        if nxt.fc:
            return nxt.channels == r.out * out[0] * out[1]
        return (nxt.rows, nxt.cols) == out

    for pad in candidates if nxt is not None else [same]:
        if fits(pad):
            out = _conv_out(r, pad)
            assert out is not None
            return pad, out
    if nxt is None:
        raise InputError(f"{_describe(r, same)} (line {r.line})", file=file, line=r.line,
                         field="kernel_rows", expected="a kernel that fits the input")
    if nxt.fc:
        msg = (f"IFM_channels is {nxt.channels} but line {r.line} flattens to "
               f"{r.out} channels x its output size: {_describe(r, same)}, i.e. "
               f"{_flat(r, same)} features")
        raise InputError(msg, file=file, line=nxt.line, field="IFM_channels",
                         expected="the flattened size of the previous layer's output")
    raise InputError(f"IFM is {nxt.rows}x{nxt.cols} but line {r.line} does not produce it with any "
                     f"padding: {_describe(r, same)}", file=file, line=nxt.line, field="IFM_rows",
                     expected="layer sizes that chain")


def _flat(r: Row, pad: int) -> str:
    out = _conv_out(r, pad)
    return "no" if out is None else str(r.out * out[0] * out[1])


def network_document(rows: list[Row], name: str, file: str = "NetWork.csv") -> dict[str, Any]:
    """The cimcost network document for parsed NeuroSim rows."""
    first = rows[0]
    doc: dict[str, Any] = {"kind": "network", "name": name}
    shape: tuple[int, ...]
    if first.fc:
        doc["input_features"] = first.channels
        shape = (first.channels,)
    else:
        doc["input_shape"] = [first.channels, first.rows, first.cols]
        shape = (first.channels, first.rows, first.cols)
    layers: list[dict[str, Any]] = []
    n_conv = n_fc = n_pool = 0
    for i, r in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if r.fc:
            flat = math.prod(shape)
            if r.channels != flat:
                what = (f"{shape[0]} features" if len(shape) == 1 else
                        f"{flat} features ({shape[0]} channels x {shape[1]}x{shape[2]})")
                raise InputError(f"IFM_channels is {r.channels} but the previous layer gives {what}",
                                 file=file, line=r.line, field="IFM_channels",
                                 expected="layer sizes that chain")
            if r.pool:
                raise InputError("a fully connected layer cannot be followed by pooling",
                                 file=file, line=r.line, field="followed_by_pooling", expected="0")
            if r.stride != 1:
                raise InputError(f"stride {r.stride} on a fully connected layer", file=file,
                                 line=r.line, field="stride", expected="1")
            if len(shape) == 3:
                layers.append({"name": "flatten", "type": "flatten"})
            n_fc += 1
            layers.append({"name": f"fc{n_fc}", "type": "dense", "in_features": r.channels,
                           "out_features": r.out})
            shape = (r.out,)
            continue
        if len(shape) != 3:
            raise InputError("a convolution cannot follow a fully connected layer", file=file,
                             line=r.line, expected="convolutions first, then FC lines (1,1,in,1,1,out,0,1)")
        if (r.channels, r.rows, r.cols) != shape:
            raise InputError(f"IFM is {r.rows}x{r.cols}x{r.channels} but the previous layer gives "
                             f"{shape[1]}x{shape[2]}x{shape[0]}", file=file, line=r.line,
                             field="IFM_channels" if r.channels != shape[0] else "IFM_rows",
                             expected="layer sizes that chain")
        pad, (oh, ow) = _padding(r, nxt, file)
        n_conv += 1
        layer: dict[str, Any] = {"name": f"conv{n_conv}", "type": "conv", "out_channels": r.out,
                                 "kernel": r.kh if r.kh == r.kw else [r.kh, r.kw]}
        if r.stride != 1:
            layer["stride"] = r.stride
        if pad:
            layer["padding"] = pad
        layers.append(layer)
        if r.pool:
            n_pool += 1
            layers.append({"name": f"pool{n_pool}", "type": "maxpool", "kernel": 2})
        shape = (r.out, oh, ow)
    if rows[-1].pool:
        raise InputError("the last layer is followed by pooling", file=file, line=rows[-1].line,
                         field="followed_by_pooling", expected="0: the network ends in its last layer")
    layers[-1]["activation"] = "softmax"
    return doc | {"layers": layers}


def import_neurosim(path: str | Path, name: str | None = None) -> dict[str, Any]:
    """Read a NeuroSim ``NetWork.csv`` and return the cimcost network document (a dict)."""
    file = str(path)
    rows = parse_rows(read_text(path), file)
    return network_document(rows, name or f"{Path(file).stem} (imported from NeuroSim)", file)
