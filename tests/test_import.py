"""``cimcost import``: NeuroSim's NetWork.csv and ONNX models to network YAML."""

from __future__ import annotations

import pytest

import cimcost
from cimcost import InputError
from cimcost.importers import check_document, to_yaml
from cimcost.importers.neurosim import import_neurosim, parse_rows

from .conftest import ROOT, run_cli
from .test_inputs import expect_error

VGG8_CSV = """32,32,3,3,3,128,0,1
32,32,128,3,3,128,1,1
16,16,128,3,3,256,0,1
16,16,256,3,3,256,1,1
8,8,256,3,3,512,0,1
8,8,512,3,3,512,1,1
1,1,8192,1,1,1024,0,1
1,1,1024,1,1,10,0,1
"""


def weighted(net):
    return [(ly.in_features, ly.out_features, ly.positions) for ly in net.layers]


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


# ------------------------------------------------------------------------------ NeuroSim


def test_vgg8_round_trip(tmp_path):
    doc = import_neurosim(write(tmp_path, "NetWork.csv", VGG8_CSV))
    net = check_document(doc, "NetWork.csv")
    expected = cimcost.load_network(ROOT / "examples" / "vgg8-cifar10.yaml")
    assert weighted(net) == weighted(expected)
    assert [ly.kind for ly in net.layers] == ["conv"] * 6 + ["dense"] * 2
    assert [op.kind for op in net.ops] == [op.kind for op in expected.ops]
    assert net.layers[-1].activation == "softmax"


def test_cli_import_writes_a_loadable_network(capsys, tmp_path):
    src = write(tmp_path, "NetWork.csv", VGG8_CSV)
    out = tmp_path / "vgg.yaml"
    code, _, err = run_cli(capsys, "import", "neurosim", src, "-o", str(out))
    assert code == 0, err
    assert "12 layers, 8 weighted" in err
    net = cimcost.load_network(out)
    assert net.depth == 8
    est = cimcost.estimate(str(out), rule="inference")
    assert est.to_dict()["area"]["total"] > 0
    code, text, _ = run_cli(capsys, "import", "neurosim", src)  # to standard output
    assert code == 0 and text.startswith("# imported by") and "kind: network" in text


def test_fc_only_file_is_an_mlp(tmp_path):
    csv = "1,1,784,1,1,1024,0,1\n1,1,1024,1,1,1024,0,1\n1,1,1024,1,1,10,0,1\n"
    net = check_document(import_neurosim(write(tmp_path, "n.csv", csv)), "n.csv")
    assert weighted(net) == weighted(cimcost.mlp([784, 1024, 1024, 10]))
    assert net.input_shape == (784,)


@pytest.mark.parametrize(("csv", "padding", "stride"), [
    ("32,32,3,3,3,16,0,2\n16,16,16,3,3,16,0,1\n", 1, 2),   # stride 2, 'same'
    ("32,32,3,3,3,16,0,1\n30,30,16,3,3,16,0,1\n", 0, None),  # 'valid'
    ("32,32,3,5,5,16,1,1\n16,16,16,3,3,16,0,1\n", 2, None),  # 5x5 'same' then pooling
])
def test_padding_is_inferred_from_the_next_line(tmp_path, csv, padding, stride):
    doc = import_neurosim(write(tmp_path, "n.csv", csv))
    first = doc["layers"][0]
    assert first.get("padding", 0) == padding and first.get("stride") == stride
    check_document(doc, "n.csv")


def test_comments_blank_lines_crlf_and_trailing_commas(tmp_path):
    text = "# VGG\r\n\r\n" + VGG8_CSV.replace("\n", ",\r\n")
    net = check_document(import_neurosim(write(tmp_path, "n.csv", text)), "n.csv")
    assert net.depth == 8


@pytest.mark.parametrize(("csv", "contains"), [
    ("1,1,784,1,1,10,0\n", ("n.csv:1", "7 fields instead of 8")),
    ("1,1,784,1,1,10,0,1\n1,1,10,1,1,x,0,1\n", ("n.csv:2", "output_channels", "'x'")),
    ("1,1,784,1,1,10,0,1.5\n", ("n.csv:1", "stride", "whole number")),
    ("1,1,784,1,1,0,0,1\n", ("n.csv:1", "output_channels", "> 0")),
    ("1,1,-784,1,1,10,0,1\n", ("n.csv:1", "IFM_channels", "> 0")),
    ("32,32,3,3,3,8,2,1\n", ("n.csv:1", "followed_by_pooling", "0 or 1")),
    ("1,1,784,1,1,100,0,1\n1,1,99,1,1,10,0,1\n", ("n.csv:2", "IFM_channels is 99", "100 features")),
    ("32,32,3,3,3,8,0,1\n32,32,9,3,3,8,0,1\n", ("n.csv:2", "IFM_channels", "32x32x8")),
    ("32,32,3,3,3,8,0,1\n20,20,8,3,3,8,0,1\n", ("n.csv:2", "IFM is 20x20", "line 1")),
    ("32,32,3,3,3,8,1,1\n1,1,100,1,1,10,0,1\n", ("n.csv:2", "IFM_channels is 100", "2048")),
    ("1,1,784,1,1,10,0,1\n32,32,10,3,3,8,0,1\n", ("n.csv:2", "cannot follow a fully connected")),
    ("1,1,784,1,1,10,1,1\n", ("n.csv:1", "pooling")),
    ("1,1,784,1,1,10,0,2\n", ("n.csv:1", "stride")),
    ("1,2,3,1,1,8,1,1\n1,1,8,1,1,2,0,1\n", ("n.csv:2", "does not fit")),
    ("32,32,3,3,3,8,1,1\n", ("n.csv:1", "last layer is followed by pooling")),
    ("\n# nothing\n", ("n.csv", "no layers")),
    ("1,1,99999999,1,1,10,0,1\n", ("n.csv:1", "at most")),
])
def test_malformed_lines_name_the_line(capsys, tmp_path, csv, contains):
    path = write(tmp_path, "n.csv", csv)
    with pytest.raises(InputError):
        import_neurosim(path)
    expect_error(capsys, "import", "neurosim", path, contains=contains)


def test_unreadable_sources(capsys, tmp_path):
    expect_error(capsys, "import", "neurosim", str(tmp_path / "nope.csv"), contains=("not found",))
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x01garbage")
    expect_error(capsys, "import", "neurosim", str(p), contains=("UTF-8",))
    expect_error(capsys, "import", "neurosim", str(tmp_path), contains=("directory",))


def test_parse_rows_counts_only_layer_lines():
    rows = parse_rows("# c\n\n1,1,4,1,1,2,0,1\n", "x.csv")
    assert [r.line for r in rows] == [3]


def test_to_yaml_quotes_awkward_names():
    doc = {"kind": "network", "name": 'a "quoted": name # not a comment', "input_features": 4,
           "layers": [{"name": "yes", "type": "dense", "out_features": 2}]}
    from cimcost.network import network_from_document
    from cimcost.yamlio import parse_yaml_text

    net = network_from_document(parse_yaml_text(to_yaml(doc)))
    assert net.name == doc["name"] and net.layers[0].name == "yes"


# ------------------------------------------------------------------------------ ONNX


def _onnx():
    return pytest.importorskip("onnx")


def _save(tmp_path, graph, name="m.onnx"):
    onnx = _onnx()
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def _init(name, *shape):
    import numpy as np
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def _vi(name, *shape):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def _import(capsys, tmp_path, path):
    out = tmp_path / "net.yaml"
    code, _, err = run_cli(capsys, "import", "onnx", path, "-o", str(out))
    assert code == 0, err
    net = cimcost.load_network(out)
    assert cimcost.estimate(str(out), rule="inference").to_dict()["energy"]["total"] > 0
    return net, err, out.read_text()


def test_onnx_mlp_with_matmul_bias_and_gemm(capsys, tmp_path):
    _onnx()
    from onnx import helper

    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h0"], name="fc1"),
             helper.make_node("Add", ["h0", "b1"], ["h1"], name="bias1"),
             helper.make_node("Relu", ["h1"], ["h2"], name="relu1"),
             helper.make_node("Dropout", ["h2"], ["h3"], name="drop"),
             helper.make_node("Gemm", ["h3", "W2", "b2"], ["h4"], name="fc2", transB=1),
             helper.make_node("Softmax", ["h4"], ["y"], name="sm")]
    graph = helper.make_graph(nodes, "mlp", [_vi("x", "N", 784)], [_vi("y", "N", 10)],
                              [_init("W1", 784, 256), _init("b1", 256), _init("W2", 10, 256),
                               _init("b2", 10)])
    net, err, _ = _import(capsys, tmp_path, _save(tmp_path, graph))
    assert weighted(net) == weighted(cimcost.mlp([784, 256, 10]))
    assert [ly.activation for ly in net.layers] == ["relu", "softmax"]
    assert "bias Add folded" in err and "bias1" in err
    assert "Dropout" in err and "drop" in err


def test_onnx_cnn_with_pooling_flatten_and_gemm(capsys, tmp_path):
    _onnx()
    from onnx import helper

    nodes = [helper.make_node("Conv", ["x", "Wc", "bc"], ["c"], name="conv1", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "o", "m", "v"], ["bn"], name="bn1"),
             helper.make_node("Relu", ["bn"], ["r"], name="relu1"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool1", kernel_shape=[2, 2],
                              strides=[2, 2]),
             helper.make_node("Conv", ["p", "Wc2"], ["c2"], name="conv2", kernel_shape=[3, 3],
                              strides=[2, 2], auto_pad="SAME_UPPER"),
             helper.make_node("AveragePool", ["c2"], ["a"], name="avg", kernel_shape=[2, 2],
                              strides=[1, 1]),
             helper.make_node("Flatten", ["a"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "Wf"], ["y"], name="fc", transB=1)]
    inits = [_init("Wc", 16, 3, 3, 3), _init("bc", 16), _init("s", 16), _init("o", 16),
             _init("m", 16), _init("v", 16), _init("Wc2", 32, 16, 3, 3), _init("Wf", 10, 32 * 7 * 7)]
    graph = helper.make_graph(nodes, "cnn", [_vi("x", 1, 3, 32, 32)], [_vi("y", 1, 10)], inits)
    net, err, text = _import(capsys, tmp_path, _save(tmp_path, graph))
    conv1, conv2, fc = net.layers
    assert (conv1.in_features, conv1.out_features, conv1.positions) == (27, 16, 32 * 32)
    assert (conv2.in_features, conv2.out_features, conv2.positions) == (144, 32, 8 * 8)
    assert (fc.in_features, fc.out_features) == (32 * 7 * 7, 10)
    assert [op.kind for op in net.ops] == ["maxpool", "avgpool", "flatten"]
    assert "BatchNormalization" in err
    assert "stride: 1" in text  # ONNX's pooling stride, written out (cimcost's default differs)


def test_onnx_residual_add_and_reshape(capsys, tmp_path):
    _onnx()
    import numpy as np
    from onnx import helper, numpy_helper

    nodes = [helper.make_node("Conv", ["x", "W0"], ["s"], name="stem", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["s"], ["s1"]),
             helper.make_node("Conv", ["s1", "W1"], ["a"], name="c1", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["a1"]),
             helper.make_node("Conv", ["a1", "W2"], ["b"], name="c2", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["b", "s1"], ["r"], name="res"),
             helper.make_node("Relu", ["r"], ["r1"], name="relu_after_add"),
             helper.make_node("GlobalAveragePool", ["r1"], ["g"], name="gap"),
             helper.make_node("Reshape", ["g", "shape"], ["f"], name="view"),
             helper.make_node("Gemm", ["f", "Wf"], ["y"], name="fc", transB=1)]
    inits = [_init("W0", 8, 3, 3, 3), _init("W1", 8, 8, 3, 3), _init("W2", 8, 8, 3, 3),
             numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape"),
             _init("Wf", 10, 8)]
    graph = helper.make_graph(nodes, "res", [_vi("x", 1, 3, 16, 16)], [_vi("y", 1, 10)], inits)
    net, err, text = _import(capsys, tmp_path, _save(tmp_path, graph))
    assert [ly.name for ly in net.layers] == ["stem", "c1", "c2", "fc"]
    add = next(op for op in net.ops if op.kind == "add")
    assert set(add.inputs) == {"c2", "stem"}
    assert net.preds[3] == [0, 2]  # fc reads the sum of c2 and the stem (through the pool)
    assert sorted(net.succs[0]) == [1, 3]
    assert "relu_after_add" in err
    assert [ly.activation for ly in net.layers] == ["relu", "relu", "identity", "identity"]


def test_onnx_unsupported_ops_in_one_message(capsys, tmp_path):
    _onnx()
    from onnx import helper

    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["h"], name="lstm1", hidden_size=4),
             helper.make_node("Gemm", ["h", "W2"], ["g"], name="fc"),
             helper.make_node("Erf", ["g"], ["y"], name="erf7")]
    graph = helper.make_graph(nodes, "rnn", [_vi("x", 5, 1, 3)], [_vi("y", 5, 4)],
                              [_init("W", 1, 16, 3), _init("R", 1, 16, 4), _init("W2", 4, 4)])
    err = expect_error(capsys, "import", "onnx", _save(tmp_path, graph),
                       contains=("unsupported ONNX operators", "LSTM (node 'lstm1')",
                                 "Erf (node 'erf7')", "Gemm"))
    assert "fc" not in err.split("(expected")[0]


@pytest.mark.parametrize("case", ["grouped", "two_inputs", "matmul_activations"])
def test_onnx_unsupported_constructs(capsys, tmp_path, case):
    _onnx()
    from onnx import helper

    inputs = [_vi("x", 1, 4, 8, 8)]
    if case == "grouped":
        nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="dw", kernel_shape=[3, 3], group=4)]
        inits = [_init("W", 4, 1, 3, 3)]
        contains = ("group",)
    elif case == "two_inputs":
        inputs.append(_vi("z", 1, 4, 8, 8))
        nodes = [helper.make_node("Add", ["x", "z"], ["y"])]
        inits = []
        contains = ("2 inputs",)
    else:
        inputs = [_vi("x", 1, 4), _vi("z", 4, 4)]
        nodes = [helper.make_node("MatMul", ["x", "z"], ["y"], name="mm")]
        inits = []
        contains = ("2 inputs",)
    graph = helper.make_graph(nodes, case, inputs, [_vi("y")], inits)
    expect_error(capsys, "import", "onnx", _save(tmp_path, graph), contains=contains)


def test_onnx_garbage_and_missing_files(capsys, tmp_path):
    _onnx()
    p = tmp_path / "junk.onnx"
    p.write_bytes(b"\x08\x07\xff\xff\xff garbage \x00\x01")
    expect_error(capsys, "import", "onnx", str(p), contains=("junk.onnx",))
    expect_error(capsys, "import", "onnx", str(tmp_path / "no.onnx"), contains=("not found",))
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    expect_error(capsys, "import", "onnx", str(empty), contains=("no nodes",))


def test_onnx_missing_package_names_the_extra(capsys, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    p = tmp_path / "m.onnx"
    p.write_bytes(b"")
    expect_error(capsys, "import", "onnx", str(p), contains=("cimcost[onnx]",))


def test_onnx_pytorch_style_flatten_through_shape_arithmetic(capsys, tmp_path):
    """x.view(x.size(0), -1) exports as Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    _onnx()
    import numpy as np
    from onnx import helper, numpy_helper

    def const(name, value):
        return numpy_helper.from_array(np.array(value, dtype=np.int64), name)

    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Shape", ["c"], ["sh"]),
             helper.make_node("Gather", ["sh", "i0"], ["g"], axis=0),
             helper.make_node("Unsqueeze", ["g", "ax"], ["u"]),
             helper.make_node("Concat", ["u", "m1"], ["cat"], axis=0),
             helper.make_node("Reshape", ["c", "cat"], ["f"]),
             helper.make_node("Gemm", ["f", "Wf", "bf"], ["y"], transB=1)]
    inits = [_init("W", 4, 3, 3, 3), const("i0", 0), const("ax", [0]), const("m1", [-1]),
             _init("Wf", 10, 4 * 8 * 8), _init("bf", 10)]
    graph = helper.make_graph(nodes, "pt", [_vi("x", "N", 3, 8, 8)], [_vi("y", "N", 10)], inits)
    net, _, _ = _import(capsys, tmp_path, _save(tmp_path, graph))
    assert weighted(net) == [(27, 4, 64), (256, 10, 1)]
    assert [op.kind for op in net.ops] == ["flatten"]
