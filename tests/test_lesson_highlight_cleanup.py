"""Lesson control frames belong to the step shown: steps moved by a script (Show me, Next, Back
with no event loop in between), a finished lesson and a closed lesson dock leave no frame behind."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from main_window_helpers import started_lesson

FRAME = "lessonControlHighlight"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    return tmp_path


def start(qtbot, lesson_id):
    return started_lesson(qtbot, lesson_id)


def frames(w) -> list:
    return w.findChildren(QWidget, FRAME)


def shown(w) -> list:
    return [f for f in frames(w) if f.isVisible()]


def framed_names(w) -> set:
    """objectNames of the controls framed on screen (an action's toolbar button is named after nothing:
    its tool button's defaultAction names it)."""
    out = set()
    for f in shown(w):
        t = f.target
        action = t.defaultAction() if hasattr(t, "defaultAction") and t.defaultAction() is not None else None
        out.add(action.objectName() if action is not None else t.objectName())
    return out


def test_scripted_steps_leave_only_the_frames_of_the_step_shown(qtbot, data_dir):
    w, dock = start(qtbot, "gates")
    steps = dock.run.lesson.steps
    seen_controls = 0
    for _ in range(len(steps) - 1):  # Show me then Next, as a script does, with no event loop between
        dock.show_me()
        dock.next()
        want = set(dock.run.step.highlight["controls"])
        seen_controls += len(want)
        assert len(frames(w)) == len(dock.highlighter.frames) == len(want)
        assert framed_names(w) == want, (dock.run.index, framed_names(w), want)
    assert seen_controls >= 3  # the walk went over steps that frame toolbar buttons
    for _ in range(3):
        dock.back()
        want = set(dock.run.step.highlight["controls"])
        assert len(frames(w)) == len(want) and framed_names(w) == want
    w.document.undo_stack.setClean()
    w.document.mark_saved()


def test_a_finished_lesson_and_a_closed_dock_leave_no_frame(qtbot, data_dir):
    w, dock = start(qtbot, "gates")
    while not dock.run.at_last:
        dock.show_me()
        dock.next()
    assert shown(w)  # the last step asks for Backward: framed until it is done
    dock.show_me()
    dock.refresh()
    assert dock.passed and dock.step_label.text() == "Lesson complete ✓"
    assert frames(w) == []
    dock.back()
    assert shown(w)  # back on a step that asks for a click
    dock.toggleViewAction().trigger()  # the student closes the lesson
    qtbot.wait(20)
    assert frames(w) == []
    dock.schedule()
    qtbot.wait(20)  # a late re-evaluation (a graph event) does not bring them back
    assert frames(w) == []
    dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: len(shown(w)) == len(dock.run.step.highlight["controls"]))
    w.document.undo_stack.setClean()
    w.document.mark_saved()


def test_a_control_inside_a_tab_behind_another_gets_no_frame(qtbot, data_dir):
    w, dock = start(qtbot, "dead-relus")
    train = w.train_view.train_dock
    dock.raise_()
    qtbot.wait(20)
    assert train.visibleRegion().isEmpty()  # Train sits behind the lesson's tab
    dock.highlighter.show(w.document.graph, [], [], ["trainDock", "actionTrain"])
    window = QRect(0, 0, w.width(), w.height())
    visible = shown(w)
    assert [f.target for f in visible] == [train]  # its tab is framed; the button behind it is not
    assert all(window.contains(f.geometry()) for f in visible)
    w.document.undo_stack.setClean()
    w.document.mark_saved()
