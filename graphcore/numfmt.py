"""The one number formatter of Backprop Studio, shared by the command line and the GUI.

CS231n's notes print values like -8.00 and 0.73, so magnitudes in [0.01, 1000) get two
decimals; anything smaller or larger gets three significant digits in scientific form
(2.51e-05, 1.23e+04) so a regularisation loss of 2.5e-05 never reads 0.00.
"""
from __future__ import annotations

import math

FIXED_MIN = 0.01
FIXED_MAX = 1000.0


def fmt_number(x) -> str:
    """-8.00, 0.73, 0.00, 2.51e-05, 1.23e+04, NaN, +Inf, -Inf (accepts anything float() takes)."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0.0:
        return "0.00"  # also -0.0: a sign on zero only confuses
    ax = abs(x)
    if FIXED_MIN <= ax < FIXED_MAX:
        text = f"{x:.2f}"
        if text not in ("1000.00", "-1000.00"):  # 999.996 rounds up out of the fixed range
            return text
    return f"{x:.2e}"
