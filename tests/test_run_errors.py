"""A pass that cannot finish: NaN and Inf select the node that made them, several sinks ask for a choice,
and a graph error or an unexpected exception is reported by node name, never swallowed."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack

import graphcore as gc
from app.canvas.scene import GraphScene
from app.run import decor
from app.run.controller import RunController
from run_step_helpers import placed, run  # noqa: F401  (run: the fixture)


def test_nan_selects_the_node_and_says_so(qtbot):
    g = gc.Graph()
    a = g.add("input", name="a", value=-1.0)
    lg = g.add("log", name="lg", inputs={"x": a})
    g.add("mul", name="out", inputs={"a": lg, "b": g.add("const", name="k", value=2.0)})
    placed(g)
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    messages, selected = [], []
    ctl.status_message.connect(messages.append)
    ctl.select_node.connect(selected.append)
    while ctl.step():
        pass
    assert selected == [lg]
    assert "NaN" in messages[-1] and "'lg'" in messages[-1]
    ctl.close()


def test_multiple_sinks_need_a_choice(qtbot):
    g = gc.Graph()
    a = g.add("input", name="a", value=2.0)
    p = g.add("exp", name="p", inputs={"x": a})
    q = g.add("neg", name="q", inputs={"x": a})
    placed(g)
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    messages = []
    ctl.status_message.connect(messages.append)
    ctl.backward()
    assert "select the one to differentiate" in messages[-1]
    ctl.set_selection([q])
    ctl.backward()
    assert decor.edge_labels(scene.edge_item(g.input_edge(q, "x"))) == ("2.00", "-1.00")
    assert decor.edge_labels(scene.edge_item(g.input_edge(p, "x")))[1] == ""
    ctl.close()


def test_inf_in_the_backward_pass_is_reported_after_its_last_event(qtbot):
    g = gc.Graph()
    x = g.add("input", name="x", value=0.0)
    sq = g.add("pow", name="sq", inputs={"x": x}, p=0.5)  # d/dx sqrt(x) at 0 = Inf
    g.add("mul", name="f", inputs={"a": sq, "b": g.add("const", name="k", value=2.0)})
    ctl = RunController(g)  # headless: no scene needed to step
    messages, selected = [], []
    ctl.status_message.connect(messages.append)
    ctl.select_node.connect(selected.append)
    steps = 0
    while ctl.step():
        steps += 1
        if ctl.cursor < ctl.total - 1:
            assert messages == []  # nothing said before the pass gets there
    assert steps == ctl.total == 8 and ctl.rec.events[-1].phase == "backward"
    # the node whose backward rule produced the Inf is named, not the input that received it
    assert selected == [sq] and "Inf gradient" in messages[-1] and "'sq'" in messages[-1]
    ctl.close()


@pytest.mark.parametrize("after, where", [(2, "in the forward pass at node 'z'"),
                                          (12, "in the backward pass, after the gradient reached node")])
def test_an_unexpected_error_is_shown_with_the_nodes_name_not_swallowed(run, monkeypatch, after, where):
    """Not a GraphError or NumericError (a kernel's ValueError, say): the status bar and the Problems
    dock still say what happened and where, and the slot does not raise."""
    g, scene, ctl = run
    real = gc.Executor.steps

    def failing(self, *args, **kwargs):
        for k, ev in enumerate(real(self, *args, **kwargs)):
            if k == after:
                raise ValueError("the kernel met an array it cannot take")
            yield ev

    monkeypatch.setattr(gc.Executor, "steps", failing)
    messages, found, selected = [], [], []
    ctl.status_message.connect(messages.append)
    ctl.problems_found.connect(found.append)
    ctl.select_node.connect(selected.append)
    ctl.backward()  # a slot: it must not raise
    assert messages[-1].startswith("Cannot run: ValueError: the kernel met an array it cannot take (" + where)
    assert "'n" not in messages[-1]  # names, not ids
    assert ctl.rec is None and ctl.last_error is not None
    (problem,) = found[-1]
    assert problem.node == selected[-1] and problem.node in g.nodes
    assert "the kernel met an array" in problem.message
    monkeypatch.setattr(gc.Executor, "steps", real)
    ctl.backward()
    assert found[-1] == []  # a pass that runs clears them


def test_a_graph_error_names_the_node_by_name(qtbot):
    g = gc.Graph()
    a = g.add("input", name="a", value=2.0)
    m = g.add("mul", name="product", inputs={"a": a})  # port b left empty
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    messages, found = [], []
    ctl.status_message.connect(messages.append)
    ctl.problems_found.connect(found.append)
    ctl.forward()
    assert "node 'product' port 'b'" in messages[-1] and repr(m) not in messages[-1]
    assert found[-1] and found[-1][0].node == m
    ctl.close()
