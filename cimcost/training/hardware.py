"""Hardware effects on training, read from the same floorplan and memory files as the cost model.

Every effect is off when its field is ``None`` (or 0 for the sigmas): :meth:`Hardware.ideal`
is plain floating-point training.

* weights: ``levels`` states between per-layer bounds ``±weight_range × init bound``;
  levels = min(2^precision.weight, memory.levels^cells), cells = ceil(weight / bits_per_cell).
  A desired change becomes a whole number of programming pulses (stochastic rounding by
  default, as WAGE/NeuroSim's gradient quantiser does), each pulse one level.
* non-linear asymmetric updates: the ELM paper's model (its eqs. 2-4); see :class:`DeviceArray`.
* cycle-to-cycle variation: every written cell's new conductance gets N(0, c2c_sigma × range).
* device-to-device variation: every device draws its own extrema, N(±range/2, d2d_sigma ×
  range) (the ELM paper's "extrema dispersion"); fixed matrices get a multiplicative spread.
* activations, errors, gradients: uniform quantisation to the floorplan's precisions, each
  tensor scaled to its own largest magnitude (dynamic fixed point).
* ADC: every matrix-vector product is split into chunks of ``subarray.rows`` inputs (the rows
  one subarray sums on its bit lines); each chunk's partial sums are quantised to 2^adc.bits
  levels over their range in the batch, then added digitally.  Transposed reads (BP's error
  pass) use ``subarray.cols`` and ``transposed_adc.bits`` (= ``adc.bits`` unless set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

# mid-range step of the non-linear model equals the linear step: kappa * 0.5 * exp(-0.5) = 1
KAPPA = 1.0 / (0.5 * math.exp(-0.5))
MEMORY_KNOBS = ("c2c_sigma", "d2d_sigma", "nonlinearity_ltp", "nonlinearity_ltd")
# every configuration field :meth:`Hardware.from_config` (and the training CLI's options) reads;
# a sweep trains once per distinct combination of these (tests/test_sweep_accuracy.py checks
# that changing any other numeric field leaves the hardware unchanged)
FLOORPLAN_FIELDS = ("precision.weight", "precision.activation", "precision.error",
                    "precision.gradient", "adc.bits", "subarray.rows", "subarray.cols",
                    "transposed_adc.bits", "training.feedback_matrix")
MEMORY_FIELDS = ("bits_per_cell", "levels", *MEMORY_KNOBS)


@dataclass(frozen=True)
class Hardware:
    weight_levels: int | None = None
    activation_bits: int | None = None
    error_bits: int | None = None
    gradient_bits: int | None = None
    adc_bits: int | None = None
    adc_rows: int | None = None
    transposed_adc_bits: int | None = None
    transposed_adc_rows: int | None = None
    c2c_sigma: float = 0.0
    d2d_sigma: float = 0.0
    nonlinearity_ltp: float = 0.0
    nonlinearity_ltd: float = 0.0
    weight_range: float = 2.0
    stochastic_rounding: bool = True

    @classmethod
    def ideal(cls) -> Hardware:
        return cls()

    @classmethod
    def from_config(cls, cfg: Any, **overrides: Any) -> Hardware:
        """Effects of a loaded :class:`cimcost.config.Config`; ``overrides`` replace fields."""
        fp, mem = cfg.floorplan, cfg.memory
        bits_per_cell = int(mem.bits_per_cell.value)
        cells = max(1, math.ceil(fp.precision.weight / bits_per_cell))
        cell_levels = int(mem.levels.value)
        levels = min(2 ** fp.precision.weight, cell_levels ** cells)

        def knob(name: str) -> float:
            field = getattr(mem, name, None)
            return float(field.value) if field is not None else 0.0

        hw = cls(weight_levels=max(2, levels), activation_bits=fp.precision.activation,
                 error_bits=fp.precision.error, gradient_bits=fp.precision.gradient,
                 adc_bits=fp.adc.bits, adc_rows=fp.subarray.rows,
                 transposed_adc_bits=fp.transposed_adc.bits if fp.transposed_adc.bits is not None
                 else fp.adc.bits, transposed_adc_rows=fp.subarray.cols,
                 c2c_sigma=knob("c2c_sigma"), d2d_sigma=knob("d2d_sigma"),
                 nonlinearity_ltp=knob("nonlinearity_ltp"), nonlinearity_ltd=knob("nonlinearity_ltd"))
        return replace(hw, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ------------------------------------------------------------------------------- quantisers


def quantize_range(x: np.ndarray, bits: int, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
    """At most 2^bits evenly spaced levels from ``lo`` to ``hi`` (both included)."""
    return quantize_levels(x, 1 << bits, lo, hi)


def quantize_levels(x: np.ndarray, levels: int, lo: np.ndarray | float,
                    hi: np.ndarray | float) -> np.ndarray:
    """``levels`` evenly spaced values from ``lo`` to ``hi`` (both included)."""
    steps = max(1, levels - 1)
    diff = np.asarray(hi) - np.asarray(lo)
    span = np.where(diff > 0, diff, 1.0)       # lo == hi: everything maps to lo
    k = np.rint((np.clip(x, lo, hi) - lo) * (steps / span))
    return (lo + k * (span / steps)).astype(x.dtype, copy=False)


def quantize_tensor(x: np.ndarray, bits: int | None) -> np.ndarray:
    """Dynamic fixed point: 2^bits levels over [0, max] for a non-negative tensor, else a
    symmetric grid of 2^bits - 1 levels over [-max|x|, max|x|] (sign and magnitude for 1 bit)."""
    if bits is None or x.size == 0:
        return x
    top = float(np.max(np.abs(x)))
    if top == 0.0:
        return x
    if float(np.min(x)) >= 0.0:
        return quantize_range(x, bits, 0.0, top)
    if bits == 1:
        return (np.sign(x) * top).astype(x.dtype, copy=False)
    half = (1 << (bits - 1)) - 1
    return (np.rint(x * (half / top)) * (top / half)).astype(x.dtype, copy=False)


def mvm(x: np.ndarray, w: np.ndarray, rows: int | None, bits: int | None) -> np.ndarray:
    """x @ w with each subarray's partial sum (``rows`` inputs) quantised by a ``bits``-bit ADC
    over the range of that chunk's sums in this batch, then added."""
    if bits is None:
        return x @ w
    n_in = x.shape[1]
    rows = n_in if rows is None or rows >= n_in else rows
    chunks = -(-n_in // rows)
    if chunks == 1:
        out = x @ w
        return quantize_range(out, bits, out.min(), out.max())
    pad = chunks * rows - n_in
    if pad:
        x = np.pad(x, ((0, 0), (0, pad)))
        w = np.pad(w, ((0, pad), (0, 0)))
    parts = np.matmul(x.reshape(x.shape[0], chunks, rows).transpose(1, 0, 2),
                      w.reshape(chunks, rows, w.shape[1]))          # (chunks, batch, out)
    lo = parts.min(axis=(1, 2), keepdims=True)
    hi = parts.max(axis=(1, 2), keepdims=True)
    return quantize_range(parts, bits, lo, hi).sum(axis=0)


# ------------------------------------------------------------------------------- devices


class DeviceArray:
    """One layer's weights as programmable devices.

    With ``hw.weight_levels`` None the weights are plain floats and :meth:`apply` adds the
    change.  Otherwise device (i, j) holds a conductance on ``levels`` states between its
    extrema lo[i, j] .. hi[i, j]; the weight is that conductance mapped linearly to weight
    units.  A change becomes n pulses (n whole, |n| <= levels - 1); with normalised state
    g = (w - lo) / (hi - lo) and linear step s = 1 / (levels - 1), a pulse moves g by

        SET   (n > 0):  s * [(1 - nu_ltp) + nu_ltp * kappa * (1 - g) * exp(-g)]
        RESET (n < 0): -s * [(1 - nu_ltd) + nu_ltd * kappa * g * exp(-g)]

    i.e. the perfect model (eq. 1) at nu = 0 and the ELM paper's non-linear, state-dependent,
    asymmetric model (eqs. 2-4, beta_SET = alpha (G_max - G) dG_L, beta_RESET = alpha (G -
    G_min) dG_L, times exp(-G/r)) at nu = 1, with alpha = kappa = 2 e^0.5 so that a mid-range
    pulse equals the linear step.  n pulses are integrated with one midpoint step.  Then every
    written cell gets cycle-to-cycle noise N(0, c2c_sigma * (hi - lo)) (eq. 13 in spirit; the
    main paper's "sigma over the conductance range")."""

    def __init__(self, w0: np.ndarray, bound: float, hw: Hardware, rng: np.random.Generator,
                 trainable: bool = True) -> None:
        self.hw = hw
        self.levels = hw.weight_levels
        self.rng = rng
        self.trainable = trainable
        dtype = w0.dtype
        if not trainable:   # a fixed random layer (ELM): stored once, spread by d2d variation
            self.w = fixed_matrix(w0, hw, rng, in_cim=True)
            self.lo = self.hi = self.step = np.zeros((), dtype)
            return
        if self.levels is None:
            self.w = w0.copy()
            self.lo = self.hi = self.step = np.zeros((), dtype)
            return
        wmax = hw.weight_range * bound
        if hw.d2d_sigma:
            lo = -wmax + hw.d2d_sigma * 2 * wmax * rng.standard_normal(w0.shape)
            hi = wmax + hw.d2d_sigma * 2 * wmax * rng.standard_normal(w0.shape)
            hi = np.maximum(hi, lo + 0.1 * wmax)
            self.lo, self.hi = lo.astype(dtype), hi.astype(dtype)
        else:
            self.lo, self.hi = np.asarray(-wmax, dtype), np.asarray(wmax, dtype)
        self.step = ((self.hi - self.lo) / (self.levels - 1)).astype(dtype)
        k = np.rint((np.clip(w0, self.lo, self.hi) - self.lo) / self.step)
        self.w = (self.lo + k * self.step).astype(dtype)

    def pulse_size(self) -> np.ndarray:
        """Weight change of one programming pulse (per device, or one number)."""
        return self.step

    def apply(self, delta: np.ndarray) -> None:
        """Program the change ``delta`` (weight units) into the devices."""
        if not self.trainable:
            return
        if self.levels is None:
            self.w += delta
            return
        hw = self.hw
        n = delta / self.step
        # stochastic rounding is unbiased: E[n] = delta / step
        n = np.floor(n + self.rng.random(n.shape, dtype=n.dtype)) if hw.stochastic_rounding \
            else np.rint(n)
        np.clip(n, -(self.levels - 1), self.levels - 1, out=n)
        if hw.nonlinearity_ltp or hw.nonlinearity_ltd:
            span = self.hi - self.lo
            g = (self.w - self.lo) / span
            s = n / (self.levels - 1)
            g_mid = g + 0.5 * s * self._rate(g, n)
            change = s * self._rate(np.clip(g_mid, 0.0, 1.0), n) * span
        else:
            change = n * self.step
        if hw.c2c_sigma:
            written = n != 0
            noise = self.rng.standard_normal(n.shape, dtype=n.dtype) * (hw.c2c_sigma * (self.hi - self.lo))
            change = change + noise * written
        self.w = np.clip(self.w + change, self.lo, self.hi).astype(self.w.dtype, copy=False)

    def _rate(self, g: np.ndarray, n: np.ndarray) -> np.ndarray:
        nu_p, nu_d = abs(self.hw.nonlinearity_ltp), abs(self.hw.nonlinearity_ltd)
        decay = np.exp(-g)
        set_rate = (1.0 - nu_p) + nu_p * KAPPA * (1.0 - g) * decay
        reset_rate = (1.0 - nu_d) + nu_d * KAPPA * g * decay
        return np.maximum(np.where(n > 0, set_rate, reset_rate), 0.0)


def fixed_matrix(m: np.ndarray, hw: Hardware, rng: np.random.Generator, in_cim: bool) -> np.ndarray:
    """A fixed random matrix as stored: on ``weight_levels`` levels over its own range when it
    lives in CIM arrays, with device-to-device spread."""
    out = m
    if in_cim and hw.weight_levels is not None:
        top = float(np.max(np.abs(m))) or 1.0
        out = quantize_levels(m, hw.weight_levels, -top, top)
    if in_cim and hw.d2d_sigma:
        out = out * (1.0 + hw.d2d_sigma * rng.standard_normal(m.shape))
    return out.astype(m.dtype, copy=False)
