"""Global and tile interconnect: an H-tree bus over a grid of tiles (or of PEs in a tile)."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def htree(tech: Tech, leaves: Num, leaf_side: Num, bus_bits: Num) -> Cost:
    """An H-tree connecting ``leaves`` square blocks of side ``leaf_side`` over a square grid.

    Total wire length of an H-tree over a k x k grid of blocks of side s is about
    (k^2 - 1) * s * (levels-weighted) — we sum segment lengths level by level: level i has 2^i
    segments of length D / 2^(ceil(i/2)+1), D = k s the grid side.  Area: bus_bits wires at the
    wire pitch (times a multiple for spacing and repeaters).  Action: one bit from root to leaf
    (path length ~ D); latency of one transfer: repeated wire delay over the path plus one
    clock cycle per bus word."""
    k = np.ceil(np.sqrt(np.maximum(leaves, 1.0)))
    side = k * leaf_side
    levels = np.ceil(np.log2(np.maximum(leaves, 1.0)))
    max_levels = 40
    ndim = len(np.broadcast_shapes(np.shape(levels), np.shape(side), np.shape(bus_bits)))
    i = np.arange(1, max_levels + 1, dtype=float).reshape((-1,) + (1,) * ndim)
    segment = side / np.exp2(np.ceil(i / 2.0) + 1.0)
    active = i <= levels
    total_length = np.sum(np.where(active, np.exp2(i - 1.0) * segment, 0.0), axis=0)
    path_length = np.sum(np.where(active, segment, 0.0), axis=0)
    pitch = tech.wire_pitch * tech.p["circuits.wire_pitch_multiple"]
    overhead = tech.p["circuits.repeater_overhead"]
    area = bus_bits * pitch * total_length * overhead * tech.cal_area
    energy_per_bit = tech.wire_c * path_length * tech.vdd**2 * overhead * tech.cal_energy
    latency = tech.repeated_wire_delay(path_length)
    leak = tech.leakage(area / tech.F**2) * 0.1  # repeaters are a tenth of the bus area
    return Cost(area=area, energy=energy_per_bit, latency=latency, leakage=leak)
