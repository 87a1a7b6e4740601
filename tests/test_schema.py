"""``cimcost schema``, ``cimcost validate`` and the generated field reference."""

from __future__ import annotations

import json

import pytest
import yaml

from cimcost.schema import KINDS, json_schema, markdown
from cimcost.yamlio import SafeLoader

from .conftest import ROOT, run_cli
from .test_inputs import expect_error

BUNDLED = {
    "techfile": sorted((ROOT / "techfiles" / "cmos").glob("*.yaml")),
    "memory": sorted((ROOT / "techfiles" / "memory").glob("*.yaml")),
    "circuits": [ROOT / "techfiles" / "circuits.yaml"],
    "floorplan": sorted((ROOT / "floorplans").glob("*.yaml")),
    "network": sorted((ROOT / "examples").glob("*.yaml")),
    "rule": sorted((ROOT / "cimcost" / "rules").glob("*.yaml")),
}


def _has_model(kind: str) -> bool:
    from cimcost import InputError
    from cimcost.schema import model_for

    try:
        model_for(kind)
    except InputError:
        return False
    return True


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "space"])
def test_schema_prints_json_schema(capsys, kind):
    code, out, err = run_cli(capsys, "schema", kind)
    assert code == 0, err
    schema = json.loads(out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object" and schema["properties"]
    assert schema.get("additionalProperties") is False  # unknown fields are errors, as in the loader


def test_space_schema_says_when_unavailable(capsys):
    if _has_model("space"):
        code, out, _ = run_cli(capsys, "schema", "space")
        assert code == 0 and json.loads(out)["properties"]
    else:
        expect_error(capsys, "schema", "space", contains=("space", "not", "pydantic model"))


@pytest.mark.parametrize("kind", list(BUNDLED))
def test_bundled_files_satisfy_their_schema(kind):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema(kind)
    for path in BUNDLED[kind]:
        # cimcost's loader reads YAML 1.2 floats such as 1.0e9, as editors' YAML servers do
        jsonschema.validate(yaml.load(path.read_text(), Loader=SafeLoader), schema)  # noqa: S506


def test_schema_rejects_what_the_loader_rejects():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema("network")
    bad = {"kind": "network", "name": "x", "input_features": 4,
           "layers": [{"name": "a", "out_features": 2, "colour": "red"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_validate_reports_every_file(capsys, tmp_path):
    files = [str(p) for paths in BUNDLED.values() for p in paths]
    code, out, err = run_cli(capsys, "validate", *files)
    assert code == 0, err
    assert out.count("ok: ") == len(files)
    assert f"ok: {BUNDLED['rule'][0]} (rule)" in out
    assert f"ok: {BUNDLED['techfile'][0]} (techfile)" in out


def test_validate_one_line_per_bad_file(capsys, tmp_path):
    good = ROOT / "examples" / "vgg8-cifar10.yaml"
    bad_net = tmp_path / "net.yaml"
    bad_net.write_text("kind: network\nname: x\ninput_features: 4\nlayers:\n"
                       "  - {name: a, out_features: 0}\n")
    unknown = tmp_path / "what.yaml"
    unknown.write_text("kind: banana\n")
    code, out, err = run_cli(capsys, "validate", str(bad_net), str(good), str(unknown))
    assert code == 2
    assert out == f"ok: {good} (network)\n"
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("cimcost: error:") for line in lines)
    assert "net.yaml:5" in lines[0] and "layers[0].out_features" in lines[0]
    assert "what.yaml:1" in lines[1] and "banana" in lines[1]
    assert "Traceback" not in err


def test_validate_single_bad_file_is_one_line(capsys, tmp_path):
    f = tmp_path / "fp.yaml"
    f.write_text((ROOT / "floorplans" / "default.yaml").read_text().replace("bits: 6", "bits: six"))
    expect_error(capsys, "validate", str(f), contains=("fp.yaml:", "adc.bits", "whole number"))


def test_validate_checks_network_structure(capsys, tmp_path):
    f = tmp_path / "n.yaml"
    f.write_text("kind: network\nname: x\ninput_features: 4\nlayers:\n"
                 "  - {name: a, out_features: 3}\n  - {name: b, in_features: 4, out_features: 2}\n")
    expect_error(capsys, "validate", str(f), contains=("do not chain",))


def test_reference_is_generated_from_the_schemas():
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == markdown(), (
        "docs/reference.md is out of date: run python scripts/gen_reference.py")


def test_reference_covers_every_field():
    text = markdown()
    for field in ("`subarray.rows`", "`training.wgu.adc_bits`", "`accounting.phase_overlap`",
                  "`out_channels`", "`kernel`", "`runs_on`", "`feedback`", "`source`"):
        assert field in text, field
