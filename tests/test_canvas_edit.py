"""Direct manipulation on the canvas: double-click a value or a param to type it, drag a scalar's
value sideways to scrub it; every edit is one undo step."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QUndoStack
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

import graphcore as gc
from app.canvas.scene import GraphScene
from app.canvas.value_edit import parse_param, parse_value, scrub_step, value_text
from app.canvas.view import GraphView
from app.run.controller import RunController
from backprop_studio_resources import example_path

EXAMPLE = example_path("cs231n_circuit.json")


@pytest.fixture
def canvas(qtbot):
    g = gc.load(EXAMPLE)
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.reset_zoom()
    view.centerOn(scene.node_item(g.find("x")))
    messages = []
    scene.status_message.connect(messages.append)
    yield g, scene, view, stack, messages


def _value_point(view, scene, nid: str, line: int = 0) -> QPoint:
    item = scene.node_item(nid)
    view.centerOn(item)
    QApplication.processEvents()  # the view applies a scroll lazily
    return view.mapFromScene(item.mapToScene(item.center_line_rect(line).center()))


def _mouse(view, kind, pos: QPoint, buttons=Qt.MouseButton.LeftButton, button=Qt.MouseButton.LeftButton):
    """A hand-built event that carries the held button (QTest.mouseMove does not: pytest-qt #260)."""
    vp = view.viewport()
    ev = QMouseEvent(kind, QPointF(pos), QPointF(vp.mapToGlobal(pos)), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)


def _dclick(view, pos: QPoint) -> None:
    """Press, release, double-click, release: what a mouse sends (QTest.mouseDClick skips steps)."""
    _mouse(view, QEvent.Type.MouseButtonPress, pos)
    _mouse(view, QEvent.Type.MouseButtonRelease, pos, buttons=Qt.MouseButton.NoButton)
    _mouse(view, QEvent.Type.MouseButtonDblClick, pos)
    _mouse(view, QEvent.Type.MouseButtonRelease, pos, buttons=Qt.MouseButton.NoButton)


def _editor(view, name: str) -> QLineEdit:
    eds = [e for e in view.viewport().findChildren(QLineEdit, name) if e.isVisible()]
    assert len(eds) == 1
    return eds[0]


def test_double_click_a_value_types_it_and_undo_restores_it(canvas, qtbot):
    g, scene, view, stack, messages = canvas
    x = g.find("x")
    _dclick(view, _value_point(view, scene, x))
    ed = _editor(view, "valueEditor")
    assert ed.text() == "3.0"  # the full value, never the rounded label
    ed.setText("-0.125")
    QTest.keyClick(ed, Qt.Key.Key_Return)
    assert float(g.nodes[x].tensors["value"]) == -0.125
    assert scene.node_item(x)._center[0][0] == "-0.12"
    assert stack.count() == 1
    stack.undo()
    assert float(g.nodes[x].tensors["value"]) == 3.0
    stack.redo()
    assert float(g.nodes[x].tensors["value"]) == -0.125


def test_a_bad_value_is_reported_and_changes_nothing(canvas, qtbot):
    g, scene, view, stack, messages = canvas
    x = g.find("x")
    _dclick(view, _value_point(view, scene, x))
    ed = _editor(view, "valueEditor")
    ed.setText("three")
    QTest.keyClick(ed, Qt.Key.Key_Return)
    assert float(g.nodes[x].tensors["value"]) == 3.0 and stack.count() == 0
    assert messages[-1] == "x: 'three' is not a number"
    _dclick(view, _value_point(view, scene, x))
    ed = _editor(view, "valueEditor")
    ed.setText("7")
    QTest.keyClick(ed, Qt.Key.Key_Escape)  # Escape cancels
    assert float(g.nodes[x].tensors["value"]) == 3.0 and stack.count() == 0


def test_double_click_a_layer_param_edits_it_on_the_node(qtbot):
    g = gc.Graph()
    a = g.add("input", name="a")
    g.set_value(a, np.array([1.0, -2.0]))
    lr = g.add("leaky_relu", name="act", inputs={"x": a})
    g.nodes[lr].ui.update(x=200.0, y=0.0)
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    view.reset_zoom()
    view.centerOn(scene.node_item(lr))
    item = scene.node_item(lr)
    line = item._center_params.index("alpha")
    _dclick(view, _value_point(view, scene, lr, line))
    ed = _editor(view, "paramEditor")
    assert ed.text() == repr(g.nodes[lr].params["alpha"])
    ed.setText("0.2")
    QTest.keyClick(ed, Qt.Key.Key_Return)
    assert g.nodes[lr].params["alpha"] == 0.2 and stack.count() == 1
    assert "alpha 0.2" in [t for t, _ in item._center]
    stack.undo()
    assert g.nodes[lr].params["alpha"] != 0.2
    # the small array of the input is typed as a list
    _dclick(view, _value_point(view, scene, a))
    ed = _editor(view, "valueEditor")
    assert ed.text() == "[1.0, -2.0]"
    ed.setText("[0.5, 4]")
    QTest.keyClick(ed, Qt.Key.Key_Return)
    assert g.nodes[a].tensors["value"].tolist() == [0.5, 4.0]


def test_scrub_drag_is_one_undo_step_and_live_updates_the_whole_graph(canvas, qtbot):
    g, scene, view, stack, messages = canvas
    ctl = RunController(g, scene)
    ctl.set_live(True)
    ctl.backward()
    x = g.find("x")
    f_item = scene.node_item(g.find("f"))
    start = _value_point(view, scene, x)
    _mouse(view, QEvent.Type.MouseButtonPress, start)
    seen = []
    for dx in (2, 10, 20, 30, 40):  # 2 px is below the start threshold
        _mouse(view, QEvent.Type.MouseMove, start + QPoint(dx, 0), button=Qt.MouseButton.NoButton)
        qtbot.wait(45)  # the live re-run is throttled to about 30 Hz
        seen.append(f_item.graph_scene.graph.nodes[x].tensors["value"].item())
    _mouse(view, QEvent.Type.MouseButtonRelease, start + QPoint(40, 0), buttons=Qt.MouseButton.NoButton)
    step = scrub_step(3.0)
    assert seen[0] == 3.0 and seen[-1] == pytest.approx(3.0 + 40 * step)
    assert len(set(seen)) == 5 and sorted(seen) == seen  # it moved with the mouse, rightwards up
    assert stack.count() == 1 and stack.text(0) == "Scrub x"
    assert scene.node_item(x).pos() == QPointF(0, 0)  # the node itself did not move
    qtbot.waitUntil(lambda: ctl.rec is not None and float(ctl.rec.value(x, ctl.cursor)) == seen[-1])
    assert ctl.live_runs >= 2  # the graph followed the drag, not only its end
    y_val = float(g.nodes[g.find("y")].tensors["value"])
    assert float(ctl.rec.value(g.find("xy"), ctl.cursor)) == pytest.approx(seen[-1] * y_val)
    stack.undo()
    assert float(g.nodes[x].tensors["value"]) == 3.0
    ctl.close()


def test_a_click_without_moving_changes_nothing(canvas, qtbot):
    g, scene, view, stack, messages = canvas
    start = _value_point(view, scene, g.find("x"))
    _mouse(view, QEvent.Type.MouseButtonPress, start)
    _mouse(view, QEvent.Type.MouseMove, start + QPoint(1, 0), button=Qt.MouseButton.NoButton)
    _mouse(view, QEvent.Type.MouseButtonRelease, start + QPoint(1, 0), buttons=Qt.MouseButton.NoButton)
    assert stack.count() == 0 and scene.selected_ids() == [g.find("x")]


def test_parsers_keep_dtype_and_shape_and_say_what_is_wrong():
    old = np.array([1, 2], dtype=np.int64)
    assert parse_value("[3, 4]", old, "k").dtype == np.int64
    with pytest.raises(ValueError, match="k holds 2 numbers; '5' has 1"):
        parse_value("5", old, "k")
    with pytest.raises(ValueError, match="integers"):
        parse_value("[1.5, 2]", old, "k")
    with pytest.raises(ValueError, match="not a finite number"):
        parse_value("nan", np.array(1.0), "x")
    assert value_text(np.array(0.1 + 0.2)) == "0.30000000000000004"  # full precision, no rounding
    spec = gc.registry.get("leaky_relu").param("alpha")
    assert parse_param("0.3", spec, "a.alpha") == 0.3
    with pytest.raises(ValueError, match="a.alpha: 'x' is not a valid float"):
        parse_param("x", spec, "a.alpha")
    assert scrub_step(3.0) == pytest.approx(0.05) and scrub_step(0.007) == pytest.approx(0.001 / 20)


def test_scrub_while_training_holds_the_graph_is_refused_once(canvas, qtbot):
    g, scene, view, stack, messages = canvas
    stack.edit_lock = "Training: Stop to edit the graph"  # what the document's stack holds during a run
    start = _value_point(view, scene, g.find("x"))
    _mouse(view, QEvent.Type.MouseButtonPress, start)
    for dx in (10, 20, 30):
        _mouse(view, QEvent.Type.MouseMove, start + QPoint(dx, 0), button=Qt.MouseButton.NoButton)
    _mouse(view, QEvent.Type.MouseButtonRelease, start + QPoint(30, 0), buttons=Qt.MouseButton.NoButton)
    assert float(g.nodes[g.find("x")].tensors["value"]) == 3.0 and stack.count() == 0
    assert messages == ["Scrub refused: Training: Stop to edit the graph"]


def test_after_an_inline_edit_the_next_drag_moves_only_what_it_grabs(canvas, qtbot):
    """The editor opens under the cursor and takes the button's release; the node must not stay
    the mouse grabber (the next press and drag elsewhere used to carry it along)."""
    g, scene, view, stack, messages = canvas
    x, y = g.find("x"), g.find("y")
    p0 = _value_point(view, scene, x)
    _mouse(view, QEvent.Type.MouseButtonPress, p0)
    _mouse(view, QEvent.Type.MouseButtonRelease, p0, buttons=Qt.MouseButton.NoButton)
    _mouse(view, QEvent.Type.MouseButtonDblClick, p0)
    ed = _editor(view, "valueEditor")
    local = ed.mapFrom(view.viewport(), p0)  # the release lands on the editor now under the cursor
    QApplication.sendEvent(ed, QMouseEvent(QEvent.Type.MouseButtonRelease, QPointF(local),
                                           QPointF(ed.mapToGlobal(local)), Qt.MouseButton.LeftButton,
                                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    QTest.keyClick(ed, Qt.Key.Key_Escape)
    assert scene.mouseGrabberItem() is None
    item_y = scene.node_item(y)
    p = view.mapFromScene(item_y.mapToScene(item_y.header_rect().center()))
    _mouse(view, QEvent.Type.MouseButtonPress, p)
    _mouse(view, QEvent.Type.MouseMove, p + QPoint(40, 0), button=Qt.MouseButton.NoButton)
    _mouse(view, QEvent.Type.MouseButtonRelease, p + QPoint(40, 0), buttons=Qt.MouseButton.NoButton)
    assert scene.node_item(x).pos() == QPointF(0, 0)
    assert item_y.pos().x() > 0  # y was dragged, x stayed
