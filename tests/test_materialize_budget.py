"""Layer weights are sized against the memory budget before they are drawn: nothing is allocated
for a `units` that would not fit, and the graph keeps its previous state."""
import numpy as np
import pytest

import graphcore as gc
from graphcore import limits
from graphcore.problems import GraphError


@pytest.fixture
def budget_100m(monkeypatch):
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    limits.set_memory_limit(100 << 20, children=False)
    yield
    limits.set_memory_limit(None, children=False)


def _graph(cols=3000):
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((1, cols)))
    return g, x


def test_set_param_over_budget_is_refused_before_allocating(budget_100m):
    g, x = _graph()
    h = g.add("linear", name="h", inputs={"x": x}, units=10)
    W = g.nodes[h].tensors["W"]
    with pytest.raises(GraphError) as ei:
        g.set_param(h, "units", 100000)
    msg = str(ei.value)
    assert "'h'" in msg and "(3000, 100000)" in msg and "2.2 GB" in msg and "100 MB" in msg
    assert g.nodes[h].params["units"] == 10 and g.nodes[h].tensors["W"] is W
    ex = gc.Executor(g)
    ex.forward()
    assert ex.value(h).shape == (1, 10)


def test_add_over_budget_leaves_no_node(budget_100m):
    g, x = _graph()
    with pytest.raises(GraphError, match=r"tensor 'W' of shape \(3000, 50000\)"):
        g.add("linear", name="big", inputs={"x": x}, units=50000)
    assert list(g.nodes) == [x] and not list(g.edges)


def test_set_value_over_budget_keeps_the_old_value(budget_100m):
    g, x = _graph(cols=10)
    h = g.add("linear", name="h", inputs={"x": x}, units=20000)
    old = g.value(x).copy()
    with pytest.raises(GraphError, match="over the memory budget"):
        g.set_value(x, np.zeros((1, 3000)))
    assert np.array_equal(g.value(x), old) and g.weights(h)["W"].shape == (10, 20000)


def test_connect_over_budget_is_undone(budget_100m):
    g, x = _graph()
    h = g.add("linear", name="h", units=100000)
    with pytest.raises(GraphError, match="over the memory budget"):
        g.connect(x, h, "x")
    assert g.input_edge(h, "x") is None and "W" not in g.nodes[h].tensors


def test_within_budget_still_draws(budget_100m):
    g, x = _graph()
    h = g.add("linear", name="h", inputs={"x": x}, units=1000)  # 24 MB
    assert g.weights(h)["W"].shape == (3000, 1000)
