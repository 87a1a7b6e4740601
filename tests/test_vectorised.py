"""Numbers are arrays: one call over many design points equals per-point estimates."""

import numpy as np
import pytest

import cimcost
from cimcost.config import load_config
from cimcost.estimate import compute
from cimcost.rules import get_rule


@pytest.mark.parametrize("rule", ["inference", "bp", "dfa"])
def test_vectorised_equals_per_point(rule):
    rng = np.random.default_rng(1)
    n = 12
    bits = rng.integers(2, 8, n).astype(float)
    rows = 2.0 ** rng.integers(5, 10, n)
    cpa = 2.0 ** rng.integers(0, 5, n)
    vdd = rng.uniform(0.7, 1.0, n)
    net = cimcost.mlp([300, 700, 1100, 10])
    cfg = load_config()
    params = dict(cfg.params(), **{"adc.bits": bits, "subarray.rows": rows,
                                   "subarray.cols": rows, "adc.columns_per_adc": cpa,
                                   "tech.vdd": vdd})
    totals = compute(net, get_rule(rule), params, cfg.options()).totals
    for i in range(n):
        one = cimcost.estimate(net, rule, set={
            "adc.bits": int(bits[i]), "subarray.rows": int(rows[i]), "subarray.cols": int(rows[i]),
            "adc.columns_per_adc": int(cpa[i]), "tech.vdd": float(vdd[i])})
        for key in ("area", "energy", "latency", "traffic"):
            assert totals[key][i] == pytest.approx(getattr(one, key), rel=1e-12), (key, i)
