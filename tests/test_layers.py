"""Layers: forward values against naive reference loops, gradients against centred
differences (inside small networks, with their weights), modes, shape errors, and
numba kernels against their numpy twins on the full ops."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore import kernels
from graphcore.problems import GraphError

TOL = 1e-6  # one op (the registry-wide check uses the same)
NET_TOL = 1e-5  # a few layers composed: finite differences lose a digit through batchnorm's cancellations


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


def one_op(op, x, **params):
    g = gc.Graph()
    xi = g.add("input", name="x", value=x)
    port = {"conv2d": "images"}.get(op, "x")
    o = g.add(op, name="op", inputs={port: xi}, **params)
    return g, xi, o


def head(g, feats, classes=3, n=None, seed=0):
    """flatten -> linear -> softmax CE on random labels; returns the loss node."""
    f = g.add("flatten", inputs={"x": feats})
    o = g.add("linear", name="out", inputs={"x": f}, units=classes)
    y = g.add("input", name="y", value=np.random.default_rng(seed).integers(0, classes, size=n))
    return g.add("softmax_cross_entropy", inputs={"scores": o, "labels": y})


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


# ------------------------------------------------------------ flatten, reshape
def test_flatten_and_reshape_round_trip():
    x = np.arange(2 * 64, dtype=float).reshape(2, 64)
    g = gc.Graph()
    xi = g.add("input", value=x)
    r = g.add("reshape", inputs={"x": xi}, shape="-1, 1, 8, 8")
    f = g.add("flatten", inputs={"x": r})
    ex = gc.Executor(g)
    ex.forward()
    assert ex.value(r).shape == (2, 1, 8, 8)
    np.testing.assert_array_equal(ex.value(f), x)
    assert g.nodes[r].params["shape"] == "-1, 1, 8, 8"


@pytest.mark.parametrize("bad,msg", [("a, 3", "whole numbers"), ("-1, -1", "only once"), ("0, 4", "positive"),
                                     ("", "at least one"), (3.5, "text like")])
def test_reshape_param_is_validated(bad, msg):
    g = gc.Graph()
    r = g.add("reshape")
    with pytest.raises(GraphError, match=msg):
        g.set_param(r, "shape", bad)


def test_reshape_accepts_a_list_and_checks_the_size():
    g = gc.Graph()
    xi = g.add("input", value=np.zeros((2, 6)))
    r = g.add("reshape", shape=[3, 4])
    assert g.nodes[r].params["shape"] == "3, 4"
    g.connect(xi, r, "x")
    g.set_param(r, "shape", "5, -1")
    assert any("not a multiple of 5" in p.message for p in g.validate())


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


# ------------------------------------------------------------------- maxout
def test_maxout_forward_and_gradcheck():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 3))
    g, xi, o = one_op("maxout", x, units=4, k=3)
    w = g.weights(o)
    assert w["W"].shape == (3, 12) and w["b"].shape == (12,)
    ex = gc.Executor(g)
    ex.forward()
    z = x @ w["W"] + w["b"]
    np.testing.assert_allclose(ex.value(o), z.reshape(5, 4, 3).max(axis=2))
    report = gc.gradcheck(g, target=o)
    assert report.max_error < TOL, report.worst()


# ---------------------------------------------------------- softmax, matmul
def test_softmax_rows_sum_to_one_and_are_stable():
    x = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    g, xi, o = one_op("softmax", x)
    ex = gc.Executor(g)
    ex.forward()
    p = ex.value(o)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    assert np.all(np.isfinite(p))


def test_matmul_shape_error():
    g = gc.Graph()
    a = g.add("input", value=np.zeros((2, 3)))
    b = g.add("input", value=np.zeros((4, 2)))
    m = g.add("matmul")
    g.connect(a, m, "a")
    assert "a has 3 columns but b has 4 rows" in g.connection_problem(b, m, "b")


# ------------------------------------------------------------- a small CNN
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_digits_shaped_cnn_runs_and_gradchecks(dtype):
    rng = np.random.default_rng(9)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((4, 64)))
    img = g.add("reshape", inputs={"x": x}, shape="-1, 1, 8, 8")
    c = g.add("conv2d", name="conv", inputs={"images": img}, filters=4, size=3, pad=1)
    r = g.add("tanh", inputs={"x": c})
    p = g.add("max_pool", inputs={"x": r}, size=2, stride=2)
    bn = g.add("batchnorm", inputs={"x": p})
    loss = head(g, bn, classes=10, n=4)
    ex = gc.Executor(g, dtype=dtype)
    ex.input_grads = False
    ex.forward()
    ex.backward(loss)
    assert ex.weight_grad(c, "W").dtype == dtype
    assert np.isfinite(float(ex.value(loss)))
    if dtype == np.float64:
        report = gc.gradcheck(g, target=loss)
        assert report.max_error < NET_TOL, report.worst()


def test_layer_graph_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(10)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((4, 64)))
    img = g.add("reshape", inputs={"x": x}, shape=[-1, 1, 8, 8])
    c = g.add("conv2d", name="conv", inputs={"images": img}, filters=2, size=3, pad=1, stride=1)
    bn = g.add("batchnorm", name="bn", inputs={"x": c}, momentum=0.8)
    p = g.add("avg_pool", inputs={"x": bn})
    d = g.add("dropout", inputs={"x": p}, p=0.7)
    f = g.add("flatten", inputs={"x": d})
    m = g.add("maxout", inputs={"x": f}, units=5, k=2)
    s = g.add("softmax", inputs={"x": m})
    ex = gc.Executor(g)
    ex.forward()  # updates the running statistics: they must be saved too
    path = tmp_path / "layers.json"
    gc.save(g, path)
    g2 = gc.load(path)
    assert g2 == g
    np.testing.assert_array_equal(g2.state(bn)["running_mean"], g.state(bn)["running_mean"])
    assert np.any(g.state(bn)["running_mean"] != 0)
    # eval mode is deterministic (no dropout, running statistics): same outputs from the loaded graph
    ex.mode = "eval"
    ex.forward()
    ex2 = gc.Executor(g2, mode="eval")
    ex2.forward()
    np.testing.assert_allclose(ex2.value(s), ex.value(s), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_training_step_reuses_its_buffers(dtype):
    """After a warm-up pass, forward + backward + weight gradients of a CNN with every kind of layer
    allocate only small bookkeeping (the layer buffers are about 1 MB)."""
    import tracemalloc

    rng = np.random.default_rng(11)
    g = gc.Graph()
    x = g.add("input", value=rng.standard_normal((64, 64)))
    y = g.add("input", value=rng.integers(0, 10, 64))
    img = g.add("reshape", inputs={"x": x}, shape="-1, 1, 8, 8")
    c = g.add("conv2d", inputs={"images": img}, filters=16, size=3, pad=1)
    bn = g.add("batchnorm", inputs={"x": c})
    r = g.add("relu", inputs={"x": bn})
    p = g.add("max_pool", inputs={"x": r})
    a = g.add("avg_pool", inputs={"x": p})
    d = g.add("dropout", inputs={"x": a}, p=0.8)
    f = g.add("flatten", inputs={"x": d})
    h = g.add("linear", inputs={"x": f}, units=32)
    m = g.add("maxout", inputs={"x": h}, units=16, k=2)
    o = g.add("linear", inputs={"x": m}, units=10)
    loss = g.add("softmax_cross_entropy", inputs={"scores": o, "labels": y})
    reg = g.add("elastic_net", strength=1e-3)
    total = g.add("total_loss", inputs={"data": loss, "reg": reg})
    ex = gc.Executor(g, dtype=dtype, check="none")
    ex.input_grads = False

    def step():
        ex.forward()
        ex.backward(total)
        return [ex.weight_grad(n, w) for n, w in g.trainable()]

    step()
    step()
    tracemalloc.start()
    try:
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"a step allocated up to {peak} bytes"


def test_orthogonal_init_has_unit_gain_whatever_init_scale_says():
    import graphcore as gc

    g = gc.Graph()
    x = g.add("input", value=np.ones((4, 6)))
    h = g.add("linear", inputs={"x": x}, units=6, init="orthogonal")
    W = g.weights(h)["W"]
    np.testing.assert_allclose(W.T @ W, np.eye(6), atol=1e-12)
