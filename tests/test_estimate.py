"""Whole-chip estimates: totals equal breakdowns, physics trends, the paper's findings."""

import json

import numpy as np
import pytest

import cimcost

from .conftest import DEFAULT_NET

RULES = ("inference", "bp", "dfa")


def assert_sums(book: dict, *, parts=("breakdown",)) -> None:
    for part in parts:
        assert sum(book[part].values()) == pytest.approx(book["total"], rel=1e-9), part


@pytest.mark.parametrize("rule", RULES)
def test_totals_equal_breakdowns(default_estimates, rule):
    d = default_estimates[rule]
    assert_sums(d["area"])
    assert_sums(d["energy"], parts=("breakdown", "by_phase"))
    assert_sums(d["latency"], parts=("breakdown", "by_phase"))
    assert_sums(d["traffic"], parts=("breakdown", "by_phase"))
    for book in ("area", "energy", "latency", "traffic"):
        assert all(v >= 0 for v in d[book]["breakdown"].values())


@pytest.mark.parametrize("rule", RULES)
def test_json_shape_and_round_trip(default_estimates, rule):
    d = default_estimates[rule]
    assert d["rule"] == rule
    for key in ("batch_size", "steps"):
        assert isinstance(d["scope"][key], float)
    hw = d["hardware"]
    assert isinstance(hw["tiles"], float) and isinstance(hw["wgus"], int)
    assert 0 < hw["utilization"] <= 1
    for ly in hw["layers"]:
        assert {"name", "rows", "cols", "tiles", "subarrays", "utilization"} <= set(ly)
    for key in ("memory_array", "feedback_array", "adc", "wgu", "buffer", "interconnect"):
        assert key in d["area"]["breakdown"]
    assert json.loads(json.dumps(d)) == d


def test_bp_has_twice_the_adcs_of_inference(default_estimates):
    # with equal forward and transposed ADCs, BP's transposable readout doubles ADC area
    assert default_estimates["bp"]["area"]["breakdown"]["adc"] == pytest.approx(
        2 * default_estimates["inference"]["area"]["breakdown"]["adc"])
    assert default_estimates["dfa"]["area"]["breakdown"]["adc"] == pytest.approx(
        default_estimates["inference"]["area"]["breakdown"]["adc"])


def test_wgu_counts(default_estimates):
    assert default_estimates["inference"]["hardware"]["wgus"] == 0
    assert default_estimates["inference"]["area"]["breakdown"]["wgu"] == 0
    assert default_estimates["bp"]["hardware"]["wgus"] == 1
    assert default_estimates["dfa"]["hardware"]["wgus"] == 5  # one per layer


def test_feedback_matrices_only_for_dfa(default_estimates):
    assert default_estimates["bp"]["area"]["breakdown"]["feedback_array"] == 0
    d = default_estimates["dfa"]
    fb = d["area"]["breakdown"]["feedback_array"]
    assert 0 < fb < 0.01 * d["area"]["total"]  # the paper: B matrices < 1 % of chip area
    # one sliced 10 x 1024 matrix: 1 x 8 subarrays of 128 x 128
    assert d["hardware"]["feedback_subarrays"] == 8


def test_per_layer_feedback_matrices_cost_more_area():
    sliced = cimcost.estimate(str(DEFAULT_NET), rule="dfa")
    per_layer = cimcost.estimate(str(DEFAULT_NET), rule="dfa",
                                 set={"training.feedback_matrix": "per_layer"})
    assert per_layer.to_dict()["hardware"]["feedback_subarrays"] == 4 * 8
    assert per_layer.to_dict()["area"]["breakdown"]["feedback_array"] > \
        sliced.to_dict()["area"]["breakdown"]["feedback_array"]


def test_paper_area_findings(default_estimates):
    bp = default_estimates["bp"]["area"]["breakdown"]
    dfa = default_estimates["dfa"]["area"]["breakdown"]
    assert max(bp, key=bp.get) == "adc"
    assert max(dfa, key=dfa.get) == "wgu"


def test_offchip_traffic_dominates_training_energy(default_estimates):
    for rule in ("bp", "dfa"):
        e = default_estimates[rule]["energy"]
        assert e["breakdown"]["dram"] > 0.9 * e["total"]
    bp, dfa = default_estimates["bp"]["energy"]["total"], default_estimates["dfa"]["energy"]["total"]
    assert dfa == pytest.approx(bp, rel=0.05)  # the paper: BP ~ DFA


def test_bp_latency_grows_with_depth_faster_than_dfa():
    lat = {rule: [cimcost.estimate([784] + [1024] * (n - 1) + [10], rule=rule).latency
                  for n in (2, 5, 10)] for rule in ("bp", "dfa")}
    bp, dfa = lat["bp"], lat["dfa"]
    assert bp[0] < bp[1] < bp[2]
    assert (bp[2] - bp[0]) > 5 * (dfa[2] - dfa[0])
    assert bp[2] / dfa[2] > bp[1] / dfa[1] > bp[0] / dfa[0]  # the ratio climbs towards N


def test_dram_energy_hand_computed():
    # BP, one 100 -> 10 layer, batch 2: per sample the stashed input (100 x 8 bit) goes out and
    # comes back, and the 100 x 10 x 12-bit gradient goes to DRAM and back; per batch the
    # accumulated gradient is read once for the update.
    d = cimcost.estimate([100, 10], rule="bp", set={"training.batch_size": 2}).to_dict()
    bits = 2 * (2 * 100 * 8 + 2 * 100 * 10 * 12) + 100 * 10 * 12
    assert d["energy"]["breakdown"]["dram"] == pytest.approx(bits * 3.9e-12)
    assert d["traffic"]["breakdown"]["dram"] == pytest.approx(bits / 8)


def test_on_chip_gradient_accumulation_trades_dram_for_area():
    base = cimcost.estimate(str(DEFAULT_NET), rule="bp")
    on_chip = cimcost.estimate(str(DEFAULT_NET), rule="bp",
                               set={"training.gradient_round_trip": "on_chip"})
    assert on_chip.energy < 0.1 * base.energy
    assert on_chip.to_dict()["area"]["breakdown"]["wgu"] > base.to_dict()["area"]["breakdown"]["wgu"]


def test_scope_scales_linearly():
    one = cimcost.estimate([64, 32, 10], rule="dfa")
    three = cimcost.estimate([64, 32, 10], rule="dfa", set={"training.steps": 3})
    assert three.energy == pytest.approx(3 * one.energy)
    assert three.latency == pytest.approx(3 * one.latency)
    assert three.area == pytest.approx(one.area)


@pytest.mark.parametrize("rule", RULES)
def test_more_layers_never_cost_less_area(rule):
    areas = [cimcost.estimate([784] + [256] * n + [10], rule=rule).area for n in range(1, 6)]
    assert all(b > a for a, b in zip(areas, areas[1:]))


@pytest.mark.parametrize("rule", RULES)
def test_wider_layers_never_cost_less_area(rule):
    areas = [cimcost.estimate([784, w, w, 10], rule=rule).area
             for w in (64, 256, 1024, 1025, 2048)]
    assert all(b >= a for a, b in zip(areas, areas[1:]))


@pytest.mark.parametrize("rule", RULES)
def test_more_adc_bits_never_cost_less_area(rule):
    areas = [cimcost.estimate([784, 1024, 10], rule=rule,
                              set={"adc.bits": b, "transposed_adc.bits": b}).area
             for b in range(2, 9)]
    assert all(b > a for a, b in zip(areas, areas[1:]))


def test_sar_adc_area_linear_flash_exponential():
    def adc_area(kind, bits):
        return cimcost.estimate([256, 10], rule="inference",
                                set={"adc.type": kind, "adc.bits": bits}
                                ).to_dict()["area"]["breakdown"]["adc"]
    sar = [adc_area("sar", b) for b in (3, 4, 5)]
    flash = [adc_area("flash", b) for b in (3, 4, 5)]
    assert sar[2] - sar[1] == pytest.approx(sar[1] - sar[0])
    assert flash[2] - flash[1] > 1.9 * (flash[1] - flash[0])


def test_dfa_latency_falls_and_area_rises_with_wgus():
    runs = [cimcost.estimate(str(DEFAULT_NET), rule="dfa", set={"training.wgus": k})
            for k in (1, 2, 3, 5)]
    lat = [r.latency for r in runs]
    area = [r.area for r in runs]
    assert all(b < a for a, b in zip(lat, lat[1:]))
    assert all(b > a for a, b in zip(area, area[1:]))
    assert runs[1].to_dict()["hardware"]["wgu_layers"] == [["fc1", "fc3", "fc5"], ["fc2", "fc4"]]


def test_shared_buffer_serialises_parallel_wgus():
    parallel = cimcost.estimate(str(DEFAULT_NET), rule="dfa")
    shared = cimcost.estimate(str(DEFAULT_NET), rule="dfa",
                              set={"global_buffer.channels": "shared"})
    assert shared.latency > 3 * parallel.latency
    assert shared.to_dict()["area"]["breakdown"]["buffer"] < \
        parallel.to_dict()["area"]["breakdown"]["buffer"]


def test_smaller_node_is_smaller_and_cheaper():
    big = cimcost.estimate([784, 1024, 10], rule="bp", tech="65nm")
    small = cimcost.estimate([784, 1024, 10], rule="bp", tech="22nm")
    assert small.area < big.area
    sram_e = lambda r: r.to_dict()["energy"]["breakdown"]["adc"]  # noqa: E731
    assert sram_e(small) < sram_e(big)


def test_every_bundled_memory_and_node_runs():
    from cimcost.config import data_root

    root = data_root() / "techfiles"
    for mem in sorted((root / "memory").glob("*.yaml")):
        for node in sorted((root / "cmos").glob("*.yaml")):
            r = cimcost.estimate([64, 32, 10], rule="bp", tech=str(node), memory=str(mem))
            for v in (r.area, r.energy, r.latency, r.traffic):
                assert np.isfinite(v) and v > 0, (mem.name, node.name)


def test_flash_adc_energy_is_a_fixed_part_plus_one_per_level():
    # the converter's bias branch and encoder stages cost the same at any resolution; each
    # reference level adds the same comparator energy (circuits.sense_amp)
    from cimcost.components.adc import flash_adc
    from cimcost.components.base import Tech
    from cimcost.config import load_config

    p = load_config().params()
    tech = Tech(p)
    energy = {b: float(flash_adc(tech, float(b)).energy) for b in (1, 3, 5, 6)}
    per_level = tech.energy(p["circuits.sense_amp.energy_gates"])
    fixed = tech.energy(p["circuits.sense_amp.fixed_energy_gates"])
    for b, e in energy.items():
        assert e == pytest.approx(fixed + (2**b - 1) * per_level, rel=1e-12)
    assert energy[6] - energy[5] == pytest.approx(32 * per_level, rel=1e-12)
    assert fixed > 0.0


def test_negative_fixed_energy_is_rejected():
    with pytest.raises(cimcost.InputError, match="fixed_energy_gates"):
        cimcost.estimate([64, 10], rule="inference",
                         set={"circuits.sense_amp.fixed_energy_gates.value": -1.0})


def test_flash_encoder_area_grows_with_the_square_of_the_levels():
    # one 28 F row per level, each (8 + levels/2) poly pitches of 3.8 F wide
    from cimcost.components.adc import flash_adc
    from cimcost.components.base import Tech
    from cimcost.config import load_config

    p = load_config().params()
    tech = Tech(p)
    for bits in (3, 6, 8):
        levels = 2**bits - 1
        sense = levels * p["circuits.sense_amp.area_f2"]
        encoder = levels * 28.0 * 3.8 * (8.0 + 0.5 * 2**bits)
        assert float(flash_adc(tech, float(bits)).area) == pytest.approx(
            tech.area(sense + encoder), rel=1e-12)
