"""The executor: plan reuse, stepping, edge gradients, fan-out, seeding, dtypes,
numeric errors and the problems of invalid graphs."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore.graph import Edge, Node


def circuit():
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0)
    y = g.add("input", name="y", value=-4.0)
    z = g.add("input", name="z", value=2.0)
    w = g.add("input", name="w", value=-1.0)
    xy = g.add("mul", name="xy", inputs={"a": x, "b": y})
    m = g.add("max", name="m", inputs={"a": z, "b": w})
    s = g.add("add", name="s", inputs={"a": xy, "b": m})
    two = g.add("const", name="two", value=2.0)
    f = g.add("mul", name="f", inputs={"a": s, "b": two})
    return g, dict(x=x, y=y, z=z, w=w, xy=xy, m=m, s=s, two=two, f=f)


# ------------------------------------------------------------------ plan reuse
def test_plan_is_compiled_once_and_reused_after_value_and_param_edits():
    g, n = circuit()
    p = g.add("pow", name="p", p=2.0, inputs={"x": n["f"]})
    ex = gc.Executor(g)
    ex.forward()
    ex.backward(p)
    assert ex.compiles == 1
    assert float(ex.value(p)) == 400.0
    g.set_value(n["x"], 1.0)  # f = 2(-4 + 2) = -4
    g.set_param(p, "p", 3.0)
    g.rename(n["x"], "x_renamed")
    ex.forward()
    ex.backward(p)
    assert ex.compiles == 1, "editing values and params must not recompile"
    assert float(ex.value(n["f"])) == -4.0 and float(ex.value(p)) == -64.0
    assert float(ex.grad(n["x"])) == 3 * 16.0 * 2 * -4.0  # dp/df * df/dxy * dxy/dx
    plan_before = ex.plan()
    assert ex.plan() is plan_before
    extra = g.add("input", name="k", value=5.0)
    q = g.add("mul", name="q", inputs={"a": p})
    g.connect(extra, q, "b")
    ex.forward()
    assert ex.compiles == 2, "a structural edit recompiles"
    assert float(ex.value(q)) == -320.0
    ex.forward()
    assert ex.compiles == 2


def test_buffers_are_reused_across_passes():
    g = gc.Graph()
    a = g.add("input", value=np.ones((50, 40)))
    b = g.add("input", value=np.full((50, 40), 2.0))
    m = g.add("mul", inputs={"a": a, "b": b})
    ex = gc.Executor(g)
    ex.forward()
    first = ex.value(m)
    g.set_value(a, np.full((50, 40), 3.0))
    ex.forward()
    assert ex.value(m) is first and float(first[0, 0]) == 6.0


# ------------------------------------------------------------------ stepping
def test_steps_order_and_counts():
    g, n = circuit()
    events = list(gc.Executor(g).steps())
    fwd = [e for e in events if e.phase == "forward"]
    seed = [e for e in events if e.phase == "seed"]
    bwd = [e for e in events if e.phase == "backward"]
    assert [e.phase for e in events] == ["forward"] * len(fwd) + ["seed"] + ["backward"] * len(bwd)
    assert len(fwd) == len(g.nodes) and len(seed) == 1 and len(bwd) == len(g.edges)
    assert [e.index for e in events] == list(range(len(events)))
    assert {e.total for e in events} == {len(events)}
    order = [e.node for e in fwd]
    assert order == g.topo_order()
    pos = {nid: i for i, nid in enumerate(order)}
    for e in g.edges:
        assert pos[e.src] < pos[e.dst]
    assert seed[0].node == n["f"] and float(seed[0].grad) == 1.0
    # backward: wire by wire, consumers before producers (reverse topological order of the wire's head)
    heads = [pos[e.edge.dst] for e in bwd]
    assert heads == sorted(heads, reverse=True)
    assert {e.edge for e in bwd} == set(g.edges)
    for e in bwd:
        assert e.node == e.edge.src and e.grad is not None
    # each event carries the value or gradient the batch pass computes
    ex = gc.Executor(g)
    ex.forward()
    ex.backward()
    for e in fwd:
        assert float(e.value) == float(ex.value(e.node))
    for e in bwd:
        assert float(e.grad) == float(ex.edge_grad(e.edge))
    vals = {g.nodes[e.node].name: float(e.value) for e in fwd}
    assert vals["f"] == -20.0 and vals["s"] == -10.0


def test_steps_leave_the_executor_as_a_full_pass_would():
    g, n = circuit()
    ex = gc.Executor(g)
    for _ in ex.steps():
        pass
    assert (float(ex.grad(n["x"])), float(ex.grad(n["y"])), float(ex.grad(n["z"])), float(ex.grad(n["w"]))) == \
        (-8.0, 6.0, 2.0, 0.0)
    fwd_only = list(ex.steps(backward=False))
    assert all(e.phase == "forward" for e in fwd_only) and len(fwd_only) == len(g.nodes)


def test_steps_from_an_inner_target_skip_unrelated_wires():
    g, n = circuit()
    events = list(gc.Executor(g).steps(target=n["s"]))
    bwd = [e for e in events if e.phase == "backward"]
    assert {(g.nodes[e.edge.src].name, g.nodes[e.edge.dst].name) for e in bwd} == \
        {("xy", "s"), ("m", "s"), ("x", "xy"), ("y", "xy"), ("z", "m"), ("w", "m")}


# ------------------------------------------------------------------ gradients
def test_edge_grads_of_the_circuit():
    g, n = circuit()
    ex = gc.Executor(g)
    ex.backward(n["f"])
    eg = {(g.nodes[e.src].name, e.dst_port, g.nodes[e.dst].name): float(ex.edge_grad(e)) for e in g.edges}
    assert eg == {("s", "a", "f"): 2.0, ("two", "b", "f"): -10.0, ("xy", "a", "s"): 2.0, ("m", "b", "s"): 2.0,
                  ("x", "a", "xy"): -8.0, ("y", "b", "xy"): 6.0, ("z", "a", "m"): 2.0, ("w", "b", "m"): 0.0}
    assert float(ex.edge_grad((n["m"], "b"))) == 0.0
    with pytest.raises(gc.GraphError):
        ex.edge_grad((n["x"], "a"))


def test_fan_out_accumulates():
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0)
    y = g.add("input", name="y", value=-2.0)
    sq = g.add("mul", name="sq", inputs={"a": x, "b": x})  # x used twice by one gate
    xy = g.add("mul", name="xy", inputs={"a": x, "b": y})  # and once more elsewhere
    f = g.add("add", name="f", inputs={"a": sq, "b": xy})  # f = x^2 + xy
    ex = gc.Executor(g)
    ex.backward(f)
    assert float(ex.grad(x)) == 2 * 3.0 + -2.0
    wires = g.out_edges(x)
    assert len(wires) == 3
    assert sum(float(ex.edge_grad(e)) for e in wires) == float(ex.grad(x))
    assert sorted(float(ex.edge_grad(e)) for e in wires) == [-2.0, 3.0, 3.0]


def test_fan_out_accumulates_arrays_with_broadcasting():
    g = gc.Graph()
    b = g.add("input", name="b", value=np.array([1.0, 2.0, 3.0]))
    a = g.add("input", name="a", value=np.arange(6.0).reshape(2, 3))
    m = g.add("mul", inputs={"a": a, "b": b})
    s = g.add("add", inputs={"a": m, "b": b})
    ex = gc.Executor(g)
    ex.backward(s)
    np.testing.assert_array_equal(ex.grad(b), a_sum := np.arange(6.0).reshape(2, 3).sum(0) + 2.0)
    assert ex.grad(b).shape == (3,) and a_sum.shape == (3,)


def test_non_scalar_sink_is_seeded_with_ones():
    g = gc.Graph()
    a = g.add("input", name="a", value=np.array([1.0, -2.0, 3.0]))
    b = g.add("input", name="b", value=np.array([4.0, 5.0, -6.0]))
    m = g.add("mul", inputs={"a": a, "b": b})
    ex = gc.Executor(g)
    ex.backward()
    np.testing.assert_array_equal(ex.grad(m), np.ones(3))
    np.testing.assert_array_equal(ex.grad(a), [4.0, 5.0, -6.0])
    np.testing.assert_array_equal(ex.grad(b), [1.0, -2.0, 3.0])
    # the same as backpropagating from the sum of the sink's elements
    s = g.add("sum", inputs={"x": m})
    ex2 = gc.Executor(g)
    ex2.backward(s)
    np.testing.assert_array_equal(ex2.grad(a), ex.grad(a))
    # an explicit seed is used as given
    ex.backward(m, seed=np.array([1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(ex.grad(a), [4.0, 0.0, -12.0])


def test_grad_of_an_unrelated_node_is_zero():
    g, n = circuit()
    lone = g.add("input", name="lone", value=np.ones(2))
    ex = gc.Executor(g)
    ex.backward(n["f"])
    np.testing.assert_array_equal(ex.grad(lone), np.zeros(2))
    assert not ex.has_grad(lone)


def test_backward_needs_a_target_when_there_are_several_sinks():
    g, n = circuit()
    g.add("input", name="extra", value=1.0)
    ex = gc.Executor(g)
    with pytest.raises(gc.GraphError, match="2 sinks"):
        ex.backward()
    with pytest.raises(gc.GraphError, match="run forward"):
        gc.Executor(g).value("f")


def test_float32_option():
    g = gc.Graph()
    a = g.add("input", name="a", value=np.linspace(-1, 1, 7))
    b = g.add("input", name="b", value=0.5)
    s = g.add("sigmoid", inputs={"x": g.add("mul", inputs={"a": a, "b": b})})
    e64 = gc.Executor(g)
    e64.backward(s)
    e32 = gc.Executor(g, dtype=np.float32)
    e32.backward(s)
    assert e32.value(s).dtype == np.float32 and e32.grad(a).dtype == np.float32 and e32.grad(b).dtype == np.float32
    assert e64.value(s).dtype == np.float64
    np.testing.assert_allclose(e32.value(s), e64.value(s), rtol=1e-6)
    np.testing.assert_allclose(e32.grad(a), e64.grad(a), rtol=1e-5)
    assert g.nodes[a].tensors["value"].dtype == np.float64, "the graph keeps its float64 value"
    with pytest.raises(ValueError):
        gc.Executor(g, dtype=np.int32)


# ------------------------------------------------------------------ NaN and Inf
def test_nan_is_reported_at_the_first_node_that_produced_it():
    g = gc.Graph()
    x = g.add("input", name="x", value=-1.0)
    lg = g.add("log", name="lg", inputs={"x": x})  # log(-1) = NaN
    e = g.add("exp", name="e", inputs={"x": lg})  # NaN propagates, but lg is first
    g.add("neg", name="out", inputs={"x": e})
    with pytest.raises(gc.NumericError) as info:
        gc.Executor(g).forward()
    assert info.value.node == lg and info.value.phase == "forward"
    assert "NaN" in str(info.value) and "'lg'" in str(info.value)


def test_inf_is_reported_at_the_first_node_that_produced_it():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([1.0, 800.0]))
    e = g.add("exp", name="big", inputs={"x": x})
    g.add("mul", name="twice", inputs={"a": e, "b": e})
    with pytest.raises(gc.NumericError) as info:
        gc.Executor(g).forward()
    assert info.value.node == e and "Inf" in str(info.value)
    g.set_value(x, np.array([1.0, 2.0]))
    gc.Executor(g).forward()  # finite again


def test_inf_in_the_backward_pass():
    g = gc.Graph()
    x = g.add("input", name="x", value=0.0)
    r = g.add("pow", name="sqrt", p=0.5, inputs={"x": x})  # d/dx sqrt(x) at 0 is Inf
    ex = gc.Executor(g)
    ex.forward()
    with pytest.raises(gc.NumericError) as info:
        ex.backward(r)
    # blamed on the node whose backward rule produced the Inf, not on the input that received it
    assert info.value.phase == "backward" and info.value.node == r
    assert "'sqrt'" in str(info.value) and "Inf" in str(info.value)


def test_nan_check_can_be_turned_off():
    g = gc.Graph()
    x = g.add("input", name="x", value=-1.0)
    lg = g.add("log", inputs={"x": x})
    ex = gc.Executor(g, check="none")
    ex.forward()
    assert np.isnan(ex.value(lg))


# ------------------------------------------------------------------ invalid graphs
def _codes(problems):
    return {(p.node, p.port, p.code) for p in problems}


def test_missing_inputs_name_node_and_port():
    g = gc.Graph()
    x = g.add("input", name="x", value=1.0)
    a = g.add("add", name="lonely", inputs={"a": x})
    probs = g.validate()
    assert (a, "b", "missing_input") in _codes(probs)
    assert (a, "a", "missing_input") not in _codes(probs)
    with pytest.raises(gc.GraphError) as info:
        gc.Executor(g).forward()
    assert info.value.problems[0].node == a and info.value.problems[0].port == "b"
    assert "node 'lonely' port 'b'" in str(info.value)  # by the name the person gave it (the id is in problems)


def test_bad_port_is_reported():
    g = gc.Graph()
    x = g.add("input", name="x", value=1.0)
    n = g.add("neg", name="n", inputs={"x": x})
    g._in_edges[(n, "y")] = Edge(x, n, "y")  # a wire into a port neg does not have (e.g. a stale file)
    probs = [p for p in g.validate() if p.code == "bad_port"]
    assert len(probs) == 1 and probs[0].node == n and probs[0].port == "y" and "no input port 'y'" in probs[0].message
    with pytest.raises(gc.GraphError):
        gc.Executor(g).forward()
    with pytest.raises(gc.GraphError) as info:
        g.connect(x, n, "nope")
    assert info.value.problems[0].port == "nope" and "(it has x)" in str(info.value)


def test_unknown_op_is_reported():
    g = gc.Graph()
    g.insert_node(Node("q1", "frobnicate", "weird"))
    probs = g.validate()
    assert ("q1", None, "unknown_op") in _codes(probs)
    assert "frobnicate" in str(probs[0])
    with pytest.raises(gc.GraphError, match="unknown op 'frobnicate'"):
        gc.Executor(g).forward()
    with pytest.raises(gc.GraphError, match="unknown op"):
        g.add("frobnicate")


def test_cycle_names_the_nodes_in_it():
    doc = gc.fileformat.to_dict(circuit()[0])
    ids = {n["name"]: n["id"] for n in doc["nodes"]}
    # close a loop s -> xy (replacing y): xy -> s -> xy
    for e in doc["edges"]:
        if e["dst"] == ids["xy"] and e["dst_port"] == "b":
            e["src"] = ids["s"]
    g = gc.fileformat.from_dict(doc)
    probs = [p for p in g.validate() if p.code == "cycle"]
    assert len(probs) == 1
    msg = probs[0].message
    assert "cycle" in msg and "xy" in msg and "s" in msg and "f" not in msg.split(":", 1)[1]
    assert probs[0].node in (ids["xy"], ids["s"])
    with pytest.raises(gc.GraphError, match="cycle"):
        gc.Executor(g).forward()
    with pytest.raises(gc.GraphError, match="cycle"):
        g.topo_order()


def test_connect_refuses_a_cycle():
    g, n = circuit()
    g.disconnect(n["xy"], "b")
    with pytest.raises(gc.GraphError, match="cycle"):
        g.connect(n["f"], n["xy"], "b")


def test_shapes_that_cannot_broadcast():
    g = gc.Graph()
    a = g.add("input", name="a", value=np.ones(3))
    b = g.add("input", name="b", value=np.ones(4))
    m = g.add("mul", name="m", inputs={"a": a, "b": b})
    probs = [p for p in g.validate() if p.code == "shape"]
    assert len(probs) == 1 and probs[0].node == m and probs[0].port == "b"
    assert "(3,) and (4,) cannot broadcast" in probs[0].message
    with pytest.raises(gc.GraphError) as info:
        gc.Executor(g).forward()
    assert info.value.problems[0].node == m and info.value.problems[0].port == "b"
    # connect() with shape checking refuses the same wire
    g.disconnect(m, "b")
    assert "cannot broadcast" in g.connection_problem(b, m, "b")
    with pytest.raises(gc.GraphError, match="cannot broadcast"):
        g.connect(b, m, "b")


def test_shape_change_after_compiling_is_caught_at_run_time():
    g = gc.Graph()
    a = g.add("input", name="a", value=np.ones(3))
    b = g.add("input", name="b", value=np.ones(3))
    m = g.add("add", name="m", inputs={"a": a, "b": b})
    ex = gc.Executor(g)
    ex.forward()
    g.set_value(b, np.ones(5))
    with pytest.raises(gc.GraphError) as info:
        ex.forward()
    assert info.value.problems[0].node == m and info.value.problems[0].port == "b"


def test_weight_grads_of_a_layer_the_new_target_does_not_reach_are_zero_not_stale():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((2, 3)))
    h1 = g.add("linear", name="h1", inputs={"x": x}, units=2)
    h2 = g.add("linear", name="h2", inputs={"x": x}, units=2)
    s1 = g.add("sum", name="s1", inputs={"x": h1})
    g.add("sum", name="s2", inputs={"x": h2})
    ex = gc.Executor(g)
    ex.forward()
    ex.backward("s1")
    assert np.abs(ex.weight_grad(h1, "W")).sum() > 0
    ex.backward("s2")
    assert np.all(ex.weight_grad(h1, "W") == 0)
    assert np.abs(ex.weight_grad(h2, "W")).sum() > 0
    assert s1
