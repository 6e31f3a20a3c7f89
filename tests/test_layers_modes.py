"""Layers that differ between training and evaluation: batchnorm (values, running statistics, float32)
and dropout (mask, seed, identity in eval), and the one executor switch between the modes."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore import kernels
from layer_helpers import NET_TOL, TOL, head, one_op


# ---------------------------------------------------------------- batchnorm
def bn_reference(x, gamma, beta, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    return gamma.reshape(shape) * (x - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) + beta.reshape(shape), mu, var


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 4, 5)])
def test_batchnorm_train_values_running_stats_and_eval(backend, shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape) * 3 + 2
    kernels.use(backend)
    try:
        g, xi, o = one_op("batchnorm", x, momentum=0.9)
        c = shape[1]
        gamma, beta = 1 + rng.random(c), rng.standard_normal(c)
        g.set_weights(o, gamma=gamma, beta=beta)
        assert set(g.weights(o)) == {"gamma", "beta"}
        assert set(g.state(o)) == {"running_mean", "running_var"}
        ex = gc.Executor(g)
        ex.forward()
        want, mu, var = bn_reference(x, gamma, beta)
        np.testing.assert_allclose(ex.value(o), want, rtol=1e-10, atol=1e-12)
        st = g.state(o)
        np.testing.assert_allclose(st["running_mean"], 0.1 * mu, rtol=1e-12)
        np.testing.assert_allclose(st["running_var"], 0.9 + 0.1 * var, rtol=1e-12)
        # eval mode: the running statistics, not the batch's
        ex.mode = "eval"
        ex.forward()
        shp = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
        rm, rv = st["running_mean"].reshape(shp), st["running_var"].reshape(shp)
        np.testing.assert_allclose(ex.value(o), gamma.reshape(shp) * (x - rm) / np.sqrt(rv + 1e-5) + beta.reshape(shp),
                                   rtol=1e-10)
        np.testing.assert_allclose(g.state(o)["running_mean"], 0.1 * mu)  # eval does not update them
    finally:
        kernels.use("numba")


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3, 3)])
def test_batchnorm_gradcheck_in_a_network(mode, shape):
    rng = np.random.default_rng(3)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal(shape) + 0.5)
    bn = g.add("batchnorm", name="bn", inputs={"x": x})
    g.set_weights(bn, gamma=0.5 + 0.5 * rng.random(shape[1]), beta=0.1 * rng.standard_normal(shape[1]))
    # running statistics near the data's, so that tanh after it does not saturate in eval mode
    g.set_tensor(bn, "running_mean", 0.5 + 0.1 * rng.standard_normal(shape[1]))
    g.set_tensor(bn, "running_var", 0.5 + rng.random(shape[1]))
    t = g.add("tanh", inputs={"x": bn})
    loss = head(g, t, n=shape[0])
    report = gc.gradcheck(g, target=loss, mode=mode)
    assert {f"{bn}/gamma", f"{bn}/beta", x} <= set(report.errors)
    assert report.max_error < NET_TOL, report.worst()


def test_batchnorm_float32():
    x = np.random.default_rng(4).standard_normal((8, 3, 4, 4))
    g, xi, o = one_op("batchnorm", x)
    ex = gc.Executor(g, dtype=np.float32)
    ex.forward()
    ex.backward(o)
    assert ex.value(o).dtype == np.float32 and ex.weight_grad(o, "gamma").dtype == np.float32
    np.testing.assert_allclose(ex.value(o), bn_reference(x, np.ones(3), np.zeros(3))[0], atol=1e-5)


# ------------------------------------------------------------------ dropout
def test_dropout_train_mask_eval_identity_and_seed():
    x = np.random.default_rng(5).standard_normal((200, 50)) + 3.0
    g, xi, o = one_op("dropout", x, p=0.8)
    ex = gc.Executor(g)
    ex.forward()
    out = ex.value(o).copy()
    kept = out != 0
    assert abs(kept.mean() - 0.8) < 0.02  # 5 standard deviations
    np.testing.assert_allclose(out[kept], x[kept] / 0.8)
    # gradient: the same mask
    ex.backward(o)
    np.testing.assert_allclose(ex.grad(xi), kept / 0.8)
    # a fresh mask on the next pass, the same masks from the same seed
    ex.forward()
    assert not np.array_equal(ex.value(o) != 0, kept)
    ex2 = gc.Executor(g)
    ex2.forward()
    np.testing.assert_array_equal(ex2.value(o), out)
    # eval mode: identity, gradient unchanged
    ex.mode = "eval"
    ex.forward()
    ex.backward(o)
    np.testing.assert_array_equal(ex.value(o), x)
    np.testing.assert_array_equal(ex.grad(xi), np.ones_like(x))


def test_dropout_gradcheck_with_a_fixed_mask():
    rng = np.random.default_rng(6)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((4, 6)))
    h = g.add("linear", name="h", inputs={"x": x}, units=8)
    d = g.add("dropout", inputs={"x": h}, p=0.6)
    loss = head(g, d, n=4)
    report = gc.gradcheck(g, target=loss)
    assert report.max_error < TOL, report.worst()


def test_mode_is_one_switch_on_the_executor():
    x = np.random.default_rng(7).standard_normal((6, 4))
    g = gc.Graph()
    xi = g.add("input", value=x)
    bn = g.add("batchnorm", inputs={"x": xi})
    d = g.add("dropout", inputs={"x": bn}, p=0.5)
    ex = gc.Executor(g, mode="eval")
    ex.forward()
    np.testing.assert_allclose(ex.value(d), x / np.sqrt(1 + 1e-5))  # running stats 0/1, no dropout
    ex.mode = "train"
    ex.forward()
    assert np.count_nonzero(ex.value(d) == 0) > 0
