"""The memory array itself: cells, their read and write physics, row/column wire RC."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def cell_pitch(tech: Tech, p: dict[str, Num]) -> Num:
    """Side of one (square-equivalent) cell [m]."""
    return np.sqrt(p["memory.cell_area_f2"]) * tech.F


def mean_read_conductance(p: dict[str, Num], sram: bool) -> Num:
    """Average cell conductance for a uniform spread of weights between r_off and r_on [S]."""
    if sram:
        return 0.0
    g_on = 1.0 / (p["memory.r_on"] + p.get("memory.access_resistance", 0.0))
    g_off = 1.0 / (p["memory.r_off"] + p.get("memory.access_resistance", 0.0))
    return 0.5 * (g_on + g_off)


def memory_array(tech: Tech, p: dict[str, Num], rows: Num, cols: Num, sram: bool) -> Cost:
    """``rows`` x ``cols`` cells.  Action: one analog read of one cell (a row driven while the
    column is sensed) — energy V^2 G t for resistive cells, bit-line C V^2 for SRAM.  Latency:
    the Elmore RC of one full line of the array, the settling time before sensing."""
    pitch = cell_pitch(tech, p)
    area = rows * cols * p["memory.cell_area_f2"] * tech.F**2
    line_length = np.maximum(rows, cols) * pitch
    rc = 0.38 * (tech.wire_r * line_length) * (tech.wire_c * line_length)  # distributed-RC Elmore delay
    if sram:
        energy = tech.wire_c * pitch * rows * tech.vdd**2 / rows
    else:
        g = mean_read_conductance(p, sram)
        energy = p["memory.read_voltage"] ** 2 * g * p["memory.read_pulse_width"]
    latency = rc + (0.0 if sram else p["memory.read_pulse_width"])
    return Cost(area=area, energy=energy, latency=latency)
