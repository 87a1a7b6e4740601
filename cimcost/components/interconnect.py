"""Global and tile interconnect: an H-tree bus over a grid of tiles (or of PEs in a tile)."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def htree(tech: Tech, grid_rows: Num, grid_cols: Num, leaf_side: Num, bus_bits: Num,
          from_edge: bool = False) -> Cost:
    """An H-tree from a root to a ``grid_rows`` x ``grid_cols`` grid of square blocks.

    Each level splits the longer side of the current region in two with a wire of half that
    side; a branch carries only the lanes of the blocks below it, so the bus halves at every
    split and the wire area is ``bus_bits`` x pitch x (the sum of one segment per level).  The
    wires of the last level run over the blocks themselves and cost no extra area.  With
    ``from_edge`` the source (a buffer) sits beside the grid's longer edge, and a trunk of the
    full bus width runs from there to the root at the centre: half the shorter side.  Action:
    one bit from the source to a leaf, which travels the trunk and half of each level's segment
    (charging the wire and its repeaters on ``circuits.wire_activity`` of transfers); latency:
    the repeated-wire delay over that path."""
    levels = np.ceil(np.log2(np.maximum(grid_rows, 1.0))) + np.ceil(np.log2(np.maximum(grid_cols, 1.0)))
    width = grid_cols * leaf_side
    height = grid_rows * leaf_side
    shape = np.broadcast_shapes(np.shape(levels), np.shape(width), np.shape(height), np.shape(bus_bits))
    width = np.broadcast_to(width, shape).astype(float)
    height = np.broadcast_to(height, shape).astype(float)
    area_length = np.zeros(shape)
    path_length = np.zeros(shape)
    for level in range(1, int(np.max(levels, initial=0)) + 1):
        active = level <= levels
        split_width = width >= height
        segment = np.where(split_width, width, height) / 2.0
        area_length += np.where(active & (level < levels), segment, 0.0)
        path_length += np.where(active, segment / 2.0, 0.0)
        width = np.where(active & split_width, width / 2.0, width)
        height = np.where(active & ~split_width, height / 2.0, height)
    if from_edge:
        trunk = np.minimum(grid_rows, grid_cols) * leaf_side / 2.0
        area_length = area_length + trunk
        path_length = path_length + trunk
    pitch = tech.wire_pitch * tech.p["circuits.wire_pitch_multiple"]
    area = (bus_bits * pitch * area_length * tech.p["circuits.repeater_overhead"]
            * tech.cal_area)
    energy_per_bit = (tech.p["circuits.wire_activity"] * tech.wire_c * path_length * tech.vdd**2
                      * tech.p["circuits.repeater_energy_overhead"] * tech.cal_energy)
    latency = tech.repeated_wire_delay(path_length)
    leak = tech.leakage(area / tech.F**2) * tech.p["circuits.repeater_area_fraction"]
    return Cost(area=area, energy=energy_per_bit, latency=latency, leakage=leak)
