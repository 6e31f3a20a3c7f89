"""Warm executors against fresh ones, after the sequences a differential fuzzer found to differ:
each test is a minimal repro of one bug, checked against a fresh executor on the same graph."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc


def test_backward_after_a_forward_that_raised_numeric_error_raises_it_again():
    """forward() found a NaN and raised; backward() must not start from that pass's values (a fresh
    executor runs forward, which raises): it used to return gradients of the NaN pass."""
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([-1.0, 2.0]))
    lg = g.add("log", name="lg", inputs={"x": x})
    g.add("sum", name="s", inputs={"x": lg})
    for stepped in (False, True):
        ex = gc.Executor(g)
        with pytest.raises(gc.NumericError) as first:
            if stepped:
                list(ex.steps("s", backward=False))
            else:
                ex.forward()
        with pytest.raises(gc.NumericError) as fresh:
            gc.Executor(g).backward("s")
        with pytest.raises(gc.NumericError) as warm:
            ex.backward("s")
        assert str(warm.value) == str(fresh.value) == str(first.value)
        assert "forward" in str(warm.value) and "'lg'" in str(warm.value)
