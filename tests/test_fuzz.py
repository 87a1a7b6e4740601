"""Input handling that never breaks: every loader, fed random and hostile input, returns a valid
result or raises one :class:`InputError` -- never another exception, never a hang, never a
silently wrong number.  On the command line that is exit status 2 and one line on stderr.

Each property runs a bounded number of examples (``deadline=None``: the first call pays for
imports); the whole file runs a few thousand inputs in well under a minute.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cimcost
from cimcost import InputError
from cimcost.config import load_config, parse_set
from cimcost.importers import check_document
from cimcost.importers.neurosim import network_document, parse_rows
from cimcost.network import MAX_LAYERS, Network, mlp, network_from_document
from cimcost.rules import RuleDecl
from cimcost.specs import Circuits, Floorplan, MemoryCell, Technology, validate_document
from cimcost.yamlio import load_yaml, parse_yaml_text

from .conftest import ROOT, run_cli

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SLOW_CALL = 5.0  # seconds: any single load slower than this counts as a hang

SPEC_FILES: dict[str, tuple[Any, Path]] = {
    "techfile": (Technology, ROOT / "techfiles" / "cmos" / "22nm.yaml"),
    "memory": (MemoryCell, ROOT / "techfiles" / "memory" / "rram.yaml"),
    "circuits": (Circuits, ROOT / "techfiles" / "circuits.yaml"),
    "floorplan": (Floorplan, ROOT / "floorplans" / "default.yaml"),
    "rule": (RuleDecl, ROOT / "cimcost" / "rules" / "dfa.yaml"),
}
NETWORK_FILES = [ROOT / "examples" / n for n in ("vgg8-cifar10.yaml", "resnet18-cifar10.yaml",
                                                 "mlp-784-1024-10.yaml")]


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    return []


def outcome(fn: Callable[[], Any]) -> Any:
    """``fn()``'s result or its InputError; anything else, or a hang, fails the test."""
    start = time.perf_counter()
    try:
        result: Any = fn()
    except InputError as exc:
        assert exc.render() and "\n" not in exc.render(), exc.render()
        result = exc
    elapsed = time.perf_counter() - start
    assert elapsed < SLOW_CALL, f"took {elapsed:.1f} s"
    return result


def check_network(net: Network) -> None:
    assert net.layers and net.depth == len(net.layers)
    for ly in net.layers:
        assert ly.in_features > 0 and ly.out_features > 0 and ly.positions > 0
        assert all(s > 0 for s in ly.in_shape + ly.out_shape)
    assert all(0 <= op.charged_to < net.depth for op in net.ops)


def check_model(model: Any) -> None:
    # a model that loads holds only finite numbers: inf or NaN would be a silently wrong number
    assert all(math.isfinite(x) for x in _numbers(model.model_dump())), model


# ------------------------------------------------------------------------------ strategies

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.sampled_from([0, -1, 1, 2 ** 31, 2 ** 63, 10 ** 30, 1 << 16, (1 << 16) + 1, 1 << 24]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0, 5e-324]),
    st.text(max_size=12),
    st.sampled_from(["", "auto", "dense", "conv", "relu", "input", "1e9", "0x10", "~", "yes",
                     "sram", "flash", "∞", "ünïcødé", "a" * 300, "0", "-1"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw: Any, base: Any) -> Any:
    """A valid document with a few fields replaced, deleted or added."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if not path:
            if action == "replace":
                data = draw(values)
            continue
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(values)
        else:
            parent.insert(last, draw(values))
    return data


def as_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _load_base(path: Path) -> Any:
    return load_yaml(path).data


# ------------------------------------------------------------------------------ YAML specs


@pytest.mark.parametrize("kind", list(SPEC_FILES))
@FAST
@given(data=st.data())
def test_spec_loaders_survive_mutations(kind, data):
    model, path = SPEC_FILES[kind]
    doc = data.draw(mutated(_load_base(path)))
    result = outcome(lambda: validate_document(model, parse_yaml_text(as_yaml(doc), "f.yaml")))
    if not isinstance(result, InputError):
        check_model(result)


@pytest.mark.parametrize("path", NETWORK_FILES, ids=lambda p: p.name)
@FAST
@given(data=st.data())
def test_network_loader_survives_mutations(path, data):
    doc = data.draw(mutated(_load_base(path)))
    result = outcome(lambda: network_from_document(parse_yaml_text(as_yaml(doc), "n.yaml")))
    if not isinstance(result, InputError):
        check_network(result)


NAMES = st.sampled_from(["a", "b", "c", "d", "e", "input", "fc", "x" * 201, ""])
LAYER = st.fixed_dictionaries(
    {"name": NAMES},
    optional={
        "type": st.sampled_from(["dense", "conv", "maxpool", "avgpool", "global_avgpool",
                                 "flatten", "add", "lstm"]),
        "inputs": st.lists(NAMES, min_size=0, max_size=4),
        "activation": st.sampled_from(["relu", "softmax", "identity", "gelu"]),
        "in_features": st.one_of(st.integers(-2, 70000), scalars),
        "out_features": st.one_of(st.integers(-2, 70000), st.integers(1, 1 << 25)),
        "out_channels": st.integers(-1, 1 << 21),
        "kernel": st.one_of(st.integers(-1, 9), st.lists(st.integers(0, 9), max_size=3), scalars),
        "stride": st.integers(-1, 70000),
        "padding": st.integers(-1, 5000),
    })


@FAST
@given(layers=st.lists(LAYER, min_size=0, max_size=8),
       head=st.one_of(st.fixed_dictionaries({"input_features": st.integers(-1, 1 << 25)}),
                      st.fixed_dictionaries({"input_shape": st.lists(st.integers(-1, 70000),
                                                                     max_size=4)}),
                      st.fixed_dictionaries({"input_shape": st.lists(st.integers(1, 40),
                                                                     min_size=3, max_size=3)})))
def test_random_layer_graphs(layers, head):
    doc = {"kind": "network", "name": "fuzz", **head, "layers": layers}
    result = outcome(lambda: network_from_document(parse_yaml_text(as_yaml(doc), "n.yaml")))
    if not isinstance(result, InputError):
        check_network(result)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(widths=st.lists(st.integers(1, 300), min_size=2, max_size=5),
       shape=st.lists(st.integers(1, 24), min_size=3, max_size=3),
       data=st.data())
def test_loaded_networks_estimate(widths, shape, data):
    """Networks that load also estimate: finite, positive totals (a small conv net and an MLP)."""
    c, h, w = shape
    k = data.draw(st.integers(1, min(h, w)))
    layers = [{"name": "c1", "type": "conv", "out_channels": widths[0], "kernel": k,
               "padding": data.draw(st.integers(0, 2))},
              {"name": "p", "type": data.draw(st.sampled_from(["maxpool", "avgpool",
                                                              "global_avgpool", "flatten"])),
               "kernel": 1},
              {"name": "f", "type": "flatten"}]
    if layers[1]["type"] in ("global_avgpool", "flatten"):
        del layers[1]["kernel"]
    layers += [{"name": f"d{i}", "out_features": n} for i, n in enumerate(widths[1:])]
    doc = {"kind": "network", "name": "n", "input_shape": [c, h, w], "layers": layers}
    net = outcome(lambda: network_from_document(parse_yaml_text(as_yaml(doc), "n.yaml")))
    assert not isinstance(net, InputError), net
    rule = data.draw(st.sampled_from(["inference", "bp", "dfa", "drtp"]))
    targets = [net, mlp(widths)]
    if rule == "drtp" and len(widths) == 2:
        targets.pop()  # a one-layer network under DRTP: see test_drtp_one_layer_network
    for target in targets:
        result = cimcost.estimate(target, rule=rule).to_dict()
        for key in ("area", "energy", "latency"):
            assert math.isfinite(result[key]["total"]) and result[key]["total"] > 0, (key, result)


# ------------------------------------------------------------------------------ raw files


@FAST
@given(raw=st.one_of(st.binary(max_size=300),
                     st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
                     st.sampled_from([b"", b"\n", b"---\n...\n", b"\xef\xbb\xbf", b"- a\n- b",
                                      b"kind: network\nlayers: !!python/object:os.system {}\n",
                                      b"a: !!binary ZZZ\n", b"a: &x [*x]\n", b"{[\n",
                                      b"kind: network\n\t- tab\n", b"%YAML 9.9\n---\na: 1\n"])))
def test_any_bytes_in_any_file_kind(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("f") / "f.yaml"
    path.write_bytes(raw)
    for load in (lambda: cimcost.load_network(path),
                 lambda: validate_document(Floorplan, load_yaml(path)),
                 lambda: validate_document(RuleDecl, load_yaml(path)),
                 lambda: validate_document(Technology, load_yaml(path))):
        outcome(load)


@FAST
@given(text=st.text(alphabet=st.sampled_from(list("[]{}:,-&*!|>'\"#%@` \n\tab01.eE+~")),
                    max_size=200))
def test_yaml_syntax_soup(text):
    outcome(lambda: network_from_document(parse_yaml_text("kind: network\nname: x\n" + text)))


@pytest.mark.parametrize("n", [10, 30, 63, 64, 65, 500, 5000])
def test_deep_nesting(n):
    for text in ("a: " + "[" * n + "]" * n, "a:" + "".join(f"\n{' ' * (i + 1)}k{i}:" for i in range(n))
                 + " 1", "a: &a [*a]\n"):
        outcome(lambda t=text: network_from_document(parse_yaml_text(t)))


def test_alias_bombs_are_refused_quickly():
    for width in (2, 8, 64):
        lines = ["kind: network", "name: bomb", 'a0: &a0 ["x"]']
        for i in range(1, 40):
            lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
        lines.append("input_features: 4")
        lines.append("layers: [*a39]")
        bomb = "\n".join(lines)
        err = outcome(lambda t=bomb: network_from_document(parse_yaml_text(t)))
        assert isinstance(err, InputError) and "YAML nodes" in err.message
    # aliases of one layer, many times: refused, and not by building 10^5 models first
    text = "kind: network\nname: x\ninput_features: 4\nlayers:\n  - &l {name: a, out_features: 4}\n"
    text += "  - *l\n" * 100_001
    err = outcome(lambda: network_from_document(parse_yaml_text(text)))
    assert isinstance(err, InputError)


def test_layer_limit_is_enforced_quickly_and_clearly(capsys, tmp_path):
    n = MAX_LAYERS + 1
    text = "kind: network\nname: huge\ninput_features: 4\nlayers:\n" + "".join(
        f"  - {{name: l{i}, out_features: 4}}\n" for i in range(n))
    path = tmp_path / "huge.yaml"
    path.write_text(text)
    start = time.perf_counter()
    code, _, err = run_cli(capsys, "validate", str(path))
    elapsed = time.perf_counter() - start
    assert code == 2 and err.count("\n") == 1
    assert f"{n} layers is more than the limit of {MAX_LAYERS}" in err and "huge.yaml:4" in err
    assert elapsed < 30, elapsed  # bounded by YAML parsing (~4 s here), not by validation
    # 10^6 layers do not fit the file-size limit at all
    big = tmp_path / "million.yaml"
    big.write_text(text + "".join(f"  - {{name: m{i}, out_features: 4}}\n" for i in range(20_000)))
    code, _, err = run_cli(capsys, "validate", str(big))
    assert code == 2 and "larger than" in err


def test_long_op_chains_and_wide_adds_load_fast():
    """Regression: charging ops to layers was quadratic in a chain of ops, and collecting the
    weighted predecessors through chained multi-input adds was exponential."""
    chain = [{"name": "a", "out_features": 4}] + [
        {"name": f"f{i}", "type": "flatten"} for i in range(20_000)] + [{"name": "z", "out_features": 2}]
    net = outcome(lambda: network_from_document(parse_yaml_text(as_yaml(
        {"kind": "network", "name": "c", "input_features": 4, "layers": chain}))))
    assert isinstance(net, Network) and all(op.charged_to == 1 for op in net.ops)
    adds = [{"name": "a", "out_features": 4}]
    for i in range(40):
        prev = adds[-1]["name"]
        adds.append({"name": f"s{i}", "type": "add", "inputs": [prev] * 64})
    adds.append({"name": "z", "out_features": 2})
    net = outcome(lambda: network_from_document(parse_yaml_text(as_yaml(
        {"kind": "network", "name": "d", "input_features": 4, "layers": adds}))))
    assert isinstance(net, Network) and net.preds == [[], [0]]


# ------------------------------------------------------------------------------ NeuroSim CSV

ROW = st.lists(st.one_of(st.integers(-3, 40), st.integers(-(2 ** 40), 2 ** 40),
                         st.sampled_from([1, 2, 3, 8, 16, 32, 1 << 16, 1 << 20, 1 << 24])),
               min_size=8, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.one_of(ROW.map(lambda r: ",".join(map(str, r))), st.text(max_size=40)),
                     min_size=0, max_size=6))
def test_neurosim_csv_random_lines(rows):
    text = "\n".join(rows)
    doc = outcome(lambda: network_document(parse_rows(text, "n.csv"), "n", "n.csv"))
    if not isinstance(doc, InputError):  # the importer's checks cover the loader's
        check_network(check_document(doc, "n.csv"))


@st.composite
def neurosim_chain(draw: Any) -> str:
    """Files that are mostly consistent: convs with 'same'/'valid' padding, pools, then FCs."""
    size = draw(st.integers(1, 40))
    channels = draw(st.integers(1, 64))
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        k = draw(st.integers(1, 5))
        out = draw(st.integers(1, 64))
        stride = draw(st.sampled_from([1, 1, 2]))
        pool = draw(st.booleans())
        pad = draw(st.sampled_from([(k - 1) // 2, 0]))
        nxt = (size + 2 * pad - k) // stride + 1
        if pool:
            nxt //= 2
        if nxt < 1:
            break
        lines.append([size, size, channels, k, k, out, int(pool), stride])
        size, channels = nxt, out
    features = size * size * channels if lines else channels
    for _ in range(draw(st.integers(1, 3))):
        out = draw(st.integers(1, 2000))
        lines.append([1, 1, features, 1, 1, out, 0, 1])
        features = out
    if draw(st.booleans()):  # one wrong number somewhere
        row = draw(st.integers(0, len(lines) - 1))
        lines[row][draw(st.integers(0, 7))] += draw(st.sampled_from([-1, 1, 7]))
    return "\n".join(",".join(map(str, r)) for r in lines)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=neurosim_chain())
def test_neurosim_csv_chains(text):
    doc = outcome(lambda: network_document(parse_rows(text, "n.csv"), "n", "n.csv"))
    if not isinstance(doc, InputError):
        check_network(check_document(doc, "n.csv"))
    else:
        assert doc.file == "n.csv" and doc.line, doc.render()


# ------------------------------------------------------------------------------ --set, --mlp

SET_PATHS = ["subarray.rows", "adc.bits", "adc.type", "training.wgus", "training.batch_size",
             "dram.bandwidth", "clock_frequency", "input_activity", "global_buffer.cores",
             "accounting.phase_overlap", "tech.vdd", "memory.r_on", "memory.r_off",
             "circuits.sense_amp.area_f2", "tech.calibration.area", "precision.weight",
             "training.update_pulses", "training.changed_fraction", "nosuch.path", "tech",
             "subarray", "memory.nonlinearity_ltp", "training.wgu.rows"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(SET_PATHS) | st.text(max_size=20),
       raw=st.one_of(st.text(max_size=20), scalars.map(str),
                     st.sampled_from([".nan", ".inf", "-.inf", "1e400", "[1, 2]", "{a: 1}",
                                      "&a [*a]", "!!binary x", "0", "-5", "1e-400", "auto",
                                      "true", "1_000", "0o17", "0x1f", "!!float 1"])))
def test_set_values(path, raw):
    def apply() -> Any:
        key, value = parse_set(f"{path}={raw}")
        return load_config(overrides={key: value})

    cfg = outcome(apply)
    if not isinstance(cfg, InputError):
        params = cfg.params()
        assert all(math.isfinite(float(v)) for v in params.values()), params


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(st.text(max_size=30),
                      st.lists(st.one_of(st.integers(-5, 5000), st.integers(-(2 ** 64), 2 ** 64)),
                               max_size=6).map(lambda v: ",".join(map(str, v)))))
def test_mlp_strings(text):
    from cimcost.cli import _parse_mlp

    net = outcome(lambda: mlp(_parse_mlp(text)))
    if not isinstance(net, InputError):
        check_network(net)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(mlp_text=st.one_of(st.text(max_size=12),
                          st.lists(st.integers(-2, 3000), min_size=1, max_size=4)
                          .map(lambda v: ",".join(map(str, v)))),
       sets=st.lists(st.builds(lambda p, v: f"{p}={v}", st.sampled_from(SET_PATHS),
                               st.one_of(st.text(max_size=8), scalars.map(str))), max_size=2))
def test_cli_exits_0_or_2_with_one_line(capsys, mlp_text, sets):
    argv = ["estimate", "--mlp", mlp_text, "--rule", "dfa", "--json"]
    for item in sets:
        argv += ["--set", item]
    code, _, err = run_cli(capsys, *argv)
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("cimcost: error:") or "usage:" in err, err
        assert "Traceback" not in err and "internal error" not in err
        assert err.count("\n") == 1 or err.startswith("usage:"), err


def test_regressions_found_by_fuzzing(capsys, tmp_path):
    """Inputs that once crashed or were accepted with a nonsense number."""
    expect = [
        ("dram.bandwidth", ".inf"),        # infinite bandwidth: zero DRAM time
        ("clock_frequency", ".inf"),
        ("training.update_pulses", ".inf"),
    ]
    for path, value in expect:
        with pytest.raises(InputError, match="finite"):
            load_config(overrides=dict([parse_set(f"{path}={value}")]))
    with pytest.raises(InputError, match="at most"):
        mlp([784, 10 ** 12, 10])
    # the YAML loader pauses the cyclic garbage collector while parsing; it must come back on
    import gc

    with pytest.raises(InputError):
        parse_yaml_text("{[")
    assert gc.isenabled()
    # vdd**2 overflowed to an OverflowError (exit 1, "internal error") inside the models
    code, _, err = run_cli(capsys, "estimate", "--mlp", "8,4", "--set", "tech.vdd=1e200")
    assert code == 2 and "vdd" in err and "1e+30" in err and err.count("\n") == 1


def test_drtp_one_layer_network():
    # found by fuzzing: DRTP on a one-layer network sized a 0-bit feedback table
    for rule in ("drtp", "dfa", "sdfa", "fa"):
        r = cimcost.estimate([784, 10], rule=rule).to_dict()
        assert math.isfinite(r["energy"]["total"]) and r["area"]["breakdown"]["feedback_array"] == 0


def test_onnx_random_bytes(tmp_path_factory):
    pytest.importorskip("onnx")
    from cimcost.importers.onnx import import_onnx

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(raw=st.binary(max_size=200))
    def run(raw: bytes) -> None:
        assume(raw)
        path = tmp_path_factory.mktemp("o") / "m.onnx"
        path.write_bytes(raw)
        outcome(lambda: import_onnx(path))

    run()
