"""The canvas driven like a person would: real mouse and key events on the view's viewport.

A drag needs hand-built QMouseEvents that carry the held button (QTest.mouseMove
does not: pytest-qt issue #260), sent to view.viewport().
"""
import math

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QImage, QKeyEvent, QMouseEvent, QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

import graphcore as gc
from app.canvas import GraphScene, GraphView, look as items, set_palette
from app.canvas import EdgeItem, NodeItem

L = Qt.MouseButton.LeftButton
M = Qt.MouseButton.MiddleButton
NOB = Qt.MouseButton.NoButton


def circuit():
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0, ui={"x": 0, "y": 0})
    y = g.add("input", name="y", value=-4.0, ui={"x": 0, "y": 120})
    z = g.add("input", name="z", value=2.0, ui={"x": 0, "y": 240})
    w = g.add("input", name="w", value=-1.0, ui={"x": 0, "y": 360})
    xy = g.add("mul", name="xy", inputs={"a": x, "b": y}, ui={"x": 240, "y": 40})
    m = g.add("max", name="m", inputs={"a": z, "b": w}, ui={"x": 240, "y": 280})
    s = g.add("add", name="s", inputs={"a": xy, "b": m}, ui={"x": 480, "y": 160})
    two = g.add("const", name="two", value=2.0, ui={"x": 480, "y": 360})
    f = g.add("mul", name="f", inputs={"a": s, "b": two}, ui={"x": 720, "y": 240})
    return g, dict(x=x, y=y, z=z, w=w, xy=xy, m=m, s=s, two=two, f=f)


@pytest.fixture
def editor(qtbot):
    g, n = circuit()
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    view.centerOn(QPointF(450, 250))
    messages = []
    scene.status_message.connect(messages.append)
    yield g, n, scene, view, stack, messages
    scene.detach()


# ---------------------------------------------------------------- event helpers
def send_mouse(view, kind, scene_pt, button, buttons, mods=Qt.KeyboardModifier.NoModifier):
    vp = view.mapFromScene(scene_pt)
    glob = view.viewport().mapToGlobal(vp)
    ev = QMouseEvent(kind, QPointF(vp), QPointF(glob), button, buttons, mods)
    QApplication.sendEvent(view.viewport(), ev)


def drag(view, a, b, steps=6, button=L, mods=Qt.KeyboardModifier.NoModifier):
    a, b = QPointF(a), QPointF(b)
    send_mouse(view, QEvent.Type.MouseButtonPress, a, button, button, mods)
    for k in range(1, steps + 1):
        p = a + (b - a) * (k / steps)
        send_mouse(view, QEvent.Type.MouseMove, p, NOB, button, mods)
    send_mouse(view, QEvent.Type.MouseButtonRelease, b, button, NOB, mods)


def click(view, pt, mods=Qt.KeyboardModifier.NoModifier):
    send_mouse(view, QEvent.Type.MouseButtonPress, QPointF(pt), L, L, mods)
    send_mouse(view, QEvent.Type.MouseButtonRelease, QPointF(pt), L, NOB, mods)


def key(widget, k, mods=Qt.KeyboardModifier.NoModifier, text=""):
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, k, mods, text))
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyRelease, k, mods, text))


def out_pos(scene, nid):
    return scene.node_item(nid).output.scene_center()


def in_pos(scene, nid, port):
    return scene.node_item(nid).inputs[port].scene_center()


def body_pos(scene, nid):
    """A point on the node's header, away from ports."""
    r = scene.node_item(nid).sceneBoundingRect()
    return QPointF(r.center().x(), r.top() + 16)


def add_at(g, op, x, y, **kw):
    return g.add(op, ui={"x": x, "y": y}, **kw)


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


# ---------------------------------------------------------------- select, delete, copy, move
def test_delete_undo_redo_restores_the_exact_graph(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    click(view, body_pos(scene, n["xy"]))
    click(view, body_pos(scene, n["m"]), Qt.KeyboardModifier.ControlModifier)
    assert scene.selected_ids() == [n["xy"], n["m"]]
    key(view, Qt.Key.Key_Delete)
    after = g.copy()
    assert n["xy"] not in g.nodes and n["m"] not in g.nodes and len(g.edges) == 2
    assert len(scene.edge_items()) == 2
    stack.undo()
    assert g == before
    assert len(scene.edge_items()) == 8 and {i.node_id for i in scene.node_items()} == set(g.nodes)
    stack.redo()
    assert g == after
    stack.undo()
    assert g == before


def test_selected_wire_is_deleted_with_backspace(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    e = scene.edge_item((n["s"], "b"))
    click(view, e.path().pointAtPercent(0.5))
    assert e.isSelected()
    key(view, Qt.Key.Key_Backspace)
    assert g.input_edge(n["s"], "b") is None
    stack.undo()
    assert g == before


def test_copy_paste_brings_wires_and_fresh_ids(editor):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["x"], n["y"], n["xy"]])
    text = scene.copy_selected()
    before = g.copy()
    new = scene.paste(text, QPointF(300, 600))
    assert len(new) == 3 and not set(new) & set(before.nodes)
    assert scene.selected_ids() == new
    inner = [e for e in g.edges if e.dst in new]
    assert len(inner) == 2 and all(e.src in new for e in inner)
    xs = [g.nodes[i].ui["x"] for i in new]
    ys = [g.nodes[i].ui["y"] for i in new]
    assert (min(xs), min(ys)) == (300.0, 600.0)
    assert {g.nodes[i].name for i in new}.isdisjoint({nd.name for nd in before.nodes.values()})
    for nid in new:
        assert scene.node_item(nid) is not None
    stack.undo()
    assert g == before


def test_paste_of_non_graph_text_reports_and_changes_nothing(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    assert scene.paste('{"hello": 1}') == []
    assert g == before and "Cannot paste" in msgs[-1]


def test_duplicate_with_ctrl_d(editor):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["z"], n["w"], n["m"]])
    before = g.copy()
    key(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    new = scene.selected_ids()
    assert len(new) == 3 and not set(new) & set(before.nodes)
    mx = next(i for i in new if g.nodes[i].op == "max")
    assert g.nodes[mx].ui == {"x": 270.0, "y": 310.0}
    assert set(g.inputs_of(mx).values()) <= set(new)
    assert stack.count() == 1
    stack.undo()
    assert g == before


def test_cut_removes_and_returns_text(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    scene.select_ids([n["two"]])
    text = scene.cut_selected()
    assert n["two"] not in g.nodes and '"two"' in text
    assert stack.count() == 1
    stack.undo()
    assert g == before


def test_moving_several_nodes_is_one_undo_step(editor):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["x"], n["y"]])
    before = g.copy()
    start = body_pos(scene, n["x"])
    drag(view, start, start + QPointF(100, 50), steps=8)
    assert stack.count() == 1
    zoom = view.zoom()
    for nid, (x0, y0) in ((n["x"], (0, 0)), (n["y"], (0, 120))):
        ui = g.nodes[nid].ui
        assert math.isclose(ui["x"] - x0, 100, abs_tol=2 / zoom) and math.isclose(ui["y"] - y0, 50, abs_tol=2 / zoom)
        assert scene.node_item(nid).pos() == QPointF(ui["x"], ui["y"])
    # the wires followed
    e = scene.edge_item((n["xy"], "a"))
    assert e.path().pointAtPercent(0) == out_pos(scene, n["x"])
    stack.undo()
    assert g == before
    assert scene.node_item(n["x"]).pos() == QPointF(0, 0)


def test_snap_to_grid(editor):
    g, n, scene, view, stack, msgs = editor
    scene.snap_to_grid = True
    start = body_pos(scene, n["two"])
    drag(view, start, start + QPointF(33, 27))
    ui = g.nodes[n["two"]].ui
    assert ui["x"] % 20 == 0 and ui["y"] % 20 == 0
    assert (ui["x"], ui["y"]) != (480, 360)


def test_rubber_band_and_select_all(editor):
    g, n, scene, view, stack, msgs = editor
    r0 = scene.node_item(n["x"]).sceneBoundingRect().united(scene.node_item(n["y"]).sceneBoundingRect())
    drag(view, r0.topLeft() - QPointF(20, 20), r0.bottomRight() + QPointF(5, 5))
    assert set(scene.selected_ids()) == {n["x"], n["y"]}
    seen = []
    scene.selection_ids_changed.connect(seen.append)
    key(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert scene.selected_ids() == list(g.nodes) and seen[-1] == list(g.nodes)


def test_rename_by_double_click_on_the_title(editor, qtbot):
    g, n, scene, view, stack, msgs = editor
    p = body_pos(scene, n["s"])
    vp = view.mapFromScene(p)
    QTest.mouseDClick(view.viewport(), L, Qt.KeyboardModifier.NoModifier, vp)
    ed = view.viewport().findChild(QLineEdit, "renameEditor")
    assert ed is not None and ed.text() == "s"
    ed.setText("sum")
    key(ed, Qt.Key.Key_Return)
    assert g.nodes[n["s"]].name == "sum"
    assert scene.node_item(n["s"])._name == "sum"
    stack.undo()
    assert g.nodes[n["s"]].name == "s"


# ---------------------------------------------------------------- layout, problems, look
def test_auto_layout_left_to_right_in_one_step(editor):
    g, n, scene, view, stack, msgs = editor
    for i, nid in enumerate(g.nodes):  # scramble
        g.set_ui(nid, x=(i * 37) % 200, y=(i * 53) % 150)
    before = g.copy()
    key(view, Qt.Key.Key_L)
    assert stack.count() == 1
    pos = {nid: (nd.ui["x"], nd.ui["y"]) for nid, nd in g.nodes.items()}
    for e in g.edges:
        assert pos[e.src][0] < pos[e.dst][0], e
    rects = [scene.node_item(i).sceneBoundingRect().adjusted(4, 4, -6, -7) for i in g.nodes]
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            assert not rects[i].intersects(rects[j])
    assert pos[n["x"]][0] == pos[n["z"]][0] < pos[n["xy"]][0] < pos[n["s"]][0] < pos[n["f"]][0]
    stack.undo()
    assert g == before


def test_problem_outline_and_tooltip(editor):
    g, n, scene, view, stack, msgs = editor
    r = add_at(g, "relu", 900, 0)
    scene.revalidate()
    item = scene.node_item(r)
    assert item.problems and "missing required input" in item.problems[0]
    assert "missing required input" in item.toolTip()
    assert not scene.node_item(n["f"]).problems
    scene.set_problems([gc.Problem(n["f"], None, "NaN in the forward pass", "numeric")])
    assert scene.node_item(n["f"]).problems == ["NaN in the forward pass"]
    scene.set_problems([])
    assert scene.node_item(n["f"]).problems == []
    # wiring the relu clears its problem once the scene revalidates
    drag(view, out_pos(scene, n["f"]), in_pos(scene, r, "x"))
    scene.revalidate()
    assert not item.problems


def test_palette_switch_and_bad_name(editor):
    g, n, scene, view, stack, msgs = editor
    img = QImage(40, 40, QImage.Format.Format_ARGB32)
    try:
        set_palette("light")
        assert items.palette().name == "light"
        from PySide6.QtGui import QPainter
        p = QPainter(img)
        scene.exporting = True
        scene.drawBackground(p, scene.sceneRect())
        scene.exporting = False
        p.end()
        assert img.pixelColor(5, 5).name() == items.LIGHT.background
        with pytest.raises(ValueError, match="unknown canvas palette"):
            set_palette("neon")
    finally:
        set_palette("dark")


def test_edge_and_node_hooks_for_the_run_view(editor):
    g, n, scene, view, stack, msgs = editor
    e = scene.edge_item((n["s"], "a"))
    e.set_labels("-12.00", "2.00")
    assert e.labels() == ("-12.00", "2.00")
    v_item, g_item = e._value_label, e._grad_label
    mid = e.path().pointAtPercent(0.5)
    assert v_item.sceneBoundingRect().bottom() <= mid.y() <= g_item.sceneBoundingRect().top()
    e.set_labels(None, "2.00")
    assert e.labels() == (None, "2.00")
    e.set_flow(2.0, -1.0)
    assert e.flow() == (2.0, -1.0, False)
    e.set_flow(None)
    assert e.flow() is None
    e.pulse(50)
    assert e._pulse.isVisible() and e._pulse.pos() == e.path().pointAtPercent(1.0)  # starts at the input end
    scene.node_item(n["s"]).set_highlight(True)
    assert scene.node_item(n["s"]).highlighted


# ---------------------------------------------------------------- view: zoom, pan, frame, export
def test_wheel_zoom_keeps_the_point_under_the_cursor(editor):
    g, n, scene, view, stack, msgs = editor
    vp = QPoint(300, 200)
    before = view.mapToScene(vp)
    z0 = view.zoom()
    ev = QWheelEvent(QPointF(vp), QPointF(view.viewport().mapToGlobal(vp)), QPoint(0, 0), QPoint(0, 240),
                     NOB, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.zoom() > z0 * 1.2
    after = view.mapToScene(vp)
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2
    for _ in range(60):  # clamped
        view.zoom_by(2.0)
    assert view.zoom() <= 4.0 + 1e-9


def test_frame_selection_and_everything(editor):
    g, n, scene, view, stack, msgs = editor
    view.set_zoom(0.3)
    view.centerOn(QPointF(5000, 5000))
    scene.select_ids([n["two"]])
    key(view, Qt.Key.Key_F)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(scene.node_item(n["two"]).sceneBoundingRect())
    assert view.zoom() == pytest.approx(1.5)  # one small node: capped, not blown up
    scene.clearSelection()
    view.frame_selection()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(scene.nodes_rect())


def test_middle_drag_pans(editor):
    g, n, scene, view, stack, msgs = editor
    vp = view.viewport()
    before = view.mapToScene(QPoint(500, 300))

    def send(kind, x, y, button, buttons):
        QApplication.sendEvent(vp, QMouseEvent(kind, QPointF(x, y), QPointF(vp.mapToGlobal(QPoint(x, y))), button,
                                               buttons, Qt.KeyboardModifier.NoModifier))

    send(QEvent.Type.MouseButtonPress, 500, 300, M, M)
    for k in range(1, 6):
        send(QEvent.Type.MouseMove, 500 + 20 * k, 300 + 10 * k, NOB, M)
    send(QEvent.Type.MouseButtonRelease, 600, 350, M, NOB)
    after = view.mapToScene(QPoint(500, 300))
    z = view.zoom()
    assert math.isclose(before.x() - after.x(), 100 / z, abs_tol=2)
    assert math.isclose(before.y() - after.y(), 50 / z, abs_tol=2)
    assert stack.count() == 0 and not scene.selected_ids()


def test_space_drag_pans_and_does_not_select(editor):
    g, n, scene, view, stack, msgs = editor
    vp = view.viewport()
    p0 = view.mapFromScene(body_pos(scene, n["xy"]))  # starting on a node must not move it
    before = view.mapToScene(p0)
    QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " "))

    def send(kind, pt, button, buttons):
        QApplication.sendEvent(vp, QMouseEvent(kind, QPointF(pt), QPointF(vp.mapToGlobal(pt)), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))

    send(QEvent.Type.MouseButtonPress, p0, L, L)
    send(QEvent.Type.MouseMove, p0 + QPoint(-40, -20), NOB, L)
    send(QEvent.Type.MouseMove, p0 + QPoint(-80, -40), NOB, L)
    send(QEvent.Type.MouseButtonRelease, p0 + QPoint(-80, -40), L, NOB)
    QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " "))
    after = view.mapToScene(p0)
    assert math.isclose(after.x() - before.x(), 80 / view.zoom(), abs_tol=2)
    assert g.nodes[n["xy"]].ui == {"x": 240, "y": 40} and stack.count() == 0


def test_escape_cancels_a_wire_drag(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    a = in_pos(scene, n["s"], "a")
    send_mouse(view, QEvent.Type.MouseButtonPress, a, L, L)
    send_mouse(view, QEvent.Type.MouseMove, a + QPointF(-50, -90), NOB, L)
    assert scene.is_wiring() and not scene.edge_item((n["s"], "a")).isVisible()
    key(view, Qt.Key.Key_Escape)
    assert not scene.is_wiring() and scene.edge_item((n["s"], "a")).isVisible()
    send_mouse(view, QEvent.Type.MouseButtonRelease, a + QPointF(-50, -90), L, NOB)
    assert g == before and stack.count() == 0


def test_export_png_and_svg(editor, tmp_path):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["x"]])
    png = tmp_path / "graph.png"
    assert view.export_image(str(png))
    img = QImage(str(png))
    assert not img.isNull() and img.size() == view.export_size()
    rect = scene.items_rect(None, 40.0)
    assert img.width() == math.ceil(rect.width() * 2) and img.height() == math.ceil(rect.height() * 2)
    # the background is the palette's, with no grid lines and no selection colour anywhere
    assert img.pixelColor(3, 3).name() == items.DARK.background
    svg = tmp_path / "graph.svg"
    assert view.export_image(str(svg))
    text = svg.read_text()
    assert svg.stat().st_size > 1000 and "<svg" in text and "xy" in text
    with pytest.raises(ValueError, match="png or .svg"):
        view.export_image(str(tmp_path / "graph.bmp"))
    assert scene.node_item(n["x"]).isSelected()  # export does not disturb the selection


def test_detached_scene_ignores_the_graph(qtbot):
    g, n = circuit()
    scene = GraphScene(g, QUndoStack())
    scene.detach()
    g.add("relu", ui={"x": 0, "y": 0})
    assert len(scene.node_items()) == 9
    assert len(g.node_added) == 0


def test_unknown_op_node_is_drawn_with_its_wires(qtbot):
    text = gc.dumps(circuit()[0]).replace('"op": "max"', '"op": "fancy_future_op"')
    g = gc.loads(text)
    scene = GraphScene(g, QUndoStack())
    m = g.find("m")
    item = scene.node_item(m)
    assert set(item.inputs) == {"a", "b"} and "unknown op" in item.toolTip()
    assert len(scene.edge_items()) == 8
    assert any("unknown op" in p for p in item.problems)
    scene.detach()


def test_empty_graph_shows_a_hint_until_a_node_arrives(qtbot):
    g = gc.Graph()
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()

    def text_pixels():
        img = view.viewport().grab().toImage()
        pal = items.palette()
        bg = pal.color("background").name()
        row = img.height() // 2
        return sum(img.pixelColor(x, row + dy).name() not in (bg, pal.grid_minor, pal.grid_major)
                   for x in range(img.width()) for dy in (-3, 0, 3))

    assert text_pixels() > 20
    scene.add_node("relu", QPointF(2000, 2000))  # off screen: only the hint could change the middle row
    assert text_pixels() == 0
    stack.undo()
    assert text_pixels() > 20
    scene.detach()


def test_hover_marks_ports_and_wires(editor):
    g, n, scene, view, stack, msgs = editor
    port = scene.node_item(n["s"]).inputs["a"]
    send_mouse(view, QEvent.Type.MouseMove, port.scene_center(), NOB, NOB)
    assert port.hovered
    wire = scene.edge_item((n["f"], "b"))
    send_mouse(view, QEvent.Type.MouseMove, wire.path().pointAtPercent(0.5), NOB, NOB)
    assert wire.hovered and not port.hovered
