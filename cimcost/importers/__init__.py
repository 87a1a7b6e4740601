"""Import networks from other tools' formats into cimcost's network YAML.

``cimcost import neurosim NetWork.csv -o net.yaml`` reads DNN+NeuroSim's layer list;
``cimcost import onnx model.onnx -o net.yaml`` reads an ONNX graph (needs the optional extra
``cimcost[onnx]``).  Both build a network document (a plain dict in the format of
``examples/*.yaml``), check it with the same loader ``cimcost estimate`` uses, and write it as
YAML.  Every problem is an :class:`~cimcost.errors.InputError` naming the source file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError

FORMATS = ("neurosim", "onnx")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")


def layer_name(raw: str, fallback: str, taken: set[str]) -> str:
    """A readable, unique layer name: ``raw`` with unsafe characters replaced, or ``fallback``."""
    name = _SAFE_NAME.sub("_", raw).strip("_.-")[:100] or fallback
    if name == "input":
        name = "input_"
    base, n = name, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", text) and text.lower() not in (
            "true", "false", "yes", "no", "on", "off", "null", "y", "n"):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(doc: dict[str, Any], header: str = "") -> str:
    """The network document as YAML in the style of ``examples/``: one flow mapping per layer."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for key, value in doc.items():
        if key == "layers":
            continue
        lines.append(f"{key}: {_scalar(value)}")
    lines.append("layers:")
    for layer in doc["layers"]:
        fields = ", ".join(f"{k}: {_scalar(v)}" for k, v in layer.items())
        lines.append(f"  - {{{fields}}}")
    return "\n".join(lines) + "\n"


def check_document(doc: dict[str, Any], source: str) -> Any:
    """Load ``doc`` exactly as a network file would be loaded; a problem names ``source``."""
    from ..network import network_from_document
    from ..yamlio import parse_yaml_text

    text = to_yaml(doc)
    try:
        return network_from_document(parse_yaml_text(text, "<imported>"))
    except InputError as exc:
        field = f" (field '{exc.field}')" if exc.field else ""
        raise InputError(f"the imported network is not valid{field}: {exc.message}", file=source,
                         expected=exc.expected) from None


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="convert a NeuroSim NetWork.csv or an ONNX model to a "
                       "network YAML", description="Convert another tool's network description "
                       "to cimcost's network YAML. The result is checked with the same loader "
                       "'cimcost estimate' uses before it is written.")
    p.add_argument("format", choices=FORMATS, help="neurosim: DNN+NeuroSim's NetWork.csv; "
                   "onnx: an ONNX model (needs: pip install 'cimcost[onnx]')")
    p.add_argument("source", help="the file to import")
    p.add_argument("-o", "--output", help="network YAML to write (default: standard output)")
    p.add_argument("--name", help="network name (default: from the file name)")
    p.set_defaults(func=run)


def import_file(fmt: str, source: str, name: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The network document and the importer's notes (what was folded or passed through)."""
    if fmt == "neurosim":
        from .neurosim import import_neurosim

        return import_neurosim(source, name=name), []
    if fmt == "onnx":
        from .onnx import import_onnx

        return import_onnx(source, name=name)
    raise InputError(f"unknown import format '{fmt}'", field="format", expected=" or ".join(FORMATS))


def run(args: argparse.Namespace) -> int:
    doc, notes = import_file(args.format, args.source, args.name)
    net = check_document(doc, args.source)
    header = f"imported by 'cimcost import {args.format}' from {Path(args.source).name}"
    text = to_yaml(doc, header)
    for note in notes:
        print(f"cimcost: note: {note}", file=sys.stderr)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=args.output) from None
        print(f"wrote {args.output}: {len(doc['layers'])} layers, {net.depth} weighted",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
