"""graphcore.predict: what the training view shows, computed headless."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore import predict


def mlp(n=40, hidden=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((n, 2)))
    y = g.add("input", name="y", value=rng.integers(0, classes, n))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=hidden)
    r = g.add("relu", name="relu", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": r}, units=classes)
    loss = g.add("softmax_cross_entropy", name="loss", inputs={"scores": o, "labels": y})
    return g, x, o, loss


def test_predictor_matches_a_full_forward_pass_and_leaves_the_graph_alone():
    g, x, o, _ = mlp()
    ex = gc.Executor(g, mode="eval")
    ex.forward()
    events = []
    g.changed.sub(lambda: events.append(1))
    version = g.data_version
    p = predict.Predictor(g, "x", o)
    X = g.nodes[x].tensors["value"]
    assert np.allclose(p(X), ex.value(o))
    Z = np.array([[0.5, -1.0], [2.0, 3.0]])
    out = p(Z)
    assert out.shape == (2, 3)
    assert g.nodes[x].tensors["value"] is X and not events and g.data_version == version
    # it follows weight updates made in place, as the trainer does
    g.nodes[o].tensors["b"] += 1.0
    assert np.allclose(p(Z), out + 1.0)


def test_predictor_needs_the_output_to_depend_on_the_input():
    g, x, o, _ = mlp()
    c = g.add("const", name="c", value=np.ones((2, 3)))
    with pytest.raises(gc.GraphError, match="does not depend on input"):
        predict.Predictor(g, "x", c)


def test_decision_grid_rows_are_y_and_probabilities_are_a_softmax():
    g, x, o, _ = mlp()
    p = predict.Predictor(g, "x", o)
    bounds = (-1.0, 1.0, -2.0, 2.0)
    d = predict.decision_grid(p, bounds, res=5)
    assert d["classes"].shape == (5, 5) and d["confidence"].shape == (5, 5)
    pts = predict.grid_points(bounds, 5)
    assert pts[0].tolist() == [-1.0, -2.0] and pts[4].tolist() == [1.0, -2.0] and pts[-1].tolist() == [1.0, 2.0]
    scores = p(pts)
    probs = np.exp(scores - scores.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    assert np.array_equal(d["classes"].ravel(), probs.argmax(1))
    assert np.allclose(d["confidence"].ravel(), probs.max(1))
    assert np.all(d["confidence"] >= 1 / 3 - 1e-12)


def test_grid_bounds_are_square_and_padded():
    X = np.array([[0.0, 0.0], [2.0, 1.0]])
    x0, x1, y0, y1 = predict.grid_bounds(X, margin=0.1)
    assert x1 - x0 == pytest.approx(y1 - y0) == pytest.approx(2.0 * 1.2)
    assert (x0 + x1) / 2 == pytest.approx(1.0) and (y0 + y1) / 2 == pytest.approx(0.5)


def test_edge_flow_magnitude_sign_and_exact_zero():
    e1, e2, e3 = gc.Edge("a", "b", "x"), gc.Edge("b", "c", "x"), gc.Edge("c", "d", "x")
    flow = predict.edge_flow({e1: np.array([1.0, -3.0]), e2: np.zeros(4), e3: np.array(0.5)})
    assert flow[e1] == (2.0, -1, False)
    assert flow[e2] == (0.0, 0, True)
    assert flow[e3] == (0.5, 1, False)


def test_histograms_of_weights_and_activations():
    g, x, o, loss = mlp()
    ex = gc.Executor(g)
    ex.forward()
    h = predict.histograms(g, ex.values, bins=10)
    assert set(h["weights"]) == {"fc1.W", "fc2.W"}
    assert set(h["activations"]) == {"relu"}
    edges, counts = h["weights"]["fc1.W"]
    assert edges.shape == (11,) and counts.sum() == g.nodes[g.find("fc1")].tensors["W"].size
    edges, counts = predict.histogram(np.array([np.nan, 1.0, 1.0]), bins=4)
    assert counts.sum() == 2  # NaN left out, a constant still gets a bin


def test_filters_of_a_conv_layer_and_of_a_linear_layer_on_images():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((2, 1, 8, 8)))
    conv = g.add("conv2d", name="conv", inputs={"images": x}, filters=4, size=3, stride=1, pad=1)
    f = predict.filters(g, conv)
    assert f.shape == (4, 3, 3) and f.min() == 0.0 and f.max() == 1.0
    assert predict.first_layer(g, "x") == conv
    g2 = gc.Graph()
    x2 = g2.add("input", name="x", value=np.zeros((2, 64)))
    lin = g2.add("linear", name="fc", inputs={"x": x2}, units=5)
    f2 = predict.filters(g2, lin, image_shape=(1, 8, 8))
    assert f2.shape == (5, 8, 8)
    assert predict.filters(g2, lin) is None  # no image shape: nothing to draw
