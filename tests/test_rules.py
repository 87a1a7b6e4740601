"""Every learning rule: its defining hardware property, and totals = sums."""

import pytest

import cimcost
from cimcost.config import load_config
from cimcost.costs import phase_cost
from cimcost.estimate import compute
from cimcost.rules import get_rule, rule_names

from .conftest import DEFAULT_NET, cli_json, run_cli
from .test_estimate import assert_sums

TRAINING = ("bp", "fa", "dfa", "sdfa", "drtp", "elm")


@pytest.fixture(scope="module")
def results():
    return {rule: cimcost.estimate(str(DEFAULT_NET), rule=rule).to_dict()
            for rule in ("inference",) + TRAINING}


def test_all_rules_are_declared():
    assert set(rule_names()) >= {"inference", *TRAINING}
    assert get_rule("noprop").name == "elm"


@pytest.mark.parametrize("rule", TRAINING)
def test_totals_equal_breakdowns(results, rule):
    d = results[rule]
    assert_sums(d["area"])
    for book in ("energy", "latency", "traffic"):
        assert_sums(d[book], parts=("breakdown", "by_phase"))


def test_fa_has_no_transposable_adcs_but_a_feedback_array_like_wt(results):
    fa, inf = results["fa"], results["inference"]
    assert not fa["hardware"]["transposable"]
    assert fa["area"]["breakdown"]["adc"] == pytest.approx(inf["area"]["breakdown"]["adc"])
    # B[l] for l = 2..5 shaped like W[l]^T: 1024 x 1024 three times (8 x 8 subarrays each) and
    # 10 x 1024 (1 x 8) for the output layer
    assert fa["hardware"]["feedback_subarrays"] == 3 * 64 + 8
    assert fa["area"]["breakdown"]["feedback_array"] > 0.1 * fa["area"]["total"]


def test_fa_latency_profile_matches_bp(results):
    assert results["fa"]["latency"]["total"] == pytest.approx(results["bp"]["latency"]["total"],
                                                              rel=0.02)
    assert results["fa"]["area"]["total"] < results["bp"]["area"]["total"]


def test_drtp_stores_no_activations_and_its_projection_does_no_mac(results):
    assert results["drtp"]["hardware"]["stashed_bytes_per_sample"] == 0
    assert results["dfa"]["hardware"]["stashed_bytes_per_sample"] > 0
    net = cimcost.load_network(str(DEFAULT_NET))
    cfg = load_config()
    c = compute(net, get_rule("drtp"), cfg.params(), cfg.options())
    lookups = [n for n in c.plan.nodes.values() if n.decl.op == "lookup"]
    assert lookups
    for node in lookups:
        pc = phase_cost(node, c.hardware, net)
        assert not {"adc", "shift_add", "memory_array", "column_mux"} & set(pc.energy)
        assert not node.decl.after  # needs only the label: no update locking


def test_drtp_is_fastest_with_least_buffer_traffic_of_multilayer_rules(results):
    multi = ("bp", "fa", "dfa", "sdfa", "drtp")
    lat = {r: results[r]["latency"]["total"] for r in multi}
    buf = {r: results[r]["traffic"]["breakdown"]["global_buffer"] for r in multi}
    assert min(lat, key=lat.get) == "drtp"
    assert min(buf, key=buf.get) == "drtp"


def test_elm_trains_only_the_readout_layer_and_costs_least_energy(results):
    net = cimcost.load_network(str(DEFAULT_NET))
    cfg = load_config()
    c = compute(net, get_rule("elm"), cfg.params(), cfg.options())
    written = [k for k, n in c.plan.nodes.items() if n.decl.op in ("write", "gradient")]
    assert written == ["grad[5]", "update[5]"]
    assert results["elm"]["hardware"]["wgus"] == 1
    energy = {r: results[r]["energy"]["total"] for r in TRAINING}
    assert min(energy, key=energy.get) == "elm"


def test_elm_simultaneous_readout_doubles_the_fixed_layers():
    one = cimcost.estimate(str(DEFAULT_NET), rule="elm").to_dict()
    two = cimcost.estimate(str(DEFAULT_NET), rule="elm",
                           set={"training.fixed_layer_copies": 2}).to_dict()
    assert two["hardware"]["tiles"] == 2 * 4 + 1
    assert two["area"]["total"] > one["area"]["total"]


def test_sdfa_projects_one_bit_per_class(results):
    batch = results["dfa"]["scope"]["samples"]
    classes = 10
    saved = results["dfa"]["traffic"]["by_phase"]["error"] - \
        results["sdfa"]["traffic"]["by_phase"]["error"]
    # the error, at 1 bit per class instead of the 8-bit error precision, leaves the global
    # buffer once and is then driven into each of the feedback matrix's subarrays along its
    # width (10 x 1024 on 128-column subarrays: 8 of them)
    links = 1 + 1024 // 128
    assert saved == pytest.approx(links * batch * classes * (8 - 1) / 8)


def test_per_layer_wgus_default_and_override(results):
    assert [results[r]["hardware"]["wgus"] for r in TRAINING] == [1, 1, 5, 5, 5, 1]
    d = cimcost.estimate(str(DEFAULT_NET), rule="dfa",
                         set={"training.wgus": 2, "training.wgu_assignment": "blocks"}).to_dict()
    assert d["hardware"]["wgu_layers"] == [["fc1", "fc2", "fc3"], ["fc4", "fc5"]]


@pytest.mark.parametrize("rule", ["dfa", "sdfa", "drtp"])
def test_parallel_rules_latency_follows_wgu_rounds(rule):
    lat = [cimcost.estimate(str(DEFAULT_NET), rule=rule, set={"training.wgus": k}).latency
           for k in (1, 2, 3, 5)]
    assert lat[0] > lat[1] > lat[2] > lat[3]


def test_per_sample_updates_cost_more_than_per_batch():
    batch = cimcost.estimate(str(DEFAULT_NET), rule="dfa")
    sample = cimcost.estimate(str(DEFAULT_NET), rule="dfa", set={"training.update_every": "sample"})
    assert sample.latency > batch.latency
    assert sample.energy > batch.energy


def test_pipelined_execution_is_faster():
    for rule in ("inference", "bp", "dfa"):
        serial = cimcost.estimate(str(DEFAULT_NET), rule=rule)
        piped = cimcost.estimate(str(DEFAULT_NET), rule=rule,
                                 set={"training.execution": "pipelined"})
        assert piped.latency < serial.latency
        assert piped.energy == pytest.approx(serial.energy, rel=0.05)
        assert_sums(piped.to_dict()["latency"], parts=("breakdown", "by_phase"))


def test_lower_activation_precision_moves_fewer_bytes():
    full = cimcost.estimate(str(DEFAULT_NET), rule="bp")
    low = cimcost.estimate(str(DEFAULT_NET), rule="bp", set={"precision.activation": 4})
    assert low.traffic < full.traffic
    low_grad = cimcost.estimate(str(DEFAULT_NET), rule="bp", set={"precision.gradient": 6})
    assert low_grad.traffic < 0.6 * full.traffic


def test_compare_command(capsys):
    d = cli_json(capsys, "compare", str(DEFAULT_NET), "--rules", "bp,dfa,elm")
    assert list(d) == ["bp", "dfa", "elm"]
    assert d["dfa"] == cimcost.estimate(str(DEFAULT_NET), rule="dfa").to_dict()
    code, out, _ = run_cli(capsys, "compare", str(DEFAULT_NET), "--rules", "bp,drtp", "--csv")
    assert code == 0 and out.splitlines()[0].startswith("rule,area,")
    assert len(out.splitlines()) == 3
    code, _, err = run_cli(capsys, "compare", str(DEFAULT_NET), "--rules", "bp,nope")
    assert code == 2 and "unknown rule 'nope'" in err
