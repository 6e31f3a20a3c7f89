"""graphcore.kernels.softmax: softmax cross-entropy from CE_WIDE scores on (numpy's exp between two
compiled loops) against the one-loop kernel and a float64 numpy reference."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore.kernels import nn as KN
from graphcore.kernels import softmax as KS


def _reference(scores, labels):
    s = scores.astype(np.float64)
    shifted = s - s.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(labels)
    loss = -logp[np.arange(n), labels].mean()
    d = np.exp(logp)
    d[np.arange(n), labels] -= 1.0
    return loss, d / n


def _graph(scores, labels):
    g = gc.Graph()
    s = g.add("input", name="s", value=scores)
    y = g.add("input", name="y", value=labels)
    g.add("softmax_cross_entropy", name="ce", inputs={"scores": s, "labels": y})
    return g


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, c", [(300, 3), (64, 10), (20, 3)])  # wide, wide, one-loop kernel
def test_the_op_matches_the_reference_on_either_path(n, c, dtype):
    rng = np.random.default_rng(n + c)
    scores = (rng.standard_normal((n, c)) * 4).astype(dtype)
    labels = rng.integers(0, c, n)
    assert (n * c >= KS.CE_WIDE) == (n != 20)
    ex = gc.Executor(_graph(scores, labels), dtype=dtype)
    want_loss, want_d = _reference(scores, labels)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    for _ in range(3):  # the first pass runs the rule, the others repeat its call
        ex.forward()
        ex.backward("ce")
        assert float(ex.value("ce")) == pytest.approx(want_loss, rel=tol)
        np.testing.assert_allclose(ex.grad("s"), want_d, rtol=tol, atol=tol)


@pytest.mark.parametrize("side", ["numba", "twin"])
def test_the_split_kernels_agree_with_the_one_loop_kernel(side):
    rng = np.random.default_rng(9)
    scores = rng.standard_normal((40, 16)) * 3
    labels = rng.integers(0, 16, 40)
    k = (lambda K: K.numba()) if side == "numba" else (lambda K: K.twin)
    d = np.empty_like(scores)
    picked, bad = k(KS.ce_shift)(scores, labels, d)
    assert bad == -1
    np.exp(d, out=d)
    loss = k(KS.ce_finish)(d, labels, picked)
    d1 = np.empty_like(scores)
    loss1, bad1 = KN.softmax_ce_fwd.numba()(scores, labels, d1)
    assert bad1 == -1 and loss == pytest.approx(loss1, rel=1e-13)
    np.testing.assert_allclose(d, d1, rtol=1e-13, atol=1e-15)


def test_a_bad_label_is_named_on_the_wide_path_and_nan_still_reaches_the_check():
    rng = np.random.default_rng(2)
    scores = rng.standard_normal((300, 3))
    labels = rng.integers(0, 3, 300)
    g = _graph(scores, labels)
    ex = gc.Executor(g)
    ex.forward()
    labels[17] = 3
    g.set_value(g.find("y"), labels)
    with pytest.raises(gc.GraphError, match="label 3 in row 17 is not a class index in 0..2"):
        ex.forward()
    labels[17] = 0
    scores[5, 1] = np.nan
    g.set_value(g.find("y"), labels)
    g.set_value(g.find("s"), scores)
    with pytest.raises(gc.NumericError):
        ex.forward()
