"""Per-phase costs: energy and latency by component and traffic by link, for one execution of
one phase instance.  Each op kind is priced once here; rules only choose which ops run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .components.base import Num
from .hardware import Hardware, Readout
from .mapping import MatrixMap, cells_per_weight, tile_shape
from .network import Layer, Network
from .plan import PhaseNode

ENERGY_KEYS = ("memory_array", "feedback_array", "decoder_driver", "column_mux", "adc",
               "shift_add", "accumulation", "activation", "buffer", "interconnect", "dram",
               "wgu", "leakage")
TRAFFIC_KEYS = ("dram", "global_buffer", "tile_buffer")


@dataclass
class PhaseCost:
    energy: dict[str, Num] = field(default_factory=dict)
    latency: dict[str, Num] = field(default_factory=dict)
    traffic: dict[str, Num] = field(default_factory=dict)  # bytes per link

    def add(self, kind: str, key: str, value: Num) -> None:
        book = getattr(self, kind)
        book[key] = book.get(key, 0.0) + value


def _rounds(hw: Hardware, repeats: Num, dup: Num) -> Num:
    """Sequential rounds for ``repeats`` input vectors on ``dup`` copies of a matrix: copies
    take different vectors, so a single vector gains nothing.  NeuroSim's convention
    (``accounting.duplicate_speedup``) divides the work by the copies regardless."""
    if hw.opts.duplicate_speedup:
        return repeats / dup
    return np.ceil(repeats / dup)


def _array_read(pc: PhaseCost, hw: Hardware, m: MatrixMap, r: Readout, lines_in: Num,
                lines_out: Num, blocks_in: Num, blocks_out: Num, input_bits: Num, dup: Num,
                array_key: str, repeats: Num = 1.0) -> None:
    """``repeats`` bit-serial analog MVMs (one per output position of a convolution):
    ``lines_in`` input lines, split over ``blocks_in`` subarrays, driven for each of
    ``input_bits`` cycles; each of those subarray blocks senses ``lines_out`` output lines
    (split over ``blocks_out`` subarrays) through shared ADCs (``r.share`` lines per ADC,
    converted in turn).  ``dup`` copies of the matrix take positions in parallel."""
    p = hw.p
    activity = p["input_activity"]
    conversions = blocks_in * lines_out * input_bits * repeats
    cells_read = lines_in * activity * lines_out * input_bits * repeats
    pc.add("energy", array_key, cells_read * r.cell_energy)
    driven, muxed = lines_in, conversions
    if hw.opts.full_subarray_lines:  # NeuroSim prices every line of a subarray, used or not
        in_side, out_side = ((p["subarray.rows"], p["subarray.cols"]) if r is not hw.transposed
                             else (p["subarray.cols"], p["subarray.rows"]))
        driven = blocks_in * in_side
        muxed = blocks_in * blocks_out * out_side * input_bits * repeats
    # every subarray along the output side drives its own copy of each input line, and its
    # input latches hold each bit for the group's conversions, clocked every cycle
    pc.add("energy", "decoder_driver", driven * blocks_out * input_bits * repeats
           * (activity * r.drivers.energy + r.share * r.input_register.energy))
    pc.add("energy", "column_mux", muxed * r.mux.energy)
    pc.add("energy", "adc", conversions * (r.adc.energy + r.line_charge))
    pc.add("energy", "shift_add", conversions * r.shift_add.energy)
    steps = input_bits * _rounds(hw, repeats, dup)
    pc.add("latency", array_key, steps * hw.cell.latency)
    pc.add("latency", "decoder_driver", steps * r.drivers.latency)
    pc.add("latency", "column_mux", steps * r.share * r.mux.latency)
    pc.add("latency", "adc", steps * r.share * r.adc.latency)
    pc.add("latency", "shift_add", steps * r.shift_add.latency)
    pc.add("traffic", "tile_buffer", lines_in * input_bits / 8.0 * blocks_out * repeats)


def _accumulate(pc: PhaseCost, hw: Hardware, outputs: Num, partials: Num,
                repeats: Num = 1.0, dup: Num = 1.0) -> None:
    """Adder trees sum ``partials`` partial sums for each of ``outputs`` outputs, ``repeats``
    times (output positions), ``dup`` matrix copies working in parallel."""
    pc.add("energy", "accumulation", repeats * outputs * hw.pe_tree.energy
           * np.maximum(partials - 1.0, 0.0) / np.maximum(hw.p["pe.subarray_rows"] - 1.0, 1.0))
    pc.add("latency", "accumulation", np.where(
        partials > 1, _rounds(hw, repeats, dup) * hw.pe_tree.latency
        + np.ceil(repeats / dup) * hw.tile_tree.latency, 0.0))


def _global_accumulate(pc: PhaseCost, hw: Hardware, m: MatrixMap, transposed: bool,
                       positions: Num) -> None:
    """A matrix spread over several tiles along its input side has its tiles' partial sums
    added at chip level by the global adder trees (one per ADC lane of a tile's columns), all
    trees at once.  NeuroSim's convention (``accounting.global_accumulation_per_output``,
    Chip.cpp) runs one tree operation per output and tile column, each charged for every
    tree, and books the forward read's for the transposed read too."""
    p = hw.p
    t_r, t_c = tile_shape(p)
    lanes = t_c * p["subarray.cols"] / p["adc.columns_per_adc"]
    if hw.opts.global_accumulation_per_output:
        tiles_in, tiles_out = np.ceil(m.sa_rows / t_r), np.ceil(m.sa_cols / t_c)
        reads = tiles_out * m.cols / cells_per_weight(p) * np.ceil(positions / lanes)
        pc.add("latency", "accumulation", np.where(tiles_in > 1, reads * hw.global_tree.latency,
                                                   0.0))
        pc.add("energy", "accumulation", np.where(tiles_in > 1, reads * lanes
                                                  * hw.global_tree.energy, 0.0))
        return
    if transposed:
        tiles_in, outputs = np.ceil(m.sa_cols / t_c), m.rows
    else:
        tiles_in, outputs = np.ceil(m.sa_rows / t_r), m.cols
    rounds = _rounds(hw, positions, m.duplication)
    pc.add("latency", "accumulation", np.where(
        tiles_in > 1, rounds * np.ceil(outputs / lanes) * hw.global_tree.latency, 0.0))


def _digital_ops(pc: PhaseCost, hw: Hardware, network: Network, layer: int, share: Num) -> None:
    """Pooling, flatten and element-wise adds feeding this layer: one activation-unit action
    per input element, the tensors in and out of the global buffer."""
    b_act = hw.p["precision.activation"]
    lanes = hw.global_bus_width / b_act
    for op in network.ops_for(layer):
        if op.kind == "flatten":
            continue  # a reshape: no data moves
        pc.add("energy", "activation", op.in_elements * hw.activation.energy)
        pc.add("latency", "activation", np.ceil(op.in_elements / lanes) * hw.activation.latency)
        _move_global(pc, hw, (op.in_elements + op.out_elements) * b_act, share)


def _buffer_access(pc: PhaseCost, hw: Hardware, bits: Num, accesses: float,
                   slowdown: Num = 1.0) -> None:
    """``accesses`` reads/writes of ``bits`` at the global buffer, all its cores in parallel."""
    p = hw.p
    lines = np.ceil(bits / p["global_buffer.port_bits"])
    pc.add("energy", "buffer", accesses * bits * hw.global_buffer.energy)
    pc.add("latency", "buffer", accesses * lines * hw.global_buffer.latency * slowdown
           / hw.global_buffer_cores)


def _transfers_time(transfers: Num, wire_delay: Num, clock: Num) -> Num:
    """Back-to-back transfers over a bus with repeaters but no pipeline latches: each one
    takes a clock cycle or the wire's flight time, whichever is longer."""
    return transfers * np.maximum(1.0 / clock, wire_delay)


def _move_global(pc: PhaseCost, hw: Hardware, bits: Num, share: Num, slowdown: Num = 1.0) -> None:
    """``bits`` between the global buffer and the tiles over the global bus: one buffer
    access and one bus traversal per bit, over the bus lanes wired to those tiles.
    ``slowdown`` stretches the buffer time (NeuroSim's tile factor, accounting profile)."""
    clock = hw.p["clock_frequency"]
    _buffer_access(pc, hw, bits, 1.0, slowdown)
    pc.add("energy", "interconnect", bits * hw.global_bus.energy)
    pc.add("latency", "interconnect", _transfers_time(
        np.ceil(bits / (hw.global_bus_width * share)), hw.global_bus.latency, clock))
    pc.add("traffic", "global_buffer", bits / 8.0)


def _pe_register_banks(hw: Hardware, m: MatrixMap, positions: Num) -> Num:
    """NeuroSim's PE register-bank energy for one forward read of ``m`` (its convention,
    ``accounting.pe_register_clocking``; ProcessingUnit.cpp).  The input bank (input bits x
    subarray rows flip-flops) is clocked in full once per matrix row each PE holds, and the
    output bank (one adder-tree result per ADC of a subarray row) once per output bit of each
    column; each clock also moves one vector's data (the input bits of every position, up to
    the bank's size).  Physically each bit is latched once: ``_local_buffers``."""
    p = hw.p
    b_in, adc_bits = p["precision.activation"], p["adc.bits"]
    clock_e = hw.forward.input_register.energy * p["circuits.register_clock_fraction"]
    data_e = hw.forward.input_register.energy - clock_e
    stages = np.ceil(np.log2(np.maximum(p["pe.subarray_rows"], 1.0)))
    in_bank = b_in * p["subarray.rows"]
    out_bank = p["subarray.cols"] / p["adc.columns_per_adc"] * (adc_bits + b_in + stages)
    pes_in = np.ceil(m.sa_rows / p["pe.subarray_rows"])
    pes_out = np.ceil(m.sa_cols / p["pe.subarray_cols"])
    in_clocks = m.rows * pes_out
    out_clocks = m.cols / cells_per_weight(p) * pes_in * (adc_bits + b_in + 1.0)
    return (in_clocks * (clock_e * in_bank + data_e * np.minimum(b_in * positions, in_bank))
            + out_clocks * (clock_e * out_bank + data_e * np.minimum(positions, out_bank)))


def _local_buffers(pc: PhaseCost, hw: Hardware, m: MatrixMap, in_lines: Num, in_bits: Num,
                   out_lines: Num, out_bits: Num, along_in: Num, along_out: Num,
                   positions: Num = 1.0) -> None:
    """An MVM's inputs and partial sums pass through the tile's and then the PE's buffers and
    buses: ``in_lines`` inputs of ``in_bits`` each, ``out_lines`` partial sums that leave a
    subarray with ``out_bits`` and grow a bit per adder-tree level of the PE and of the tile.
    Every bit is written and read once at each level, all tiles / PEs in parallel.  A block
    receives the inputs of its rows (so inputs are repeated once per block along the output
    side) and sends out the partial sums of its columns (once per block along the input
    side); each block's bus carries them between its buffer and the blocks below.  The tile
    buffer moves a line (its port width) per access, its cores in parallel; the PE's
    flip-flop registers latch each bus transfer within its cycle.  ``along_in`` /
    ``along_out``: subarray blocks along the matrix's input / output side."""
    p = hw.p
    port = p["tile_buffer.port_bits"]
    t_r, t_c = tile_shape(p)
    tile_pes_in, tile_pes_out = p["tile.pe_rows"], p["tile.pe_cols"]
    if along_in is m.sa_cols:  # transposed read: the tile's column side takes the input
        t_r, t_c = t_c, t_r
        tile_pes_in, tile_pes_out = tile_pes_out, tile_pes_in
        pe_in, pe_out = p["pe.subarray_cols"], p["pe.subarray_rows"]
    else:
        pe_in, pe_out = p["pe.subarray_rows"], p["pe.subarray_cols"]
    tiles_in, tiles_out = np.ceil(along_in / t_r), np.ceil(along_out / t_c)
    pes_in, pes_out = np.ceil(along_in / pe_in), np.ceil(along_out / pe_out)
    pe_psum = out_bits + np.ceil(np.log2(np.maximum(pe_in, 1.0)))
    tile_psum = pe_psum + np.ceil(np.log2(np.maximum(tile_pes_in, 1.0)))
    inputs = in_lines * in_bits * positions
    # copies of a duplicated matrix share the PE-level work (one vector per copy, or, by
    # NeuroSim's convention, any work)
    pe_share = _rounds(hw, positions, m.duplication) / np.maximum(positions, 1.0)
    clock = p["clock_frequency"]
    for level, buffer, bus, bus_width, blocks_in, blocks_out, psum, share in (
            ("tile", hw.tile_buffer, hw.tile_bus, hw.tile_bus_width, tiles_in, tiles_out,
             tile_psum, 1.0),
            ("pe", hw.pe_buffer, hw.pe_bus, hw.pe_bus_width, pes_in, pes_out, pe_psum,
             pe_share)):
        outputs = out_lines * psum * positions
        if level == "pe" and hw.opts.pe_register_clocking:
            pc.add("energy", "buffer", _pe_register_banks(hw, m, positions))
        else:
            pc.add("energy", "buffer", 2.0 * (inputs * blocks_out + outputs * blocks_in)
                   * buffer.energy)
        if level == "tile":
            in_time = np.ceil(inputs / blocks_in / port) / hw.tile_buffer_cores
            if hw.opts.narrow_tile_output:
                # NeuroSim (Tile.cpp): cores for one clock of the tile's adder trees, each sum
                # as wide as its accumulation adders (ADC + input bits + cells per weight + 1 +
                # the PE tree's levels) and carried with one bit more; while that fits in one
                # core its port takes a sum from each PE column
                lanes = tile_pes_out * p["subarray.cols"] / p["adc.columns_per_adc"]
                adder_bits = (out_bits + cells_per_weight(p) + 1.0
                              + np.ceil(np.log2(np.maximum(pe_in, 1.0))))
                out_cores = np.ceil(lanes * adder_bits / p["tile_buffer.core_bits"])
                out_port = np.where(out_cores > 1, port, tile_pes_out * adder_bits)
                carried = out_lines * (adder_bits + 1.0) * positions
                out_time = np.ceil(carried / blocks_out / out_port) / out_cores
            else:
                out_time = np.ceil(outputs / blocks_out / port) / hw.tile_buffer_cores
            pc.add("latency", "buffer", 2.0 * (in_time + out_time) * buffer.latency)
        pc.add("energy", "interconnect", (inputs * blocks_out + outputs * blocks_in)
               * bus.energy)
        transfers = (np.ceil(inputs / blocks_in / bus_width)
                     + np.ceil(outputs / blocks_out / bus_width))
        pc.add("latency", "interconnect", _transfers_time(transfers, bus.latency, clock) * share)


def _dram(pc: PhaseCost, hw: Hardware, bits: Num) -> None:
    """``bits`` to or from DRAM; they are staged through the global buffer on the way
    (written into it, then read out of it)."""
    pc.add("energy", "dram", bits * hw.dram.energy)
    pc.add("latency", "dram", bits * hw.dram.latency)
    pc.add("traffic", "dram", bits / 8.0)
    _buffer_access(pc, hw, bits, 2.0)
    pc.add("traffic", "global_buffer", bits / 8.0)


def phase_cost(node: PhaseNode, hw: Hardware, network: Network) -> PhaseCost:
    p = hw.p
    pc = PhaseCost()
    op = node.decl.op
    b_act, b_err = p["precision.activation"], p["precision.error"]
    if node.layer is not None:
        layer = network.layers[node.layer]
        m = hw.maps[node.layer]
        share = hw.layer_share(node.layer)
    # NeuroSim conventions for the forward/AG activation traffic's buffer time (1 physically)
    tile_factor = p["accounting.activation_buffer_passes"]
    if hw.opts.buffer_tile_factor and node.layer is not None:
        tile_factor = tile_factor * np.ceil(hw.total_tiles / m.tiles)
    if op == "mvm":
        assert node.layer is not None
        _digital_ops(pc, hw, network, node.layer, share)
        positions = float(layer.positions)
        # the input tensor leaves the global buffer once; the tile buffer unrolls it into
        # one row vector per output position (im2col)
        _move_global(pc, hw, layer.in_elements * b_act, share, tile_factor)
        _local_buffers(pc, hw, m, m.rows, b_act, m.cols, p["adc.bits"] + b_act, m.sa_rows,
                       m.sa_cols, positions)
        _array_read(pc, hw, m, hw.forward, m.rows, m.cols, m.sa_rows, m.sa_cols, b_act,
                    m.duplication, "memory_array", positions)
        _accumulate(pc, hw, m.cols, m.sa_rows, positions, m.duplication)
        _global_accumulate(pc, hw, m, False, positions)
        pc.add("energy", "activation", layer.out_elements * hw.activation.energy)
        pc.add("latency", "activation", hw.activation.latency)
        _move_global(pc, hw, layer.out_elements * b_act, share, tile_factor)
        if "input" in node.decl.stash:
            _stash(pc, hw, layer, share)
    elif op == "mvm_transposed":
        assert hw.transposed is not None
        positions = float(layer.positions)
        _move_global(pc, hw, layer.out_elements * b_err, share, tile_factor)
        if hw.opts.transposed_books_forward_buffers:
            _local_buffers(pc, hw, m, m.rows, b_act, m.cols, p["adc.bits"] + b_act, m.sa_rows,
                           m.sa_cols, positions)
        else:
            _local_buffers(pc, hw, m, m.cols, b_err, m.rows,
                           p.get("transposed_adc.bits", p["adc.bits"]) + b_err, m.sa_cols,
                           m.sa_rows, positions)
        _array_read(pc, hw, m, hw.transposed, m.cols, m.rows, m.sa_cols, m.sa_rows, b_err,
                    m.duplication, "memory_array", positions)
        _accumulate(pc, hw, m.rows, m.sa_cols, positions, m.duplication)
        _global_accumulate(pc, hw, m, True, positions)
        _move_global(pc, hw, layer.in_elements * b_err, share, tile_factor)
    elif op == "mvm_feedback":
        fb = hw.feedback[node.layer if node.layer in hw.feedback else None]
        bits_in = node.decl.input_bits or b_err
        _move_global(pc, hw, fb.rows * bits_in, 1.0)
        _array_read(pc, hw, fb, hw.forward, fb.rows, fb.cols, fb.sa_rows, fb.sa_cols, bits_in,
                    1.0, "feedback_array")
        _accumulate(pc, hw, fb.cols, fb.sa_rows)
        outputs = fb.cols / cells_per_weight(p)
        _move_global(pc, hw, outputs * b_err, 1.0)
        # the ADC, shift-add and driver work here is done by the feedback arrays' periphery
        for key in ("decoder_driver", "column_mux", "adc", "shift_add"):
            pc.energy["feedback_array"] = pc.energy.get("feedback_array", 0.0) + pc.energy.pop(key)
    elif op == "lookup":
        # one row of B selected by the label: a digital read, no MAC and no conversion
        assert hw.feedback_table is not None
        widths = [network.layers[i].out_elements for i in range(network.depth - 1)]
        outputs = float(max(widths) if node.layer is None else widths[node.layer])
        bits = outputs * p["precision.weight"]
        lines = np.ceil(bits / p["global_buffer.port_bits"])
        pc.add("energy", "feedback_array", bits * hw.feedback_table.energy)
        pc.add("latency", "feedback_array", lines * hw.feedback_table.latency)
        _move_global(pc, hw, outputs * b_err, 1.0)
    elif op == "gradient":
        _gradient(pc, hw, node, layer, m, share)
    elif op == "write":
        _write(pc, hw, node, layer, m)
    else:  # pragma: no cover - the rule schema admits no other op
        raise AssertionError(op)
    return pc


def _stash_bits(hw: Hardware, layer: Layer) -> Num:
    """Bits of a layer's input kept for a later phase (or NeuroSim's per-layer convention)."""
    p = hw.p
    return np.where(p["accounting.stash_bits_per_layer"] > 0, p["accounting.stash_bits_per_layer"],
                    layer.in_elements * p["precision.activation"])


def _stash(pc: PhaseCost, hw: Hardware, layer: Layer, share: Num) -> None:
    """Keep a layer's input for a later phase: off chip (DRAM) or in the global buffer.  Half
    of the booked DRAM transfers happen here (out), half when it is fetched back."""
    bits = _stash_bits(hw, layer)
    if hw.opts.stash == "dram":
        _dram(pc, hw, bits * hw.p["accounting.stash_dram_transfers"] / 2.0)
    else:
        _move_global(pc, hw, bits, share)


def _gradient(pc: PhaseCost, hw: Hardware, node: PhaseNode, layer: Layer, m: MatrixMap,
              share: Num) -> None:
    """dW = sum over positions of delta h^T, on a weight-gradient unit: h's bit-planes are
    written into the unit's SRAM CIM arrays (one row per output position), each error element
    is applied in turn and every activation bit column is converted (a conversion sums up to
    one array's rows of positions); the gradient then joins the batch accumulation."""
    p = hw.p
    b_act, b_err, b_grad = (p["precision.activation"], p["precision.error"],
                            p["precision.gradient"])
    ins, outs = float(layer.in_features), float(layer.out_features)
    arrays = hw.wgu_arrays[node.unit] if node.unit is not None else hw.wgu_arrays[0]
    b_err = node.decl.input_bits or b_err
    row_blocks = np.ceil(layer.positions / p["training.wgu.rows"])
    # fetch the layer input (stashed for a backward pass, or still in the buffer) and the error
    if hw.stashed_input and hw.opts.stash == "dram":
        _dram(pc, hw, _stash_bits(hw, layer) * p["accounting.stash_dram_transfers"] / 2.0)
    _move_global(pc, hw, layer.in_elements * b_act + layer.out_elements * b_err, share)
    # NeuroSim scales the unit's read and write energy by the fraction of its cells holding
    # data (one row per position), although every array it counts is read in full
    scale = 1.0
    if hw.opts.wgu_used_cell_scaling:
        scale = (ins * b_act * np.minimum(layer.positions, p["training.wgu.rows"])
                 / (arrays * p["training.wgu.cols"] * p["training.wgu.rows"]))
    # write h (unrolled, one row per position) into the WGU arrays
    pc.add("energy", "wgu", ins * layer.positions * b_act * hw.wgu_cell_write * scale)
    # compute: each error element is applied bit-serially to the rows and every activation
    # bit column is converted; spare array capacity holds copies of h that take other errors
    conversions = ins * outs * b_act * b_err * row_blocks
    columns = arrays * p["training.wgu.cols"]
    needed = ins * b_act
    passes = np.ceil(needed / columns) * row_blocks
    copies = np.maximum(np.floor(columns / needed), 1.0)
    steps = passes * np.ceil(outs / copies) * b_err * p["training.wgu.rows_per_adc"]
    if hw.opts.wgu_speedup_by_arrays:
        steps = steps / arrays
    if hw.opts.wgu_used_cell_scaling:
        # ... and counts a conversion per column of a mux group (rows_per_adc per ADC)
        conversions = conversions * p["training.wgu.rows_per_adc"]
    pc.add("energy", "wgu", conversions * (hw.wgu_adc.energy + hw.wgu_shift_add.energy) * scale)
    pc.add("latency", "wgu", steps * hw.wgu_adc.latency)
    # accumulate across the batch
    adds = ins * outs
    pc.add("energy", "wgu", adds * hw.wgu_adder.energy)
    pc.add("latency", "wgu", np.ceil(adds / hw.wgu_accumulators) * hw.wgu_adder.latency)
    if hw.opts.gradient_round_trip == "dram_per_sample":
        grad_bits = ins * outs * b_grad
        _dram(pc, hw, grad_bits)  # written out
        _dram(pc, hw, grad_bits)  # read back to accumulate
    if hw.opts.update_delivery_per_sample:
        _deliver_update(pc, hw, layer, m)


def _deliver_update(pc: PhaseCost, hw: Hardware, layer: Layer, m: MatrixMap) -> None:
    """Send the weight change (``training.update_bits`` per weight) to the arrays' write
    drivers: out of the global buffer over the global bus (``accounting.update_delivery:
    chip``), then through each tile's and PE's buffer and bus, every copy of a duplicated
    matrix getting its own.  Energy only: a row's data (a few buffer lines) streams in while
    the previous row takes its write pulses, which are far longer."""
    p = hw.p
    bits = float(layer.in_features) * float(layer.out_features) * p["training.update_bits"]
    copies = bits * m.duplication
    if hw.opts.update_delivery == "chip":
        pc.add("energy", "buffer", bits * hw.global_buffer.energy)
        pc.add("traffic", "global_buffer", bits / 8.0)
        pc.add("energy", "interconnect", bits * hw.global_bus.energy)
    pc.add("energy", "buffer", 2.0 * copies * hw.tile_buffer.energy)
    pc.add("traffic", "tile_buffer", copies / 8.0)
    pc.add("energy", "interconnect", copies * hw.tile_bus.energy)
    if hw.opts.update_delivery == "chip":
        pc.add("energy", "buffer", 2.0 * copies * hw.pe_buffer.energy)
        pc.add("energy", "interconnect", copies * hw.pe_bus.energy)


def _write(pc: PhaseCost, hw: Hardware, node: PhaseNode, layer: Layer, m: MatrixMap) -> None:
    """Program the changed cells, line by line (rows, or columns where the rule says so),
    SET and RESET pulses in two passes; ``training.parallel_array_writes`` subarrays are
    written at once."""
    p = hw.p
    if hw.opts.gradient_round_trip == "dram_per_sample" and hw.opts.update_reads_gradient:
        grad_bits = float(layer.in_features) * float(layer.out_features) * p["precision.gradient"]
        _dram(pc, hw, grad_bits)
    _deliver_update(pc, hw, layer, m)
    cells = m.rows * m.cols * p["training.changed_fraction"] * m.duplication
    pulses = p["training.update_pulses"]
    pc.add("energy", "memory_array", cells * pulses * p["memory.write_energy_per_pulse"])
    # one line write per row (or column) of every subarray holding the matrix; the copies of a
    # duplicated matrix sit in other subarrays and are written at the same time
    if node.decl.write_by == "columns":
        line_writes, line_cells = m.cols * m.sa_rows, p["subarray.rows"]
        used_cells = np.minimum(line_cells, m.rows / m.sa_rows)
    else:
        line_writes, line_cells = m.rows * m.sa_cols, p["subarray.cols"]
        used_cells = np.minimum(line_cells, m.cols / m.sa_cols)
    # each pulse of each pass (SET, then RESET) charges the selected line and the crossing
    # lines (one per cell of the selected line, spanning the other dimension) of the cells that
    # pass writes (half the changed ones) to the write voltage; with an access device the other
    # crossing lines stay grounded, a crossbar holds them at the V/2 inhibit level (a quarter
    # of the energy)
    crossing_cells = p["subarray.rows"] + p["subarray.cols"] - line_cells
    selected = used_cells * p["training.changed_fraction"] / 2.0
    inhibited = (line_cells - selected) / 4.0 if hw.opts.memory_is_crossbar else 0.0
    line_c = hw.tech.wire_c * line_cells * hw.cell_pitch
    crossing_c = crossing_cells * (hw.tech.wire_c * hw.cell_pitch + hw.tech.c_drain)
    line_energy = 2.0 * pulses * (hw.forward.drivers.energy + (line_c + (selected + inhibited)
                                                               * crossing_c)
                                  * p["memory.write_voltage"] ** 2)
    pc.add("energy", "decoder_driver", line_writes * m.duplication * line_energy)
    serial = line_writes / p["training.parallel_array_writes"]
    pc.add("latency", "memory_array", serial * 2.0 * pulses * p["memory.write_pulse_width"])
    pc.add("latency", "decoder_driver", serial * hw.forward.drivers.latency)
