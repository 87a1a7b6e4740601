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


def shift_register_bits(sample_bits: Num, serial_bits: Num) -> Num:
    """The running sum of ``serial_bits`` samples of ``sample_bits`` bits, plus the sign bit
    that subtracting a two's-complement input's sign plane needs."""
    return sample_bits + serial_bits + 1.0


def shift_add(tech: Tech, sample_bits: Num, serial_bits: Num) -> Cost:
    """Accumulates ``serial_bits`` bit-serial ADC samples of ``sample_bits`` bits: each sample is
    added to the upper bits of the running sum (an adder one bit wider than the sample) while
    the lower bits shift out into the rest of the register (all clocked every cycle).
    Action: one shift-and-add of one sample."""
    a = adder(tech, sample_bits + 1.0)
    r = register(tech, shift_register_bits(sample_bits, serial_bits))
    return Cost(area=a.area + r.area, energy=a.energy + r.energy, latency=a.latency + r.latency,
                leakage=a.leakage + r.leakage)


def adder_tree_bits(inputs: Num, width: Num) -> Num:
    """Full-adder bits of a tree summing ``inputs`` values of ``width`` bits: ``inputs - 1``
    adders, each as wide as the tree's output."""
    inputs = np.maximum(inputs, 1.0)
    return (inputs - 1.0) * (width + np.ceil(np.log2(inputs)))


def strip_area(edge: Num, unit_along: Num, unit_across: Num, units: Num) -> Num:
    """``units`` identical blocks laid out in rows along an edge of fixed length ``edge``
    (as many per row as fit), charged the whole strip, empty space included."""
    per_row = np.maximum(np.floor(edge / unit_along), 1.0)
    return edge * np.ceil(units / per_row) * unit_across


def adder_tree(tech: Tech, inputs: Num, width: Num) -> Cost:
    """Sums ``inputs`` partial sums of ``width`` bits.  Action: one full reduction.
    ``inputs - 1`` adders whose width grows by one bit per level; latency: one adder per level."""
    inputs = np.maximum(inputs, 1.0)
    levels = np.ceil(np.log2(inputs))
    out_width = width + levels
    unit = tech.block("adder_bit", adder_tree_bits(inputs, width))
    latency = levels * tech.delay(tech.p["circuits.adder_bit.delay_gates"]) * out_width
    return Cost(area=unit.area, energy=unit.energy, latency=latency, leakage=unit.leakage)


def activation_unit(tech: Tech, lanes: Num) -> Cost:
    """``lanes`` parallel activation-function lanes (ReLU/sigmoid look-up); action: one output."""
    unit = tech.block("activation_lane", lanes)
    return Cost(area=unit.area, energy=unit.energy / np.maximum(lanes, 1.0),
                latency=unit.latency, leakage=unit.leakage)
