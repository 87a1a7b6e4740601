"""``cimcost report depth|width|param``: rows, values, JSON/CSV shapes, figures and bad input."""

import csv
import io
import json

import pytest

import cimcost
from cimcost.errors import InputError
from cimcost.reports import csv_rows, depth_points, parse_param, parse_range, run_report, width_points

from .conftest import DEFAULT_NET, run_cli

SMALL = ("--depths", "2..3", "--width", "64", "--quiet")


def _ok(capsys, *argv):
    code, out, err = run_cli(capsys, "report", *argv)
    assert code == 0, err
    return out, err


def _fails(capsys, *argv) -> str:
    code, out, err = run_cli(capsys, "report", *argv)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one clear line, no traceback, no usage dump
    assert lines[0].startswith("cimcost: error:")
    return lines[0]


# ---------------------------------------------------------------- ranges

@pytest.mark.parametrize("text, values", [
    ("2..10", list(range(2, 11))),
    ("2..10:2", [2, 4, 6, 8, 10]),
    ("2,3,5", [2, 3, 5]),
    ("7", [7]),
    (" 3 .. 4 ", [3, 4]),
])
def test_parse_range(text, values):
    assert parse_range(text, "--depths") == values


@pytest.mark.parametrize("text", ["5..2", "x", "2..x", "2..10:0", "2..10:-1", "", "2,2", "1.5..3"])
def test_parse_range_rejects(text):
    with pytest.raises(InputError) as info:
        parse_range(text, "--depths")
    assert info.value.field == "--depths"


def test_parse_param():
    assert parse_param("adc.bits=3..5") == ("adc.bits", [3, 4, 5])
    assert parse_param("tech.vdd=0.8,0.9") == ("tech.vdd", [0.8, 0.9])
    with pytest.raises(InputError):
        parse_param("adc.bits")
    with pytest.raises(InputError):
        parse_param("=3..4")


def test_depth_and_width_networks():
    pts = depth_points([1, 2, 4], 64, inputs=20, classes=3)
    assert [p.values for p in pts] == [{"depth": 1}, {"depth": 2}, {"depth": 4}]
    assert [len(p.network.layers) for p in pts] == [1, 2, 4]
    assert [ly.out_features for ly in pts[2].network.layers] == [64, 64, 64, 3]
    pts = width_points([32, 33], depth=3)
    assert [ly.out_features for ly in pts[1].network.layers] == [33, 33, 10]
    assert pts[1].network.layers[0].in_features == 784


# ---------------------------------------------------------------- values and shapes

def test_report_values_equal_single_estimates():
    report = run_report("depth", depth_points([2, 3], 64), ["bp", "dfa"])
    assert len(report.results) == 4 and report.points == [{"depth": 2}, {"depth": 3}]
    for r in report.results:
        n = r["point"]["depth"]
        single = cimcost.estimate([784] + [64] * (n - 1) + [10], r["rule"]).to_dict()
        assert {k: v for k, v in r.items() if k not in ("point", "rule_requested")} == single


def test_table(capsys):
    out, err = _ok(capsys, "depth", *SMALL, "--rules", "bp,dfa")
    body = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [line.split()[0] for line in body] == ["2", "3"]  # one row per point
    for header in ("bp area", "dfa area", "energy", "latency", "traffic", "util.", "mm²", "largest"):
        assert header in out
    assert "━" not in err  # no progress bar when not on a terminal


def test_json_shape(capsys):
    out, _ = _ok(capsys, "depth", *SMALL, "--rules", "bp,dfa", "--json")
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 4
    assert [(d["point"], d["rule"]) for d in data] == [
        ({"depth": 2}, "bp"), ({"depth": 2}, "dfa"), ({"depth": 3}, "bp"), ({"depth": 3}, "dfa")]
    code, single, _ = run_cli(capsys, "estimate", "--mlp", "784,64,64,10", "--rule", "dfa", "--json")
    assert code == 0
    assert {k: v for k, v in data[3].items() if k != "point"} == json.loads(single)
    for book in ("area", "energy", "latency", "traffic"):
        assert "total" in data[0][book] and "breakdown" in data[0][book]


def test_csv_shape(capsys):
    out, _ = _ok(capsys, "width", "--widths", "64,65", "--depth", "3", "--rules", "dfa", "--csv", "-q")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 2
    assert list(rows[0])[:6] == ["width", "rule", "area_m2", "energy_J", "latency_s", "traffic_bytes"]
    assert [r["width"] for r in rows] == ["64", "65"]
    single = cimcost.estimate([784, 65, 65, 10], "dfa").to_dict()
    assert float(rows[1]["area_m2"]) == pytest.approx(single["area"]["total"], rel=1e-12)
    assert float(rows[1]["latency_s"]) == pytest.approx(single["latency"]["total"], rel=1e-12)


def test_param_report(capsys):
    out, _ = _ok(capsys, "param", "adc.bits=4..5", "--mlp", "784,64,10", "--rules", "bp", "--json")
    data = json.loads(out)
    assert [d["point"] for d in data] == [{"adc.bits": 4}, {"adc.bits": 5}]
    single = cimcost.estimate([784, 64, 10], "bp", set={"adc.bits": 5}).to_dict()
    assert data[1]["area"] == single["area"]
    assert data[0]["area"]["breakdown"]["adc"] < data[1]["area"]["breakdown"]["adc"]


def test_param_default_network_and_fixed_set():
    from cimcost.reports import param_points

    report = run_report("param", param_points(cimcost.load_network(str(DEFAULT_NET)),
                                              [("adc.bits", [4])]), ["dfa"],
                        base_set={"subarray.rows": 256})
    single = cimcost.estimate(str(DEFAULT_NET), "dfa", set={"adc.bits": 4, "subarray.rows": 256})
    assert report.results[0]["energy"] == single.to_dict()["energy"]
    assert csv_rows(report)[0]["adc.bits"] == 4


# ---------------------------------------------------------------- figures

def test_png_figure(capsys, tmp_path):
    path = tmp_path / "depth.png"
    _ok(capsys, "depth", *SMALL, "--plot", str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_svg_figure_width_panel(capsys, tmp_path):
    path = tmp_path / "width.svg"
    out, _ = _ok(capsys, "width", "--widths", "64,65", "--depth", "3", "-q", "--json", "--plot", str(path))
    json.loads(out)  # the figure note never pollutes --json stdout
    text = path.read_text()
    assert text.lstrip().startswith(("<?xml", "<svg")) and "tiles" in text and "utilisation" in text


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("argv, words", [
    (("depth", "--depths", "5..2"), ("--depths", "5..2")),
    (("depth", "--depths", "x"), ("--depths", "'x'")),
    (("width", "--widths", "0,64"), ("--widths",)),
    (("param", "adc.bits=0", "--mlp", "784,64,10"), ("adc.bits",)),
    (("param", "nosuch.path=1,2", "--mlp", "784,64,10"), ("nosuch.path",)),
    (("param", "adc.bits=3..4", "--set", "adc.bits=5"), ("adc.bits", "both")),
    (("param", "adc.bits"), ("nothing to sweep",)),
    (("depth", *SMALL, "--rules", "bp,nosuch"), ("nosuch",)),
    (("depth", *SMALL, "--plot", "fig.jpg"), ("--plot", ".jpg")),
])
def test_bad_input_one_line_exit_2(capsys, argv, words):
    line = _fails(capsys, *argv)
    for w in words:
        assert w in line
