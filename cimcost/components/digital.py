"""Digital periphery: adders, shift-add, adder trees, registers, activation units."""

from __future__ import annotations

import numpy as np

from .base import Cost, Num, Tech


def adder(tech: Tech, width: Num) -> Cost:
    """A ripple-carry adder of ``width`` bits; action: one addition."""
    unit = tech.block("adder_bit", width)
    return Cost(area=unit.area, energy=unit.energy, latency=unit.latency * width,
                leakage=unit.leakage)


def register(tech: Tech, width: Num) -> Cost:
    unit = tech.block("register_bit", width)
    return Cost(area=unit.area, energy=unit.energy, latency=unit.latency, leakage=unit.leakage)


def shift_add(tech: Tech, sample_bits: Num, serial_bits: Num) -> Cost:
    """Accumulates ``serial_bits`` bit-serial ADC samples of ``sample_bits`` bits: each sample is
    added to the upper bits of the running sum (an adder one bit wider than the sample) while
    the lower bits shift out into the rest of the register (``sample_bits + serial_bits`` bits,
    all clocked every cycle).  Action: one shift-and-add of one sample."""
    a = adder(tech, sample_bits + 1.0)
    r = register(tech, sample_bits + serial_bits)
    return Cost(area=a.area + r.area, energy=a.energy + r.energy, latency=a.latency + r.latency,
                leakage=a.leakage + r.leakage)


def adder_tree(tech: Tech, inputs: Num, width: Num) -> Cost:
    """Sums ``inputs`` partial sums of ``width`` bits.  Action: one full reduction.
    ``inputs - 1`` adders whose width grows by one bit per level; latency: one adder per level."""
    inputs = np.maximum(inputs, 1.0)
    levels = np.ceil(np.log2(inputs))
    out_width = width + levels
    adders = inputs - 1.0
    unit = tech.block("adder_bit", adders * out_width)
    latency = levels * tech.delay(tech.p["circuits.adder_bit.delay_gates"]) * out_width
    return Cost(area=unit.area, energy=unit.energy, latency=latency, leakage=unit.leakage)


def activation_unit(tech: Tech, lanes: Num) -> Cost:
    """``lanes`` parallel activation-function lanes (ReLU/sigmoid look-up); action: one output."""
    unit = tech.block("activation_lane", lanes)
    return Cost(area=unit.area, energy=unit.energy / np.maximum(lanes, 1.0),
                latency=unit.latency, leakage=unit.leakage)
