"""Out-of-sample agreement with DNN+NeuroSim V2.1: the cases in ``benchmarks/neurosim-extra/``
(other widths, subarray sizes, ADC resolutions and column sharing; see its README for how they
were made).  Nothing here was fitted to them: the bands are the acceptance target (totals
within +-25 %, every printed line within +-50 %) on the NeuroSim profile.  A line the model
misses is marked ``xfail(strict=True)`` with its measured ratio; docs/validation.md says why.
"""

from __future__ import annotations

from functools import cache

import pytest

from ._harness import NEUROSIM, REPO, load_harness

EXTRA = REPO / "benchmarks" / "neurosim-extra"


V = load_harness()
CASES, SKIPPED = V.load_cases(EXTRA)
CASE_BY_NAME = {c.name: c for c in CASES}


@cache
def ratios(name: str) -> dict[str, float]:
    case = CASE_BY_NAME[name]
    return V.ratio_dict(case, V.run_model(case, NEUROSIM))


# lines the model misses today (measured ratio), explained in docs/validation.md
KNOWN_MISSES: dict[tuple[str, str], str] = {}

LINES = (
    ["area.adc", "area.accumulation", "area.other_peripheries", "area.interconnect",
     "area.weight_gradient_unit"]
    + [f"energy.{k}" for k in ("adc", "accumulation",
                               "synaptic_array_wo_adc_and_other_periphery", "buffer",
                               "interconnect", "weight_gradient_calculation", "weight_update",
                               "dram", "phase forward", "phase activation_gradient",
                               "phase weight_gradient", "phase weight_update")]
    + [f"latency.{k}" for k in V.PHASES]
)


def _params(keys):
    out = []
    for name in CASE_BY_NAME:
        for key in keys:
            reason = KNOWN_MISSES.get((name, key))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(name, key, marks=marks, id=f"{name}-{key}"))
    return out


def test_extra_cases_present_and_the_failed_run_skipped():
    assert len(CASES) >= 8
    assert "width-N4-w256" in SKIPPED  # NeuroSim itself stops: subarray too large for the tile


@pytest.mark.parametrize(("name", "key"), _params(["area", "energy", "latency"]))
def test_extra_totals_within_25_percent(name, key):
    r = ratios(name)[key]
    assert 0.75 <= r <= 1.25, f"{name}: {key} cimcost/NeuroSim = {r:.3f}, outside [0.75, 1.25]"


@pytest.mark.parametrize(("name", "key"), _params(LINES))
def test_extra_lines_within_50_percent(name, key):
    r = ratios(name)[key]
    assert 0.5 <= r <= 1.5, f"{name}: {key} cimcost/NeuroSim = {r:.3f}, outside [0.5, 1.5]"
