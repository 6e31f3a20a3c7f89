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


def test_a_plan_longer_than_max_steps_is_not_traced_and_gives_the_fresh_results(monkeypatch):
    """A trace is one generated function, whose compile grows faster than linearly with its length:
    plans longer than passtrace.MAX_STEPS run the generic loops (here with the limit made small)."""
    from graphcore import passtrace

    def chain(n):
        g = gc.Graph()
        prev = g.add("param", name="x", value=np.array([0.5, -1.0, 2.0]))
        for k in range(n):
            prev = g.add("tanh" if k % 2 else "sigmoid", inputs={"x": prev})
        g.add("sum", name="s", inputs={"x": prev})
        return g

    monkeypatch.setattr(passtrace, "MAX_STEPS", 6)
    for n, traced in ((4, True), (5, False)):  # 4 + 2 steps fit, 5 + 2 do not
        g = chain(n)
        ex = gc.Executor(g)
        for _ in range(3):
            ex.forward()
            ex.backward("s")
        assert (ex.traced_passes > 0) is traced and (ex._ftrace is not None) is traced
        fresh = gc.Executor(g)
        fresh.forward()
        fresh.backward("s")
        for nid in g.nodes:
            np.testing.assert_array_equal(ex.grads[nid], fresh.grads[nid])
            np.testing.assert_array_equal(ex.values[nid], fresh.values[nid])


def test_generated_binds_every_name_of_a_large_namespace():
    """stepctx.generated passes the namespace by position (by keyword, matching N names cost O(N^2):
    5.8 s for a 3,000-node trace): each name must still get its own value."""
    from graphcore.stepctx import generated

    ns = {f"v{k}": k * 3 for k in range(2000)}
    lines = ["        return " + " + ".join(f"v{k}" for k in (0, 7, 1999))]
    assert generated("def run():", lines, ns)() == 3 * (0 + 7 + 1999)
