"""The graph model: ids, names, edits, their validation and their events."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc


def recorder(g):
    log = []
    g.node_added.sub(lambda nid: log.append(("node_added", nid)))
    g.node_removed.sub(lambda nid: log.append(("node_removed", nid)))
    g.edge_added.sub(lambda e: log.append(("edge_added", e.key)))
    g.edge_removed.sub(lambda e: log.append(("edge_removed", e.key)))
    g.node_changed.sub(lambda nid, what: log.append(("node_changed", nid, what)))
    return log


def test_add_returns_stable_string_ids_and_default_names():
    g = gc.Graph()
    a = g.add("input", value=1.0)
    b = g.add("input", value=2.0)
    m = g.add("mul", inputs={"a": a, "b": b})
    assert all(isinstance(i, str) for i in (a, b, m)) and len({a, b, m}) == 3
    assert [g.nodes[i].name for i in (a, b, m)] == ["input1", "input2", "mul1"]
    assert g.find("mul1") == m and g.find(m) == m
    g.remove(a)
    c = g.add("input", value=3.0)
    assert c not in (a, b, m), "ids are never reused"
    with pytest.raises(gc.GraphError, match="no node named"):
        g.find("nope")
    g.rename(c, "input2")
    with pytest.raises(gc.GraphError, match="several nodes"):
        g.find("input2")


def test_values_are_arrays_float64_by_default():
    g = gc.Graph()
    s = g.add("input", value=3)
    v = g.add("input", value=[[1.0, 2.0], [3.0, 4.0]])
    assert g.nodes[s].tensors["value"].shape == ()
    assert g.nodes[v].tensors["value"].dtype == np.float64 and g.nodes[v].tensors["value"].shape == (2, 2)
    with pytest.raises(gc.GraphError, match="rectangular"):
        g.add("input", value=[[1.0], [2.0, 3.0]])
    with pytest.raises(gc.GraphError, match="numbers"):
        g.add("input", value="abc")


def test_params_are_validated_with_clear_messages():
    g = gc.Graph()
    x = g.add("input", value=1.0)
    lr = g.add("leaky_relu", inputs={"x": x})
    assert g.nodes[lr].params["alpha"] == 0.01
    g.set_param(lr, "alpha", 0.2)
    assert g.nodes[lr].params["alpha"] == 0.2
    with pytest.raises(gc.GraphError, match="alpha must be <= 1"):
        g.set_param(lr, "alpha", 5.0)
    with pytest.raises(gc.GraphError, match="alpha must be a number"):
        g.set_param(lr, "alpha", "big")
    with pytest.raises(gc.GraphError, match="no parameter 'beta'"):
        g.set_param(lr, "beta", 1.0)
    with pytest.raises(gc.GraphError, match="has no parameter 'p'"):
        g.add("relu", p=2.0)
    assert g.nodes[lr].params["alpha"] == 0.2, "a refused edit changes nothing"


def test_connect_disconnect_remove_and_events():
    g = gc.Graph()
    log = recorder(g)
    a = g.add("input", value=1.0)
    b = g.add("input", value=2.0)
    m = g.add("mul", inputs={"a": a})
    e = g.connect(b, m, "b")
    assert e.src == b and e.dst == m and e.dst_port == "b" and e.src_port == "out"
    assert g.inputs_of(m) == {"a": a, "b": b}
    assert ("edge_added", e.key) in log
    with pytest.raises(gc.GraphError, match="already wired"):
        g.connect(a, m, "b")
    with pytest.raises(gc.GraphError, match="cannot feed itself"):
        g.connect(m, m, "a")
    assert g.disconnect(m, "b") == e and ("edge_removed", e.key) in log
    with pytest.raises(gc.GraphError, match="no wire"):
        g.disconnect(m, "b")
    log.clear()
    g.remove(a)
    assert log == [("edge_removed", f"{a}.out->{m}.a"), ("node_removed", a)]
    assert g.edges == [] and a not in g.nodes


def test_structure_version_only_moves_on_structural_edits():
    g = gc.Graph()
    a = g.add("input", value=1.0)
    n = g.add("neg", inputs={"x": a})
    sv, dv = g.structure_version, g.data_version
    g.set_value(a, 2.0)
    g.rename(n, "minus")
    g.set_ui(n, x=10.0, y=20.0)
    assert g.structure_version == sv and g.data_version > dv
    g.disconnect(n, "x")
    assert g.structure_version > sv


def test_node_changed_says_what():
    g = gc.Graph()
    log = recorder(g)
    a = g.add("input", value=1.0)
    p = g.add("pow", inputs={"x": a})
    log.clear()
    g.set_param(p, "p", 3.0)
    g.set_value(a, 4.0)
    g.rename(p, "cube")
    g.set_ui(p, x=1.0)
    assert log == [("node_changed", p, "param:p"), ("node_changed", a, "tensor:value"),
                   ("node_changed", p, "name"), ("node_changed", p, "ui")]
    with pytest.raises(gc.GraphError, match="empty"):
        g.rename(p, "  ")


def test_copy_and_equality():
    g = gc.Graph()
    a = g.add("input", value=np.arange(3.0), ui={"x": 1.0, "y": 2.0})
    g.add("exp", inputs={"x": a})
    h = g.copy()
    assert h == g and h is not g
    h.set_value(a, np.arange(3.0) + 1)
    assert h != g and float(g.nodes[a].tensors["value"][0]) == 0.0
    h = g.copy()
    h.set_ui(a, x=5.0)
    assert h != g


def test_sinks_and_topological_order():
    g = gc.Graph()
    b = g.add("input", name="b", value=1.0)
    a = g.add("input", name="a", value=1.0)
    s = g.add("add", inputs={"a": a, "b": b})
    t = g.add("neg", inputs={"x": s})
    u = g.add("exp", inputs={"x": s})
    assert g.sinks() == [t, u]
    order = g.topo_order()
    assert order.index(s) > max(order.index(a), order.index(b)) and order[-2:] == [t, u]


def test_positions_stay_on_a_canvas_a_file_can_hold(tmp_path):
    """A node dragged or scripted beyond the file format's canvas would make the saved file unloadable."""
    g = gc.Graph()
    a = g.add("input", name="a", value=1.0)
    g.set_ui(a, x=5e9, y=float("nan"))
    assert g.nodes[a].ui["x"] == 1e6 and g.nodes[a].ui["y"] == 0.0
    g.set_ui(a, x=-float("inf"), y=12)
    assert g.nodes[a].ui["x"] == -1e6 and g.nodes[a].ui["y"] == 12
    gc.save(g, str(tmp_path / "g.json"))
    assert gc.load(str(tmp_path / "g.json")).nodes[a].ui["x"] == -1e6


def test_set_op_swaps_an_activation_keeping_its_wires_and_refuses_what_does_not_fit():
    from graphcore.problems import GraphError

    g = gc.Graph()
    x = g.add("input", "x", value=np.array([[-1.0, 2.0]]))
    r = g.add("relu", "r", inputs={"x": x})
    s = g.add("tanh", "s", inputs={"x": r})
    seen = []
    g.node_changed.sub(lambda nid, what: seen.append((nid, what)))
    before = g.structure_version
    g.set_op(r, "leaky_relu", {"alpha": 0.1})
    assert g.nodes[r].op == "leaky_relu" and g.nodes[r].params == {"alpha": 0.1}
    assert g.input_edge(r, "x").src == x and [e.dst for e in g.out_edges(r)] == [s]
    assert (r, "op") in seen and g.structure_version > before
    assert np.allclose(gc.Executor(g).forward()[r], [[-0.1, 2.0]])  # the plan runs the new op
    g.set_op(r, "elu")  # alpha is shared: it keeps 0.1
    assert g.nodes[r].params == {"alpha": 0.1}
    with pytest.raises(GraphError, match="weights"):
        g.set_op(r, "linear")
    with pytest.raises(GraphError, match="unknown op"):
        g.set_op(r, "nope")
    with pytest.raises(GraphError, match="no parameter"):
        g.set_op(r, "relu", {"alpha": 0.5})
    assert g.nodes[r].op == "elu"  # a refused swap changes nothing
