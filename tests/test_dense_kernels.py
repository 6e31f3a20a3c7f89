"""graphcore.kernels.dense: a small linear layer's forward and backward loops against BLAS
(np.dot) in float64, over both loop orders of each product, and the linear op on either side
of DENSE_SMALL."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore.kernels import dense as KD

# (N, K, M): outputs wider than inputs (row loops; odd K and N leave one row for a pass alone),
# narrower (dot products), square, one row, no rows
SHAPES = [(5, 2, 7), (7, 3, 8), (6, 9, 3), (3, 9, 4), (4, 4, 4), (1, 3, 2), (0, 3, 2)]
TOL = {np.float64: 1e-12, np.float32: 2e-5}


def _reference(x, W, b, g):
    x64, W64, g64 = (a.astype(np.float64) for a in (x, W, g))
    return x64 @ W64 + b.astype(np.float64), x64.T @ g64, g64.sum(axis=0), g64 @ W64.T


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("side", ["numba", "twin"])
def test_loops_and_twins_match_blas(shape, dtype, side):
    n, k, m = shape
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    x, W, b, g = (rng.standard_normal(s).astype(dtype) for s in ((n, k), (k, m), (m,), (n, m)))
    fwd = KD.linear_fwd.numba() if side == "numba" else KD.linear_fwd.twin
    bwd = KD.linear_bwd.numba() if side == "numba" else KD.linear_bwd.twin
    out, dW, db, dx = np.full((n, m), np.nan, dtype), np.full((k, m), np.nan, dtype), \
        np.full(m, np.nan, dtype), np.full((n, k), np.nan, dtype)
    T = np.full((m, k), np.nan, dtype)
    fwd(x, W, b, out, T)
    bwd(x, g, W, dW, db, dx, T)
    want = _reference(x, W, b, g)
    for got, ref, what in zip((out, dW, db, dx), want, ("out", "dW", "db", "dx")):
        np.testing.assert_allclose(got, ref, rtol=TOL[dtype], atol=TOL[dtype], err_msg=what)
    # dx with no rows: not wanted, nothing written, the weight gradients still computed
    dW2 = np.full((k, m), np.nan, dtype)
    bwd(x, g, W, dW2, db, np.empty((0, k), dtype), T)
    np.testing.assert_allclose(dW2, want[1], rtol=TOL[dtype], atol=TOL[dtype])


def test_nan_and_inf_propagate_through_the_loops():
    """fastmath allows reassociation only: a NaN or Inf in an operand still reaches the result."""
    x = np.ones((3, 4))
    W = np.ones((4, 2))
    W[1, 0] = np.nan
    W[2, 1] = np.inf
    out, T = np.empty((3, 2)), np.empty((2, 4))
    KD.linear_fwd.numba()(x, W, np.zeros(2), out, T)
    assert np.isnan(out[:, 0]).all() and np.isposinf(out[:, 1]).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, d, units", [(32, 2, 100), (300, 100, 3), (64, 512, 10)])
def test_linear_op_matches_numpy_on_either_side_of_the_threshold(n, d, units, dtype):
    """The spiral net's layers use the loops, the 512 -> 10 layer BLAS; both give x W + b and
    its gradients, repeated passes included (the executor repeats the recorded call)."""
    assert (n * d * units <= KD.DENSE_SMALL) == (units != 10)
    rng = np.random.default_rng(n + d)
    X = rng.standard_normal((n, d))
    g = gc.Graph()
    x = g.add("input", name="x", value=X)
    lin = g.add("linear", name="fc", inputs={"x": x}, units=units)
    g.add("sum", name="s", inputs={"x": lin})
    ex = gc.Executor(g, dtype=dtype)
    W, b = g.nodes[lin].tensors["W"], g.nodes[lin].tensors["b"]
    with g.editing(lin) as arrays:
        arrays["b"][...] = rng.standard_normal(units)
    for _ in range(3):
        ex.forward()
        ex.backward("s")
    tol = TOL[dtype] * 10
    W64, b64 = W.astype(dtype).astype(np.float64), b.astype(dtype).astype(np.float64)
    X64 = X.astype(dtype).astype(np.float64)
    np.testing.assert_allclose(ex.value("fc"), X64 @ W64 + b64, rtol=tol, atol=tol)
    np.testing.assert_allclose(ex.weight_grad("fc", "W"), X64.T @ np.ones((n, units)), rtol=tol, atol=tol)
    np.testing.assert_allclose(ex.weight_grad("fc", "b"), np.full(units, n), rtol=tol, atol=tol)
    np.testing.assert_allclose(ex.grad("x"), np.ones((n, units)) @ W64.T, rtol=tol, atol=tol)
