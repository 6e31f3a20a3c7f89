"""graphcore.fmt_number: the one number formatter (CLI and GUI)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphcore as gc
from graphcore.numfmt import fmt_number


@pytest.mark.parametrize("x, text", [
    (-8.0, "-8.00"), (0.73, "0.73"), (0.0, "0.00"), (-0.0, "0.00"), (2, "2.00"), (np.float32(6.0), "6.00"),
    (0.01, "0.01"), (999.99, "999.99"), (1000.0, "1.00e+03"), (12345.0, "1.23e+04"), (2.51e-05, "2.51e-05"),
    (2.5e-05, "2.50e-05"), (0.00999, "9.99e-03"), (-3e-4, "-3.00e-04"), (999.996, "1.00e+03"),
    (float("nan"), "NaN"), (float("inf"), "+Inf"), (-math.inf, "-Inf"), (np.array(1.5), "1.50"),
])
def test_examples(x, text):
    assert fmt_number(x) == text


def test_exported_from_graphcore():
    assert gc.fmt_number is fmt_number


finite = st.floats(min_value=-1e300, max_value=1e300)  # 1.795e308 rounds to 1.80e+308, past the largest float


@given(finite)
def test_reads_back_close_to_the_number(x):
    """Two decimals are off by at most half a cent; three significant digits by half a per cent."""
    text = fmt_number(x)
    back = float(text)
    if "e" in text:
        assert abs(back - x) <= 5e-3 * abs(x) * (1 + 1e-9)
    else:
        assert abs(back - x) <= 0.005 + 1e-9 * abs(x)


@given(finite)
def test_form_follows_the_magnitude(x):
    text = fmt_number(x)
    if x != 0 and not 0.01 <= abs(x) < 1000:
        mantissa = text.split("e")[0].lstrip("-")
        assert "e" in text and len(mantissa) == 4 and 1 <= float(mantissa) <= 10
    else:
        assert "e" not in text and len(text.split(".")[1]) == 2
    assert not text.startswith("-") or x < 0  # never "-0.00"


@given(finite)
def test_sign_is_symmetric(x):
    if x > 0:
        assert fmt_number(-x) == "-" + fmt_number(x)
