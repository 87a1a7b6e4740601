"""Convert SI values to human units, only at the edge (reports)."""

from __future__ import annotations

import math

_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
             (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a")]


def si(value: float, unit: str, digits: int = 4) -> str:
    """``si(2.3e-5, 's')`` -> ``'23 µs'``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}"
    scale, prefix = _PREFIXES[-1]
    return f"{value / scale:.{digits}g} {prefix}{unit}"


def area(m2: float) -> str:
    """Chip areas read best in mm² (or µm² when tiny)."""
    if m2 == 0:
        return "0 mm²"
    if abs(m2) >= 1e-8:
        return f"{m2 * 1e6:.4g} mm²"
    return f"{m2 * 1e12:.4g} µm²"


def data(n_bytes: float) -> str:
    return si(n_bytes, "B")


def share(part: float, total: float) -> str:
    return f"{100.0 * part / total:.1f} %" if total else "–"


def common_scale(values: list[float], scales: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    """One prefix for a set of values (a table column, a plot axis): the first ``(factor,
    label)`` under which the biggest value is still >= 1, so numbers read 0.5-999."""
    top = max((abs(v) for v in values), default=0.0)
    for factor, label in scales:
        if top * factor >= 1:
            return factor, label
    return scales[-1]
