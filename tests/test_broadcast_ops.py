"""Binary gates over broadcast operands: add, sub, mul and div broadcast through numpy's ufuncs
(no copy of an operand at the output's shape) with the same bits as the kernels on full arrays."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc


def _net(op: str, a: np.ndarray, b: np.ndarray):
    g = gc.Graph()
    na = g.add("input", name="a", value=a)
    nb = g.add("input", name="b", value=b)
    m = g.add(op, name="m", inputs={"a": na, "b": nb})
    t = g.add("sum", name="t", inputs={"x": m})  # its gradient reaches m as a zero-stride view
    ex = gc.Executor(g)
    ex.forward()
    grads = ex.backward(t)
    return ex, m, ex.values[m], grads[na], grads[nb]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "max", "min"])
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float64"), ("float32", "float32")])
def test_a_broadcast_gives_the_bits_of_the_full_size_operands(op, dtypes):
    rng = np.random.default_rng(7)
    a = rng.uniform(0.5, 2.0, (80, 1)).astype(dtypes[0])
    b = rng.uniform(-2.0, -0.5, (1, 60)).astype(dtypes[1])
    _, _, out, ga, gb = _net(op, a, b)
    full_a = np.ascontiguousarray(np.broadcast_to(a, (80, 60)))
    full_b = np.ascontiguousarray(np.broadcast_to(b, (80, 60)))
    _, _, out_full, ga_full, gb_full = _net(op, full_a, full_b)
    assert out.dtype == out_full.dtype and np.array_equal(out, out_full)
    assert np.array_equal(ga, gc.unbroadcast(ga_full, a.shape)) and ga.shape == a.shape
    assert np.array_equal(gb, gc.unbroadcast(gb_full, b.shape)) and gb.shape == b.shape


@pytest.mark.parametrize("op,held", [("add", 1), ("sub", 3), ("mul", 3), ("div", 3), ("max", 5)])
def test_a_broadcast_holds_no_copy_of_its_operands(op, held):
    """(n, 1) op (1, n): the output and the two full-size input gradients (none for add), not also
    each operand copied at (n, n); max still copies (its kernel has no broadcasting twin)."""
    n = 100
    ex, m, *_ = _net(op, np.ones((n, 1)), np.full((1, n), 2.0))
    st = next(s for s in ex.plan() if s.nid == m)
    arrays = list(st.ctx.bufs.values()) + [ex._values[m]]  # the buffers, not read-only views
    assert sum({id(x): x.nbytes for x in arrays}.values()) == held * n * n * 8
