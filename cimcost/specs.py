"""Validated specifications (pydantic v2) for technology, memory cell, circuits, floorplan, network.

Every numeric constant in a technology, memory or circuit file is ``{value, unit, source}``:
the value in SI units, the unit for people, the source for reviewers.  Loading turns a file
into one of these models or raises :class:`InputError` naming the file, line and field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InputError
from .yamlio import LocatedDocument, load_yaml

MAX_CONSTANT = 1e30  # no physical constant in SI units comes near; larger ones overflow the models


class Strict(BaseModel):
    # allow_inf_nan=False: an infinite bandwidth or clock would give a silently wrong (zero) time
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Constant(Strict):
    value: float
    unit: str
    source: str = Field(min_length=3)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        if abs(v) > MAX_CONSTANT:  # e.g. vdd=1e200: vdd**2 overflows inside the models
            raise ValueError(f"must be at most {MAX_CONSTANT:g} in magnitude (SI units)")
        return v


class PositiveConstant(Constant):
    @field_validator("value")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be greater than 0")
        return v


class NonNegativeConstant(Constant):
    @field_validator("value")
    @classmethod
    def _non_negative(cls, v: float) -> float:
        if v < 0:
            raise ValueError("must be 0 or more")
        return v


class Calibration(Strict):
    area: PositiveConstant
    energy: PositiveConstant
    latency: PositiveConstant


class Technology(Strict):
    """A CMOS node: the device and wire constants the component models scale with."""

    kind: Literal["cmos"]
    name: str
    feature_size: PositiveConstant
    vdd: PositiveConstant
    gate_capacitance_per_width: PositiveConstant
    drain_capacitance_per_width: PositiveConstant
    # the drain diffusion's end walls, whatever the device's width (F)
    drain_capacitance_fixed: NonNegativeConstant = NonNegativeConstant(
        value=0.0, unit="F", source="not given: drain capacitance proportional to width only")
    on_current_n_per_width: PositiveConstant
    on_current_p_per_width: PositiveConstant
    off_current_per_width: PositiveConstant
    wire_pitch: PositiveConstant
    wire_resistance_per_length: PositiveConstant
    wire_capacitance_per_length: PositiveConstant
    sram_cell_area_f2: PositiveConstant
    calibration: Calibration


class MemoryCell(Strict):
    """A memory cell used as a synapse: geometry, conductances, read and write conditions."""

    kind: Literal["memory"]
    name: str
    technology: Literal["sram", "rram", "fefet", "pcm", "ftj", "ecram", "nvt"]
    access: Literal["1T1R", "1FeFET", "crossbar", "6T", "8T"]
    cell_area_f2: PositiveConstant
    bits_per_cell: PositiveConstant
    r_on: PositiveConstant | None = None
    r_off: PositiveConstant | None = None
    read_voltage: PositiveConstant
    read_pulse_width: PositiveConstant
    write_voltage: PositiveConstant
    write_pulse_width: PositiveConstant
    write_energy_per_pulse: PositiveConstant
    levels: PositiveConstant
    access_resistance: PositiveConstant | None = None
    nonlinearity_ltp: Constant | None = None
    nonlinearity_ltd: Constant | None = None
    c2c_sigma: Constant | None = None
    d2d_sigma: Constant | None = None

    @model_validator(mode="after")
    def _resistances(self) -> MemoryCell:
        if self.technology != "sram":
            if self.r_on is None or self.r_off is None:
                raise ValueError("r_on and r_off are required for a non-SRAM cell")
            if self.r_off.value <= self.r_on.value:
                raise ValueError("r_off must be larger than r_on")
        if self.bits_per_cell.value != int(self.bits_per_cell.value):
            raise ValueError("bits_per_cell must be a whole number")
        return self


class CircuitBlock(Strict):
    """Node-independent description of one circuit: area in F^2, energy in switched minimum
    gates, delay in minimum-gate delays.  The technology file turns these into SI values."""

    area_f2: PositiveConstant
    energy_gates: PositiveConstant
    delay_gates: PositiveConstant
    # energy of one action that does not scale with the block's count (e.g. a converter's
    # bias branch and encoder stages, whatever its number of levels)
    fixed_energy_gates: NonNegativeConstant = NonNegativeConstant(
        value=0.0, unit="gates", source="none: the energy scales with the count")


class Circuits(Strict):
    kind: Literal["circuits"]
    name: str
    sense_amp: CircuitBlock
    sar_bit: CircuitBlock
    adder_bit: CircuitBlock
    register_bit: CircuitBlock
    line_driver: CircuitBlock
    mux_line: CircuitBlock
    buffer_bit: CircuitBlock
    activation_lane: CircuitBlock
    transistor_area_f2: PositiveConstant
    # a named calibration factor (fitted; techfiles/circuits.yaml gives its source): 1 = the
    # bare wire pitch
    repeater_overhead: PositiveConstant = PositiveConstant(
        value=1.0, unit="1", source="no calibration: a repeated bus takes its bare wire pitch")
    repeater_area_fraction: PositiveConstant = PositiveConstant(
        value=0.1, unit="1",
        source="assumption: repeaters take about a tenth of a repeated bus's area (they set its "
               "leakage only)")
    wire_pitch_multiple: PositiveConstant
    repeater_energy_overhead: PositiveConstant = PositiveConstant(
        value=1.36, unit="1",
        source="NeuroSim V2.1 HTree.cpp: repeaters sized for 10 % delay tolerance add their "
               "capacitance to the 0.2 fF/um wire; its H-tree energies, 97.6 fJ per bit per "
               "1.77 mm tile side at activity 1/4 and 0.9 V, are 0.272 fF/um")
    std_cell_height_f: PositiveConstant = PositiveConstant(
        value=28.0, unit="F",
        source="NeuroSim V2.1 constant.h MAX_TRANSISTOR_HEIGHT: every standard cell is 28 F "
               "tall")
    wire_activity: PositiveConstant = PositiveConstant(
        value=0.25, unit="1",
        source="uncorrelated random data: a bus bit goes 0 -> 1 (drawing C V^2) on 1/4 of "
               "transfers")
    # a flash ADC's thermometer-to-binary encoder: one standard-cell row per reference level,
    # as wide as its gates' poly pitches: a fixed part plus pitches growing with the levels
    encoder_gate_pitch_f: PositiveConstant = PositiveConstant(
        value=3.8, unit="F", source="NeuroSim V2.1 constant.h: POLY_WIDTH 1 + "
                                    "MIN_GAP_BET_GATE_POLY 2.8")
    encoder_fixed_pitches: NonNegativeConstant = NonNegativeConstant(
        value=8.0, unit="1", source="NeuroSim V2.1 MultilevelSAEncoder.cpp: 2 INV + NAND2 + "
                                    "the wide NAND's own pitch")
    encoder_pitches_per_level: NonNegativeConstant = NonNegativeConstant(
        value=0.5, unit="1", source="NeuroSim V2.1 MultilevelSAEncoder.cpp: a NAND with "
                                    "levels/2 inputs")
    register_clock_fraction: PositiveConstant = PositiveConstant(
        value=0.625, unit="1",
        source="NeuroSim V2.1 DFF.cpp: the clock inverters and transmission gates take 1.70 of "
               "the 2.72 fJ a clocked flip-flop draws at 32 nm; the data path the rest")

    @field_validator("wire_activity", "register_clock_fraction")
    @classmethod
    def _at_most_one(cls, v: PositiveConstant) -> PositiveConstant:
        if v.value > 1.0:
            raise ValueError("a switching activity or energy share is at most 1")
        return v


# ---------------------------------------------------------------------------- floorplan


class SubarraySpec(Strict):
    rows: int = Field(gt=0, le=1 << 16)
    cols: int = Field(gt=0, le=1 << 16)


class PESpec(Strict):
    subarray_rows: int = Field(gt=0, le=1024)
    subarray_cols: int = Field(gt=0, le=1024)


class TileSpec(Strict):
    pe_rows: int = Field(gt=0, le=1024)
    pe_cols: int = Field(gt=0, le=1024)
    # fixed: tiles and PEs exactly as given.  search: DNN+NeuroSim V2.1's conventional-mapping
    # floorplanner picks the tile side for the network (pe.* and tile.* are then derived)
    size: Literal["fixed", "search"] = "fixed"


class ADCSpec(Strict):
    type: Literal["flash", "sar"]
    bits: int = Field(gt=0, le=16)
    columns_per_adc: int = Field(gt=0, le=4096)


class TransposedADCSpec(Strict):
    # None: the same resolution as the forward ADC (adc.bits)
    bits: int | None = Field(default=None, gt=0, le=16)
    rows_per_adc: int = Field(gt=0, le=4096)


class PrecisionSpec(Strict):
    weight: int = Field(gt=0, le=32)
    activation: int = Field(gt=0, le=32)
    error: int = Field(gt=0, le=32)
    gradient: int = Field(gt=0, le=64)


class BufferSpec(Strict):
    core_bits: int = Field(gt=0, description="bits in one buffer core (e.g. 128x128 = 16384)")
    port_bits: int = Field(gt=0, description="bits one core reads or writes per cycle")
    cores: Annotated[int, Field(gt=0, le=1 << 30)] | Literal["auto"] = "auto"
    channels: Literal["shared", "per_wgu"] = "shared"


class InterconnectSpec(Strict):
    max_global_bus_width: int = Field(gt=0, le=1 << 20)
    bus_share: Literal["tiles", "whole"] = "tiles"
    # where a buffer sits relative to the grid of blocks its H-tree feeds: beside the grid
    # (a trunk of the full bus runs from it to the tree's root) or at the root.  Tile and PE
    # buffers are blocks beside their PEs / subarrays; the global buffer, shared by all
    # tiles, at the centre of the tile grid by default
    global_buffer_position: Literal["edge", "center"] = "center"
    local_buffer_position: Literal["edge", "center"] = "edge"


class DRAMSpec(Strict):
    name: str
    bandwidth: float = Field(gt=0, description="bytes per second")
    energy_per_bit: float = Field(gt=0, description="J per bit")


class WGUSpec(Strict):
    rows: int = Field(gt=0, le=1 << 16)
    cols: int = Field(gt=0, le=1 << 16)
    adc_bits: int = Field(gt=0, le=16)
    rows_per_adc: int = Field(gt=0, le=4096)
    # gradient accumulators per WGU; auto: one per cell of the subarrays written at once
    # (training.parallel_array_writes x subarray rows x cols, as NeuroSim sizes them)
    accumulators: Annotated[int, Field(gt=0, le=1 << 30)] | Literal["auto"] = "auto"


class TrainingSpec(Strict):
    batch_size: int = Field(gt=0, le=1 << 24)
    steps: int = Field(gt=0, le=1 << 40)
    wgus: Annotated[int, Field(gt=0, le=1 << 20)] | Literal["auto"] = "auto"
    wgu: WGUSpec
    gradient_round_trip: Literal["dram_per_sample", "on_chip"] = "dram_per_sample"
    stash: Literal["dram", "global_buffer"] = "dram"
    parallel_array_writes: int = Field(gt=0, le=1 << 20)
    update_pulses: float = Field(gt=0)
    changed_fraction: float = Field(ge=0, le=1)
    # bits per weight sent to the arrays' write drivers for an update (1: the direction of a
    # fixed pulse train, as NeuroSim's write path carries)
    update_bits: float = Field(default=1.0, gt=0, le=64)
    feedback_matrix: Literal["sliced", "per_layer"] = "sliced"
    wgu_assignment: Literal["round_robin", "blocks"] = "round_robin"
    update_every: Literal["batch", "sample"] = "batch"
    execution: Literal["layer_by_layer", "pipelined"] = "layer_by_layer"
    fixed_layer_copies: int = Field(default=1, gt=0, le=64)


class AccountingSpec(Strict):
    """How costs are booked.  The defaults are cimcost's physical accounting; each field also
    names the DNN+NeuroSim V2.1 convention it can reproduce (floorplans/neurosim-v2.1.yaml)."""

    # False: FW, AG, WG and WU of every layer run one after another (NeuroSim, manual §5.2)
    phase_overlap: bool = True
    # True: the WGU read time is divided by its number of arrays (NeuroSim's speed-up, which
    # counts arrays already working in parallel within one read a second time)
    wgu_speedup_by_arrays: bool = False
    # True: a layer's forward/AG global-buffer time is multiplied by ceil(total tiles / layer
    # tiles) (NeuroSim Chip.cpp, "only a part of the IC is used")
    buffer_tile_factor: bool = False
    # times the forward/AG activation reads and writes occupy the global buffer (NeuroSim
    # Chip.cpp books each phase's buffer read + write twice)
    activation_buffer_passes: float = Field(default=1.0, gt=0)
    # bits of each gradient accumulator; 0: gradient precision + log2(batch) (NeuroSim's 20
    # bits for 12-bit gradients and batch 200; its outPrecision bug sizes only the buffer)
    gradient_accumulator_bits: int = Field(default=0, ge=0, le=64)
    # True: the accumulated gradient is read back from DRAM once per batch for the update
    # (physically needed when gradients accumulate in DRAM); NeuroSim books no such read
    update_reads_gradient: bool = True
    # False: a read books no cell conduction energy (NeuroSim charges the array's line
    # capacitance, inside its ADC energy, but never V^2 G t of the cells)
    read_cell_energy: bool = True
    # True: a layer duplicated d times does its PE-level work d times faster even for a single
    # input vector (NeuroSim Tile.cpp divides core latency by the duplication)
    duplicate_speedup: bool = False
    # True: a block of adders or registers serving a subarray, PE or tile is charged the whole
    # strip along that block's edge, empty space included (NeuroSim's CalculateArea with a
    # pinned width or height); False: the cells' own area
    strip_layout: bool = False
    # True: the WGU's read and write energy is multiplied by the fraction of its cells that
    # hold data and its conversions are counted once per column of a mux group (NeuroSim
    # Chip.cpp actualUsedArray and WeightGradientUnit.cpp; 1/128 x 8 for a 1024-wide FC layer)
    wgu_used_cell_scaling: bool = False
    # True: a PE's input and output register banks are clocked in full once per matrix row the
    # PE holds and once per output bit of each of its columns, and the transposed read books
    # the forward read's banks again (NeuroSim ProcessingUnit.cpp passes DFF::CalculatePower
    # the rows / column bits as its number of reads); False: each bit is latched once
    pe_register_clocking: bool = False
    # True: a read charges the input-line drivers and column muxes of every line of the
    # subarrays a matrix occupies, used or not (NeuroSim builds and prices each subarray
    # whole: a 1024 x 10 layer pays for 128 columns); False: the lines holding weights
    full_subarray_lines: bool = False
    # True: the ADC line also books the array's line charge per conversion: the output line
    # to the read voltage and, every mux step, the active input lines at Vdd (NeuroSim
    # SubArray.cpp readDynamicEnergyArray, inside its ADC energy); False: no such charge
    line_charge_in_adc: bool = False
    # True: a tile's partial sums leave through one buffer core whose port takes one partial
    # sum from each PE column per cycle (NeuroSim Tile.cpp sizes its output buffer for one
    # clock of the adder trees); False: through the tile buffer's cores and port
    narrow_tile_output: bool = False
    # True: the transposed (AG) read books the forward read's tile and PE buffer and bus
    # traffic (NeuroSim adds the forward's figures to its AG phase); False: its own
    transposed_books_forward_buffers: bool = False
    # True: the chip-level addition of a multi-tile layer's partial sums runs one adder-tree
    # operation per output and tile column, each charged for every tree, and the transposed
    # read books the forward's (NeuroSim Chip.cpp Gaccumulation); False: all trees at once
    global_accumulation_per_output: bool = False
    # True: the global bus gets one tile's lanes (input rows + ADC outputs) per layer
    # (NeuroSim Chip.cpp ChipInitialize when not pipelined); False: one per tile
    global_bus_per_layer: bool = False
    # how many times more wiring layers a tile's H-tree is folded over than the global one
    # (its area divided by this): NeuroSim folds tile trees 16 ways and the global tree 4
    # (Tile.cpp TileCalculateArea, Param.cpp treeFoldedRatio), and circuits.repeater_overhead
    # is calibrated on its global tree
    tile_bus_fold: float = Field(default=1.0, gt=0, le=64)
    # how the global buffer's cores are counted when global_buffer.cores is auto: "physical"
    # = the widest layer's input and output activations plus one write group's gradients;
    # "neurosim" = the widest input plus one subarray of log2(batch)-bit gradients,
    # integer-divided by a core (Chip.cpp ChipInitialize, outPrecision read before it is set)
    global_buffer_sizing: Literal["physical", "neurosim"] = "physical"
    # the path a weight change takes to the arrays: "chip" = global buffer, global bus, tile
    # and PE buffers and buses; "tile" = the tile's input buffer and bus only (NeuroSim)
    update_delivery: Literal["chip", "tile"] = "chip"
    # True: the weight-change delivery energy is also booked for every sample, in the
    # gradient phase (NeuroSim's buffer and interconnect lines add it per image although the
    # arrays are written once per batch; its phase totals do not)
    update_delivery_per_sample: bool = False
    # bits of a layer's stashed activation sent to DRAM; 0: in_features x activation bits.
    # NeuroSim uses IFM_H x IFM_W x Bin, i.e. 8 bits for an FC layer (channels ignored)
    stash_bits_per_layer: int = Field(default=0, ge=0)
    # how many times the stashed activation crosses the DRAM interface; NeuroSim books
    # 6 x 6 (6 x 4 for layer 1) where its comment says 2 + 2 + 2
    stash_dram_transfers: float = Field(default=2.0, gt=0)


class Floorplan(Strict):
    """Architecture and operating point: everything that is neither technology nor network."""

    kind: Literal["floorplan"]
    name: str
    technology: str
    memory: str
    circuits: str
    clock_frequency: float = Field(gt=0)
    input_activity: float = Field(gt=0, le=1)
    subarray: SubarraySpec
    pe: PESpec
    tile: TileSpec
    adc: ADCSpec
    transposed_adc: TransposedADCSpec
    precision: PrecisionSpec
    global_buffer: BufferSpec
    tile_buffer: BufferSpec
    interconnect: InterconnectSpec
    dram: DRAMSpec
    training: TrainingSpec
    accounting: AccountingSpec = AccountingSpec()


# ------------------------------------------------------------------------------ network


LayerType = Literal["dense", "conv", "maxpool", "avgpool", "global_avgpool", "flatten", "add"]
Size = Annotated[int, Field(gt=0, le=1 << 16)]


class LayerSpec(Strict):
    """One node of the layer graph.  ``dense`` and ``conv`` hold weights; the others move or
    combine tensors.  ``inputs`` defaults to the previous layer (or the network input)."""

    name: str = Field(min_length=1, max_length=200)
    type: LayerType = "dense"
    inputs: list[str] | None = Field(default=None, min_length=1, max_length=64)
    activation: Literal["relu", "sigmoid", "tanh", "softmax", "identity"] = "relu"
    in_features: int | None = Field(default=None, gt=0, le=1 << 24)  # dense: checked if given
    out_features: int | None = Field(default=None, gt=0, le=1 << 24)  # dense
    out_channels: int | None = Field(default=None, gt=0, le=1 << 20)  # conv
    kernel: Size | list[Size] | None = None  # conv, pooling: k or [kh, kw]
    stride: Size | None = None
    padding: int = Field(default=0, ge=0, le=1 << 12)

    @model_validator(mode="after")
    def _fields_for_type(self) -> LayerSpec:
        need = {"dense": ["out_features"], "conv": ["out_channels", "kernel"],
                "maxpool": ["kernel"], "avgpool": ["kernel"]}.get(self.type, [])
        for name in need:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.type} layer needs '{name}'")
        allowed = {"dense": {"out_features", "in_features"},
                   "conv": {"out_channels", "kernel", "stride", "padding"},
                   "maxpool": {"kernel", "stride", "padding"},
                   "avgpool": {"kernel", "stride", "padding"}}.get(self.type, set())
        for name in ("in_features", "out_features", "out_channels", "kernel", "stride"):
            if getattr(self, name) is not None and name not in allowed:
                raise ValueError(f"'{name}' does not apply to a {self.type} layer")
        if isinstance(self.kernel, list) and len(self.kernel) != 2:
            raise ValueError("kernel is one size or [height, width]")
        return self


class NetworkSpec(Strict):
    kind: Literal["network"]
    name: str
    input_features: int | None = Field(default=None, gt=0, le=1 << 24)
    input_shape: list[Annotated[int, Field(gt=0, le=1 << 16)]] | None = Field(
        default=None, min_length=1, max_length=3)
    layers: list[LayerSpec] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _one_input(self) -> NetworkSpec:
        if (self.input_features is None) == (self.input_shape is None):
            raise ValueError("give exactly one of input_features (a vector) and input_shape "
                             "([channels, height, width])")
        return self


# ------------------------------------------------------------------------------ loading


def _path_str(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic adds union-member tags such as 'int' or "literal['auto']"; drop them
    cleaned = []
    for part in loc:
        if isinstance(part, str) and (
            part in ("int", "float", "str", "bool", "PositiveConstant", "Constant")
            or part.startswith(("literal[", "function-", "constrained-"))
        ):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def _expected(err: Any) -> str | None:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return None
    if kind == "missing":
        return None
    if kind in ("greater_than",):
        return f"a number > {ctx.get('gt')}"
    if kind in ("greater_than_equal",):
        return f"a number >= {ctx.get('ge')}"
    if kind in ("less_than_equal",):
        return f"a number <= {ctx.get('le')}"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if kind.startswith("int"):
        return "a whole number"
    if kind.startswith("float"):
        return "a number"
    if kind.startswith("string"):
        return "a text string"
    if kind.startswith("list"):
        return "a list"
    if kind.startswith("model") or kind.startswith("dict"):
        return "a mapping"
    return None


def raise_validation(exc: ValidationError, file: str, doc: LocatedDocument | None) -> None:
    errors = exc.errors()
    err = errors[0]
    loc = _clean_loc(tuple(err["loc"]))
    # a union (e.g. a number or 'auto') fails once per alternative: one problem, one message
    same = [e for e in errors if _clean_loc(tuple(e["loc"])) == loc]
    alternatives = [a for a in (_expected(e) for e in same) if a]
    errors = [e for e in errors if _clean_loc(tuple(e["loc"])) != loc]
    errors.insert(0, err)
    field = _path_str(loc) or None
    line = doc.line_of(loc) if doc else None
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = str(err.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        value = err.get("input")
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            message = f"{message} (got {value!r})"
    more = len(errors) - 1
    if more:
        message += f"; and {more} more problem{'s' if more > 1 else ''} in this file"
    expected = " or ".join(dict.fromkeys(alternatives)) or None
    raise InputError(message, file=file, line=line, field=field, expected=expected) from None


def validate_document(model: type[BaseModel], doc: LocatedDocument) -> Any:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise_validation(exc, doc.file, doc)


def load_spec(model: type[BaseModel], path: str | Path) -> Any:
    return validate_document(model, load_yaml(path))
