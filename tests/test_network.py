"""Layer graphs: convolutions, pooling, flatten, residual adds; shapes and mapping."""

import pytest

import cimcost
from cimcost import InputError
from cimcost.network import network_from_document
from cimcost.yamlio import parse_yaml_text

from .conftest import ROOT
from .test_estimate import assert_sums


def net(text: str):
    return network_from_document(parse_yaml_text(text, "net.yaml"))


SMALL_CNN = """kind: network
name: small
input_shape: [3, 8, 8]
layers:
  - {name: c1, type: conv, out_channels: 4, kernel: 3, padding: 1}
  - {name: p1, type: maxpool, kernel: 2}
  - {name: c2, type: conv, out_channels: 6, kernel: 3}
  - {name: flat, type: flatten}
  - {name: fc, type: dense, out_features: 10}
"""


def test_conv_shapes_and_unrolled_matrix():
    n = net(SMALL_CNN)
    c1, c2, fc = n.layers
    assert (c1.in_features, c1.out_features, c1.positions) == (27, 4, 64)  # 3*3*3 rows, 8x8 out
    assert c1.out_shape == (4, 8, 8)
    assert (c2.in_features, c2.positions, c2.out_shape) == (36, 4, (6, 2, 2))  # after 2x2 pool
    assert fc.in_features == 24
    assert [op.kind for op in n.ops] == ["maxpool", "flatten"]
    assert [op.charged_to for op in n.ops] == [1, 2]


def test_conv_costs_scale_with_positions():
    one = cimcost.estimate(net(SMALL_CNN), rule="inference").to_dict()
    bigger = SMALL_CNN.replace("[3, 8, 8]", "[3, 16, 16]").replace("in_features: 24", "")
    two = cimcost.estimate(net(bigger), rule="inference").to_dict()
    assert two["energy"]["breakdown"]["adc"] > 3.5 * one["energy"]["breakdown"]["adc"]
    assert two["hardware"]["layers"][0]["positions"] == 256


@pytest.mark.parametrize("example", ["vgg8-cifar10", "resnet18-cifar10"])
@pytest.mark.parametrize("rule", ["inference", "bp", "dfa"])
def test_bundled_cnns_estimate(example, rule):
    d = cimcost.estimate(str(ROOT / "examples" / f"{example}.yaml"), rule=rule).to_dict()
    assert_sums(d["area"])
    assert_sums(d["energy"], parts=("breakdown", "by_phase"))
    assert_sums(d["latency"], parts=("breakdown", "by_phase"))
    assert (len(d["warnings"]) == 1) == (rule == "dfa")


def test_vgg8_matches_neurosim_layer_table():
    n = cimcost.load_network(str(ROOT / "examples" / "vgg8-cifar10.yaml"))
    # NeuroSim's NetWork.csv for VGG-8: IFM 32,32,16,16,8,8 with 3x3 kernels, then 8192->1024->10
    assert [ly.in_features for ly in n.layers] == [27, 1152, 1152, 2304, 2304, 4608, 8192, 1024]
    assert [ly.positions for ly in n.layers] == [1024, 1024, 256, 256, 64, 64, 1, 1]


def test_resnet_graph_has_branches_and_joins():
    n = cimcost.load_network(str(ROOT / "examples" / "resnet18-cifar10.yaml"))
    assert n.depth == 21  # stem + 16 block convs + 3 downsample convs + fc
    adds = [op for op in n.ops if op.kind == "add"]
    assert len(adds) == 8
    # a block's first conv is fed by two weighted layers through the add of the previous block
    index = {ly.name: i for i, ly in enumerate(n.layers)}
    assert sorted(n.preds[index["s1b2c1"]]) == sorted([index["s1b1c2"], index["stem"]])
    assert set(n.graph.predecessors("s2b1add")) == {"s2b1c2", "s2b1down"}


@pytest.mark.parametrize("bad, message", [
    ("input_shape: [3, 8, 8]\\ninput_features: 5", "exactly one of"),
    ("  - {name: c9, type: conv, kernel: 3}", "needs 'out_channels'"),
    ("  - {name: c9, type: conv, out_channels: 2, kernel: 99}", "does not fit"),
    ("  - {name: a9, type: add, inputs: [c1, c2]}", "cannot add"),
    ("  - {name: d9, type: dense, out_features: 3, kernel: 2}", "does not apply"),
])
def test_bad_graphs(bad, message):
    text = SMALL_CNN
    if bad.startswith("input_shape"):
        text = text.replace("input_shape: [3, 8, 8]", bad.replace("\\n", "\n"))
    else:
        text = text.replace("  - {name: flat", bad + "\n  - {name: flat")
    with pytest.raises(InputError, match=message):
        net(text)


def test_dense_after_conv_needs_matching_in_features():
    with pytest.raises(InputError, match="do not chain"):
        net(SMALL_CNN.replace("{name: fc, type: dense,", "{name: fc, type: dense, in_features: 5,"))
