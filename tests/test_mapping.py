"""Mapping weight matrices onto subarrays, PEs and tiles: hand-computed cases."""

import numpy as np
import pytest

import cimcost
from cimcost.config import load_config
from cimcost.mapping import cells_per_weight, map_matrix


@pytest.fixture(scope="module")
def params() -> dict:
    return load_config().params()


def test_one_subarray_layer(params):
    # a 128x128 layer on 128x128 subarrays: one subarray used, one tile (8x8 subarrays) paid for
    m = map_matrix("x", 128.0, 128.0, params)
    assert (m.sa_rows, m.sa_cols, m.tiles, m.subarrays) == (1, 1, 1, 64)
    assert m.utilization == pytest.approx(1 / 64)
    assert m.duplication == 64  # 8 x 8 copies fit in the unused subarrays of its tile


def test_width_1024_fits_one_tile_and_1025_spills(params):
    fits = map_matrix("x", 1024.0, 1024.0, params)
    assert fits.tiles == 1 and fits.utilization == 1.0
    spill = map_matrix("x", 1025.0, 1025.0, params)
    assert spill.tiles == 4  # a 2x2 tile grid, as the paper describes
    assert spill.utilization == pytest.approx(1025 * 1025 / (4 * 1024 * 1024))


def test_bits_per_weight_over_bits_per_cell(params):
    assert cells_per_weight(params) == 1  # 5-bit weights on 5-bit FeFET cells
    p = dict(params, **{"precision.weight": 8.0})
    assert cells_per_weight(p) == 2
    m = map_matrix("x", 100.0, 600.0, p)
    assert m.cols == 1200 and m.sa_cols == np.ceil(1200 / 128)


def test_estimate_reports_layer_mapping():
    d = cimcost.estimate([784, 1025, 1025, 10], rule="inference").to_dict()
    tiles = [ly["tiles"] for ly in d["hardware"]["layers"]]
    assert tiles == [2, 4, 2]  # 784 rows x 1025 cols, 1025 x 1025, 1025 rows x 10 cols
    assert d["hardware"]["tiles"] == 8
    assert d["hardware"]["subarrays"] == 8 * 64


def test_arrays_of_parameters_broadcast(params):
    rows = np.array([64.0, 128.0, 256.0])
    p = dict(params, **{"subarray.rows": rows, "subarray.cols": rows})
    m = map_matrix("x", 1024.0, 1024.0, p)
    np.testing.assert_array_equal(m.sa_rows, [16, 8, 4])


def test_neurosim_tile_search_matches_reference_floorplans():
    """NeuroSim's floorplanner (floorplans/neurosim-v2.1.yaml, tile size: search) picks 1024-cell
    tiles of 2 x 2 PEs for the reference MLPs, and a different tile for other widths."""
    fp = "floorplans/neurosim-v2.1.yaml"
    for sizes in ([784, 1024, 10], [784, 1024, 1024, 1024, 1024, 10]):
        d = cimcost.estimate(sizes, rule="bp", floorplan=fp).to_dict()["hardware"]
        assert d["tile_cells"] == [1024, 1024] and d["pes"] == 4 * d["tiles"]
    # 784-2048-2048-10: 2048-cell tiles (3 tiles, 46 % used) lose to 1024-cell ones (8, 69 %)
    wide = cimcost.estimate([784, 2048, 2048, 10], rule="bp", floorplan=fp).to_dict()["hardware"]
    assert wide["tile_cells"] == [1024, 1024] and wide["tiles"] == 8
    # the search never goes below four subarray rows: 256-wide layers get 512-cell tiles
    narrow = cimcost.estimate([784, 256, 10], rule="bp", floorplan=fp).to_dict()["hardware"]
    assert narrow["tile_cells"] == [512, 512]
    # a fixed floorplan keeps its tiles whatever the network
    fixed = cimcost.estimate([784, 256, 10], rule="bp").to_dict()["hardware"]
    assert fixed["tile_cells"] == [1024, 1024]
