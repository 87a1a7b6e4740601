"""The chip as built for one network and rule: mapped matrices, component instances, counts
and the area roll-up (chip -> tile -> PE -> subarray, plus chip-level units)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .components import adc as adc_model
from .components import array as array_model
from .components import digital, interconnect, periphery, storage
from .components.base import Cost, Num, Tech
from .config import Options
from .mapping import MatrixMap, cells_per_weight, map_matrix, map_network, tile_shape
from .network import Network
from .rules import FeedbackDecl, RuleDecl

AREA_KEYS = ("memory_array", "feedback_array", "decoder_driver", "column_mux", "adc",
             "shift_add", "accumulation", "activation", "buffer", "interconnect", "wgu")


@dataclass
class Readout:
    """One readout direction of a subarray: drivers on the input lines, a mux, ADCs and
    shift-adds on the output lines."""

    drivers: Cost  # all input-line drivers of one subarray
    mux: Cost
    adc: Cost  # one ADC
    adcs: Num  # ADCs per subarray
    share: Num  # output lines per ADC, converted one after another
    shift_add: Cost  # one shift-add
    cell_energy: Num  # one cell conducting while its output line is sensed
    input_register: Cost  # one input line's latch, clocked once per conversion cycle
    line_charge: Num  # array line charge booked per conversion (accounting.line_charge_in_adc)


@dataclass
class Hardware:
    tech: Tech
    p: dict[str, Num]
    opts: Options
    maps: list[MatrixMap]
    feedback: dict[int | None, MatrixMap]  # by layer; None: one matrix shared by all layers
    feedback_table: Cost | None  # a digital look-up store of the feedback (DRTP)
    cell: Cost
    cell_pitch: Num
    forward: Readout
    transposed: Readout | None
    pe_tree: Cost  # one PE adder tree (per output lane)
    tile_tree: Cost
    global_tree: Cost
    activation: Cost
    global_buffer: Cost
    global_buffer_cores: Num
    global_buffer_banks: Num
    tile_buffer: Cost
    tile_buffer_cores: Num
    pe_buffer: Cost
    global_bus: Cost
    global_bus_width: Num
    tile_bus: Cost
    tile_bus_width: Num  # lanes of a tile's bus
    pe_bus: Cost
    pe_bus_width: Num  # lanes of a PE's bus
    dram: Cost
    wgu_arrays: list[Num]
    wgu_adc: Cost
    wgu_adcs_per_array: Num
    wgu_adder: Cost
    wgu_accumulators: Num  # gradient accumulators of one WGU
    wgu_shift_add: Cost  # one shift-add of one WGU conversion
    wgu_cell_write: Num  # energy per bit written into a WGU array
    total_tiles: Num
    stashed_input: bool = False
    area: dict[str, Num] = field(default_factory=dict)
    leakage: dict[str, Num] = field(default_factory=dict)

    @property
    def subarrays(self) -> Num:
        return sum(m.subarrays for m in self.maps)

    def layer_share(self, layer: int) -> Num:
        """Fraction of the global bus wired to one layer's tiles (an H-tree branch carries only
        the lanes of the tiles below it)."""
        if self.opts.bus_share == "whole":
            return 1.0
        return self.maps[layer].tiles / self.total_tiles


def _readout(tech: Tech, p: dict[str, Num], opts: Options, lines_in: Num, lines_out: Num,
             bits: Num, share: Num, input_bits: Num, drive_voltage: Num, pitch: Num,
             transposed: bool = False) -> Readout:
    sar = opts.adc_type == "sar"
    adcs = np.ceil(lines_out / share)
    line_charge: Num = 0.0
    if opts.line_charge_in_adc:
        # NeuroSim's ADC line (SubArray.cpp readDynamicEnergyArray): each conversion charges
        # its output line to the read voltage, and every mux step re-charges the active input
        # lines at Vdd (active: the input activity, 1/2 for the transposed read)
        activity = 0.5 if transposed else p["input_activity"]
        out_line_c = tech.wire_c * lines_in * pitch
        in_line_c = tech.wire_c * lines_out * pitch
        line_charge = (out_line_c * p["memory.read_voltage"] ** 2
                       + in_line_c * tech.vdd**2 * lines_in * activity / adcs)
    adc = adc_model.adc(tech, bits, sar)
    if opts.memory_is_sram:
        cell_energy = array_model.memory_array(tech, p, lines_in, lines_out, True).energy
    else:
        # a resistive cell draws current only while its output line is connected to an ADC:
        # the mux leaves the other lines of the group floating, so one conversion, not the
        # whole input pulse (NeuroSim books no conduction energy at all: read_cell_energy)
        sense_time = np.minimum(adc.latency, p["memory.read_pulse_width"])
        cell_energy = (p["memory.read_voltage"] ** 2 * array_model.mean_read_conductance(p, False)
                       * sense_time * (1.0 if opts.read_cell_energy else 0.0))
    return Readout(
        drivers=periphery.line_drivers(tech, p, lines_in, lines_out, pitch, drive_voltage),
        mux=periphery.column_mux(tech, lines_out),
        adc=adc,
        adcs=adcs,
        share=share,
        shift_add=digital.shift_add(tech, bits, input_bits),
        cell_energy=cell_energy,
        input_register=digital.register(tech, 1.0),
        line_charge=line_charge,
    )


def _feedback_maps(network: Network, rule: RuleDecl, p: dict[str, Num],
                   opts: Options) -> tuple[dict[int | None, MatrixMap], Num]:
    """The fixed random matrices a rule stores, mapped onto their own subarrays, and their
    size in bits (for a digital store)."""
    fb = rule.feedback
    if not isinstance(fb, FeedbackDecl):
        return {}, 0.0
    layers = [i for i in range(network.depth - 1)] if fb.layers == "hidden" \
        else [i for i in range(network.depth) if network.preds[i]]
    if not layers:
        return {}, 0.0
    classes = float(network.classes)
    out: dict[int | None, MatrixMap] = {}
    if fb.shape == "like_transposed_weights":
        for i in layers:
            ly = network.layers[i]
            out[i] = map_matrix(f"B[{i + 1}]", float(ly.out_features), float(ly.in_features), p,
                                tiled=False)
    elif opts.feedback_matrix == "sliced":
        widest = float(max(network.layers[i].out_elements for i in layers))
        out[None] = map_matrix("B", classes, widest, p, tiled=False)
    else:
        for i in layers:
            out[i] = map_matrix(f"B[{i + 1}]", classes, float(network.layers[i].out_elements),
                                p, tiled=False)
    bits = sum(m.weights for m in out.values()) * p["precision.weight"]
    return out, bits


def build_hardware(network: Network, rule: RuleDecl, p: dict[str, Num], opts: Options,
                   wgu_groups: list[list[int]]) -> Hardware:
    tech = Tech(p)
    rows, cols = p["subarray.rows"], p["subarray.cols"]
    maps = map_network(network, p)
    if wgu_groups:
        # layers a training rule never writes may be duplicated for simultaneous read-out
        trained = {i for g in wgu_groups for i in g}
        copies = p["training.fixed_layer_copies"]
        maps = [m if i in trained else replace(m, tiles=m.tiles * copies,
                                               subarrays=m.subarrays * copies)
                for i, m in enumerate(maps)]
    feedback, feedback_bits = _feedback_maps(network, rule, p, opts)

    sram = opts.memory_is_sram
    cell = array_model.memory_array(tech, p, rows, cols, sram)
    pitch = array_model.cell_pitch(tech, p)
    v_read = tech.vdd if sram else p["memory.read_voltage"]
    b_act, b_err = p["precision.activation"], p["precision.error"]
    forward = _readout(tech, p, opts, rows, cols, p["adc.bits"], p["adc.columns_per_adc"],
                       b_act, v_read, pitch)
    transposed = None
    if rule.readout == "transposable":
        transposed = _readout(tech, p, opts, cols, rows, p.get("transposed_adc.bits", p["adc.bits"]),
                              p["transposed_adc.rows_per_adc"], b_err, v_read, pitch,
                              transposed=True)

    t_r, t_c = tile_shape(p)
    # a subarray column's partial sum leaves its shift-add with adc.bits + input bits; every
    # adder-tree level above adds one bit (inside adder_tree)
    out_width = p["adc.bits"] + b_act
    pe_tree = digital.adder_tree(tech, p["pe.subarray_rows"], out_width)
    tile_tree = digital.adder_tree(tech, p["tile.pe_rows"], out_width + np.log2(p["pe.subarray_rows"]))
    # the global trees add the partial sums of the tiles a matrix spans along its input side
    # (rows forward, columns for a transposed read)
    tiles_along_input = [np.maximum(np.ceil(m.sa_rows / t_r), np.ceil(m.sa_cols / t_c))
                         if rule.readout == "transposable" else np.ceil(m.sa_rows / t_r)
                         for m in maps]
    global_tree_inputs = np.maximum.reduce(tiles_along_input) if maps else 1.0
    global_tree = digital.adder_tree(tech, global_tree_inputs, out_width + np.log2(t_r))

    total_tiles = sum(m.tiles for m in maps)
    clock = p["clock_frequency"]
    # global bus: every tile needs its input rows plus its ADC outputs; halve to the maximum
    tile_rows_cells, tile_cols_cells = t_r * rows, t_c * cols
    # (NeuroSim, layer by layer: one tile's lanes per layer, accounting.global_bus_per_layer)
    lane_groups = float(len(maps)) if opts.global_bus_per_layer else total_tiles
    want = lane_groups * (tile_rows_cells + tile_cols_cells / p["adc.columns_per_adc"])
    halvings = np.maximum(0.0, np.ceil(np.log2(want / p["interconnect.max_global_bus_width"])))
    bus_width = want / np.exp2(halvings)

    # gradient accumulators of a WGU: one per cell of the subarrays written at once, unless
    # the floorplan gives their number
    batch_bits = np.ceil(np.log2(np.maximum(p["training.batch_size"], 2)))
    acc_width = np.where(p["accounting.gradient_accumulator_bits"] > 0,
                         p["accounting.gradient_accumulator_bits"],
                         p["precision.gradient"] + batch_bits)
    acc_per_wgu = p.get("training.wgu.accumulators",
                        p["training.parallel_array_writes"] * rows * cols)
    # buffers: the global one holds the widest layer's input and output activations and (when
    # training) one write group's gradients, unless the floorplan gives its cores; the tile
    # one holds one tile's input vector
    core_bits = p["global_buffer.core_bits"]
    widest_io = max(ly.in_elements + ly.out_elements for ly in network.layers)
    gradient_bits = acc_per_wgu * acc_width if wgu_groups else 0.0
    if opts.global_buffer_cores is not None:
        gb_cores = float(opts.global_buffer_cores)
    elif opts.neurosim_global_buffer:
        # Chip.cpp ChipInitialize: the widest input vector plus one subarray of gradients at
        # log2(batch) bits (outPrecision is read before it is set), integer-divided by a core
        widest_in = max(ly.in_elements for ly in network.layers)
        gradients = rows * cols * cells_per_weight(p) * batch_bits
        gb_cores = np.floor((widest_in * b_act + (gradients if wgu_groups else 0.0))
                            / core_bits)
    else:
        gb_cores = np.ceil((widest_io * b_act + gradient_bits) / core_bits)
    gb_cores = np.maximum(gb_cores, 1.0)
    global_buffer = storage.sram_buffer(tech, gb_cores * core_bits, clock, core_bits)
    # one bank of cores per WGU lets every WGU stream its gradients at once (the paper's
    # assumption that layers reach memory in parallel); a shared bank serialises them
    gb_banks = float(max(len([g for g in wgu_groups if g]), 1)) if opts.buffer_per_wgu else 1.0
    tb_cores = (np.ceil(tile_rows_cells * b_act / p["tile_buffer.core_bits"])
                if opts.tile_buffer_cores is None else float(opts.tile_buffer_cores))
    tb_cores = np.maximum(tb_cores, 1.0)
    tile_buffer = storage.sram_buffer(tech, tb_cores * p["tile_buffer.core_bits"], clock,
                                       p["tile_buffer.core_bits"])

    # layout of the digital blocks: with accounting.strip_layout a block of adders or
    # registers is charged the whole strip along the edge of what it serves (standard cells
    # of one height, as wide as their area makes them)
    cell_h = p["circuits.std_cell_height_f"] * tech.F
    adder_w = tech.area(p["circuits.adder_bit.area_f2"]) / cell_h
    register_w = tech.area(p["circuits.register_bit.area_f2"]) / cell_h

    def shift_add_area(r: Readout | None, edge: Num, sample_bits: Num, serial_bits: Num) -> Num:
        """One subarray's shift-adds of one readout direction, along the array edge ``edge``
        (adder bits stacked across the strip, then the registers, then a control row)."""
        if r is None:
            return 0.0
        if not opts.strip_layout:
            return r.adcs * r.shift_add.area
        reg_bits = digital.shift_register_bits(sample_bits, serial_bits)
        return (digital.strip_area(edge, adder_w, (sample_bits + 1.0) * cell_h, r.adcs)
                + digital.strip_area(edge, register_w, cell_h, r.adcs * reg_bits)
                + edge * cell_h)

    sa_forward = shift_add_area(forward, cols * pitch, p["adc.bits"], b_act)
    sa_transposed = shift_add_area(transposed, rows * pitch,
                                   p.get("transposed_adc.bits", p["adc.bits"]), b_err)

    # sizes for the interconnect: a subarray with its periphery, a PE, a tile
    def readout_area(r: Readout | None, shift_adds: Num) -> Num:
        if r is None:
            return 0.0
        return r.drivers.area + r.mux.area + r.adcs * r.adc.area + shift_adds

    sub_area = cell.area + readout_area(forward, sa_forward) + readout_area(transposed,
                                                                          sa_transposed)
    # forward and transposed reads share one set of adder trees (muxed inputs) unless the
    # phases may overlap
    tree_sets = 2.0 if transposed is not None and opts.phase_overlap else 1.0
    lanes_pe = p["pe.subarray_cols"] * cols / p["adc.columns_per_adc"]
    # a PE latches its input vector (all bits) and its summed outputs in register buffers
    pe_input_bits = p["pe.subarray_rows"] * rows * b_act
    pe_output_bits = lanes_pe * (out_width + np.log2(p["pe.subarray_rows"]))
    pe_buffer_bits = pe_input_bits + pe_output_bits
    # flip-flop banks, written as the PE bus delivers (within each transfer's cycle)
    pe_registers = digital.register(tech, pe_buffer_bits)
    pe_buffer = replace(pe_registers, energy=digital.register(tech, 1.0).energy, latency=0.0)
    # inside a tile (a PE) the input bits reach the PEs (subarrays) one bit-plane per
    # column-mux period, so a bus needs one lane per ADC-period's worth of rows, not one per row
    pe_bus_width = p["pe.subarray_rows"] * rows / p["adc.columns_per_adc"]
    # the PE's bus runs in the upper metal layers over its own subarrays (whose wiring uses
    # the lower ones), so unlike the tile and global trees between blocks it adds no area
    pe_bus = interconnect.htree(tech, p["pe.subarray_rows"], p["pe.subarray_cols"],
                                np.sqrt(sub_area), pe_bus_width, opts.local_buffers_at_edge)
    # the PE's adder trees sit in a strip along its subarrays' width: the array plus what is
    # laid out beside it (the transposed readout and the forward row drivers)
    beside = forward.drivers.area + (0.0 if transposed is None else transposed.mux.area
                                     + transposed.adcs * transposed.adc.area + sa_transposed)
    sub_width = cols * pitch + beside / (rows * pitch)
    if opts.strip_layout and transposed is not None and opts.adc_type != "sar":
        # NeuroSim stands the transposed ADCs' encoders in columns beside the array, each at
        # least as tall as the array: they add their columns' width, not area / array height
        enc_h, enc_w = adc_model.flash_encoder_shape(
            tech, p.get("transposed_adc.bits", p["adc.bits"]))
        per_column = np.maximum(np.floor(rows * pitch / enc_h), 1.0)
        enc_area = enc_h * enc_w * transposed.adcs
        sub_width = (sub_width - enc_area / (rows * pitch)
                     + np.ceil(transposed.adcs / per_column) * enc_w)
    # ... and below it: the forward readout and the transposed column drivers
    below = (forward.mux.area + forward.adcs * forward.adc.area + sa_forward
             + (0.0 if transposed is None else transposed.drivers.area))
    sub_height = rows * pitch + below / (cols * pitch)
    if opts.strip_layout:
        # the input registers in a column beside the PE's subarray rows, the output registers
        # in a row along its subarray columns, each charged the whole strip
        pe_buffer = replace(pe_buffer, area=(
            digital.strip_area(p["pe.subarray_rows"] * sub_height, cell_h, register_w,
                               pe_input_bits)
            + digital.strip_area(p["pe.subarray_cols"] * sub_width, register_w, cell_h,
                                 pe_output_bits)))

    def trees_area(tree: Cost, lanes: Num, edge: Num, inputs: Num, width: Num) -> Num:
        """``lanes`` adder trees: their cells, or (strip_layout) a strip along ``edge`` with one
        tree per adder-bit width, each as tall as its full-adder bits."""
        if not opts.strip_layout:
            return lanes * tree.area
        return digital.strip_area(edge, adder_w, digital.adder_tree_bits(inputs, width) * cell_h,
                                  lanes)

    pe_trees_area = trees_area(pe_tree, lanes_pe, sub_width, p["pe.subarray_rows"], out_width)
    pe_area = (p["pe.subarray_rows"] * p["pe.subarray_cols"] * sub_area
               + tree_sets * pe_trees_area + pe_buffer.area)
    tile_bus_width = tile_rows_cells / p["adc.columns_per_adc"]
    tile_bus = interconnect.htree(tech, p["tile.pe_rows"], p["tile.pe_cols"], np.sqrt(pe_area),
                                  tile_bus_width, opts.local_buffers_at_edge)
    # NeuroSim folds a tile's H-tree over more wiring layers than the global one
    tile_bus = replace(tile_bus, area=tile_bus.area / p["accounting.tile_bus_fold"])
    lanes_tile = t_c * cols / p["adc.columns_per_adc"]
    tile_trees_area = trees_area(tile_tree, lanes_tile, p["tile.pe_cols"] * np.sqrt(pe_area),
                                 p["tile.pe_rows"], out_width + np.log2(p["pe.subarray_rows"]))
    tile_area = (p["tile.pe_rows"] * p["tile.pe_cols"] * pe_area + tree_sets * tile_trees_area
                 + tile_buffer.area + tile_bus.area)
    grid_rows = np.ceil(np.sqrt(total_tiles))
    grid_cols = np.ceil(total_tiles / grid_rows)
    global_bus = interconnect.htree(tech, grid_rows, grid_cols, np.sqrt(tile_area), bus_width,
                                    opts.global_buffer_at_edge)

    activation = digital.activation_unit(tech, bus_width / b_act)
    dram = storage.dram(p)

    # weight-gradient units: SRAM CIM arrays holding one input vector bit-plane per column,
    # sized for the widest input among the layers each unit serves
    wgu_arrays = [np.ceil(max(network.layers[i].in_features for i in g) * b_act / p["training.wgu.cols"])
                  for g in wgu_groups if g]
    wgu_cell_f2 = p["tech.sram_cell_area_f2"]
    wgu_adc = adc_model.flash_adc(tech, p["training.wgu.adc_bits"])
    wgu_adcs_per_array = np.ceil(p["training.wgu.cols"] / p["training.wgu.rows_per_adc"])
    wgu_adder = digital.adder(tech, acc_width)
    wgu_shift = digital.shift_add(tech, p["training.wgu.adc_bits"], b_act)
    wgu_rows, wgu_cols = p["training.wgu.rows"], p["training.wgu.cols"]
    wgu_drivers = periphery.line_drivers(tech, p, wgu_rows + wgu_cols, wgu_cols,
                                         np.sqrt(wgu_cell_f2) * tech.F, tech.vdd)
    # an SRAM array also needs a precharger and a write driver per column and a column mux
    # in front of its shared ADCs
    wgu_columns = periphery.line_drivers(tech, p, 2.0 * wgu_cols, wgu_rows,
                                         np.sqrt(wgu_cell_f2) * tech.F, tech.vdd)
    wgu_mux = periphery.column_mux(tech, wgu_cols)
    wgu_array_area = (tech.area(p["training.wgu.rows"] * p["training.wgu.cols"] * wgu_cell_f2)
                      + wgu_adcs_per_array * (wgu_adc.area + wgu_shift.area)
                      + wgu_drivers.area + wgu_columns.area + wgu_mux.area)
    # each WGU accumulates gradients across the batch in its own bank of adders
    accumulators = len(wgu_arrays) * acc_per_wgu
    accumulators_area = accumulators * wgu_adder.area
    if opts.strip_layout:
        # in columns of adders along the tile grid's side (beside the global buffer), each
        # column one accumulator wide, charged the whole strip
        accumulators_area = len(wgu_arrays) * digital.strip_area(
            grid_rows * np.sqrt(tile_area), cell_h, acc_width * adder_w, acc_per_wgu)
    wgu_area = sum(n * wgu_array_area for n in wgu_arrays) + accumulators_area
    wgu_leak = sum(n * (wgu_adcs_per_array * (wgu_adc.leakage + wgu_shift.leakage)
                        + wgu_drivers.leakage + wgu_columns.leakage + wgu_mux.leakage)
                   for n in wgu_arrays) \
        + accumulators * wgu_adder.leakage
    if opts.gradient_round_trip == "on_chip" and wgu_groups:
        # gradients accumulate on chip: every trained layer needs a full-size accumulator SRAM
        acc_bits = sum(network.layers[i].weights for g in wgu_groups for i in g) * acc_width
        acc = storage.sram_buffer(tech, acc_bits, clock, p["global_buffer.core_bits"])
        wgu_area = wgu_area + acc.area
        wgu_leak = wgu_leak + acc.leakage
    wgu_cell_write = tech.wire_c * np.sqrt(wgu_cell_f2) * tech.F * p["training.wgu.rows"] * tech.vdd**2

    feedback_table = None
    if isinstance(rule.feedback, FeedbackDecl) and rule.feedback.store == "sram" and feedback:
        feedback_table = storage.sram_buffer(tech, feedback_bits, clock,
                                             p["global_buffer.core_bits"])
        feedback = {}
    hw = Hardware(tech, p, opts, maps, feedback, feedback_table, cell, pitch, forward, transposed,
                  pe_tree, tile_tree, global_tree, activation, global_buffer, gb_cores, gb_banks,
                  tile_buffer, tb_cores, pe_buffer, global_bus, bus_width, tile_bus,
                  tile_bus_width, pe_bus, pe_bus_width, dram,
                  wgu_arrays, wgu_adc, wgu_adcs_per_array, wgu_adder, acc_per_wgu, wgu_shift,
                  wgu_cell_write, total_tiles)

    # ----- area roll-up
    s = hw.subarrays
    pes = total_tiles * p["tile.pe_rows"] * p["tile.pe_cols"]
    area = {k: 0.0 * s for k in AREA_KEYS}  # separate arrays: updated in place below
    leak = {k: 0.0 * s for k in AREA_KEYS}
    area["memory_array"] = s * cell.area
    for r, shift_adds in ((forward, sa_forward), (transposed, sa_transposed)):
        if r is None:
            continue
        area["decoder_driver"] += s * r.drivers.area
        area["column_mux"] += s * r.mux.area
        area["adc"] += s * r.adcs * r.adc.area
        area["shift_add"] += s * shift_adds
        leak["decoder_driver"] += s * r.drivers.leakage
        leak["column_mux"] += s * r.mux.leakage
        leak["adc"] += s * r.adcs * r.adc.leakage
        leak["shift_add"] += s * r.adcs * r.shift_add.leakage
    area["accumulation"] = tree_sets * (pes * pe_trees_area + total_tiles * tile_trees_area
                                        + t_c * cols / p["adc.columns_per_adc"] * global_tree.area)
    # only transistors leak, not the strip's empty space
    leak["accumulation"] = tree_sets * (pes * lanes_pe * pe_tree.leakage
                                        + total_tiles * lanes_tile * tile_tree.leakage)
    area["activation"] = activation.area
    leak["activation"] = activation.leakage
    area["buffer"] = (gb_banks * global_buffer.area + total_tiles * tile_buffer.area
                      + pes * pe_buffer.area)
    leak["buffer"] = (gb_banks * global_buffer.leakage + total_tiles * tile_buffer.leakage
                      + pes * pe_buffer.leakage)
    area["interconnect"] = global_bus.area + total_tiles * tile_bus.area
    leak["interconnect"] = (global_bus.leakage + total_tiles * tile_bus.leakage
                            + pes * pe_bus.leakage)
    area["wgu"] = wgu_area + 0.0 * s
    leak["wgu"] = wgu_leak + 0.0 * s
    for fb in feedback.values():
        area["feedback_array"] += fb.subarrays * (cell.area + readout_area(forward, sa_forward))
        leak["feedback_array"] += fb.subarrays * (forward.drivers.leakage + forward.adcs
                                                  * (forward.adc.leakage
                                                     + forward.shift_add.leakage))
    if feedback_table is not None:
        area["feedback_array"] = area["feedback_array"] + feedback_table.area
        leak["feedback_array"] = leak["feedback_array"] + feedback_table.leakage
    hw.area = area
    hw.leakage = leak
    hw.stashed_input = rule.stashes_input
    return hw
