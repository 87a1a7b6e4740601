"""Pareto fronts: fast algorithms agree with brute force; files are read in batches."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from cimcost.errors import InputError
from cimcost.pareto import pareto_file, pareto_front

from .conftest import run_cli

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None


def brute_force(v: np.ndarray) -> np.ndarray:
    keep = []
    for i in range(len(v)):
        if np.isnan(v[i]).any():
            continue
        dominated = np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1)
        if not dominated.any():
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("kind", ["continuous", "ties", "correlated"])
def test_front_equals_brute_force(k: int, kind: str) -> None:
    rng = np.random.default_rng(k * 10 + len(kind))
    for n in (1, 2, 7, 300, 1500):
        if kind == "continuous":
            v = rng.random((n, k))
        elif kind == "ties":
            v = rng.integers(0, 5, (n, k)).astype(float)  # many duplicates and ties
        else:
            base = rng.random((n, 1))
            v = base + 0.05 * rng.random((n, k))
            v[:, 1:] = 1 - v[:, 1:]
        np.testing.assert_array_equal(pareto_front(v), brute_force(v))


def test_nan_rows_are_never_on_the_front() -> None:
    v = np.array([[1.0, 2.0], [np.nan, 0.0], [2.0, 1.0], [3.0, 3.0]])
    np.testing.assert_array_equal(pareto_front(v), [0, 2])


def test_large_two_objective_front_is_fast() -> None:
    v = np.random.default_rng(0).random((2_000_000, 2))
    front = pareto_front(v)
    assert 1 <= len(front) < 100
    assert np.all(np.diff(v[front][np.argsort(v[front, 0]), 1]) < 0)


def _table(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"rule": np.where(rng.random(n) < 0.5, "bp", "dfa"),
            "adc.bits": rng.integers(3, 9, n),
            "area": rng.random(n) * 1e-5, "energy": rng.random(n), "latency": rng.random(n),
            "traffic": rng.random(n) * 1e9}


def _write_csv(path: Path, t: dict[str, np.ndarray]) -> None:
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(t))
        w.writerows(zip(*[t[c].tolist() for c in t]))


@pytest.mark.parametrize("suffix", [".csv", pytest.param(".parquet", marks=pytest.mark.skipif(
    not HAS_ARROW, reason="pyarrow not installed"))])
@pytest.mark.parametrize("objectives", [["area", "latency"], ["area", "energy", "latency"],
                                        ["area", "energy", "latency", "traffic"]])
def test_file_front_in_batches_equals_in_memory_front(tmp_path: Path, suffix: str,
                                                      objectives: list[str]) -> None:
    t = _table(5000)
    path = tmp_path / f"r{suffix}"
    if suffix == ".csv":
        _write_csv(path, t)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(t), path, row_group_size=700)
    front, _ = pareto_file(path, objectives, batch_rows=600)
    want = pareto_front(np.column_stack([t[o] for o in objectives]))
    assert sorted(front["area"].tolist()) == sorted(t["area"][want].tolist())
    assert set(front) == set(t)
    only, _ = pareto_file(path, objectives, rule="dfa", batch_rows=600)
    assert set(only["rule"].tolist()) == {"dfa"}


def test_pareto_cli_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _table(2000, seed=4)
    path = tmp_path / "r.csv"
    _write_csv(path, t)
    png = tmp_path / "front.png"
    code, out, err = run_cli(capsys, "pareto", str(path), "--minimize", "area,latency",
                             "--plot", str(png), "--json")
    assert code == 0, err
    rows = json.loads(out)
    want = pareto_front(np.column_stack([t["area"], t["latency"]]))
    assert len(rows) == len(want)
    assert png.stat().st_size > 1000
    code, out, err = run_cli(capsys, "pareto", str(path), "--minimize", "area,speed")
    assert code == 2 and "speed" in err


def test_unknown_objective_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    _write_csv(path, _table(10))
    with pytest.raises(InputError, match="no column 'aera'"):
        pareto_file(path, ["aera", "latency"])
