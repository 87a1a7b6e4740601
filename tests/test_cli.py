"""The command line as a user runs it: the README commands, JSON output, bundled defaults."""

import json
import os
import subprocess
import sys

import pytest

import cimcost

from .conftest import DEFAULT_NET, ROOT, cli_json, run_cli


def test_readme_main_command(capsys):
    code, out, err = run_cli(capsys, "estimate", str(DEFAULT_NET), "--rule", "dfa")
    assert code == 0, err
    for heading in ("Hardware", "Area by component", "Energy by phase", "Latency by component",
                    "Traffic by link"):
        assert heading in out
    assert "mm²" in out and "%" in out


def test_json_equals_python_api(capsys):
    d = cli_json(capsys, "estimate", str(DEFAULT_NET), "--rule", "bp")
    assert d == cimcost.estimate(str(DEFAULT_NET), rule="bp").to_dict()


def test_inline_mlp_equals_file(capsys):
    inline = cli_json(capsys, "estimate", "--mlp", "784,1024,1024,1024,1024,10", "--rule", "dfa")
    from_file = cli_json(capsys, "estimate", str(DEFAULT_NET), "--rule", "dfa")
    for book in ("area", "energy", "latency", "traffic"):
        assert inline[book] == from_file[book]
    assert cimcost.estimate(cimcost.mlp([784, 1024, 1024, 1024, 1024, 10]), rule="dfa"
                            ).to_dict()["area"] == inline["area"]


def test_explicit_files_and_sets(capsys):
    d = cli_json(capsys, "estimate", str(DEFAULT_NET), "--rule", "bp",
                 "--tech", "techfiles/cmos/22nm.yaml", "--memory", "techfiles/memory/rram.yaml",
                 "--floorplan", "floorplans/default.yaml")
    assert "22" in d["config"]["technology"] and "RRAM" in d["config"]["memory"].upper()
    d = cli_json(capsys, "estimate", str(DEFAULT_NET), "--rule", "inference",
                 "--set", "subarray.rows=256", "--set", "subarray.cols=256",
                 "--set", "adc.bits=4")
    # 256x256 subarrays in the same 8x8-subarray tiles: each layer fits one tile
    assert d["hardware"]["subarrays"] == 5 * 64
    assert d["hardware"]["layers"][1]["utilization"] == pytest.approx(1024 * 1024 / (2048 * 2048))


def test_training_wgus_override(capsys):
    d = cli_json(capsys, "estimate", str(DEFAULT_NET), "--rule", "dfa", "--set",
                 "training.wgus=2")
    assert d["hardware"]["wgus"] == 2


def test_rules_listing(capsys):
    code, out, _ = run_cli(capsys, "rules")
    assert code == 0
    for rule in ("inference", "bp", "dfa"):
        assert rule in out


def test_installed_console_script_from_another_directory(tmp_path):
    """Bundled techfiles and floorplans are found from any working directory."""
    exe = os.path.join(os.path.dirname(sys.executable), "cimcost")
    if not os.path.exists(exe):
        pytest.skip("console script not installed in this environment")
    net = tmp_path / "net.yaml"
    net.write_text("kind: network\nname: tiny\ninput_features: 16\nlayers:\n"
                   "  - {name: a, out_features: 8}\n  - {name: b, out_features: 4}\n")
    done = subprocess.run([exe, "estimate", str(net), "--rule", "bp", "--tech", "22nm",
                           "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hardware"]["layers"][0]["rows"] == 16
    assert ROOT.exists()
