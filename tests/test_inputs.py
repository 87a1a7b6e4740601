"""Bad input: one clear message naming file, line and field; exit status 2; no traceback."""

import pytest

import cimcost
from cimcost import InputError

from .conftest import DEFAULT_NET, run_cli

NET_OK = """kind: network
name: ok
input_features: 8
layers:
  - {name: a, in_features: 8, out_features: 4}
  - {name: b, in_features: 4, out_features: 2}
"""


def expect_error(capsys, *argv, contains=()):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.startswith("cimcost: error:")
    assert err.count("\n") == 1, err  # one message
    for text in contains:
        assert text in err, err
    return err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_missing_file(capsys, tmp_path):
    expect_error(capsys, "estimate", str(tmp_path / "nope.yaml"),
                 contains=("nope.yaml", "file not found"))


def test_malformed_yaml_names_the_line(capsys, tmp_path):
    f = write(tmp_path, "bad.yaml", "kind: network\nname: x\nlayers: [\n  {a: 1\n")
    expect_error(capsys, "estimate", f, contains=("bad.yaml:", "malformed YAML"))


def test_unknown_key_names_field_and_line(capsys, tmp_path):
    f = write(tmp_path, "net.yaml", NET_OK.replace("  - {name: b,", "  - {name: b, colour: red,"))
    expect_error(capsys, "estimate", f, contains=("net.yaml:6", "layers[1].colour", "unknown field"))


def test_wrong_type(capsys, tmp_path):
    f = write(tmp_path, "net.yaml", NET_OK.replace("input_features: 8", "input_features: eight"))
    expect_error(capsys, "estimate", f, contains=("net.yaml:3", "input_features",
                                                  "a whole number"))


@pytest.mark.parametrize("value", ["0", "-4"])
def test_non_positive_size(capsys, tmp_path, value):
    f = write(tmp_path, "net.yaml", NET_OK.replace("out_features: 2", f"out_features: {value}"))
    expect_error(capsys, "estimate", f, contains=("layers[1].out_features", "> 0"))


def test_layers_that_do_not_chain(capsys, tmp_path):
    f = write(tmp_path, "net.yaml", NET_OK.replace("in_features: 4", "in_features: 5"))
    expect_error(capsys, "estimate", f, contains=("net.yaml:6", "layers[1].in_features",
                                                  "do not chain", "expected 4"))


def test_empty_and_non_mapping_files(capsys, tmp_path):
    expect_error(capsys, "estimate", write(tmp_path, "e.yaml", ""), contains=("empty",))
    expect_error(capsys, "estimate", write(tmp_path, "l.yaml", "- 1\n- 2\n"),
                 contains=("a YAML mapping",))
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    expect_error(capsys, "estimate", str(p), contains=("UTF-8",))


def test_unknown_rule(capsys):
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--rule", "hebbian",
                 contains=("unknown rule 'hebbian'", "bp", "dfa"))


def test_unknown_set_path(capsys):
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--set", "subarray.rowz=256",
                 contains=("subarray.rowz", "rows"))
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--set", "adc=4",
                 contains=("section",))
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--set", "adc.bits",
                 contains=("path=value",))


def test_bad_set_values(capsys):
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--set", "adc.bits=0",
                 contains=("adc.bits", "> 0"))
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--set", "adc.type=pipelined",
                 contains=("adc.type", "flash"))
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--set", "tech.vdd=-1",
                 contains=("vdd", "greater than 0"))


def test_bad_inline_mlp(capsys):
    expect_error(capsys, "estimate", "--mlp", "784,abc,10", contains=("--mlp", "abc"))
    expect_error(capsys, "estimate", "--mlp", "784,-3,10", contains=("positive",))
    expect_error(capsys, "estimate", "--mlp", "784", contains=("at least",))


def test_no_network(capsys):
    expect_error(capsys, "estimate", contains=("no network",))


def test_bad_techfile_constant(capsys, tmp_path):
    f = write(tmp_path, "t.yaml", "kind: cmos\nname: x\nfeature_size: {value: 1e-8, unit: m}\n")
    expect_error(capsys, "estimate", str(DEFAULT_NET), "--tech", f,
                 contains=("t.yaml", "feature_size.source", "missing"))


def test_unknown_cli_flag(capsys):
    code, _, err = run_cli(capsys, "estimate", str(DEFAULT_NET), "--frobnicate")
    assert code == 2 and "unrecognized arguments" in err


def test_python_api_raises_input_error():
    with pytest.raises(InputError, match="unknown rule"):
        cimcost.estimate([8, 4], rule="nope")
    with pytest.raises(InputError, match="positive"):
        cimcost.mlp([8, 0, 2])


def test_rule_files_are_validated(tmp_path):
    from cimcost.rules import get_rule

    bad = tmp_path / "r.yaml"
    bad.write_text("name: r\ndescription: d\nreadout: forward\nfeedback: none\nwgus: 1\n"
                   "phases:\n  - {name: forward, op: mvm, layers: all, per: sample,"
                   " after: ['backward[l]']}\n")
    with pytest.raises(InputError, match="unknown phase 'backward'"):
        get_rule(str(bad))


def test_yaml_alias_bomb_and_deep_nesting_are_refused(capsys, tmp_path):
    bomb = ["kind: network", "name: bomb", 'a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        bomb.append(f"a{i}: &a{i} [{', '.join([prev] * 8)}]")
    expect_error(capsys, "estimate", write(tmp_path, "bomb.yaml", "\n".join(bomb) + "\n"),
                 contains=("bomb.yaml", "YAML nodes"))
    deep = "kind: network\nname: d\nx: " + "[" * 200 + "]" * 200 + "\n"
    expect_error(capsys, "estimate", write(tmp_path, "deep.yaml", deep), contains=("deep.yaml",))
