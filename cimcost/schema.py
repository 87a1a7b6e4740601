"""JSON Schemas of the input files (for editors), ``cimcost validate`` and the field reference.

``cimcost schema KIND`` prints the JSON Schema of one kind of file, generated from the pydantic
models in :mod:`cimcost.specs` and :mod:`cimcost.rules`; ``cimcost schema --markdown`` prints
the field reference (``docs/reference.md``, written by ``scripts/gen_reference.py``).
``cimcost validate FILE...`` loads files exactly as ``cimcost estimate`` would, without
estimating anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .errors import InputError

# schema name -> (title, the ``kind:`` value in the file, what it is)
KINDS: dict[str, tuple[str, str, str]] = {
    "techfile": ("CMOS technology node", "cmos", "techfiles/cmos/*.yaml"),
    "memory": ("Memory cell", "memory", "techfiles/memory/*.yaml"),
    "circuits": ("Circuit library", "circuits", "techfiles/circuits.yaml"),
    "floorplan": ("Floorplan", "floorplan", "floorplans/*.yaml"),
    "network": ("Network", "network", "examples/*.yaml"),
    "rule": ("Learning rule", "(none: a file with phases:)", "cimcost/rules/*.yaml"),
    "space": ("Design space", "space", "examples/spaces/*.yaml"),
}
FILE_KIND = {"cmos": "techfile", "memory": "memory", "circuits": "circuits",
             "floorplan": "floorplan", "network": "network", "space": "space"}

# Descriptions for fields whose model gives none (pydantic's ``description``s win).  Keyed by
# "Model.field"; they go into the JSON Schema (editor hovers) and into docs/reference.md.
DESCRIPTIONS: dict[str, str] = {
    "Constant.value": "the value in SI units (m, V, F/m, A/m, Ohm, s, J; 1 for ratios); finite, "
                      "magnitude at most 1e30",
    "Constant.unit": "the unit, for people (the value is SI regardless)",
    "Constant.source": "where the number comes from: a paper, a datasheet, a simulator file",
    "PositiveConstant.value": "the value in SI units; finite, > 0 and at most 1e30",
    "PositiveConstant.unit": "the unit, for people (the value is SI regardless)",
    "PositiveConstant.source": "where the number comes from: a paper, a datasheet, a simulator file",
    "Technology.kind": "always 'cmos'",
    "Technology.name": "a label shown in reports",
    "Technology.feature_size": "F, the node's feature size (m)",
    "Technology.vdd": "supply voltage (V)",
    "Technology.gate_capacitance_per_width": "gate capacitance per transistor width (F/m)",
    "Technology.drain_capacitance_per_width": "drain (junction) capacitance per width (F/m)",
    "Technology.drain_capacitance_fixed": "drain capacitance of the diffusion's end walls, "
                                          "whatever the width (F)",
    "Technology.on_current_n_per_width": "NMOS on current per width (A/m)",
    "Technology.on_current_p_per_width": "PMOS on current per width (A/m)",
    "Technology.off_current_per_width": "off (leakage) current per width (A/m)",
    "Technology.wire_pitch": "local wire pitch (m)",
    "Technology.wire_resistance_per_length": "wire resistance per length (Ohm/m)",
    "Technology.wire_capacitance_per_length": "wire capacitance per length (F/m)",
    "Technology.sram_cell_area_f2": "SRAM cell area in F^2 (buffers, SRAM feedback tables)",
    "Technology.calibration": "factors multiplying every area, energy and latency (1: none)",
    "MemoryCell.kind": "always 'memory'",
    "MemoryCell.name": "a label shown in reports",
    "MemoryCell.technology": "the device family",
    "MemoryCell.access": "the cell's access structure",
    "MemoryCell.cell_area_f2": "cell area in F^2 of the CMOS node",
    "MemoryCell.bits_per_cell": "weight bits one cell stores (a whole number)",
    "MemoryCell.r_on": "low-resistance state (Ohm); required unless technology is sram",
    "MemoryCell.r_off": "high-resistance state (Ohm), larger than r_on",
    "MemoryCell.read_voltage": "read voltage on a row (V)",
    "MemoryCell.read_pulse_width": "read pulse (s)",
    "MemoryCell.write_voltage": "write (program) voltage (V)",
    "MemoryCell.write_pulse_width": "one write pulse (s)",
    "MemoryCell.write_energy_per_pulse": "energy of one write pulse on one cell (J)",
    "MemoryCell.levels": "conductance levels of one cell",
    "MemoryCell.access_resistance": "access-transistor on resistance (Ohm)",
    "MemoryCell.nonlinearity_ltp": "potentiation nonlinearity (informational)",
    "MemoryCell.nonlinearity_ltd": "depression nonlinearity (informational)",
    "MemoryCell.c2c_sigma": "cycle-to-cycle variation (informational)",
    "MemoryCell.d2d_sigma": "device-to-device variation (informational)",
    "CircuitBlock.area_f2": "area in F^2 of the node",
    "CircuitBlock.energy_gates": "energy per action in switched minimum gates",
    "CircuitBlock.delay_gates": "delay per action in minimum-gate delays",
    "Circuits.kind": "always 'circuits'",
    "Circuits.name": "a label shown in reports",
    "Circuits.sense_amp": "one level of a flash (multi-level sense-amp) ADC",
    "Circuits.sar_bit": "one resolved bit of a SAR ADC",
    "Circuits.adder_bit": "one bit of a ripple-carry adder",
    "Circuits.register_bit": "one flip-flop bit",
    "Circuits.line_driver": "driver / switch of one row or column",
    "Circuits.mux_line": "one input of a column multiplexer",
    "Circuits.buffer_bit": "one bit of a register-file buffer core",
    "Circuits.activation_lane": "one lane of the activation (neuron) unit",
    "Circuits.transistor_area_f2": "area of a minimum transistor in F^2",
    "Circuits.repeater_overhead": "routing-area factor of a repeated bus over its bare wire pitch",
    "Circuits.repeater_energy_overhead": "repeated-bus energy over the bare wire's",
    "Circuits.std_cell_height_f": "height of a standard cell row, in feature sizes",
    "CircuitBlock.fixed_energy_gates": "energy of one action that does not scale with the "
                                       "block's count, in minimum gates",
    "Circuits.encoder_gate_pitch_f": "poly pitch of one gate input, in F",
    "Circuits.encoder_fixed_pitches": "poly pitches of a flash encoder row, whatever the levels",
    "Circuits.encoder_pitches_per_level": "poly pitches a flash encoder row gains per level",
    "Circuits.register_clock_fraction": "share of a clocked flip-flop's energy drawn by its "
                                        "clock path (the rest moves the data)",
    "Circuits.wire_activity": "fraction of bus-bit transfers that charge the wire (0 -> 1)",
    "Circuits.wire_pitch_multiple": "global wire pitch as a multiple of the local pitch",
    "Floorplan.kind": "always 'floorplan'",
    "Floorplan.name": "a label shown in reports",
    "Floorplan.technology": "CMOS node: a path or a bundled name (22nm, 32nm, ...)",
    "Floorplan.memory": "memory cell: a path or a bundled name (rram, fefet, sram, ...)",
    "Floorplan.circuits": "circuit library: a path or 'circuits' (techfiles/circuits.yaml)",
    "Floorplan.clock_frequency": "digital clock (Hz)",
    "Floorplan.input_activity": "fraction of input bits that are 1",
    "Floorplan.subarray": "one crossbar array",
    "Floorplan.pe": "subarrays per processing element",
    "Floorplan.tile": "PEs per tile",
    "Floorplan.adc": "column ADCs of the forward read-out",
    "Floorplan.transposed_adc": "row ADCs of the transposed read-out (rules with transposable arrays)",
    "Floorplan.precision": "bits of weights and signals",
    "Floorplan.global_buffer": "chip-level SRAM buffer",
    "Floorplan.tile_buffer": "per-tile SRAM buffer",
    "Floorplan.interconnect": "H-tree between tiles",
    "Floorplan.dram": "off-chip memory",
    "Floorplan.training": "batching, weight-gradient units and update policy",
    "Floorplan.accounting": "how costs are booked (cimcost's physical accounting or NeuroSim's)",
    "SubarraySpec.rows": "rows (word lines) of one array",
    "SubarraySpec.cols": "columns (bit lines) of one array",
    "PESpec.subarray_rows": "subarrays per PE, vertically",
    "PESpec.subarray_cols": "subarrays per PE, horizontally",
    "TileSpec.pe_rows": "PEs per tile, vertically",
    "TileSpec.pe_cols": "PEs per tile, horizontally",
    "ADCSpec.type": "flash (multi-level sense amp) or successive approximation",
    "ADCSpec.bits": "ADC resolution",
    "ADCSpec.columns_per_adc": "columns sharing one ADC through the column mux",
    "TransposedADCSpec.bits": "ADC resolution of the transposed read-out",
    "TransposedADCSpec.rows_per_adc": "rows sharing one ADC",
    "PrecisionSpec.weight": "weight bits",
    "PrecisionSpec.activation": "activation (input) bits, fed bit-serially",
    "PrecisionSpec.error": "error (activation-gradient) bits",
    "PrecisionSpec.gradient": "weight-gradient bits",
    "BufferSpec.cores": "register-file cores, or auto (sized for the largest transfer)",
    "BufferSpec.channels": "shared: one bank; per_wgu: one bank per weight-gradient unit",
    "InterconnectSpec.max_global_bus_width": "widest bus of the H-tree (bits)",
    "InterconnectSpec.bus_share": "tiles: the bus is shared by the tiles of a layer; whole: by the chip",
    "InterconnectSpec.global_buffer_position": "center: the global buffer at the global H-tree's "
                                               "root; edge: beside the tile grid, with a trunk",
    "InterconnectSpec.local_buffer_position": "edge: tile / PE buffers beside their PEs / "
                                              "subarrays, with a trunk to the root; center: at it",
    "DRAMSpec.name": "a label (HBM2, DDR4, ...)",
    "WGUSpec.rows": "rows of one weight-gradient unit array",
    "WGUSpec.cols": "columns of one WGU array",
    "WGUSpec.adc_bits": "WGU ADC resolution",
    "WGUSpec.rows_per_adc": "rows sharing one WGU ADC",
    "WGUSpec.accumulators": "gradient accumulators of one WGU",
    "TrainingSpec.batch_size": "samples per training step",
    "TrainingSpec.steps": "training steps (batches) the totals cover",
    "TrainingSpec.wgus": "weight-gradient units, or auto (the rule's default: 1 for bp, one per "
                         "layer for dfa)",
    "TrainingSpec.wgu": "one weight-gradient unit",
    "TrainingSpec.gradient_round_trip": "dram_per_sample: each sample's gradient goes to DRAM and "
                                        "back (NeuroSim); on_chip: accumulated on chip",
    "TrainingSpec.stash": "where activations kept for the backward pass live",
    "TrainingSpec.parallel_array_writes": "arrays written at the same time",
    "TrainingSpec.update_pulses": "write pulses per changed cell",
    "TrainingSpec.changed_fraction": "fraction of weights that change per update",
    "TrainingSpec.feedback_matrix": "DFA-like rules: one B sliced for all layers, or one per layer",
    "TrainingSpec.wgu_assignment": "how layers share WGUs when there are fewer WGUs than layers",
    "TrainingSpec.update_every": "weights are programmed once per batch or per sample",
    "TrainingSpec.execution": "samples one after another, or pipelined across layers",
    "TrainingSpec.fixed_layer_copies": "copies of layers a rule never writes (ELM read-out: 2)",
    "AccountingSpec.phase_overlap": "false: every phase of every layer runs one after another "
                                    "(NeuroSim)",
    "AccountingSpec.wgu_speedup_by_arrays": "true: divide the WGU read time by its arrays "
                                            "(NeuroSim's double-counted speed-up)",
    "AccountingSpec.buffer_tile_factor": "true: multiply forward/AG buffer time by total/layer "
                                         "tiles (NeuroSim Chip.cpp)",
    "AccountingSpec.activation_buffer_passes": "times forward/AG activation traffic occupies "
                                               "the global buffer (NeuroSim: 2)",
    "AccountingSpec.gradient_accumulator_bits": "bits of a gradient accumulator; 0: gradient "
                                                "bits + log2(batch)",
    "AccountingSpec.update_reads_gradient": "true: the update reads the accumulated gradient "
                                            "back from DRAM once per batch",
    "AccountingSpec.read_cell_energy": "false: reads book no cell conduction energy "
                                       "(NeuroSim)",
    "AccountingSpec.update_delivery": "path of a weight change to the arrays: chip (from the "
                                      "global buffer) or tile (tile buffer and bus only, "
                                      "NeuroSim)",
    "AccountingSpec.update_delivery_per_sample": "true: also book the weight-change delivery "
                                                 "for every sample (NeuroSim's breakdown lines)",
    "AccountingSpec.wgu_used_cell_scaling": "true: WGU energy x used-cell fraction, "
                                            "conversions x rows per ADC (NeuroSim)",
    "AccountingSpec.pe_register_clocking": "true: a PE's register banks are clocked in full "
                                           "per matrix row and per output column bit "
                                           "(NeuroSim)",
    "AccountingSpec.full_subarray_lines": "true: reads charge the drivers and muxes of every "
                                          "line of an occupied subarray (NeuroSim)",
    "AccountingSpec.line_charge_in_adc": "true: each conversion also books the array's line "
                                         "charge, input lines re-charged per mux step "
                                         "(NeuroSim)",
    "AccountingSpec.narrow_tile_output": "true: a tile's partial sums leave through one core, "
                                         "one partial sum per PE column per cycle (NeuroSim)",
    "AccountingSpec.transposed_books_forward_buffers": "true: the AG read books the forward's "
                                                       "tile/PE buffer traffic (NeuroSim)",
    "AccountingSpec.global_buffer_sizing": "auto global-buffer cores: physical (activations + "
                                           "a write group's gradients) or neurosim",
    "AccountingSpec.global_accumulation_per_output": "true: one global adder-tree operation "
                                                     "per output and tile column (NeuroSim)",
    "AccountingSpec.global_bus_per_layer": "true: the global bus has one tile's lanes per "
                                           "layer, not per tile (NeuroSim)",
    "AccountingSpec.tile_bus_fold": "a tile H-tree's area is divided by this (NeuroSim: 16 / 4 "
                                    "wiring layers against the global tree)",
    "AccountingSpec.strip_layout": "true: adders and registers are charged the whole strip "
                                   "along the block they serve (NeuroSim)",
    "AccountingSpec.duplicate_speedup": "true: copies of a duplicated layer speed up even one "
                                        "input vector (NeuroSim)",
    "AccountingSpec.stash_bits_per_layer": "bits of a stashed activation; 0: in_features x "
                                           "activation bits",
    "AccountingSpec.stash_dram_transfers": "DRAM crossings of a stashed activation",
    "NetworkSpec.kind": "always 'network'",
    "NetworkSpec.name": "a label shown in reports",
    "NetworkSpec.input_features": "size of an input vector (give this or input_shape)",
    "NetworkSpec.input_shape": "[channels, height, width] of an input image (or input_features)",
    "NetworkSpec.layers": "the layers in order; each reads the previous one unless inputs says "
                          "otherwise; the last must be dense or conv",
    "LayerSpec.name": "unique name; 'input' is the network input",
    "LayerSpec.type": "dense and conv hold weights; the others move or combine tensors",
    "LayerSpec.inputs": "names of earlier layers (or 'input') this one reads; default: the "
                        "previous layer; add takes two or more",
    "LayerSpec.activation": "applied after a dense or conv layer",
    "LayerSpec.in_features": "dense: checked against the input's size if given",
    "LayerSpec.out_features": "dense: output size (required)",
    "LayerSpec.out_channels": "conv: output channels (required)",
    "LayerSpec.kernel": "conv, maxpool, avgpool: k or [kh, kw]",
    "LayerSpec.stride": "conv: default 1; pooling: default the kernel",
    "LayerSpec.padding": "zero padding on every side",
    "RuleDecl.name": "the rule's name (--rule NAME)",
    "RuleDecl.description": "one line shown by 'cimcost rules'",
    "RuleDecl.readout": "transposable: a second, rotated read-out (W^T) as backprop needs",
    "RuleDecl.feedback": "fixed random feedback matrices, or none",
    "RuleDecl.wgus": "weight-gradient units: a number or per_layer (floorplan training.wgus: "
                     "auto uses this)",
    "RuleDecl.aliases": "other names for the rule",
    "RuleDecl.conv_note": "said once in the report when the network has convolutions",
    "RuleDecl.phases": "the phases each layer goes through",
    "PhaseDecl.name": "phase name, referenced by after:",
    "PhaseDecl.op": "the operation priced by the cost model",
    "PhaseDecl.layers": "which layers run the phase",
    "PhaseDecl.per": "once per sample or once per batch",
    "PhaseDecl.after": "dependencies: phase[l], phase[l-1], phase[l+1], phase[last], phase[first]",
    "PhaseDecl.runs_on": "the resource: the CIM arrays or a weight-gradient unit",
    "PhaseDecl.stash": "what must be kept (buffered) until this phase runs",
    "PhaseDecl.input_bits": "bits of the signal this phase consumes (default: error precision)",
    "PhaseDecl.write_by": "a write phase programs row by row or column by column",
    "FeedbackDecl.shape": "classes_by_width: B maps classes to a layer's width; "
                          "like_transposed_weights: one B per layer shaped like W^T",
    "FeedbackDecl.store": "cim: analog arrays read by MVM; sram: a digital look-up table",
    "FeedbackDecl.layers": "which layers receive feedback",
}


def model_for(kind: str) -> Any:
    """The pydantic model of a schema kind; InputError if there is none (yet)."""
    if kind not in KINDS:
        raise InputError(f"unknown schema '{kind}'", field="kind", expected="one of " + ", ".join(KINDS))
    from . import specs

    if kind == "rule":
        from .rules import RuleDecl

        return RuleDecl
    if kind == "space":
        from pydantic import BaseModel

        from . import space

        for attr in ("SpaceSpec", "SpaceModel", "SpaceFile"):
            candidate = getattr(space, attr, None)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
        raise InputError("no JSON Schema for design-space files yet: cimcost/space.py checks "
                         "them with its own reader, not a pydantic model", field="space",
                         expected="techfile, memory, circuits, floorplan, network or rule "
                         "(validate a space file with 'cimcost validate FILE')")
    return {"techfile": specs.Technology, "memory": specs.MemoryCell, "circuits": specs.Circuits,
            "floorplan": specs.Floorplan, "network": specs.NetworkSpec}[kind]


def _describe(schema: dict[str, Any]) -> None:
    defs = schema.get("$defs", {})
    for name, node in [(schema.get("title", ""), schema), *defs.items()]:
        for field, prop in node.get("properties", {}).items():
            text = DESCRIPTIONS.get(f"{name}.{field}")
            if text and "description" not in prop:
                prop["description"] = text


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one kind of input file."""
    model = model_for(kind)
    schema = model.model_json_schema()
    _describe(schema)
    title = KINDS[kind][0]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://cimcost.invalid/schema/{kind}.json",
            "title": schema.pop("title", title), **schema}


# ---------------------------------------------------------------------------- validate


def detect_kind(data: dict[str, Any]) -> str | None:
    kind = data.get("kind")
    if isinstance(kind, str) and kind in FILE_KIND:
        return FILE_KIND[kind]
    if kind is None and "phases" in data:
        return "rule"
    if kind is None and "parameters" in data:  # space files may omit kind: space
        return "space"
    return None


def validate_file(path: str | Path) -> str:
    """Load one file as ``cimcost estimate`` would; return its kind or raise InputError."""
    from .yamlio import load_yaml

    doc = load_yaml(path)
    kind = detect_kind(doc.data)
    if kind is None:
        line = doc.line_of(("kind",)) if "kind" in doc.data else None
        got = f"kind is {doc.data['kind']!r}" if "kind" in doc.data else "no 'kind:' field"
        raise InputError(f"cannot tell what this file is: {got}", file=doc.file, line=line,
                         field="kind", expected="kind: cmos, memory, circuits, floorplan, network "
                         "or space (or a space file with parameters:), or a rule file with phases:")
    if kind == "network":
        from .network import network_from_document

        network_from_document(doc)
    elif kind == "space":
        from .space import load_space

        load_space(path)
    else:
        from .specs import validate_document

        validate_document(model_for(kind), doc)
    return kind


# ---------------------------------------------------------------------------- markdown


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"[{_ref_name(prop['$ref'])}](#{_ref_name(prop['$ref']).lower()})"
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop:
        parts = [_type(p) for p in prop["anyOf"] if p.get("type") != "null"]
        text = " or ".join(dict.fromkeys(parts))
        return text + (" or null" if any(p.get("type") == "null" for p in prop["anyOf"]) else "")
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    return {"integer": "integer", "number": "number", "string": "string", "boolean": "boolean",
            "object": "mapping"}.get(kind, str(kind))


def _constraints(prop: dict[str, Any]) -> str:
    out = []
    alternatives = [prop, *prop.get("anyOf", [])]
    items = [a["items"] for a in alternatives if "items" in a]
    for node in [*alternatives, *items]:
        for key, fmt in (("exclusiveMinimum", "> {}"), ("minimum", ">= {}"),
                         ("exclusiveMaximum", "< {}"), ("maximum", "<= {}"),
                         ("minLength", "length >= {}"), ("maxLength", "length <= {}"),
                         ("minItems", "items >= {}"), ("maxItems", "items <= {}"),
                         ("pattern", "matches `{}`")):
            if key in node:
                text = fmt.format(node[key])
                if any(node is i for i in items):
                    text = "each " + text
                out.append(text)
    return ", ".join(dict.fromkeys(out))


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return ""
    value = prop["default"]
    if isinstance(value, dict):
        return "see section"
    return f"`{json.dumps(value)}`" if value is not None else "none"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rows(node: dict[str, Any], defs: dict[str, Any], inline: set[str], prefix: str,
          out: list[str]) -> None:
    required = set(node.get("required", []))
    for field, prop in node.get("properties", {}).items():
        path = f"{prefix}{field}"
        target = prop.get("$ref") or next((p["$ref"] for p in prop.get("anyOf", []) if "$ref" in p),
                                          None)
        name = _ref_name(target) if target else None
        if name in inline and "anyOf" not in prop:
            out.append(f"| `{path}` | mapping | {_default(prop, field in required)} | | "
                       f"{_cell(prop.get('description', ''))} |")
            _rows(defs[name], defs, inline, path + ".", out)
            continue
        out.append(f"| `{path}` | {_type(prop)} | {_default(prop, field in required)} | "
                   f"{_cell(_constraints(prop))} | {_cell(prop.get('description', ''))} |")


def _direct_refs(node: Any) -> list[str]:
    """Definitions referenced straight from a property (not through a list or a union)."""
    if not isinstance(node, dict):
        return []
    found = [_ref_name(p["$ref"]) for p in node.get("properties", {}).values() if "$ref" in p]
    for value in node.get("$defs", {}).values():
        found += _direct_refs(value)
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [_ref_name(node["$ref"])] if "$ref" in node else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _table(title: str, node: dict[str, Any], defs: dict[str, Any], inline: set[str]) -> list[str]:
    out = ["| field | type | default | constraints | description |", "|---|---|---|---|---|"]
    _rows(node, defs, inline, "", out)
    return out


def _limits() -> list[str]:
    from .importers import neurosim
    from .network import MAX_FEATURES, MAX_LAYERS
    from .specs import MAX_CONSTANT
    from .yamlio import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

    return ["## Limits", "", "| limit | value |", "|---|---|",
            f"| YAML file size | {MAX_FILE_BYTES:,} bytes (`yamlio.MAX_FILE_BYTES`) |",
            f"| YAML nodes after alias expansion | {MAX_NODES:,} (`yamlio.MAX_NODES`) |",
            f"| YAML nesting depth | {MAX_DEPTH} (`yamlio.MAX_DEPTH`) |",
            f"| layers in a network | {MAX_LAYERS:,} (`network.MAX_LAYERS`) |",
            f"| layer sizes (`in_features`, `out_features`, `--mlp` widths) | {MAX_FEATURES:,} |",
            "| numbers | finite: `.inf` and `.nan` are refused everywhere |",
            f"| `{{value, unit, source}}` constants | magnitude at most {MAX_CONSTANT:g} "
            "(`specs.MAX_CONSTANT`) |",
            f"| NeuroSim NetWork.csv | {neurosim.MAX_BYTES:,} bytes, {neurosim.MAX_LINES:,} layer "
            "lines |", ""]


def markdown() -> str:
    """The field reference of every input file, rendered from the JSON Schemas."""
    lines = ["# Input file reference", "",
             "<!-- Generated by scripts/gen_reference.py from the JSON Schemas "
             "(`cimcost schema KIND`). Do not edit by hand. -->", "",
             "Every field of every YAML input, generated from the pydantic models that load them. "
             "Unknown fields are errors; numbers are strict (a quoted `\"8\"` is not a number). "
             "Sizes, energies and times are SI (m, J, s) unless a field says otherwise.", "",
             "Use the schemas in an editor: see [Editor support](tutorial.md#editor-support).", "",
             *_limits()]
    seen_shared: set[str] = set()
    for kind, (title, file_kind, where) in KINDS.items():
        try:
            schema = json_schema(kind)
        except InputError as exc:
            lines += [f"## {title} (`{kind}`)", "", f"No schema: {exc.message}.", ""]
            continue
        defs = schema.get("$defs", {})
        counts: dict[str, int] = {}
        for ref in _refs({k: v for k, v in schema.items() if k != "$defs"}) + _refs(defs):
            counts[ref] = counts.get(ref, 0) + 1
        # definitions used once are shown inline by dotted path; shared ones get a section
        direct = set(_direct_refs(schema))
        inline = {name for name, n in counts.items()
                  if n == 1 and name in direct and "properties" in defs.get(name, {})}
        lines += [f"## {title} (`{kind}`)", "",
                  f"`kind: {file_kind}` — bundled examples: `{where}`. "
                  f"Schema: `cimcost schema {kind}`.", ""]
        if schema.get("description"):
            lines += [_cell(schema["description"]), ""]
        lines += _table(title, schema, defs, inline)
        lines.append("")
        for name in sorted(defs):
            if name in inline or name in seen_shared or "properties" not in defs[name]:
                continue
            seen_shared.add(name)
            lines += [f"### {name}", ""]
            if defs[name].get("description"):
                lines += [_cell(defs[name]["description"]), ""]
            lines += _table(name, defs[name], defs, inline)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------- CLI


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of an input file kind (for editors)",
                       description="Print the JSON Schema of one kind of input file, generated "
                       "from the models that load it. Save it and point your editor at it "
                       "(see docs/tutorial.md, 'Editor support').")
    p.add_argument("kind", nargs="?", choices=list(KINDS), help="which file kind")
    p.add_argument("--markdown", action="store_true",
                   help="print the field reference of every kind as markdown (docs/reference.md)")
    p.set_defaults(func=_run_schema)
    v = sub.add_parser("validate", help="check input files without estimating",
                       description="Load each file as 'cimcost estimate' would, detecting its kind "
                       "from 'kind:' (cmos, memory, circuits, floorplan, network, space; a rule "
                       "file has 'phases:'). Prints 'ok: FILE (kind)' per good file and one "
                       "error line per bad file; exit status 2 if any file is bad.")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.set_defaults(func=_run_validate)


def _run_schema(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(markdown())
        return 0
    if not args.kind:
        raise InputError("no schema kind given", field="kind", expected="one of " + ", ".join(KINDS))
    json.dump(json_schema(args.kind), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    bad = 0
    for file in args.files:
        try:
            kind = validate_file(file)
        except InputError as exc:
            bad += 1
            print(f"cimcost: error: {exc.render()}", file=sys.stderr)
            continue
        print(f"ok: {file} ({kind})")
    return 2 if bad else 0
