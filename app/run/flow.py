"""Wire styling during a backward pass: width from |gradient| on a log scale, colour from its sign,
a dimmed wire for a gradient that is exactly zero (the max gate's loser, a dead ReLU).

Pure presentation: it reads a gradient array graphcore computed and returns a style. The canvas
draws it (EdgeItem.set_flow) with the theme's colours for a positive and a negative gradient.
A log scale matters: 1e-3 and 1e-1 (a saturated sigmoid against a healthy one) must look different.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_WIDTH = 1.5
MAX_WIDTH = 7.0
LOG_LO = -4.0  # |g| = 1e-4 and below draws at MIN_WIDTH
LOG_HI = 2.0  # |g| = 100 and above draws at MAX_WIDTH

ZERO_OPACITY = 0.35  # exactly zero: drawn dimmed
CHECK_OK = "#2fb344"  # gradient check: green
CHECK_BAD = "#e03131"  # gradient check: red


@dataclass(frozen=True)
class FlowStyle:
    magnitude: float  # mean |g| over the elements
    sign: int  # +1, -1, or 0
    zero: bool  # every element exactly zero
    width: float
    opacity: float


def magnitude_and_sign(g) -> tuple[float, int, bool]:
    """(mean |g|, sign of the sum, all exactly zero) of a gradient array."""
    a = np.asarray(g, dtype=np.float64)
    if a.size == 0:
        return 0.0, 0, True
    absmean = float(np.mean(np.abs(a)))
    if not math.isfinite(absmean):
        return float("inf"), 0, False
    zero = not np.any(a)
    total = float(np.sum(a))
    sign = 0 if zero else (1 if total > 0 else (-1 if total < 0 else 0))
    return absmean, sign, zero


def width_for(magnitude: float) -> float:
    """Log-scale width: each factor of 10 in |g| adds the same thickness."""
    if magnitude <= 0.0:
        return MIN_WIDTH
    if not math.isfinite(magnitude):
        return MAX_WIDTH
    t = (math.log10(magnitude) - LOG_LO) / (LOG_HI - LOG_LO)
    t = min(1.0, max(0.0, t))
    return MIN_WIDTH + t * (MAX_WIDTH - MIN_WIDTH)


def style_for(g) -> FlowStyle:
    mag, sign, zero = magnitude_and_sign(g)
    if zero:
        return FlowStyle(0.0, 0, True, MIN_WIDTH, ZERO_OPACITY)
    return FlowStyle(mag, sign, False, width_for(mag), 1.0)


def check_color(rel_error: float | None, tolerance: float) -> str | None:
    """Green when a wire's gradient agrees with finite differences, red when not, None unchecked."""
    if rel_error is None:
        return None
    return CHECK_OK if rel_error < tolerance else CHECK_BAD
