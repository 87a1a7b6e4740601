"""On-chip SRAM / register-file buffers and the off-chip DRAM interface."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def sram_buffer(tech: Tech, bits: Num, clock: Num, core_bits: Num) -> Cost:
    """A register-file buffer of ``bits`` capacity in cores of ``core_bits``.  Energy per
    action: one bit read or written.  Latency per action: one line (port width) of a core read
    or written — address decode and word/bit-line swing, which grow with the core's side
    (``buffer_bit.delay_gates`` per square root of its bits), plus half a clock cycle to latch;
    callers divide by the number of cores working in parallel."""
    unit = tech.block("buffer_bit", bits)
    decode = unit.latency * np.sqrt(core_bits)
    return Cost(area=unit.area, energy=unit.energy / bits, latency=decode + 0.5 / clock,
                leakage=unit.leakage)


def dram(p: dict[str, Num]) -> Cost:
    """Off-chip DRAM interface; action: one bit transferred.  No on-chip area."""
    return Cost(area=0.0, energy=p["dram.energy_per_bit"], latency=1.0 / (8.0 * p["dram.bandwidth"]))
