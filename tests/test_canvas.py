"""The canvas driven like a person would: mirroring the graph, wiring by mouse, search and drops.

Real mouse and key events on the view's viewport (helpers in canvas_helpers.py)."""
import math

import numpy as np
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QUndoStack
from PySide6.QtTest import QTest

import graphcore as gc
from app.canvas import GraphScene
from app.canvas import EdgeItem

from canvas_helpers import editor  # noqa: F401  (the fixture)
from canvas_helpers import L, NOB, add_at, body_pos, click, drag, in_pos, key, out_pos, send_mouse  # noqa: F401


# ---------------------------------------------------------------- mirroring
def test_scene_mirrors_the_graph_and_its_events(editor):
    g, n, scene, view, stack, _ = editor
    assert {i.node_id for i in scene.node_items()} == set(g.nodes)
    assert len(scene.edge_items()) == len(g.edges) == 8
    assert scene.node_item(n["x"]).pos() == QPointF(0, 0)
    r = g.add("relu", name="r", inputs={"x": n["f"]}, ui={"x": 900, "y": 240})
    assert scene.node_item(r).pos() == QPointF(900, 240)
    assert scene.edge_item((r, "x")) is not None
    assert scene.edge_item(g.input_edge(r, "x")) is scene.edge_item((r, "x"))
    g.set_ui(r, x=950, y=200)
    assert scene.node_item(r).pos() == QPointF(950, 200)
    g.remove(r)
    assert r not in {i.node_id for i in scene.node_items()}
    assert scene.edge_item((r, "x")) is None
    assert len([i for i in scene.items() if isinstance(i, EdgeItem)]) == 8


def test_nodes_show_name_title_value_and_key_params(editor):
    g, n, scene, view, stack, _ = editor
    x = scene.node_item(n["x"])
    assert x._name == "x" and ("3.00", "value") in x._center
    assert ("*", "symbol") in scene.node_item(n["f"])._center
    lr = g.add("leaky_relu", ui={"x": 0, "y": 600})
    texts = [t for t, _ in scene.node_item(lr)._center]
    assert "alpha 0.01" in texts
    arr = g.add("input", value=np.zeros((2, 3)), ui={"x": 0, "y": 700})
    assert scene.node_item(arr)._center[0][0] == "[2×3]"
    g.set_value(n["x"], 7.5)
    assert ("7.50", "value") in x._center
    g.rename(n["x"], "input_x")
    assert x._name == "input_x"
    assert "mul: " in scene.node_item(n["f"]).toolTip()  # the registry tooltip


def test_nodes_without_positions_get_a_layout_without_editing_the_graph(qtbot):
    g = gc.Graph()
    a = g.add("input", value=1.0)
    b = g.add("relu", inputs={"x": a})
    before = g.copy()
    scene = GraphScene(g, QUndoStack())
    assert g == before
    assert scene.node_item(a).pos().x() < scene.node_item(b).pos().x()
    scene.detach()


CYCLE_NO_POSITIONS = {
    "format": "backprop-studio-graph", "format_version": 1,
    "nodes": [{"id": "a", "op": "add"}, {"id": "b", "op": "add"}, {"id": "s", "op": "add"},
              {"id": "x", "op": "input", "params": {},
               "tensors": {"value": {"dtype": "float64", "shape": [2], "data": [1.0, 2.0]}}}],
    "edges": [{"src": "a", "src_port": "out", "dst": "b", "dst_port": "a"},
              {"src": "b", "src_port": "out", "dst": "a", "dst_port": "a"},
              {"src": "x", "src_port": "out", "dst": "a", "dst_port": "b"},
              {"src": "x", "src_port": "out", "dst": "b", "dst_port": "b"},
              {"src": "s", "src_port": "out", "dst": "s", "dst_port": "a"}],
}


def test_a_file_with_cycles_and_no_positions_gets_a_layout_and_shows_the_cycle(qtbot):
    """A cycle (and a self-loop) in a file without positions used to raise KeyError in the layout,
    which killed the editor at startup; the file opens and the cycle is shown as a problem instead."""
    import json

    g = gc.loads(json.dumps(CYCLE_NO_POSITIONS))
    scene = GraphScene(g, QUndoStack())
    xs = {nid: scene.node_item(nid).pos().x() for nid in g.nodes}
    assert xs["x"] < xs["a"] and len(set(xs.values())) >= 2
    assert {p.code for p in scene.problems()} >= {"cycle"}
    scene.detach()


def test_a_detached_scene_emits_nothing_more(qtbot):
    """A discarded scene is deleted later; selection changes while its items are cleared must not reach
    Python slots of the half-destroyed wrapper."""
    g = gc.Graph()
    a = g.add("input", value=1.0)
    scene = GraphScene(g, QUndoStack())
    seen = []
    scene.selection_ids_changed.connect(seen.append)
    scene.node_item(a).setSelected(True)
    assert seen == [[a]]
    scene.detach()
    scene.node_item(a).setSelected(False)
    g.add("relu", inputs={"x": a})  # the graph's events no longer reach it either
    assert seen == [[a]] and len(scene.items()) == 1 + len(scene.node_item(a).childItems())


# ---------------------------------------------------------------- wiring by mouse
def test_wire_output_to_input_by_dragging(editor):
    g, n, scene, view, stack, msgs = editor
    r = add_at(g, "relu", 900, 100)
    before = g.copy()
    drag(view, out_pos(scene, n["f"]), in_pos(scene, r, "x"))
    assert g.input_edge(r, "x") == gc.Edge(n["f"], r, "x")
    assert scene.edge_item((r, "x")) is not None
    assert stack.count() == 1
    assert not scene.is_wiring()
    stack.undo()
    assert g == before and scene.edge_item((r, "x")) is None


def test_wire_input_to_output_by_dragging(editor):
    g, n, scene, view, stack, msgs = editor
    r = add_at(g, "relu", 900, 100)
    drag(view, in_pos(scene, r, "x"), out_pos(scene, n["xy"]))
    assert g.input_edge(r, "x") == gc.Edge(n["xy"], r, "x")


def test_compatible_ports_light_up_while_dragging(editor):
    g, n, scene, view, stack, msgs = editor
    r = add_at(g, "relu", 900, 100)
    a = out_pos(scene, n["s"])
    send_mouse(view, QEvent.Type.MouseButtonPress, a, L, L)
    send_mouse(view, QEvent.Type.MouseMove, a + QPointF(40, 10), NOB, L)
    assert scene.is_wiring()
    assert scene.node_item(r).inputs["x"].drag_state == "ok"
    assert scene.node_item(n["xy"]).inputs["a"].drag_state == "dim"  # occupied, and upstream
    assert scene.node_item(n["x"]).output.drag_state == "dim"  # outputs cannot take an output
    send_mouse(view, QEvent.Type.MouseMove, in_pos(scene, r, "x"), NOB, L)
    assert scene.node_item(r).inputs["x"].drag_state == "target"
    send_mouse(view, QEvent.Type.MouseButtonRelease, in_pos(scene, r, "x"), L, NOB)
    assert scene.node_item(r).inputs["x"].drag_state is None
    assert g.input_edge(r, "x").src == n["s"]


def test_cycle_is_refused_with_a_message(editor):
    g, n, scene, view, stack, msgs = editor
    r = add_at(g, "relu", 900, 0)
    q = g.add("neg", inputs={"x": r}, ui={"x": 1100, "y": 0})
    before = g.copy()
    drag(view, out_pos(scene, q), in_pos(scene, r, "x"))
    assert g == before and stack.count() == 0
    assert msgs and "cycle" in msgs[-1]


def test_occupied_input_is_refused_with_a_message(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    drag(view, in_pos(scene, n["f"], "b"), QPointF(1000, 600))  # sanity: this one disconnects
    assert g.input_edge(n["f"], "b") is None
    stack.undo()
    assert g == before
    # a fresh wire from x onto xy.b (taken by y) is refused
    drag(view, out_pos(scene, n["x"]), in_pos(scene, n["xy"], "b"))
    assert g == before
    assert "already wired" in msgs[-1]


def test_incompatible_shapes_are_refused(editor):
    g, n, scene, view, stack, msgs = editor
    a = g.add("input", name="A", value=np.ones(3), ui={"x": 0, "y": 600})
    b = g.add("input", name="B", value=np.ones(4), ui={"x": 0, "y": 720})
    s = g.add("add", name="AB", inputs={"a": a}, ui={"x": 260, "y": 640})
    before = g.copy()
    drag(view, out_pos(scene, b), in_pos(scene, s, "b"))
    assert g == before and stack.count() == 0
    assert "broadcast" in msgs[-1] and "'B'" in msgs[-1]
    assert scene.node_item(s).inputs["b"].drag_state is None


def test_dragging_a_wire_end_reroutes_it_in_one_undo_step(editor):
    g, n, scene, view, stack, msgs = editor
    r = add_at(g, "relu", 240, -160)
    before = g.copy()
    drag(view, in_pos(scene, n["xy"], "a"), in_pos(scene, r, "x"))  # pick up x -> xy.a
    assert g.input_edge(n["xy"], "a") is None
    assert g.input_edge(r, "x") == gc.Edge(n["x"], r, "x")
    assert stack.count() == 1
    stack.undo()
    assert g == before
    assert scene.edge_item((n["xy"], "a")).isVisible()


def test_dragging_a_wire_end_into_empty_space_disconnects(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    drag(view, in_pos(scene, n["s"], "b"), QPointF(560, -200))
    assert g.input_edge(n["s"], "b") is None and scene.edge_item((n["s"], "b")) is None
    assert not scene.node_item(n["s"]).inputs["b"].connected
    stack.undo()
    assert g == before


def test_dragging_a_wire_by_its_source_end_moves_the_source(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    e = scene.edge_item((n["f"], "b"))  # two -> f.b
    near_src = e.path().pointAtPercent(0.08)
    drag(view, near_src, out_pos(scene, n["z"]))
    assert g.input_edge(n["f"], "b").src == n["z"]
    assert stack.count() == 1
    assert scene.mouseGrabberItem() is None
    click(view, body_pos(scene, n["w"]))  # the next click is an ordinary click
    assert scene.selected_ids() == [n["w"]]
    stack.undo()
    assert g == before


def test_dropping_a_wire_back_where_it_was_changes_nothing(editor):
    g, n, scene, view, stack, msgs = editor
    p = in_pos(scene, n["s"], "a")
    drag(view, p, p + QPointF(0, 0.01))
    drag(view, p, QPointF(p.x() - 80, p.y() - 80))  # wander off...
    stack.undo()  # (that one disconnected; put it back)
    before = g.copy()
    send_mouse(view, QEvent.Type.MouseButtonPress, p, L, L)
    send_mouse(view, QEvent.Type.MouseMove, p + QPointF(-60, -60), NOB, L)
    send_mouse(view, QEvent.Type.MouseMove, p, NOB, L)
    send_mouse(view, QEvent.Type.MouseButtonRelease, p, L, NOB)  # ...and come home
    assert g == before


# ---------------------------------------------------------------- Tab search, drops
def test_tab_search_adds_relu_at_the_cursor(editor):
    g, n, scene, view, stack, msgs = editor
    spot = QPointF(300, -150)
    send_mouse(view, QEvent.Type.MouseMove, spot, NOB, NOB)
    key(view, Qt.Key.Key_Tab)
    popup = view.findChild(type(view.search), "opSearch")
    assert popup is not None and popup.isVisible()
    QTest.keyClicks(popup.edit, "rel")
    assert popup.current_op() == "relu"
    key(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible()
    new = [nid for nid in g.nodes if g.nodes[nid].op == "relu"]
    assert len(new) == 1
    ui = g.nodes[new[0]].ui
    assert math.isclose(ui["x"], spot.x(), abs_tol=1.0) and math.isclose(ui["y"], spot.y(), abs_tol=1.0)
    assert scene.selected_ids() == new
    assert stack.count() == 1


def test_search_escape_adds_nothing(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    popup = view.open_search(QPoint(100, 100))
    QTest.keyClicks(popup, "sig")  # typed at the frame: forwarded to its line edit
    assert popup.edit.text() == "sig" and popup.current_op() == "sigmoid"
    key(popup.edit, Qt.Key.Key_Escape)
    assert not popup.isVisible() and g == before


def test_drop_from_the_palette_adds_the_op(editor):
    g, n, scene, view, stack, msgs = editor
    md = QMimeData()
    md.setData("application/x-backprop-op", b"tanh")
    pos = QPointF(200, 150)
    ev = QDropEvent(pos, Qt.DropAction.CopyAction, md, NOB, Qt.KeyboardModifier.NoModifier)
    view.dropEvent(ev)
    new = [i for i in g.nodes if g.nodes[i].op == "tanh"]
    assert len(new) == 1
    want = view.mapToScene(pos.toPoint())
    assert (g.nodes[new[0]].ui["x"], g.nodes[new[0]].ui["y"]) == (want.x(), want.y())
