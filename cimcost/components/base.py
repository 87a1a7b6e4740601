"""Technology primitives shared by the component models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Num = Any  # a float or a numpy array of floats; every formula broadcasts


@dataclass(frozen=True)
class Cost:
    """One component instance: area [m^2], energy per action [J], latency per action [s],
    leakage power while powered [W]."""

    area: Num
    energy: Num
    latency: Num
    leakage: Num = 0.0


class Tech:
    """SI primitives derived from a flat parameter mapping (keys ``tech.*`` and ``circuits.*``).

    A circuit block is described node-independently (area in F^2, energy in switched minimum
    gates, delay in minimum-gate delays); this class turns those into m^2, J and s for the node.
    """

    def __init__(self, p: dict[str, Num]) -> None:
        self.p = p
        self.F = p["tech.feature_size"]
        self.vdd = p["tech.vdd"]
        c_per_w = p["tech.gate_capacitance_per_width"] + p["tech.drain_capacitance_per_width"]
        self.c_gate = c_per_w * self.F  # one minimum transistor, gate + drain
        # an access device's drain: along its (minimum) width plus the diffusion's end walls
        self.c_drain = (p["tech.drain_capacitance_per_width"] * self.F
                        + p["tech.drain_capacitance_fixed"])
        self.e_gate = self.c_gate * self.vdd**2
        self.t_gate = self.c_gate * self.vdd / (p["tech.on_current_n_per_width"] * self.F)
        self.leak_per_transistor = p["tech.off_current_per_width"] * self.F * self.vdd
        self.transistor_f2 = p["circuits.transistor_area_f2"]
        self.cal_area = p["tech.calibration.area"]
        self.cal_energy = p["tech.calibration.energy"]
        self.cal_latency = p["tech.calibration.latency"]
        self.wire_r = p["tech.wire_resistance_per_length"]
        self.wire_c = p["tech.wire_capacitance_per_length"]
        self.wire_pitch = p["tech.wire_pitch"]

    def area(self, f2: Num) -> Num:
        return f2 * self.F**2 * self.cal_area

    def energy(self, gates: Num) -> Num:
        return gates * self.e_gate * self.cal_energy

    def delay(self, gates: Num) -> Num:
        return gates * self.t_gate * self.cal_latency

    def leakage(self, f2: Num) -> Num:
        """Sub-threshold leakage of logic occupying ``f2`` F^2 (transistor density from circuits)."""
        return f2 / self.transistor_f2 * self.leak_per_transistor

    def block(self, name: str, count: Num = 1.0) -> Cost:
        """``count`` copies of a named circuit block acting together once."""
        f2 = self.p[f"circuits.{name}.area_f2"] * count
        return Cost(
            area=self.area(f2),
            energy=self.energy(self.p[f"circuits.{name}.energy_gates"] * count
                               + self.p[f"circuits.{name}.fixed_energy_gates"]),
            latency=self.delay(self.p[f"circuits.{name}.delay_gates"]),
            leakage=self.leakage(f2),
        )

    def repeated_wire_delay(self, length: Num) -> Num:
        """Delay of an optimally repeated wire (Bakoglu): ~2.5 sqrt(R0 C0 r c) per unit length."""
        return 2.5 * length * np.sqrt(self.t_gate * self.wire_r * self.wire_c) * self.cal_latency
