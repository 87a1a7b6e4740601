"""Data movement physics: bus switching activity, the PE bus, delivering weight changes to the
arrays, and the NeuroSim accounting switches that rebook them."""

import numpy as np
import pytest

import cimcost
from cimcost.errors import InputError

NET = cimcost.mlp([784, 256, 10])
NEUROSIM = "floorplans/neurosim-v2.1.yaml"


def run(floorplan: str = "floorplans/default.yaml", rule: str = "bp", **overrides) -> dict:
    return cimcost.estimate(NET, rule=rule, floorplan=floorplan, set=overrides).to_dict()


def run_net(sizes: list[int], floorplan: str = NEUROSIM) -> dict:
    return cimcost.estimate(cimcost.mlp(sizes), rule="bp", floorplan=floorplan).to_dict()


def interconnect(d: dict, phase: str | None = None) -> float:
    if phase is None:
        return d["energy"]["breakdown"]["interconnect"]
    return d["energy"]["by_phase"][phase]


def test_bus_energy_is_proportional_to_switching_activity():
    # only the wires depend on the activity: interconnect energy scales exactly with it
    quarter = run(**{"circuits.wire_activity.value": 0.25})
    half = run(**{"circuits.wire_activity.value": 0.5})
    assert interconnect(half) == pytest.approx(2.0 * interconnect(quarter), rel=1e-9)
    assert half["energy"]["breakdown"]["adc"] == pytest.approx(quarter["energy"]["breakdown"]["adc"])


def test_activity_above_one_is_rejected():
    with pytest.raises(InputError, match="wire_activity"):
        run(**{"circuits.wire_activity.value": 1.5})


def _hardware(**overrides):
    from cimcost.config import load_config
    from cimcost.hardware import build_hardware
    from cimcost.rules import get_rule

    cfg = load_config(overrides=overrides)
    return build_hardware(NET, get_rule("bp"), cfg.params(), cfg.options(), [[0, 1]])


def test_pe_bus_length_follows_the_subarray_grid():
    # a PE of one subarray with its buffer at the root has a zero-length bus; a bigger grid
    # of subarrays a longer one
    assert float(_hardware(**{"pe.subarray_rows": 1, "pe.subarray_cols": 1,
                              "interconnect.local_buffer_position": "center"}
                           ).pe_bus.energy) == 0.0
    two = _hardware(**{"pe.subarray_rows": 2, "pe.subarray_cols": 2}).pe_bus
    four = _hardware(**{"pe.subarray_rows": 4, "pe.subarray_cols": 4}).pe_bus
    assert 0.0 < float(two.energy) < float(four.energy)
    assert 0.0 < float(two.latency) < float(four.latency)
    # routed over the PE's own subarrays, it adds no area
    assert float(four.area) > 0.0
    with_bus = run(**{"pe.subarray_rows": 4, "pe.subarray_cols": 4})
    assert with_bus["area"]["breakdown"]["interconnect"] == pytest.approx(
        run(**{"pe.subarray_rows": 4, "pe.subarray_cols": 4,
               "circuits.wire_activity.value": 0.5})["area"]["breakdown"]["interconnect"])


def update_energy(**overrides) -> float:
    return run(**overrides)["energy"]["by_phase"]["update"]


def test_update_energy_grows_with_the_bits_sent_per_weight():
    one, four = update_energy(**{"training.update_bits": 1}), update_energy(
        **{"training.update_bits": 4})
    assert four > one
    # delivery is linear in the bits: three extra bits cost three times the first bit's
    zero_ish = update_energy(**{"training.update_bits": 1e-9})
    assert four - zero_ish == pytest.approx(4.0 * (one - zero_ish), rel=1e-6)


def test_tile_only_delivery_is_cheaper_than_the_full_path():
    chip = update_energy(**{"accounting.update_delivery": "chip"})
    tile = update_energy(**{"accounting.update_delivery": "tile"})
    assert 0.0 < tile < chip


def test_per_sample_delivery_rebooks_it_in_the_gradient_phase():
    base = run(NEUROSIM, **{"accounting.update_delivery_per_sample": False})
    booked = run(NEUROSIM, **{"accounting.update_delivery_per_sample": True})
    extra = booked["energy"]["by_phase"]["grad"] - base["energy"]["by_phase"]["grad"]
    # per sample, the gradient phase now carries what one update's delivery costs; the update
    # phase (once per batch here) is unchanged, and the breakdown still sums to the total
    per_update = base["energy"]["by_phase"]["update"] - run(
        NEUROSIM, **{"accounting.update_delivery_per_sample": False,
                     "training.update_bits": 1e-9})["energy"]["by_phase"]["update"]
    samples = base["scope"]["samples"]
    assert extra == pytest.approx(samples * per_update, rel=1e-6)
    assert booked["energy"]["by_phase"]["update"] == pytest.approx(
        base["energy"]["by_phase"]["update"])
    assert sum(booked["energy"]["breakdown"].values()) == pytest.approx(booked["energy"]["total"])


def test_unknown_delivery_path_is_rejected():
    with pytest.raises(InputError, match="update_delivery"):
        run(**{"accounting.update_delivery": "teleport"})


def test_strip_layout_charges_empty_space_but_not_its_leakage():
    packed = run(NEUROSIM, **{"accounting.strip_layout": False})
    strips = run(NEUROSIM, **{"accounting.strip_layout": True})
    # adders and shift-adds, the PE register banks and the WGU's gradient accumulators
    for key in ("accumulation", "shift_add", "buffer", "wgu"):
        assert strips["area"]["breakdown"][key] > packed["area"]["breakdown"][key]
    assert strips["energy"]["breakdown"]["leakage"] == pytest.approx(
        packed["energy"]["breakdown"]["leakage"], rel=0.05)


def test_wgu_used_cell_scaling_shrinks_only_the_wgu_energy():
    physical = run(NEUROSIM, **{"accounting.wgu_used_cell_scaling": False})
    scaled = run(NEUROSIM, **{"accounting.wgu_used_cell_scaling": True})
    assert scaled["energy"]["breakdown"]["wgu"] < physical["energy"]["breakdown"]["wgu"]
    assert scaled["energy"]["breakdown"]["dram"] == pytest.approx(
        physical["energy"]["breakdown"]["dram"])


def test_weight_change_delivery_is_booked_as_buffer_traffic():
    one = run(**{"training.update_bits": 1})["traffic"]
    four = run(**{"training.update_bits": 4})["traffic"]
    assert four["by_phase"]["update"] > one["by_phase"]["update"] > 0.0
    assert sum(four["breakdown"].values()) == pytest.approx(four["total"])


def _neurosim_hardware(**overrides):
    from cimcost.config import load_config
    from cimcost.hardware import build_hardware
    from cimcost.rules import get_rule

    cfg = load_config(NEUROSIM, overrides=overrides)
    return build_hardware(NET, get_rule("bp"), cfg.params(), cfg.options(), [[0, 1]])


def test_neurosim_register_bank_clocking_hand_computed():
    from cimcost.costs import _pe_register_banks

    # 128x128 subarrays, 4x4 per PE, 8 columns per ADC, 6-bit ADC, 8-bit inputs, one cell per
    # weight: input bank 8 x 128 = 1024 flip-flops, output bank 16 x (6 + 8 + 2) = 256; the
    # 784 x 256 layer spans 7 x 2 subarrays = 2 PEs along its rows and 1 along its columns,
    # so the input bank is clocked 784 x 1 times and the output bank 256 x 2 x 15 times
    hw = _neurosim_hardware()
    bit = float(hw.forward.input_register.energy)
    clock, data = 0.625 * bit, 0.375 * bit
    expected = 784 * (clock * 1024 + data * 8) + 256 * 2 * 15 * (clock * 256 + data * 1)
    assert float(_pe_register_banks(hw, hw.maps[0], 1.0)) == pytest.approx(expected, rel=1e-12)


def test_register_bank_clocking_rebooks_only_the_buffer_energy():
    latched = run(NEUROSIM, **{"accounting.pe_register_clocking": False})
    clocked = run(NEUROSIM, **{"accounting.pe_register_clocking": True})
    assert clocked["energy"]["breakdown"]["buffer"] > latched["energy"]["breakdown"]["buffer"]
    for key in ("adc", "accumulation", "interconnect", "dram", "memory_array"):
        assert clocked["energy"]["breakdown"][key] == pytest.approx(
            latched["energy"]["breakdown"][key])
    assert clocked["latency"]["total"] == pytest.approx(latched["latency"]["total"])
    # a wider ADC word widens the output bank, clocked once per output bit: more energy
    wider = run(NEUROSIM, **{"accounting.pe_register_clocking": True, "adc.bits": 8})
    assert wider["energy"]["by_phase"]["forward"] > clocked["energy"]["by_phase"]["forward"]


def test_register_clock_fraction_above_one_is_rejected():
    with pytest.raises(InputError, match="register_clock_fraction"):
        run(**{"circuits.register_clock_fraction.value": 1.2})


def _tree(rows: float, cols: float, from_edge: bool):
    from cimcost.components import interconnect
    from cimcost.components.base import Tech
    from cimcost.config import load_config

    return interconnect.htree(Tech(load_config().params()), rows, cols, 1e-3, 256, from_edge)


@pytest.mark.parametrize(("rows", "cols"), [(1, 1), (2, 2), (3, 2), (4, 3), (1, 4)])
def test_buffer_at_the_edge_adds_a_trunk_of_half_the_shorter_side(rows, cols):
    # the trunk runs from the grid's longer edge to the root: half the shorter side, full
    # bus width; it lengthens the path of every bit by exactly that
    centre, edge = _tree(rows, cols, False), _tree(rows, cols, True)
    trunk = min(rows, cols) * 1e-3 / 2.0
    per_length = float(_tree(1, 2, False).energy) / 0.5e-3  # a 1x2 tree: one half-side path
    assert float(edge.energy - centre.energy) == pytest.approx(per_length * trunk, rel=1e-9)
    area_per_length = float(_tree(1, 2, True).area - _tree(1, 2, False).area) / 0.5e-3
    assert float(edge.area - centre.area) == pytest.approx(area_per_length * trunk, rel=1e-9)
    assert float(edge.latency) > float(centre.latency)


def test_buffer_positions_are_validated():
    with pytest.raises(InputError, match="global_buffer_position"):
        run(**{"interconnect.global_buffer_position": "corner"})
    edge = run(**{"interconnect.global_buffer_position": "edge"})
    centre = run(**{"interconnect.global_buffer_position": "center"})
    assert interconnect(edge) > interconnect(centre)
    assert edge["area"]["breakdown"]["interconnect"] > centre["area"]["breakdown"]["interconnect"]


def _phase_energy(sizes: list[int], floorplan: str = "floorplans/default.yaml", **overrides):
    from cimcost.config import load_config
    from cimcost.estimate import compute
    from cimcost.rules import get_rule

    cfg = load_config(floorplan, overrides=overrides)
    c = compute(cimcost.mlp(sizes), get_rule("bp"), cfg.params(), cfg.options())
    return {ph: {k: float(v) for k, v in book.items()} for ph, book in c.phase_energy.items()}


def test_input_lines_are_driven_once_per_subarray_along_the_output_side():
    # 128 x 128 subarrays: a 128 -> 1024 layer is one subarray tall and eight wide, so each of
    # its 128 input lines is driven in eight subarrays; a 1024 -> 128 layer drives 1024 lines
    # in one subarray each; a 128 -> 128 layer 128 lines once
    one = _phase_energy([128, 128])["forward"]["decoder_driver"]
    wide = _phase_energy([128, 1024])["forward"]["decoder_driver"]
    tall = _phase_energy([1024, 128])["forward"]["decoder_driver"]
    assert wide == pytest.approx(8.0 * one, rel=1e-9)
    assert tall == pytest.approx(8.0 * one, rel=1e-9)


def test_full_subarray_lines_prices_the_empty_lines_of_a_partly_used_subarray():
    # a 1024 -> 10 layer occupies 8 subarrays of 128 columns: NeuroSim's convention charges
    # their muxes as if all 128 columns were used (1024 -> 128); conversions stay the used ones
    narrow = _phase_energy([1024, 10], NEUROSIM, **{"accounting.full_subarray_lines": True})
    full = _phase_energy([1024, 128], NEUROSIM, **{"accounting.full_subarray_lines": False})
    used = _phase_energy([1024, 10], NEUROSIM, **{"accounting.full_subarray_lines": False})
    assert narrow["forward"]["column_mux"] == pytest.approx(full["forward"]["column_mux"])
    assert used["forward"]["column_mux"] == pytest.approx(full["forward"]["column_mux"] * 10 / 128)
    assert narrow["forward"]["decoder_driver"] == pytest.approx(full["forward"]["decoder_driver"])
    assert narrow["forward"]["adc"] == pytest.approx(used["forward"]["adc"])


def test_line_charge_in_adc_adds_the_hand_computed_charge_to_the_adc_only():
    # NeuroSim's convention, one 128 x 128 subarray read forward with 8-bit inputs: each of
    # the 128 x 8 conversions charges a 128-cell output line to V_read and 1/16 of the mux
    # step's re-charge of the active input lines (128 x activity, at Vdd) over 16 ADCs
    on = _phase_energy([128, 128], NEUROSIM, **{"accounting.line_charge_in_adc": True})
    off = _phase_energy([128, 128], NEUROSIM, **{"accounting.line_charge_in_adc": False})
    hw = _neurosim_hardware()
    p, tech = hw.p, hw.tech
    line_c = tech.wire_c * 128 * hw.cell_pitch
    per_conversion = (line_c * p["memory.read_voltage"] ** 2
                      + line_c * tech.vdd**2 * 128 * p["input_activity"] / 16)
    samples = p["training.batch_size"] * p["training.steps"]
    added = on["forward"]["adc"] - off["forward"]["adc"]
    assert added == pytest.approx(float(samples * 128 * 8 * per_conversion), rel=1e-9)
    for key in ("decoder_driver", "column_mux", "memory_array", "buffer"):
        assert on["forward"].get(key, 0.0) == pytest.approx(off["forward"].get(key, 0.0))


def test_a_row_write_charges_only_the_columns_that_hold_weights():
    # a 128 -> 64 layer writes rows of 64 weights in a 128-column subarray: the selected
    # crossing columns are the changed ones among those 64, not among all 128 (one cell per
    # weight in the NeuroSim profile); per copy of the matrix, the difference is the
    # crossing-column charge of the 64 missing columns on each of the 128 row writes
    from cimcost.config import load_config
    from cimcost.hardware import build_hardware
    from cimcost.rules import get_rule

    def per_copy(sizes):
        copies = run_net(sizes)["hardware"]["layers"][0]["duplication"]
        return _phase_energy(sizes, NEUROSIM)["update"]["decoder_driver"] / copies

    full, half = per_copy([128, 128]), per_copy([128, 64])
    cfg = load_config(NEUROSIM)
    hw = build_hardware(cimcost.mlp([128, 64]), get_rule("bp"), cfg.params(), cfg.options(),
                        [[0]])
    p, tech = hw.p, hw.tech
    cross_c = 128 * (tech.wire_c * hw.cell_pitch + tech.c_drain)
    pulses, changed = p["training.update_pulses"], p["training.changed_fraction"]
    per_row = 2.0 * pulses * (128 - 64) * changed / 2.0 * cross_c * p["memory.write_voltage"] ** 2
    assert full - half == pytest.approx(float(128 * per_row), rel=1e-9)


def test_drain_end_walls_add_to_every_access_device():
    from cimcost.components.base import Tech
    from cimcost.config import load_config

    p = load_config().params()
    without = Tech({**p, "tech.drain_capacitance_fixed": 0.0})
    assert Tech(p).c_drain - without.c_drain == pytest.approx(p["tech.drain_capacitance_fixed"])
    assert p["tech.drain_capacitance_fixed"] > 0.0


def test_strip_area_hand_computed():
    from cimcost.components.digital import strip_area

    # 10 blocks 2 long and 3 across along an edge of 7: 3 per row, 4 rows, each 7 x 3
    assert strip_area(7.0, 2.0, 3.0, 10.0) == pytest.approx(4 * 7.0 * 3.0)
    # a block longer than the edge still takes a row of its own
    assert strip_area(1.0, 2.0, 3.0, 2.0) == pytest.approx(2 * 1.0 * 3.0)


def _node_costs(sizes: list[int], floorplan: str = NEUROSIM, **overrides):
    """Each phase instance's cost (keyed like 'forward[1]'), as compute() prices it."""
    from cimcost.config import load_config
    from cimcost.costs import phase_cost
    from cimcost.hardware import build_hardware
    from cimcost.mapping import search_tile_size
    from cimcost.plan import Topology, build_plan
    from cimcost.rules import get_rule

    cfg = load_config(floorplan, overrides=overrides)
    p, opts, rule, net = cfg.params(), cfg.options(), get_rule("bp"), cimcost.mlp(sizes)
    plan = build_plan(rule, Topology.of(net), opts.wgus, False, shared_buffer=True,
                      assignment=opts.wgu_assignment, update_every=opts.update_every)
    if opts.tile_search:
        p = {**p, **search_tile_size(net, p)}
    hw = build_hardware(net, rule, p, opts, plan.wgu_layers)
    return {key: phase_cost(node, hw, net) for key, node in plan.nodes.items()}


def test_buffer_line_time_grows_with_the_square_root_of_the_core():
    from cimcost.components.base import Tech
    from cimcost.components.storage import sram_buffer

    tech = Tech(load_params())
    half_clock = 0.5e-9
    big = float(sram_buffer(tech, 16384, 1e9, 16384).latency) - half_clock
    small = float(sram_buffer(tech, 16384, 1e9, 1024).latency) - half_clock
    assert big == pytest.approx(4.0 * small, rel=1e-12)  # sqrt(16384 / 1024) = 4
    assert small > 0.0


def load_params():
    from cimcost.config import load_config

    return load_config().params()


def test_narrow_tile_output_serialises_the_partial_sums_only():
    wide = _node_costs([1024, 1024], **{"accounting.narrow_tile_output": False})
    narrow = _node_costs([1024, 1024], **{"accounting.narrow_tile_output": True})
    fw_wide, fw_narrow = wide["forward[1]"], narrow["forward[1]"]
    assert fw_narrow.latency["buffer"] > fw_wide.latency["buffer"]
    for key in fw_wide.energy:
        assert fw_narrow.energy[key] == pytest.approx(fw_wide.energy[key])
    assert fw_narrow.latency["interconnect"] == pytest.approx(fw_wide.latency["interconnect"])


def test_transposed_read_can_book_the_forward_buffers():
    # the 1024 -> 10 output layer's AG read moves 10 inputs in and 1024 partial sums out;
    # NeuroSim books the forward's 1024 inputs and 10 partial sums instead, which is far less
    # buffer time with its narrow tile output.  A square layer is the same either way.
    key = "accounting.transposed_books_forward_buffers"
    narrow_own = _node_costs([64, 1024, 10], **{key: False})["error[2]"]
    narrow_fw = _node_costs([64, 1024, 10], **{key: True})["error[2]"]
    assert narrow_fw.latency["buffer"] < 0.5 * narrow_own.latency["buffer"]
    square_own = _node_costs([64, 1024, 1024], **{key: False})["error[2]"]
    square_fw = _node_costs([64, 1024, 1024], **{key: True})["error[2]"]
    for book in ("energy", "latency"):
        for k, v in getattr(square_own, book).items():
            assert getattr(square_fw, book)[k] == pytest.approx(v)


@pytest.mark.parametrize(("side", "cores"), [(64, 2), (128, 8), (256, 32)])
def test_neurosim_global_buffer_cores_hand_computed(side, cores):
    # ChipInitialize: (8 x 1024 input bits + side^2 gradients x log2(200) = 8 bits) // 16384
    hw = _neurosim_hardware_for([784, 1024, 1024, 10], **{"subarray.rows": side,
                                                          "subarray.cols": side})
    assert float(hw.global_buffer_cores) == cores
    assert float(hw.wgu_accumulators) == side * side  # one write group of one subarray


def test_physical_global_buffer_holds_activations_and_a_write_group_of_gradients():
    hw = _neurosim_hardware_for([784, 1024, 1024, 10],
                                **{"accounting.global_buffer_sizing": "physical"})
    # (1024 + 1024) activations x 8 bits + 16384 gradients x (12 + 8) bits, in 16384-bit cores
    assert float(hw.global_buffer_cores) == np.ceil((2048 * 8 + 16384 * 20) / 16384)


def _neurosim_hardware_for(sizes, **overrides):
    from cimcost.config import load_config
    from cimcost.hardware import build_hardware
    from cimcost.mapping import search_tile_size
    from cimcost.rules import get_rule

    cfg = load_config(NEUROSIM, overrides=overrides)
    p, net = cfg.params(), cimcost.mlp(sizes)
    p = {**p, **search_tile_size(net, p)}
    return build_hardware(net, get_rule("bp"), p, cfg.options(), [list(range(len(sizes) - 1))])


def test_global_accumulation_only_for_layers_spanning_tiles_along_their_input():
    # a 2048 x 2048 layer spans 2 x 2 tiles of 1024 cells: its tiles' partial sums are added
    # on chip; a 1024 x 1024 layer fits one tile and needs no chip-level addition
    phys = {"accounting.global_accumulation_per_output": False}
    two = _node_costs([784, 2048, 2048, 10], **phys)["forward[2]"].latency["accumulation"]
    one = _node_costs([784, 1024, 1024, 10], **phys)["forward[2]"].latency["accumulation"]
    assert two > one
    # NeuroSim's convention: one tree operation per output and tile column: 2 x 2048 of them
    ns = _node_costs([784, 2048, 2048, 10])
    hw = _neurosim_hardware_for([784, 2048, 2048, 10])
    extra = ns["forward[2]"].latency["accumulation"] - _node_costs(
        [784, 2048, 2048, 10], **phys)["forward[2]"].latency["accumulation"]
    physical_global = np.ceil(2048 / 128) * float(hw.global_tree.latency)
    assert extra == pytest.approx(2 * 2048 * float(hw.global_tree.latency) - physical_global,
                                  rel=1e-9)


def test_neurosim_global_bus_has_one_tiles_lanes_per_layer():
    # 784-1024-1024-1024-10 on 64 x 64 subarrays: 512-cell tiles, 14 tiles over 4 layers;
    # NeuroSim: 4 x (512 + 512 / 8) = 2304 lanes (under 8192, no halving); per tile it would
    # be 14 x 576 = 8064
    sizes, sub = [784, 1024, 1024, 1024, 10], {"subarray.rows": 64, "subarray.cols": 64}
    per_layer = _neurosim_hardware_for(sizes, **sub)
    per_tile = _neurosim_hardware_for(sizes, **sub, **{"accounting.global_bus_per_layer": False})
    assert float(per_layer.total_tiles) == 14
    assert float(per_layer.global_bus_width) == 4 * (512 + 512 / 8)
    assert float(per_tile.global_bus_width) == 14 * (512 + 512 / 8)


def test_tile_bus_fold_divides_only_the_tile_trees_area():
    unfolded = _neurosim_hardware_for([784, 1024, 1024, 10], **{"accounting.tile_bus_fold": 1})
    folded = _neurosim_hardware_for([784, 1024, 1024, 10], **{"accounting.tile_bus_fold": 4})
    assert float(folded.tile_bus.area) == pytest.approx(float(unfolded.tile_bus.area) / 4)
    assert float(folded.tile_bus.energy) == pytest.approx(float(unfolded.tile_bus.energy))
    assert float(folded.global_bus.area) == pytest.approx(float(unfolded.global_bus.area),
                                                          rel=0.05)


@pytest.mark.parametrize(("path", "value"), [
    ("accounting.tile_bus_fold", 0),
    ("accounting.global_buffer_sizing", "roomy"),
    ("accounting.pe_register_clocking", "sometimes"),
    ("training.wgu.accumulators", -5),
    ("interconnect.local_buffer_position", "corner"),
])
def test_new_fields_reject_bad_values_naming_the_field(path, value):
    with pytest.raises(InputError, match=path.split(".")[-1]):
        run(NEUROSIM, **{path: value})
