"""Read YAML safely and remember the line of every field, so errors can point at it."""

from __future__ import annotations

import gc
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError

MAX_FILE_BYTES = 4 * 1024 * 1024


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it


class SafeLoader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml-backed when available), plus YAML 1.2 floats such as
    ``1e9`` and ``2.5e-12`` (YAML 1.1 wants ``1.0e+9`` and would read ``1e9`` as a string, a
    trap for unit-heavy files)."""


SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


class LocatedDocument:
    """A parsed YAML document plus a map from field path (tuple of keys/indices) to line number."""

    def __init__(self, data: Any, lines: dict[tuple[Any, ...], int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """Line of the deepest known prefix of ``path`` (1-based)."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return line
        return None


MAX_NODES = 500_000  # more than any real spec; stops alias bombs ("billion laughs") early
MAX_DEPTH = 64


def _index_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    if len(out) > MAX_NODES:
        raise InputError(f"more than {MAX_NODES} YAML nodes (deeply repeated aliases?)")
    if len(path) > MAX_DEPTH:
        raise InputError(f"YAML nesting deeper than {MAX_DEPTH} levels")
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            out[path + (key,)] = key_node.start_mark.line + 1
            _index_lines(value_node, path + (key,), out)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, path + (i,), out)


def read_input_bytes(path: str | Path, max_bytes: int = MAX_FILE_BYTES, what: str = "file") -> bytes:
    """The bytes of a user's input file, or an InputError naming it (missing, a directory,
    unreadable, too large)."""
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=file)
    if p.is_dir():
        raise InputError(f"is a directory, not a {what}", file=file)
    try:
        if p.stat().st_size > max_bytes:
            raise InputError(f"file is larger than {max_bytes} bytes", file=file)
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=file) from None


def read_input_text(path: str | Path, max_bytes: int = MAX_FILE_BYTES, what: str = "file") -> str:
    """A user's UTF-8 text file (a byte-order mark is allowed), or an InputError naming it."""
    try:
        return read_input_bytes(path, max_bytes, what).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path)) from None


def load_yaml(path: str | Path) -> LocatedDocument:
    """Parse one YAML file with ``yaml.safe_load`` semantics; every failure is an InputError."""
    return parse_yaml_text(read_input_text(path, what="YAML file"), str(path))


def parse_yaml_text(text: str, file: str = "<string>") -> LocatedDocument:
    gc_was_enabled = gc.isenabled()
    try:
        gc.disable()  # PyYAML allocates millions of small objects: the cyclic GC doubles load time
        loader = SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "malformed YAML"
        raise InputError(f"malformed YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=file) from None
    except RecursionError:
        raise InputError("YAML nesting is too deep", file=file) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        try:
            _index_lines(node, (), lines)
        except InputError as exc:
            raise InputError(exc.message, file=file) from None
    if data is None:
        raise InputError("file is empty", file=file, expected="a YAML mapping")
    if not isinstance(data, dict):
        raise InputError(
            f"top level is a {type(data).__name__}", file=file, line=1, expected="a YAML mapping"
        )
    return LocatedDocument(data, lines, file)
