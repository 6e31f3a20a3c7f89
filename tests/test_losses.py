"""Losses, regularizers and the total loss: values against hand formulas, gradients
against centred differences, and the failure modes (bad labels, huge scores)."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore import kernels
from graphcore.ops.losses import breakdown
from graphcore.problems import GraphError


def spiral_net(n=30, d=2, hidden=100, classes=3, seed=0, init="he"):
    rng = np.random.default_rng(seed)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((n, d)))
    y = g.add("input", name="y", value=rng.integers(0, classes, size=n))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=hidden, init=init)
    r = g.add("relu", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": r}, units=classes)
    loss = g.add("softmax_cross_entropy", name="data_loss", inputs={"scores": o, "labels": y})
    return g, dict(x=x, y=y, h=h, r=r, o=o, loss=loss)


def scores_graph(scores, labels, op="softmax_cross_entropy", **params):
    g = gc.Graph()
    s = g.add("input", name="s", value=scores)
    y = g.add("input", name="y", value=labels)
    loss = g.add(op, inputs={"scores": s, "labels": y}, **params)
    return g, s, y, loss


def ce_reference(s, y):
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y]).mean()
    d = p.copy()
    d[np.arange(n), y] -= 1
    return loss, d / n


# ------------------------------------------------------------ API contract
def test_weights_api_from_the_issue():
    g, n = spiral_net(n=300, d=2, hidden=100)
    h = n["h"]
    w = g.weights(h)
    assert set(w) == {"W", "b"}
    assert w["W"].shape == (2, 100) and w["b"].shape == (100,)
    assert np.all(w["b"] == 0)
    # He init: std sqrt(2 / fan_in) = 1 for fan_in 2
    assert 0.8 < w["W"].std() < 1.2
    W0 = np.full((2, 100), 0.5)
    g.set_weights(h, W=W0, b=np.ones(100))
    np.testing.assert_array_equal(g.weights(h)["W"], W0)
    with pytest.raises(GraphError, match=r"\(2, 100\)"):
        g.set_weights(h, W=np.zeros((3, 100)))
    ex = gc.Executor(g)
    ex.forward()
    ex.backward(n["loss"])
    assert ex.weight_grad(h, "W").shape == (2, 100)
    assert ex.weight_grad(h, "b").shape == (100,)


def test_linear_refuses_images_and_names_flatten():
    g = gc.Graph()
    x = g.add("input", value=np.zeros((4, 1, 8, 8)))
    lin = g.add("linear", units=3)
    assert "flatten" in g.connection_problem(x, lin, "x")
    with pytest.raises(GraphError, match="flatten"):
        g.connect(x, lin, "x")


def test_same_seed_same_weights():
    a, na = spiral_net(seed=1)
    b, nb = spiral_net(seed=1)
    np.testing.assert_array_equal(a.weights(na["h"])["W"], b.weights(nb["h"])["W"])


# ------------------------------------------------------------ softmax CE
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_softmax_ce_value_and_gradient_match_formula(backend):
    rng = np.random.default_rng(3)
    s = rng.standard_normal((7, 4)) * 3
    y = rng.integers(0, 4, size=7)
    kernels.use(backend)
    try:
        g, sn, _, loss = scores_graph(s, y)
        ex = gc.Executor(g)
        ex.forward()
        ex.backward(loss)
        want, dwant = ce_reference(s, y)
        assert float(ex.value(loss)) == pytest.approx(want, rel=1e-12)
        np.testing.assert_allclose(ex.grad(sn), dwant, rtol=1e-10, atol=1e-15)
    finally:
        kernels.use("numba")


def test_initial_loss_is_log_c_with_tiny_weights():
    g, n = spiral_net(n=300, classes=3)
    g.set_weights(n["o"], W=0.0001 * np.random.default_rng(0).standard_normal((100, 3)))
    ex = gc.Executor(g)
    ex.forward()
    assert float(ex.value(n["loss"])) == pytest.approx(np.log(3), abs=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_scores_give_a_finite_loss(dtype):
    s = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 2e4]])
    y = np.array([0, 0])
    g, sn, _, loss = scores_graph(s, y)
    ex = gc.Executor(g, dtype=dtype)
    ex.forward()
    ex.backward(loss)
    # row 0 is right with certainty (loss 0); row 1 misses by 2e4
    assert float(ex.value(loss)) == pytest.approx(1e4, rel=1e-6)
    assert np.all(np.isfinite(ex.grad(sn)))
    np.testing.assert_allclose(ex.grad(sn), [[0, 0, 0], [-0.5, 0, 0.5]], atol=1e-6)


def test_bad_label_is_named():
    g, *_ , loss = scores_graph(np.zeros((3, 4)), np.array([0, 4, 1]))
    with pytest.raises(GraphError, match="label 4 in row 1 .* 0..3"):
        gc.Executor(g).forward()


def test_labels_shape_error():
    g = gc.Graph()
    s = g.add("input", value=np.zeros((3, 4)))
    y = g.add("input", value=np.zeros(5, dtype=int))
    loss = g.add("softmax_cross_entropy", inputs={"scores": s, "labels": y})
    msgs = [p.message for p in g.validate() if p.node == loss]
    assert any("labels must have shape (3,)" in m for m in msgs), msgs


def test_float_labels_that_are_whole_are_accepted():
    s = np.random.default_rng(0).standard_normal((4, 3))
    g, _, _, loss = scores_graph(s, np.array([0.0, 2.0, 1.0, 1.0]))
    ex = gc.Executor(g)
    ex.forward()
    assert float(ex.value(loss)) == pytest.approx(ce_reference(s, np.array([0, 2, 1, 1]))[0])


def test_float32_executor_runs_the_loss_in_float32():
    s = np.random.default_rng(0).standard_normal((4, 3))
    g, sn, _, loss = scores_graph(s, np.array([0, 2, 1, 1]))
    ex = gc.Executor(g, dtype=np.float32)
    ex.forward()
    ex.backward(loss)
    assert ex.grad(sn).dtype == np.float32
    assert float(ex.value(loss)) == pytest.approx(ce_reference(s, np.array([0, 2, 1, 1]))[0], rel=1e-5)


# ------------------------------------------------------------------ SVM, MSE
def test_svm_matches_hand_formula():
    # CS231n's example: scores (3.2, 5.1, -1.7) for a cat (class 0): loss 2.9
    g, sn, _, loss = scores_graph(np.array([[3.2, 5.1, -1.7]]), np.array([0]), op="svm_loss")
    ex = gc.Executor(g)
    ex.forward()
    ex.backward(loss)
    assert float(ex.value(loss)) == pytest.approx(2.9)
    np.testing.assert_allclose(ex.grad(sn), [[-1.0, 1.0, 0.0]])


def test_mse_value_and_gradients():
    p = np.array([1.0, 2.0, 4.0])
    t = np.array([0.0, 2.0, 1.0])
    g = gc.Graph()
    a = g.add("input", value=p)
    b = g.add("input", value=t)
    m = g.add("mse", inputs={"pred": a, "target": b})
    ex = gc.Executor(g)
    ex.backward(m)
    assert float(ex.value(m)) == pytest.approx(10 / 3)
    np.testing.assert_allclose(ex.grad(a), 2 * (p - t) / 3)
    np.testing.assert_allclose(ex.grad(b), -2 * (p - t) / 3)


# ------------------------------------------------------------ regularizers
def reg_net(op, **params):
    g, n = spiral_net(n=20, hidden=6)
    reg = g.add(op, name="reg", **params)
    total = g.add("total_loss", name="loss", inputs={"data": n["loss"], "reg": reg})
    return g, n, reg, total


@pytest.mark.parametrize("op,formula,dformula", [
    ("l2", lambda W, s, b: 0.5 * s * np.sum(W * W), lambda W, s, b: s * W),
    ("l1", lambda W, s, b: s * np.sum(np.abs(W)), lambda W, s, b: s * np.sign(W)),
    ("elastic_net", lambda W, s, b: s * np.sum(b * W * W + np.abs(W)), lambda W, s, b: s * (2 * b * W + np.sign(W))),
])
def test_regularizer_values_and_weight_gradients(op, formula, dformula):
    strength, beta = 0.3, 0.25
    params = {"strength": strength, **({"beta": beta} if op == "elastic_net" else {})}
    g, n, reg, total = reg_net(op, **params)
    ex = gc.Executor(g)
    ex.forward()
    W1, W2 = g.weights(n["h"])["W"], g.weights(n["o"])["W"]
    assert float(ex.value(reg)) == pytest.approx(formula(W1, strength, beta) + formula(W2, strength, beta))
    parts = breakdown(g, ex, total)
    assert parts["total"] == pytest.approx(parts["data"] + parts["reg"])
    assert parts["reg"] == pytest.approx(float(ex.value(reg))) and parts["reg"] > 0
    # the penalty's gradient is added to each targeted W, and nothing else
    ex.backward(total)
    with_reg = {k: ex.weight_grad(n[k], "W").copy() for k in ("h", "o")}
    b_grad = ex.weight_grad(n["h"], "b").copy()
    ex.backward(n["loss"])
    for k, W in (("h", W1), ("o", W2)):
        np.testing.assert_allclose(with_reg[k] - ex.weight_grad(n[k], "W"), dformula(W, strength, beta), atol=1e-12)
    np.testing.assert_allclose(b_grad, ex.weight_grad(n["h"], "b"))
    report = gc.gradcheck(g, target=total, nodes=[n["h"], n["o"]])
    assert report.max_error < 1e-6, report.worst()


def test_regularizer_targets_by_name():
    g, n, reg, total = reg_net("l2", strength=1.0, targets="fc2")
    ex = gc.Executor(g)
    ex.forward()
    W2 = g.weights(n["o"])["W"]
    assert float(ex.value(reg)) == pytest.approx(0.5 * np.sum(W2 ** 2))
    g.set_param(reg, "targets", "fc1.b, fc2")
    ex.forward()
    b1 = g.weights(n["h"])["b"]
    assert float(ex.value(reg)) == pytest.approx(0.5 * np.sum(W2 ** 2) + 0.5 * np.sum(b1 ** 2))
    g.set_param(reg, "targets", "nope")
    with pytest.raises(GraphError, match="targets: no node named 'nope'"):
        ex.forward()
    g.set_param(reg, "targets", "fc1.gamma")
    with pytest.raises(GraphError, match="no trainable weight 'gamma'"):
        ex.forward()


def test_regularizer_on_a_wired_param():
    g = gc.Graph()
    p = g.add("param", name="w", value=np.array([1.0, -2.0, 3.0]))
    r = g.add("l2", inputs={"x": p}, strength=2.0)
    ex = gc.Executor(g)
    ex.backward(r)
    assert float(ex.value(r)) == pytest.approx(0.5 * 2.0 * 14.0)
    np.testing.assert_allclose(ex.grad(p), [2.0, -4.0, 6.0])


def test_initial_loss_higher_with_regularisation():
    g, n, reg, total = reg_net("l2", strength=1.0)
    ex = gc.Executor(g)
    ex.forward()
    assert float(ex.value(total)) > float(ex.value(n["loss"])) + 1.0


def test_total_loss_refuses_a_vector():
    g = gc.Graph()
    v = g.add("input", value=np.zeros(3))
    t = g.add("total_loss", inputs={"data": v})
    assert any("data must be a scalar loss" in p.message for p in g.validate() if p.node == t)


def test_input_grads_off_skips_data_gradients_but_not_weights():
    g, n = spiral_net()
    ex = gc.Executor(g)
    ex.forward()
    ex.backward(n["loss"])
    want = ex.weight_grad(n["h"], "W").copy()
    ex.input_grads = False
    ex.forward()
    ex.backward(n["loss"])
    np.testing.assert_allclose(ex.weight_grad(n["h"], "W"), want)
    assert not ex.has_grad(n["x"])


def test_empty_batch_is_a_shape_problem_not_a_crash():
    g = gc.Graph()
    s = g.add("input", value=np.zeros((0, 3)))
    y = g.add("input", value=np.zeros(0, dtype=int))
    loss = g.add("softmax_cross_entropy", inputs={"scores": s, "labels": y})
    assert any("empty" in p.message for p in g.validate() if p.node == loss)
    with pytest.raises(GraphError, match="empty"):
        gc.Executor(g).forward()
