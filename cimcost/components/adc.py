"""Analog-to-digital converters: flash (multi-level sense amplifier) and SAR."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def flash_adc(tech: Tech, bits: Num) -> Cost:
    """A flash ADC is 2^b - 1 sense amplifiers against reference levels plus a thermometer
    encoder: area and energy grow exponentially with bits, latency with log2 of the levels."""
    levels = np.exp2(bits) - 1.0
    sa = tech.block("sense_amp", levels)
    encoder_delay = tech.delay(tech.p["circuits.adder_bit.delay_gates"]) * bits
    return Cost(area=sa.area, energy=sa.energy, latency=sa.latency + encoder_delay,
                leakage=sa.leakage)


def sar_adc(tech: Tech, bits: Num) -> Cost:
    """A successive-approximation ADC resolves one bit per cycle: area, energy and latency
    all grow linearly with bits."""
    unit = tech.block("sar_bit", bits)
    return Cost(area=unit.area, energy=unit.energy, latency=unit.latency * bits,
                leakage=unit.leakage)


def adc(tech: Tech, bits: Num, sar: bool) -> Cost:
    return sar_adc(tech, bits) if sar else flash_adc(tech, bits)
