"""Analog-to-digital converters: flash (multi-level sense amplifier) and SAR."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def flash_encoder_shape(tech: Tech, bits: Num) -> tuple[Num, Num]:
    """Height and width of a flash ADC's encoder: one standard-cell row per reference level,
    each row as wide as its gates' poly pitches (the widest gate takes half the levels)."""
    p = tech.p
    levels = np.exp2(bits) - 1.0
    height = levels * p["circuits.std_cell_height_f"] * tech.F
    width = (p["circuits.encoder_fixed_pitches"]
             + p["circuits.encoder_pitches_per_level"] * (levels + 1.0)) \
        * p["circuits.encoder_gate_pitch_f"] * tech.F
    return height, width


def flash_adc(tech: Tech, bits: Num) -> Cost:
    """A flash ADC is 2^b - 1 sense amplifiers against reference levels plus a thermometer
    encoder: energy grows with the levels, area with the levels for the sense amplifiers and
    with their square for the encoder (one standard-cell row per level, each row's widest gate
    taking half the levels as inputs); latency grows with log2 of the levels."""
    levels = np.exp2(bits) - 1.0
    sa = tech.block("sense_amp", levels)
    height, width = flash_encoder_shape(tech, bits)
    encoder_f2 = height * width / tech.F**2
    encoder_delay = tech.delay(tech.p["circuits.adder_bit.delay_gates"]) * bits
    return Cost(area=sa.area + tech.area(encoder_f2), energy=sa.energy,
                latency=sa.latency + encoder_delay, leakage=sa.leakage + tech.leakage(encoder_f2))


def sar_adc(tech: Tech, bits: Num) -> Cost:
    """A successive-approximation ADC resolves one bit per cycle: area, energy and latency
    all grow linearly with bits."""
    unit = tech.block("sar_bit", bits)
    return Cost(area=unit.area, energy=unit.energy, latency=unit.latency * bits,
                leakage=unit.leakage)


def adc(tech: Tech, bits: Num, sar: bool) -> Cost:
    return sar_adc(tech, bits) if sar else flash_adc(tech, bits)
