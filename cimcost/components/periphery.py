"""Array periphery: word-line/bit-line decoders and drivers, column multiplexers."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def line_drivers(tech: Tech, p: dict[str, Num], lines: Num, line_cells: Num, pitch: Num,
                 drive_voltage: Num) -> Cost:
    """Decoder + driver (switch matrix) for ``lines`` lines of ``line_cells`` cells each.
    Action: driving one line once — the driver's own switching plus charging the line wire."""
    unit = tech.block("line_driver", lines)
    decoder_levels = np.ceil(np.log2(np.maximum(lines, 2.0)))
    wire_energy = tech.wire_c * line_cells * pitch * drive_voltage**2
    latency = unit.latency + tech.delay(decoder_levels)
    return Cost(area=unit.area, energy=unit.energy / np.maximum(lines, 1.0) + wire_energy,
                latency=latency, leakage=unit.leakage)


def column_mux(tech: Tech, lines: Num) -> Cost:
    """Transmission-gate multiplexer over ``lines`` lines; action: one line selected."""
    unit = tech.block("mux_line", lines)
    return Cost(area=unit.area, energy=unit.energy / np.maximum(lines, 1.0),
                latency=unit.latency, leakage=unit.leakage)
