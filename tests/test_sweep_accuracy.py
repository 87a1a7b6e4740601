"""Sweeps with an accuracy objective: the column equals the training engine's result, one
training per distinct training configuration, cached so a resumed sweep does not retrain, the
same on the dask engine, and bad accuracy sections are refused with the field named."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from cimcost.config import load_config
from cimcost.errors import InputError
from cimcost.space import load_space
from cimcost.sweeps import read_table, sweep
from cimcost.training import Hardware, Options, final_accuracy
from cimcost.training.data import load_dataset
from cimcost.training.hardware import FLOORPLAN_FIELDS, MEMORY_FIELDS

from .conftest import DEFAULT_NET, ROOT

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None
HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
HAS_DASK = importlib.util.find_spec("distributed") is not None
DIGITS_NET = ROOT / "examples" / "mlp-digits.yaml"
needs_sklearn = pytest.mark.skipif(not HAS_SKLEARN, reason="digits needs scikit-learn")

ACC = {"dataset": "digits", "epochs": 1, "seed": 3, "batch_size": 64, "limit": 300}


def _space(**extra: Any) -> dict[str, Any]:
    space: dict[str, Any] = {
        "network": str(DIGITS_NET),
        "rules": ["bp", "dfa"],
        "parameters": {
            "adc.bits": [3, 5],                  # training
            "subarray.rows": [64, 128],           # training
            "tech": ["22nm", "45nm"],             # cost only
            "training.wgus": [1, 2],              # cost only
            "tech.vdd": [0.8, 1.0],               # cost only
        },
        "accuracy": dict(ACC),
    }
    space.update(extra)
    return space


def _write(tmp_path: Path, data: dict[str, Any], name: str = "space.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def _engine_accuracy(rule: str, sets: dict[str, Any], acc: dict[str, Any] = ACC) -> float:
    """What the training engine gives for one configuration, as `cimcost train` sets it up."""
    cfg = load_config(overrides=sets)
    data = load_dataset(acc["dataset"], seed=acc["seed"]).subset(train=acc.get("limit"))
    opts = Options(epochs=acc["epochs"], batch_size=acc["batch_size"], seed=acc["seed"],
                   feedback=str(cfg.floorplan.training.feedback_matrix))
    sizes = [64, 256, 256, 10]
    value, _ = final_accuracy(sizes, ["relu", "relu", "softmax"], rule, data,
                              Hardware.from_config(cfg), opts)
    return value


@needs_sklearn
def test_accuracy_column_equals_training_engine() -> None:
    res = sweep(_space(), workers=1)
    t = res.table
    assert res.space.accuracy is not None
    assert set(res.space.accuracy.dims) == {"adc.bits", "subarray.rows"}
    assert len(t["accuracy"]) == 2 * 2 ** 5
    assert res.accuracy is not None and res.accuracy.trainings == res.accuracy.run == 2 * 2 * 2
    for rule, bits, rows in (("bp", 3, 64), ("dfa", 5, 128), ("dfa", 3, 128)):
        sel = (t["rule"] == rule) & (t["adc.bits"] == bits) & (t["subarray.rows"] == rows)
        assert sel.sum() == 8
        vals = set(t["accuracy"][sel].tolist())  # cost-only parameters share one training
        assert vals == {_engine_accuracy(rule, {"adc.bits": bits, "subarray.rows": rows})}
    assert 0.0 <= float(t["accuracy"].min()) <= float(t["accuracy"].max()) <= 1.0


@needs_sklearn
def test_training_knobs_and_batch_from_space() -> None:
    """memory.c2c_sigma (not in the memory file: a training-only knob) and training.batch_size
    (no accuracy.batch_size) are training dimensions; a memory file with the same weight levels
    (fefet, enode: 32) does not make another training."""
    acc = {k: v for k, v in ACC.items() if k != "batch_size"}
    space = _space(rules=["dfa"], parameters={"memory": ["fefet", "enode"],
                                              "memory.c2c_sigma": [0.0, 0.05],
                                              "training.batch_size": [32, 64],
                                              "tech": ["22nm", "45nm"]}, accuracy=acc)
    res = sweep(space, workers=1)
    assert res.accuracy is not None
    assert res.accuracy.combinations == 8 and res.accuracy.trainings == 4
    t = res.table
    sel = (t["memory.c2c_sigma"] == 0.05) & (t["training.batch_size"] == 64)
    cfg = load_config(memory="fefet", overrides={"training.batch_size": 64})
    data = load_dataset("digits", seed=3).subset(train=300)
    want, _ = final_accuracy([64, 256, 256, 10], ["relu", "relu", "softmax"], "dfa", data,
                             Hardware.from_config(cfg, c2c_sigma=0.05),
                             Options(epochs=1, batch_size=64, seed=3))
    assert set(t["accuracy"][sel].tolist()) == {want}


@needs_sklearn
@pytest.mark.skipif(not HAS_ARROW, reason="needs pyarrow")
def test_cache_and_resume_do_not_retrain(tmp_path: Path) -> None:
    out = tmp_path / "acc.parquet"
    space = _write(tmp_path, _space(chunk_size=8))
    stop = {"n": 0}

    def interrupt(k: int) -> None:
        stop["n"] += 1
        if stop["n"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(space, out, workers=1, on_chunk=interrupt)
    cache = tmp_path / "acc.parquet.accuracy"
    assert len(list(cache.glob("*.json"))) == 8      # one file per training, kept
    res = sweep(space, out, workers=1)               # resume: no training
    assert res.chunks_skipped == 3
    assert res.accuracy is not None and res.accuracy.run == 0 and res.accuracy.cached == 8
    full = sweep(_space(chunk_size=8), workers=1).table  # same chunks: same row order
    assert np.array_equal(read_table(out)["accuracy"], full["accuracy"])
    # a changed cost-only parameter: new chunks, the same trainings
    more = _space(chunk_size=8)
    more["parameters"]["tech"] = ["22nm", "45nm", "32nm"]
    res = sweep(_write(tmp_path, more), out, workers=1)
    assert res.accuracy is not None and res.accuracy.run == 0
    # a changed accuracy section trains again (its key changes)
    other = _space(chunk_size=8, accuracy={**ACC, "seed": 4})
    res = sweep(_write(tmp_path, other), out, workers=1)
    assert res.accuracy is not None and res.accuracy.run == 8
    assert len(list(cache.glob("*.json"))) == 16


@needs_sklearn
def test_local_pool_equals_serial() -> None:
    a = sweep(_space(chunk_size=16), workers=1).table
    b = sweep(_space(chunk_size=16), workers=2).table
    assert np.array_equal(a["accuracy"], b["accuracy"])


@needs_sklearn
@pytest.mark.skipif(not HAS_DASK, reason="dask.distributed is not installed")
def test_dask_engine_equals_local() -> None:
    local = sweep(_space(chunk_size=16), workers=1).table
    remote = sweep(_space(chunk_size=16), engine="dask")
    assert remote.accuracy is not None and remote.accuracy.run == 8
    assert np.array_equal(local["accuracy"], remote.table["accuracy"])
    assert np.array_equal(local["energy"], remote.table["energy"])


@needs_sklearn
@pytest.mark.skipif(not HAS_ARROW, reason="needs pyarrow")
def test_sampled_space_and_pareto_maximize(tmp_path: Path) -> None:
    from cimcost.pareto import pareto_file

    space = _space(sample={"points": 200, "seed": 1}, chunk_size=64,
                   constraints=["accuracy >= 10 %"])
    space["parameters"]["tech.vdd"] = {"uniform": [0.7, 1.0]}
    out = tmp_path / "s.parquet"
    res = sweep(_write(tmp_path, space), out, workers=1)
    assert res.accuracy is not None and res.accuracy.trainings == 8
    front, _ = pareto_file(out, ["energy"], ["accuracy"])
    assert len(front["accuracy"]) >= 1
    t = read_table(out)
    best = float(t["accuracy"].max())
    assert float(front["accuracy"].max()) == best


def test_synthetic_classification_needs_no_extra() -> None:
    space = {"mlp": {"input": 256, "classes": 10, "depth": [2], "width": [16]},
             "rules": ["dfa"], "parameters": {"adc.bits": [4], "tech": ["22nm", "45nm"]},
             "accuracy": {"dataset": "synthetic-classification", "epochs": 1, "limit": 200}}
    res = sweep(space, workers=1)
    assert res.accuracy is not None and res.accuracy.run == 1
    assert len(set(res.table["accuracy"].tolist())) == 1


def test_training_fields_cover_what_the_engine_reads() -> None:
    """Changing any numeric floorplan or memory field not listed leaves the hardware alone."""
    base = load_config()
    hw0 = Hardware.from_config(base)
    listed = set(FLOORPLAN_FIELDS) | {f"memory.{m}" for m in MEMORY_FIELDS}
    for name, value in base.params().items():
        section = name.split(".")[0]
        if section in ("tech", "circuits") or name in listed:
            continue
        new = value * 2 if value else 1.0
        if name.startswith("memory.") or float(value).is_integer():
            new = int(new) if float(new).is_integer() else new
        try:
            cfg = load_config(overrides={name: new})
        except InputError:
            continue
        assert Hardware.from_config(cfg) == hw0, name
    for name in ("adc.bits", "subarray.rows", "precision.weight", "memory.levels"):
        assert name in listed


@pytest.mark.parametrize("acc, field, text", [
    ({"dataset": "cifar", "epochs": 2}, "accuracy.dataset", "unknown dataset 'cifar'"),
    ({"dataset": "digits", "epochs": 0}, "accuracy.epochs", "epochs is 0"),
    ({"dataset": "digits"}, "accuracy", "epochs is missing"),
    ({"dataset": "digits", "epochs": 1, "batch": 8}, "accuracy.batch", "unknown key 'batch'"),
    ({"dataset": "digits", "epochs": 1, "seed": -1}, "accuracy.seed", "seed is -1"),
    ({"dataset": "synthetic-regression", "epochs": 1}, "accuracy.dataset", "real-valued"),
    ({"dataset": "mnist", "epochs": 1, "data": "/nonexistent/mnist"}, "accuracy.data",
     "does not exist"),
])
def test_bad_accuracy_section(tmp_path: Path, acc: dict[str, Any], field: str, text: str) -> None:
    if acc["dataset"] == "digits" and not HAS_SKLEARN and "epochs" in acc:
        pytest.skip("digits needs scikit-learn")
    p = _write(tmp_path, _space(accuracy=acc))
    with pytest.raises(InputError) as info:
        load_space(p)
    assert info.value.field == field
    assert text in info.value.message
    assert info.value.file == str(p) and info.value.line is not None


@needs_sklearn
def test_network_must_fit_the_data(tmp_path: Path) -> None:
    p = _write(tmp_path, _space(network=str(DEFAULT_NET)))
    with pytest.raises(InputError) as info:
        load_space(p)
    assert info.value.field == "network"
    assert "784 inputs" in info.value.message and "mlp-digits.yaml" in info.value.message
    p = _write(tmp_path, _space(rules=["bp", "inference"]))
    with pytest.raises(InputError) as info:
        load_space(p)
    assert info.value.field == "rules.1" and "learning rule" in info.value.message


def test_too_many_trainings_and_unknown_knob_without_accuracy(tmp_path: Path) -> None:
    space = {"mlp": {"input": 256, "classes": 10, "depth": [2], "width": [16]},
             "rules": ["dfa"], "parameters": {"adc.bits": [2, 3, 4, 5]},
             "accuracy": {"dataset": "synthetic-classification", "epochs": 1, "max_trainings": 3}}
    with pytest.raises(InputError) as info:
        sweep(space, workers=1)
    assert info.value.field == "accuracy.max_trainings" and "4 trainings" in info.value.message
    del space["accuracy"]
    space["parameters"]["memory.c2c_sigma"] = [0.0, 0.1]
    with pytest.raises(InputError, match="unknown parameter 'memory.c2c_sigma'"):
        load_space(space)


def test_example_space_loads() -> None:
    if not HAS_SKLEARN:
        pytest.skip("digits needs scikit-learn")
    sp = load_space(ROOT / "examples" / "spaces" / "digits-accuracy.yaml")
    assert sp.accuracy is not None and 200 <= sp.points <= 1000
    assert set(sp.accuracy.dims) == {"adc.bits", "subarray.rows", "memory"}
