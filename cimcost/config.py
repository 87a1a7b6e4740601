"""Find bundled files, load the four specs, apply ``--set`` overrides, flatten to numbers.

The cost model works on one flat mapping of dotted names to numbers (``subarray.rows``,
``adc.bits``, ``tech.vdd``, ``memory.r_on``, ``circuits.sense_amp.area_f2`` …) so that any of
them can be a numpy array of design points.  Choices that change structure (ADC type, where
gradients accumulate) stay as strings in :class:`Options`.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .specs import AccountingSpec, Circuits, Floorplan, MemoryCell, Technology, raise_validation
from .yamlio import LocatedDocument, SafeLoader, load_yaml

DEFAULT_FLOORPLAN = "floorplans/default.yaml"


def data_root() -> Path:
    """Where the bundled techfiles/, floorplans/ and examples/ live (wheel or source tree)."""
    packaged = Path(str(resources.files("cimcost"))) / "_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def resolve(path: str, folder: str) -> Path:
    """A user path as given if it exists; otherwise the bundled file of that name.

    ``folder`` is e.g. ``techfiles/cmos``: ``22nm``, ``22nm.yaml`` and
    ``techfiles/cmos/22nm.yaml`` all find the bundled 22 nm node from any directory."""
    p = Path(path)
    if p.exists():
        return p
    root = data_root()
    candidates = [root / path, root / folder / path, root / folder / f"{path}.yaml"]
    for c in candidates:
        if c.is_file():
            return c
    return p  # let the loader report it missing, under the name the user gave


@dataclass
class Options:
    adc_type: str
    gradient_round_trip: str
    stash: str
    feedback_matrix: str
    bus_share: str
    memory_is_sram: bool
    memory_is_crossbar: bool  # no access device: unselected lines need an inhibit bias
    wgus: int | None
    global_buffer_cores: int | None
    tile_buffer_cores: int | None
    buffer_per_wgu: bool
    wgu_assignment: str = "round_robin"
    update_every: str = "batch"
    execution: str = "layer_by_layer"
    phase_overlap: bool = True
    wgu_speedup_by_arrays: bool = False
    buffer_tile_factor: bool = False
    update_reads_gradient: bool = True
    read_cell_energy: bool = True
    duplicate_speedup: bool = False
    strip_layout: bool = False
    wgu_used_cell_scaling: bool = False
    pe_register_clocking: bool = False
    full_subarray_lines: bool = False
    line_charge_in_adc: bool = False
    narrow_tile_output: bool = False
    neurosim_global_buffer: bool = False
    global_accumulation_per_output: bool = False
    global_bus_per_layer: bool = False
    transposed_books_forward_buffers: bool = False
    global_buffer_at_edge: bool = False
    local_buffers_at_edge: bool = True
    update_delivery: str = "chip"
    update_delivery_per_sample: bool = False
    tile_search: bool = False


# the accounting fields that change the structure of the computation (the numeric ones reach
# the models through params()); Options carries them under the same names
_ACCOUNTING_SWITCHES = tuple(f.name for f in dataclasses.fields(Options)
                             if f.name in AccountingSpec.model_fields)


@dataclass
class Config:
    tech: Technology
    memory: MemoryCell
    circuits: Circuits
    floorplan: Floorplan
    files: dict[str, str]

    def params(self) -> dict[str, Any]:
        return flatten(self)

    def options(self) -> Options:
        fp = self.floorplan
        return Options(
            adc_type=fp.adc.type,
            gradient_round_trip=fp.training.gradient_round_trip,
            stash=fp.training.stash,
            feedback_matrix=fp.training.feedback_matrix,
            bus_share=fp.interconnect.bus_share,
            global_buffer_at_edge=fp.interconnect.global_buffer_position == "edge",
            local_buffers_at_edge=fp.interconnect.local_buffer_position == "edge",
            memory_is_sram=self.memory.technology == "sram",
            memory_is_crossbar=self.memory.access == "crossbar",
            wgus=None if fp.training.wgus == "auto" else int(fp.training.wgus),
            global_buffer_cores=None if fp.global_buffer.cores == "auto"
            else int(fp.global_buffer.cores),
            tile_buffer_cores=None if fp.tile_buffer.cores == "auto" else int(fp.tile_buffer.cores),
            buffer_per_wgu=fp.global_buffer.channels == "per_wgu",
            wgu_assignment=fp.training.wgu_assignment,
            update_every=fp.training.update_every,
            execution=fp.training.execution,
            neurosim_global_buffer=fp.accounting.global_buffer_sizing == "neurosim",
            **{name: getattr(fp.accounting, name) for name in _ACCOUNTING_SWITCHES},
            tile_search=fp.tile.size == "search",
        )


def _constants(prefix: str, data: dict[str, Any], out: dict[str, Any]) -> None:
    for key, val in data.items():
        if isinstance(val, dict) and "value" in val and "source" in val:
            out[f"{prefix}.{key}"] = float(val["value"])
        elif isinstance(val, dict):
            _constants(f"{prefix}.{key}", val, out)


def _plain(prefix: str, data: dict[str, Any], out: dict[str, Any]) -> None:
    for key, val in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(val, dict):
            _plain(name, val, out)
        elif isinstance(val, (int, float)):
            out[name] = float(val)


def flatten(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _constants("tech", cfg.tech.model_dump(), out)
    _constants("memory", cfg.memory.model_dump(exclude_none=True), out)
    _constants("circuits", cfg.circuits.model_dump(), out)
    _plain("", cfg.floorplan.model_dump(), out)
    return out


# ------------------------------------------------------------------------------ overrides

_SECTIONS = {"tech": "tech", "memory": "memory", "circuits": "circuits"}
_MODELS: dict[str, Any] = {"tech": Technology, "memory": MemoryCell, "circuits": Circuits}


def split_assignment(item: str, field: str, example: str) -> tuple[str, str]:
    """``"adc.bits = 4"`` -> ``("adc.bits", " 4")``, or an InputError naming ``field``."""
    if "=" not in item:
        raise InputError(f"'{item}' is not of the form path=value", field=field,
                         expected=f"e.g. {example}")
    path, _, raw = item.partition("=")
    path = path.strip()
    if not path:
        raise InputError(f"'{item}' has no field name", field=field, expected=f"e.g. {example}")
    return path, raw


def parse_set(item: str) -> tuple[str, Any]:
    path, raw = split_assignment(item, "--set", "subarray.rows=256")
    try:
        value = yaml.load(raw, Loader=SafeLoader) if raw.strip() else None  # noqa: S506
    except yaml.YAMLError:
        value = raw
    if value is None:
        raise InputError(f"'{item}' has no value", field=path, expected="a value after '='")
    return path, value


def _field_model(model: Any, key: str) -> Any:
    """The pydantic model class of a nested field, or None for a plain value."""
    from pydantic import BaseModel

    field = model.model_fields.get(key) if model is not None else None
    if field is None:
        return None
    annotation = field.annotation
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _apply(data: dict[str, Any], keys: list[str], value: Any, full: str, model: Any,
           constant: bool) -> None:
    """Set ``keys`` in ``data`` to ``value``; a field the model knows may be absent from the
    file (it has a default) and is created."""
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        known_fields = set(model.model_fields) if model is not None else set()
        if not isinstance(node, dict) or (key not in node and key not in known_fields):
            known = sorted(set(node) | known_fields) if isinstance(node, dict) else []
            raise InputError(f"unknown --set path '{full}'", field=full,
                             expected=f"one of: {', '.join(known)}" if known else None)
        sub_model = _field_model(model, key)
        if last:
            current = node.get(key)
            if constant and isinstance(current, dict) and "value" in current:
                node[key] = dict(current, value=value, source="set on the command line")
            elif constant and current is None and sub_model is not None:
                node[key] = {"value": value, "unit": "?", "source": "set on the command line"}
            elif isinstance(current, dict) or (sub_model is not None and not constant):
                example = next(iter(current)) if isinstance(current, dict) and current else "..."
                raise InputError(f"'{full}' is a section, not a value", field=full,
                                 expected=f"a path to a single value, e.g. {full}.{example}")
            else:
                node[key] = value
        else:
            node = node.setdefault(key, {})
            model = sub_model


def load_config(
    floorplan: str | None = None,
    tech: str | None = None,
    memory: str | None = None,
    circuits: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Load and validate the four specs; ``overrides`` maps dotted paths to new values."""
    fp_doc = load_yaml(resolve(floorplan or DEFAULT_FLOORPLAN, "floorplans"))
    fp_raw = fp_doc.data
    if not isinstance(fp_raw.get("technology"), str) or not isinstance(fp_raw.get("memory"), str):
        _validate(Floorplan, fp_doc)  # reports the missing/wrong field clearly
    tech_doc = load_yaml(resolve(tech or str(fp_raw.get("technology")), "techfiles/cmos"))
    mem_doc = load_yaml(resolve(memory or str(fp_raw.get("memory")), "techfiles/memory"))
    circ_doc = load_yaml(resolve(circuits or str(fp_raw.get("circuits", "circuits")), "techfiles"))
    docs = {"floorplan": fp_doc, "tech": tech_doc, "memory": mem_doc, "circuits": circ_doc}
    datas = {k: copy.deepcopy(d.data) for k, d in docs.items()}
    for path, value in (overrides or {}).items():
        keys = path.split(".")
        section = _SECTIONS.get(keys[0])
        if section is not None:
            _apply(datas[section], keys[1:], value, path, _MODELS[section], constant=True)
        else:
            _apply(datas["floorplan"], keys, value, path, Floorplan, constant=False)
    models = {"floorplan": Floorplan, "tech": Technology, "memory": MemoryCell,
              "circuits": Circuits}
    built = {}
    for key, model in models.items():
        doc = docs[key]
        changed = datas[key] != doc.data
        located = LocatedDocument(datas[key], doc.lines if not changed else doc.lines,
                                  doc.file + (" (with --set)" if changed else ""))
        built[key] = _validate(model, located)
    return Config(built["tech"], built["memory"], built["circuits"], built["floorplan"],
                  {k: d.file for k, d in docs.items()})


def _validate(model: Any, doc: LocatedDocument) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise_validation(exc, doc.file, doc)
