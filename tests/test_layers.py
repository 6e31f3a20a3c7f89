"""Layers: flatten and reshape, maxout, softmax, matmul shapes, initialisers, and a small CNN with every
kind of layer (gradients, a file round trip, buffers reused from step to step)."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore.problems import GraphError
from layer_helpers import NET_TOL, TOL, head, one_op


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
