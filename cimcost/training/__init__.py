"""Accuracy beside cost: train an MLP in numpy under the same floorplan and memory files the cost
model reads, with every learning rule cimcost can estimate (bp, fa, dfa, sdfa, drtp, elm).

Imports are lazy (the CLI builds every command's parser on each call)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .data import DATASETS as DATASETS
    from .data import Dataset as Dataset
    from .data import load_dataset as load_dataset
    from .data import load_mnist_like as load_mnist_like
    from .data import read_idx as read_idx
    from .engine import ALGORITHMS as ALGORITHMS
    from .engine import Epoch as Epoch
    from .engine import Options as Options
    from .engine import Trainer as Trainer
    from .engine import TrainResult as TrainResult
    from .engine import check_fit as check_fit
    from .engine import final_accuracy as final_accuracy
    from .engine import resolve_rule as resolve_rule
    from .engine import train as train
    from .hardware import DeviceArray as DeviceArray
    from .hardware import Hardware as Hardware
    from .hardware import mvm as mvm
    from .hardware import quantize_range as quantize_range
    from .hardware import quantize_tensor as quantize_tensor

_WHERE = {
    "DATASETS": "data", "Dataset": "data", "load_dataset": "data", "load_mnist_like": "data",
    "read_idx": "data", "ALGORITHMS": "engine", "Epoch": "engine", "Options": "engine",
    "Trainer": "engine", "TrainResult": "engine", "check_fit": "engine", "final_accuracy": "engine",
    "resolve_rule": "engine",
    "train": "engine", "DeviceArray": "hardware", "Hardware": "hardware", "mvm": "hardware",
    "quantize_range": "hardware", "quantize_tensor": "hardware",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
