"""Convolution and pooling: forward values against naive reference loops, gradients against centred
differences (inside small networks), numba kernels against their numpy twins, and shape errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore import kernels
from graphcore.problems import GraphError
from layer_helpers import NET_TOL, TOL, head, one_op


def naive_conv(x, W, b, stride, pad):
    n, c, h, w = x.shape
    f, _, k, _ = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h - k + 2 * pad) // stride + 1, (w - k + 2 * pad) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = np.tensordot(patch, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def naive_pool(x, size, stride, fn):
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = fn(x[:, :, i * stride:i * stride + size, j * stride:j * stride + size], axis=(2, 3))
    return out


# ------------------------------------------------------------------- conv2d
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("shape,f,k,stride,pad", [
    ((2, 1, 8, 8), 4, 3, 1, 1), ((3, 2, 7, 7), 3, 3, 2, 0), ((2, 3, 6, 5), 2, 3, 1, 0),
    ((2, 2, 9, 9), 3, 5, 2, 2), ((1, 2, 4, 4), 2, 1, 1, 0)])
def test_conv_forward_matches_naive_loops(backend, shape, f, k, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    kernels.use(backend)
    try:
        g, xi, o = one_op("conv2d", x, filters=f, size=k, stride=stride, pad=pad)
        g.set_weights(o, b=rng.standard_normal(f))
        ex = gc.Executor(g)
        ex.forward()
        w = g.weights(o)
        np.testing.assert_allclose(ex.value(o), naive_conv(x, w["W"], w["b"], stride, pad), rtol=1e-12, atol=1e-12)
    finally:
        kernels.use("numba")


@pytest.mark.parametrize("stride,pad", [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_conv_gradcheck_in_a_network(stride, pad):
    rng = np.random.default_rng(stride * 10 + pad)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((2, 2, 7, 7)))
    c = g.add("conv2d", name="conv", inputs={"images": x}, filters=3, size=3, stride=stride, pad=pad)
    g.set_weights(c, b=rng.standard_normal(3) * 0.1)
    t = g.add("tanh", inputs={"x": c})
    loss = head(g, t, n=2)
    report = gc.gradcheck(g, target=loss)
    assert set(report.errors) >= {x, f"{c}/W", f"{c}/b"}
    assert report.max_error < NET_TOL, report.worst()


def test_conv_backends_agree_on_gradients():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 9, 7))
    seed = None
    results = []
    for backend in ("numba", "numpy"):
        kernels.use(backend)
        try:
            g, xi, o = one_op("conv2d", x, filters=4, size=3, stride=2, pad=1)
            ex = gc.Executor(g)
            ex.forward()
            seed = rng.standard_normal(ex.value(o).shape) if seed is None else seed
            ex.backward(o, seed=seed)
            results.append([ex.value(o).copy(), ex.grad(xi).copy(), ex.weight_grad(o, "W").copy(),
                            ex.weight_grad(o, "b").copy()])
        finally:
            kernels.use("numba")
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_conv_output_size_error_names_the_numbers():
    g = gc.Graph()
    x = g.add("input", value=np.zeros((2, 1, 8, 8)))
    c = g.add("conv2d", filters=2, size=3, stride=2, pad=0)
    msg = g.connection_problem(x, c, "images")
    assert msg is not None
    assert "(8 - 3 + 2*0)/2 + 1 = 3.5 is not a whole number" in msg
    with pytest.raises(GraphError, match="3.5"):
        g.connect(x, c, "images")
    g.set_param(c, "pad", 1)  # (8 - 3 + 2)/2 + 1 = 4.5: still refused
    assert "4.5 is not a whole number" in g.connection_problem(x, c, "images")
    g.set_param(c, "stride", 1)
    g.connect(x, c, "images")
    assert g.weights(c)["W"].shape == (2, 1, 3, 3)


def test_conv_refuses_rows_and_big_windows():
    g = gc.Graph()
    x = g.add("input", value=np.zeros((2, 16)))
    c = g.add("conv2d", filters=2, size=3)
    assert "(N, C, H, W)" in g.connection_problem(x, c, "images")
    y = g.add("input", value=np.zeros((2, 1, 2, 2)))
    assert "does not fit" in g.connection_problem(y, c, "images")


def test_conv_weights_have_he_fan_in():
    g = gc.Graph()
    x = g.add("input", value=np.zeros((2, 8, 10, 10)))
    c = g.add("conv2d", inputs={"images": x}, filters=64, size=3, init="he")
    W = g.weights(c)["W"]
    assert W.shape == (64, 8, 3, 3)
    assert W.std() == pytest.approx(np.sqrt(2 / 72), rel=0.1)


# ------------------------------------------------------------------ pooling
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("op,fn", [("max_pool", np.max), ("avg_pool", np.mean)])
@pytest.mark.parametrize("shape,size,stride", [((2, 3, 8, 8), 2, 2), ((1, 2, 7, 9), 3, 2), ((2, 1, 5, 5), 2, 1)])
def test_pool_forward_matches_naive_and_gradchecks(backend, op, fn, shape, size, stride):
    rng = np.random.default_rng(1)
    x = rng.permutation(np.prod(shape)).reshape(shape) / 10.0  # distinct: no max ties
    kernels.use(backend)
    try:
        g, xi, o = one_op(op, x, size=size, stride=stride)
        ex = gc.Executor(g)
        ex.forward()
        np.testing.assert_allclose(ex.value(o), naive_pool(x, size, stride, fn), rtol=1e-12)
        report = gc.gradcheck(g, target=o)
        assert report.max_error < TOL, report.worst()
    finally:
        kernels.use("numba")


def test_max_pool_routes_gradient_to_the_max_only():
    x = np.array([[[[1.0, 5.0], [3.0, 2.0]]]])
    g, xi, o = one_op("max_pool", x, size=2, stride=2)
    ex = gc.Executor(g)
    ex.backward(o, seed=np.array([[[[7.0]]]]))
    np.testing.assert_array_equal(ex.grad(xi), [[[[0, 7.0], [0, 0]]]])


def test_pool_size_error():
    g = gc.Graph()
    x = g.add("input", value=np.zeros((1, 1, 5, 5)))
    p = g.add("max_pool", size=2, stride=2)
    assert "(5 - 2 + 2*0)/2 + 1 = 2.5" in g.connection_problem(x, p, "x")
