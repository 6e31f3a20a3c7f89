"""The lesson dock, driven like a student: clicks on Start / Next / Show me and the Run toolbar,
F6, a typed value on the canvas; Next waits for the check; progress is kept per user; the language
switch; highlights on the right canvas items and controls."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

import app
from app.lessons import progress
from app.lessons.highlight import MARK


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    return tmp_path


def make_window(qtbot):
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    return w


def open_lessons(w, qtbot, lesson_id):
    w.findChild(type(w.lesson_view.action), "actionLessons").trigger()
    dock = w.lesson_view.dock
    assert dock is not None and dock.isVisible() and dock.objectName() == "lessonDock"
    dock.set_language("en")
    dock.select_lesson(lesson_id)
    click(dock.start_button)
    return dock


def click(widget):
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
    QApplication.processEvents()


def settle(qtbot):
    qtbot.wait(5)  # the dock re-evaluates on a 0-ms timer after each event


def toolbar_button(w, name):
    rv = w.run_view
    return rv.toolbar.widgetForAction(getattr(rv.toolbar, name))


def mouse(view, kind, pos, buttons=Qt.MouseButton.LeftButton):
    vp = view.viewport()
    ev = QMouseEvent(kind, QPointF(pos), QPointF(vp.mapToGlobal(pos)), Qt.MouseButton.LeftButton, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)


def type_value(w, node_name, text):
    """Double-click the node's value on the canvas, type, Enter: what a student does."""
    view, scene, g = w.view, w.scene, w.document.graph
    item = scene.node_item(g.find(node_name))
    view.centerOn(item)
    QApplication.processEvents()
    pos = view.mapFromScene(item.mapToScene(item.center_line_rect(0).center()))
    for kind, buttons in ((QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
                          (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
                          (QEvent.Type.MouseButtonDblClick, Qt.MouseButton.LeftButton),
                          (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        mouse(view, kind, pos, buttons)
    eds = [e for e in view.viewport().findChildren(QLineEdit, "valueEditor") if e.isVisible()]
    assert len(eds) == 1
    eds[0].selectAll()
    QTest.keyClicks(eds[0], text)
    QTest.keyClick(eds[0], Qt.Key.Key_Return)


def test_a_student_walks_the_gates_lesson_with_clicks_and_keys(qtbot, data_dir):
    w = make_window(qtbot)
    dock = open_lessons(w, qtbot, "gates")
    g = w.document.graph
    assert w.document.display_name != "Untitled" and g.find("xy")  # the lesson's graph, a new document
    # step 1: Next waits for the forward pass
    assert not dock.next_button.isEnabled() and dock.explain.text() == "Do the step, or press Show me."
    click(toolbar_button(w, "actionForward"))
    settle(qtbot)
    assert dock.next_button.isEnabled()
    assert "f = 2s = -20.00" in dock.explain.text()  # the notes: 2(3·(-4) + max(2, -1)) = -20
    click(dock.next_button)
    # step 2: F6 is Backward
    assert not dock.next_button.isEnabled()
    w.activateWindow()
    w.view.setFocus()
    QTest.keyClick(w.view, Qt.Key.Key_F6)
    settle(qtbot)
    assert dock.next_button.isEnabled() and "df/ds = 2.00" in dock.explain.text()
    click(dock.next_button)
    # step 3: select the wire into s.a; its highlights are the add gate and both its wires
    s = g.find("s")
    assert dock.highlighter.nodes == [s] and dock.highlighter.wires == [(s, "a"), (s, "b")]
    assert sum(1 for it in w.scene.items() if it.data(0) == MARK) == 3
    assert not dock.next_button.isEnabled()
    wire = w.scene.edge_item((s, "a"))
    w.view.centerOn(wire)
    QApplication.processEvents()
    pos = w.view.mapFromScene(wire.mapToScene(wire.path().pointAtPercent(0.5)))
    mouse(w.view, QEvent.Type.MouseButtonPress, pos)
    mouse(w.view, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton)
    settle(qtbot)
    assert wire.isSelected() and dock.next_button.isEnabled()
    assert "xy receives 2.00 and m receives 2.00" in dock.explain.text()
    click(dock.next_button)
    # step 4: the student types w = 3 on the canvas and presses Backward; the Backward button is framed
    frames = dock.highlighter.frames
    button = toolbar_button(w, "actionBackward")
    assert [f.target for f in frames] == [button]
    assert frames[0].geometry().contains(button.mapTo(w, button.rect().center()))
    type_value(w, "w", "3")
    settle(qtbot)
    assert not dock.next_button.isEnabled()  # the shown pass is stale until Backward runs again
    click(button)
    settle(qtbot)
    assert dock.next_button.isEnabled()
    assert "Now w = 3.00 wins" in dock.explain.text() and "to w (2.00)" in dock.explain.text()
    # the saved progress says step 4 of gates
    assert progress.load()["gates"] == {"step": 3, "done": False}
    w.document.undo_stack.setClean()


def test_show_me_passes_the_step_and_is_undoable(qtbot, data_dir):
    w = make_window(qtbot)
    dock = open_lessons(w, qtbot, "sensitivity")
    click(dock.show_button)  # Backward
    settle(qtbot)
    click(dock.next_button)
    assert dock.run.step.id == "nudge-x" and not dock.next_button.isEnabled()
    stack = w.document.undo_stack
    before = stack.count()
    click(dock.show_button)  # x += 0.1, then Backward: f moves by -0.80 as the gradient -8 predicts
    settle(qtbot)
    assert dock.next_button.isEnabled() and stack.count() == before + 1
    assert "f moved by -0.80" in dock.explain.text() and "= -0.80" in dock.explain.text()
    QTest.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z takes the edit back
    settle(qtbot)
    assert float(w.document.graph.value(w.document.graph.find("x"))) == 3.0
    assert not dock.next_button.isEnabled()
    w.document.undo_stack.setClean()


def test_progress_is_kept_and_a_lesson_resumes_where_it_was_left(qtbot, data_dir):
    (data_dir / progress.FILE).write_text(json.dumps({"version": 1, "lessons": {"data-scale": {"step": 2}}}))
    w = make_window(qtbot)
    w.lesson_view.open()
    dock = w.lesson_view.dock
    dock.set_language("en")
    texts = [dock.list.item(i).text() for i in range(dock.list.count())]
    assert any(t.startswith("4. The mul gate") and t.endswith("3/5") for t in texts), texts
    dock.select_lesson("data-scale")
    assert dock.start_button.text() == "Continue"
    click(dock.start_button)
    settle(qtbot)
    assert dock.run.index == 2 and dock.step_label.text() == "Step 3 of 5"
    g = w.document.graph
    assert float(g.value(g.find("x"))) == 2000.0  # the steps before it were replayed by Show me
    assert "set w to 0.50 − 0.01 × 2.00e+03 = -19.50" in dock.text.text()
    assert json.loads((data_dir / progress.FILE).read_text())["lessons"]["data-scale"]["step"] == 2
    w.document.undo_stack.setClean()


def test_a_corrupt_progress_file_starts_over(data_dir):
    (data_dir / progress.FILE).write_text('{"lessons": {"gates": {"step": "x"}}, ')
    assert progress.load() == {}
    progress.save({"gates": {"step": 1, "done": False}})
    assert progress.load() == {"gates": {"step": 1, "done": False}}
    assert [p.name for p in data_dir.iterdir()] == [progress.FILE]  # no temporary file left


def test_the_language_switch_changes_every_text_and_is_remembered(qtbot, data_dir):
    w = make_window(qtbot)
    dock = open_lessons(w, qtbot, "gates")
    assert dock.text.text().startswith("This is the circuit from the CS231n notes")
    dock.lang_box.setCurrentIndex(dock.lang_box.findData("zh"))
    settle(qtbot)
    assert dock.text.text().startswith("这是 CS231n 笔记里的电路")
    assert dock.next_button.text() == "下一步 ▶" and dock.list.item(0).text().startswith("1. 门：")
    from app.lessons.dock import default_lang

    assert default_lang() == "zh"
    dock.lang_box.setCurrentIndex(dock.lang_box.findData("en"))
    assert default_lang() == "en"
    w.document.undo_stack.setClean()


def test_unsaved_changes_are_asked_about_and_cancel_keeps_the_document(qtbot, data_dir, monkeypatch):
    w = make_window(qtbot)
    w.document.graph.add("input", "mine", value=1.0)
    w.document.mark_modified()
    asked = []
    monkeypatch.setattr(type(w), "ask_unsaved_changes",
                        lambda self: asked.append(1) or QMessageBox.StandardButton.Cancel)
    doc = w.document
    w.lesson_view.open()
    dock = w.lesson_view.dock
    dock.select_lesson("gates")
    click(dock.start_button)
    assert asked and w.document is doc and dock.run is None
    assert not dock.next_button.isEnabled()
    w.document.undo_stack.setClean()
    doc.mark_saved()


def test_a_control_the_window_does_not_have_is_not_highlighted(qtbot, data_dir):
    w = make_window(qtbot)
    dock = w.lesson_view.open()
    g = w.document.graph
    n = g.add("input", "a", value=1.0)
    dock.highlighter.show(g, ["a", "nobody"], ["nobody.x", "a.q"], ["lossLandscapeDock", "actionNoSuch", "graphView"])
    assert dock.highlighter.nodes == [n] and dock.highlighter.wires == []
    assert dock.highlighter.controls == ["graphView"]
    dock.highlighter.clear()
    assert not [it for it in w.scene.items() if it.data(0) == MARK]
    w.document.undo_stack.setClean()
    w.document.mark_saved()


def test_the_dock_is_a_tab_beside_the_inspector_even_after_reset_layout(qtbot, data_dir):
    w = make_window(qtbot)
    dock = w.lesson_view.open()
    assert w.inspector_dock in w.tabifiedDockWidgets(dock)
    w.reset_layout()
    qtbot.wait(20)
    assert w.inspector_dock in w.tabifiedDockWidgets(dock) and dock.isVisible()
