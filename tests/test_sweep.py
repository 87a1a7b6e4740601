"""Design-space sweeps: vectorised rows equal per-point estimates, chunks resume, bad spaces
are rejected with the file and field named."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import cimcost
from cimcost.errors import InputError
from cimcost.space import load_space
from cimcost.sweeps import read_table, sweep

from .conftest import DEFAULT_NET, ROOT, run_cli

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
HAS_DASK = importlib.util.find_spec("distributed") is not None


def _space(**extra: object) -> dict:
    space = {
        "network": str(DEFAULT_NET),
        "rules": ["bp", "dfa"],
        "parameters": {
            "tech": ["22nm", "45nm"],
            "memory": ["fefet", "sram"],
            "adc.type": ["flash", "sar"],
            "training.wgus": [1, 3],
            "subarray.rows": {"from": 64, "to": 256, "factor": 2},
            "adc.bits": {"from": 3, "to": 7, "step": 2},
            "tech.vdd": {"from": 0.8, "to": 1.0, "num": 2},
        },
    }
    space.update(extra)
    return space


def _write(tmp_path: Path, data: dict, name: str = "space.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def _check_rows(table: dict, idx: np.ndarray, net: object, varied: list[str]) -> None:
    files = ("tech", "memory")
    for i in idx:
        setters = {}
        for name in varied:
            v = table[name][i]
            setters[name] = str(v) if isinstance(v, np.str_) else (
                int(v) if float(v).is_integer() else float(v))
        kw = {f: setters.pop(f) for f in files if f in setters}
        one = cimcost.estimate(net, str(table["rule"][i]), set=setters, **kw).to_dict()
        for key in ("area", "energy", "latency", "traffic"):
            assert table[key][i] == pytest.approx(one[key]["total"], rel=1e-12), (key, i)
        for key in ("adc", "wgu"):
            share = one["area"]["breakdown"][key] / one["area"]["total"]
            assert table[f"area.{key}_share"][i] == pytest.approx(share, rel=1e-12, abs=1e-15)
        share = one["energy"]["breakdown"]["dram"] / one["energy"]["total"]
        assert table["energy.dram_share"][i] == pytest.approx(share, rel=1e-12)


def test_sweep_rows_equal_per_point_estimates() -> None:
    res = sweep(_space(), workers=1)
    t = res.table
    sp = res.space
    assert sp.points == 2 * 2 * 2 * 2 * 3 * 3 * 2
    assert len(t["rule"]) == 2 * sp.points
    assert {d.name: d.kind for d in sp.dims}["training.wgus"] == "config"
    assert {d.name: d.kind for d in sp.dims}["tech.vdd"] == "numeric"
    assert set(t) >= {"rule", "tech", "memory", "adc.type", "training.wgus", "subarray.rows",
                      "area", "energy", "latency", "traffic", "area.adc_share",
                      "area.wgu_share", "energy.dram_share", "latency.buffer_share"}
    varied = [d.name for d in sp.dims]
    idx = np.random.default_rng(3).choice(len(t["rule"]), 10, replace=False)
    _check_rows(t, idx, str(DEFAULT_NET), varied)


def test_sampled_mlp_space_equals_estimates_and_is_deterministic() -> None:
    space = {"mlp": {"input": 100, "classes": 10, "depth": [2, 4], "width": [64, 300]},
             "rules": ["dfa"], "sample": {"points": 300, "seed": 5}, "chunk_size": 128,
             "parameters": {"adc.bits": [4, 6], "tech.vdd": {"uniform": [0.8, 1.0]},
                            "memory.r_on": {"loguniform": [1e4, 1e5]}}}
    a = sweep(space, workers=1).table
    b = sweep(space, workers=1).table
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert len(a["rule"]) == 300
    assert a["tech.vdd"].min() >= 0.8 and a["tech.vdd"].max() <= 1.0
    for i in np.random.default_rng(0).choice(300, 5, replace=False):
        d, w = int(a["mlp.depth"][i]), int(a["mlp.width"][i])
        net = cimcost.mlp([100] + [w] * (d - 1) + [10])
        one = cimcost.estimate(net, "dfa", set={"adc.bits": int(a["adc.bits"][i]),
                                               "tech.vdd": float(a["tech.vdd"][i]),
                                               "memory.r_on": float(a["memory.r_on"][i])})
        assert a["latency"][i] == pytest.approx(one.latency, rel=1e-12)
        assert a["area"][i] == pytest.approx(one.area, rel=1e-12)


def test_constraints_filter_rows() -> None:
    full = sweep(_space(), workers=1).table
    cut = sweep(_space(constraints=["area < 20 mm2", "latency <= 1 s"]), workers=1).table
    keep = (full["area"] < 20e-6) & (full["latency"] <= 1.0)
    assert 0 < keep.sum() < len(keep)
    np.testing.assert_array_equal(cut["area"], full["area"][keep])


class _Stop(Exception):
    pass


@pytest.mark.parametrize("suffix", [".csv", pytest.param(".parquet", marks=pytest.mark.skipif(
    not HAS_ARROW, reason="pyarrow not installed"))])
def test_interrupted_sweep_resumes_to_the_same_file(tmp_path: Path, suffix: str) -> None:
    space = _write(tmp_path, _space(chunk_size=50))
    whole = tmp_path / f"whole{suffix}"
    ref = sweep(space, whole, workers=1)
    assert ref.chunks_run == load_space(space).chunks > 4
    out = tmp_path / f"resumed{suffix}"

    def stop_after_2(k: int) -> None:
        if k == 2:
            raise _Stop

    with pytest.raises(_Stop):
        sweep(space, out, workers=1, on_chunk=stop_after_2)
    parts = out.with_name(out.name + ".parts")
    assert not out.exists()
    staged = "arrow" if suffix == ".parquet" else suffix[1:]  # Parquet is staged as Arrow IPC
    assert sorted(p.name for p in parts.glob("chunk-*")) == [
        f"chunk-{k:06d}.{staged}" for k in range(3)]
    # a half-written chunk is never taken as finished
    (parts / f"chunk-000003.{staged}.tmp").write_bytes(b"garbage")
    seen: list[int] = []
    res = sweep(space, out, workers=1, on_chunk=seen.append)
    assert res.chunks_skipped == 3 and seen == list(range(3, ref.chunks_run))
    assert not parts.exists()
    if suffix == ".csv":
        assert out.read_bytes() == whole.read_bytes()
    a, b = read_table(out), read_table(whole)
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_changed_space_discards_old_chunks(tmp_path: Path) -> None:
    space = _write(tmp_path, _space(chunk_size=50))
    out = tmp_path / "r.csv"

    def stop(k: int) -> None:
        raise _Stop

    with pytest.raises(_Stop):
        sweep(space, out, workers=1, on_chunk=stop)
    _write(tmp_path, _space(chunk_size=50, rules=["dfa"]))
    res = sweep(space, out, workers=1)
    assert res.chunks_skipped == 0
    assert set(read_table(out)["rule"]) == {"dfa"}


def test_process_pool_equals_serial(tmp_path: Path) -> None:
    space = _space(chunk_size=60)
    serial = sweep(space, workers=1).table
    pooled = sweep(space, workers=2).table
    for k in serial:
        np.testing.assert_array_equal(serial[k], pooled[k])


@pytest.mark.skipif(not HAS_DASK, reason="dask.distributed not installed")
def test_dask_engine_equals_local_engine(tmp_path: Path) -> None:
    space = _space(chunk_size=100)
    local = sweep(space, workers=1).table
    out = tmp_path / "dask.csv"
    sweep(space, out, engine="dask")
    remote = read_table(out)
    for k in local:
        if local[k].dtype.kind == "f":
            np.testing.assert_array_equal(local[k], remote[k])
        else:
            assert [str(x) for x in local[k]] == [str(x) for x in remote[k]]


def test_missing_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(InputError, match=r"cimcost\[parquet\]"):
        sweep(_space(), tmp_path / "r.parquet", workers=1)


def test_cli_sweep_then_pareto_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = _write(tmp_path, _space())
    out = tmp_path / "r.csv"
    code, _, err = run_cli(capsys, "sweep", str(space), "--out", str(out), "--quiet",
                           "--workers", "1")
    assert code == 0, err
    code, text, err = run_cli(capsys, "pareto", str(out), "--minimize", "area,latency", "--json")
    assert code == 0, err
    rows = json.loads(text)
    assert rows and {"rule", "area", "latency", "tech"} <= set(rows[0])


def test_example_spaces_load() -> None:
    for path in sorted((ROOT / "examples" / "spaces").glob("*.yaml")):
        sp = load_space(path)
        assert sp.points >= 1
    big = load_space(ROOT / "examples" / "spaces" / "mlp-1m.yaml")
    assert big.points >= 10 ** 6 and big.rule_labels == ["bp", "dfa"]
    assert {d.name for d in big.dims} >= {"tech", "memory", "subarray.rows", "adc.columns_per_adc",
                                          "adc.bits", "training.wgus"}


@pytest.mark.parametrize("change, field, words", [
    ({"parameters": {"adc.bitz": [4, 5]}}, "parameters.adc.bitz", "unknown parameter"),
    ({"parameters": {"adc.bits": {"from": 8, "to": 4, "step": 1}}}, "parameters.adc.bits",
     "empty range"),
    ({"parameters": {"adc.bits": []}}, "parameters.adc.bits", "empty list"),
    ({"parameters": {"adc.bits": [4, 99]}}, "parameters.adc.bits", "not valid"),
    ({"constraints": ["area << 3 mm2"]}, "constraints.0", "cannot read constraint"),
    ({"constraints": ["area < 3 ms"]}, "constraints.0", "does not fit"),
    ({"constraints": ["speed < 3"]}, "constraints.0", "unknown column"),
    ({"rules": ["bp", "backprop2"]}, "rules.1", "unknown rule"),
    ({"network": None}, "network", "no network"),
    ({"network": "nope.yaml"}, "network", "not found"),
    ({"parameters": {"tech.vdd": {"uniform": [0.8, 1.0]}}}, "parameters.tech.vdd",
     "sampled space"),
    ({"paramters": {}}, "paramters", "did you mean 'parameters'"),
])
def test_bad_space_files_are_rejected(tmp_path: Path, change: dict, field: str,
                                      words: str) -> None:
    data = _space()
    for key, value in change.items():
        if value is None:
            data.pop(key)
        elif key == "parameters":
            data[key] = dict(data[key], **value)
        else:
            data[key] = value
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as info:
        load_space(path)
    exc = info.value
    assert exc.file == str(path)
    assert exc.field == field
    assert words in exc.render()
    if field.startswith(("parameters", "constraints", "rules")):
        assert exc.line is not None


def test_top_level_python_api():
    import cimcost

    res = cimcost.sweep(str(ROOT / "examples" / "spaces" / "small.yaml"))
    assert len(res.table["rule"]) > 0
    assert cimcost.read_table is cimcost.sweeps.read_table
