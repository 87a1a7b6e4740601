"""Map weight matrices onto subarrays -> PEs -> tiles, and count what is allocated.

A layer's matrix has R = in_features rows and Q = out_features * cells_per_weight columns.
Tiles have a fixed size set by the floorplan (subarray x PE grid x tile grid); a tile never
holds two layers, so a layer one cell wider than a tile spills into a second tile column.
All counts broadcast over numpy arrays of floorplan parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .components.base import Num
from .network import Network


@dataclass(frozen=True)
class MatrixMap:
    """How one stored matrix (rows x cols of weights) lands on the hardware."""

    name: str
    rows: Num  # matrix rows (inputs)
    cols: Num  # matrix columns in cells (outputs * cells per weight)
    weights: Num  # rows * outputs
    sa_rows: Num  # subarrays stacked along the rows
    sa_cols: Num  # subarrays side by side along the columns
    tiles: Num
    subarrays: Num  # allocated (tiles * subarrays per tile), the area that is paid for
    utilization: Num  # cells holding weights / cells allocated
    duplication: Num  # copies of the matrix that fit in unused subarrays of its tiles

    @property
    def used_subarrays(self) -> Num:
        return self.sa_rows * self.sa_cols


def cells_per_weight(p: dict[str, Num]) -> Num:
    return np.ceil(p["precision.weight"] / p["memory.bits_per_cell"])


def search_tile_size(network: Network, p: dict[str, Num]) -> dict[str, Num]:
    """DNN+NeuroSim V2.1's conventional-mapping floorplan (Chip.cpp ChipFloorPlan): the tile
    side T0 is the smallest power of two holding the widest layer's columns (at least four
    subarray rows); T0, T0/2, … down to just above four subarray rows are tried and the one
    with the highest memory utilisation wins (the larger on a tie).  A PE is half a tile, so a
    tile is 2 x 2 PEs (NeuroSim's PE search only changes this when a PE-level utilisation
    beats the tile's, which no FC network here does).  Returns the pe.* and tile.* parameters
    that realise it (arrays where the subarray size is an array)."""
    rows = p["subarray.rows"]
    cols_cells = [ly.out_features * cells_per_weight(p) for ly in network.layers]
    rows_cells = [float(ly.in_features) for ly in network.layers]
    used = sum(r * c for r, c in zip(rows_cells, cols_cells, strict=True))
    floor = 4.0 * rows
    widest = np.maximum.reduce(cols_cells) if len(cols_cells) > 1 else cols_cells[0]
    first = np.maximum(np.exp2(np.ceil(np.log2(widest))), floor)

    def utilization(t: Num) -> Num:
        tiles = sum(np.ceil(r / t) * np.ceil(c / t) for r, c in zip(rows_cells, cols_cells, strict=True))
        return used / (tiles * t * t)

    size = first
    best = utilization(first)
    for k in range(1, 40):
        candidate = first / 2.0**k
        tried = candidate > floor
        if not np.any(tried):
            break
        util = utilization(candidate)
        better = tried & (util > best)
        size = np.where(better, candidate, size)
        best = np.where(better, util, best)
    pe = size / 2.0
    return {"pe.subarray_rows": pe / rows, "pe.subarray_cols": pe / p["subarray.cols"],
            "tile.pe_rows": 2.0 + 0.0 * size, "tile.pe_cols": 2.0 + 0.0 * size}


def tile_shape(p: dict[str, Num]) -> tuple[Num, Num]:
    """Subarrays per tile along rows and along columns."""
    return (p["pe.subarray_rows"] * p["tile.pe_rows"], p["pe.subarray_cols"] * p["tile.pe_cols"])


def map_matrix(name: str, rows: Num, outputs: Num, p: dict[str, Num], tiled: bool = True) -> MatrixMap:
    cols = outputs * cells_per_weight(p)
    sa_r = np.ceil(rows / p["subarray.rows"])
    sa_c = np.ceil(cols / p["subarray.cols"])
    t_r, t_c = tile_shape(p)
    if tiled:
        tiles = np.ceil(sa_r / t_r) * np.ceil(sa_c / t_c)
        subarrays = tiles * t_r * t_c
        dup = np.where(tiles == 1, np.floor(t_r / sa_r) * np.floor(t_c / sa_c), 1.0)
    else:
        tiles = 0.0 * sa_r
        subarrays = sa_r * sa_c
        dup = 1.0 + 0.0 * sa_r
    cells = subarrays * p["subarray.rows"] * p["subarray.cols"]
    return MatrixMap(name, rows, cols, rows * outputs, sa_r, sa_c, tiles, subarrays,
                     rows * cols / cells, np.maximum(dup, 1.0))


def map_network(network: Network, p: dict[str, Num]) -> list[MatrixMap]:
    """Every weighted layer mapped; layers of one shape share one mapping (renamed)."""
    from dataclasses import replace

    done: dict[tuple[int, int], MatrixMap] = {}
    out = []
    for ly in network.layers:
        shape = (ly.in_features, ly.out_features)
        if shape not in done:
            done[shape] = map_matrix(ly.name, float(ly.in_features), float(ly.out_features), p)
        out.append(replace(done[shape], name=ly.name))
    return out


def chip_utilization(maps: list[MatrixMap], p: dict[str, Num]) -> Num:
    cells = sum(m.subarrays for m in maps) * p["subarray.rows"] * p["subarray.cols"]
    used = sum(m.rows * m.cols for m in maps)
    return used / cells
