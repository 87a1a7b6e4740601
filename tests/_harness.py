"""The validation harness (``benchmarks/validate_neurosim.py``), imported by path for the
tests that pin its ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "benchmarks" / "validate_neurosim.py"
NEUROSIM = str(REPO / "floorplans" / "neurosim-v2.1.yaml")
DEFAULT = str(REPO / "floorplans" / "default.yaml")


def load_harness() -> ModuleType:
    name = "cimcost_validate_neurosim"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module
