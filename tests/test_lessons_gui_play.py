"""Every lesson, played in the lesson dock as a student would: Start, then on every step Next is
off until the step is done, Show me does it, Next comes on and the explanation shows the live
numbers (no placeholder left unfilled). Training runs inline on the numpy kernels (as
tests/test_train_gui_lifecycle.py's inline tests do), so the runs are deterministic and no child process
starts."""
from __future__ import annotations

import re

import numpy as np

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import app
import graphcore.lessons as L

LESSONS = {les.id: les for les in L.load_all()}
FAST = ("gates", "relu-vs-tanh")  # one circuit lesson and one training lesson run by default
PLACEHOLDER = re.compile(r"\{[^}]*\}|(?<![\w.])\?(?![\w])")


@pytest.fixture
def numpy_kernels():
    """Inline training compiles nothing off the main thread (see tests/test_train_gui_lifecycle.py)."""
    from graphcore import kernels

    before = kernels.backend()
    kernels.use("numpy")
    yield
    kernels.use(before)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, numpy_kernels):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: getattr(w, "train_controller", None) is not None, timeout=5000)
    w.train_controller.inline = True
    return w


def done_with(w) -> None:
    """Nothing to save: pytest-qt closes the window before fixtures end, and it would ask."""
    w.train_controller.shutdown()
    w.document.undo_stack.setClean()
    w.document.mark_saved()


def click(widget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
    QApplication.processEvents()


def settle(qtbot, w) -> None:
    qtbot.waitUntil(lambda: not w.train_controller.is_running(), timeout=60000)
    qtbot.wait(5)  # the dock re-evaluates on a 0-ms timer


def play(w, qtbot, lesson_id: str) -> list[str]:
    """Walk the lesson with Show me then Next; return each step's explanation."""
    lesson = LESSONS[lesson_id]
    dock = w.lesson_view.open()
    dock.set_language("en")
    dock.progress.pop(lesson_id, None)
    dock.select_lesson(lesson_id)
    assert dock.start(unsaved="discard")
    settle(qtbot, w)
    shown = []
    for i, step in enumerate(lesson.steps):
        last = i == len(lesson.steps) - 1
        assert dock.run.index == i
        assert dock.step_label.text() in ((f"Step {i + 1} of {len(lesson.steps)}",) + (("Lesson complete ✓",) if last else ()))
        to_do = step.check[0] != "read"
        if step.show_me:
            if to_do:
                assert not dock.next_button.isEnabled(), f"{lesson_id} step {step.id}: Next before the step is done"
            click(dock.show_button)
            settle(qtbot, w)
        passed = dock.run.passed()
        assert passed, f"{lesson_id} step {step.id}: the check fails after Show me ({dock.explain.text()})"
        assert dock.next_button.isEnabled() == (i < len(lesson.steps) - 1)
        text = dock.explain.text()
        if step.explain:
            assert text and not PLACEHOLDER.search(text), f"{lesson_id} step {step.id}: {text!r}"
            if any(not isinstance(part, str) for part in step.explain["en"]):
                assert re.search(r"\d", text), f"{lesson_id} step {step.id}: no number in {text!r}"
        shown.append(text)
        if i < len(lesson.steps) - 1:
            click(dock.next_button)
    assert dock.step_label.text() == "Lesson complete ✓"
    return shown


@pytest.mark.parametrize("lesson_id", [
    pytest.param(i, marks=() if i in FAST else pytest.mark.slow) for i in sorted(LESSONS, key=lambda k: LESSONS[k].order)])
def test_every_lesson_plays_through_the_dock(window, qtbot, lesson_id):
    try:
        shown = play(window, qtbot, lesson_id)
    finally:
        done_with(window)
    assert shown == headless(lesson_id)  # one meaning per action: the same numbers as `lessons play`


def headless(lesson_id: str) -> list[str]:
    """The explanations the headless player (python main.py lessons play ID) gives, step by step."""
    from graphcore.lessons.headless import HeadlessWorld

    run = L.LessonRun(LESSONS[lesson_id], HeadlessWorld(), "en")
    run.open(0)
    out = []
    for i in range(len(run.lesson.steps)):
        run.show_me()
        assert run.passed()
        out.append(run.explanation())
        run.next()
    return out


def test_show_me_swaps_and_redraws_as_undoable_edits(window, qtbot):
    """Lesson 6's ELU swap and lesson 12's fresh weights are undo steps: Ctrl+Z takes them back."""
    w = window
    try:
        dock = w.lesson_view.open()
        dock.set_language("en")
        dock.progress["overfitting"] = {"step": 2, "done": False}  # dropout, then fresh weights
        dock.select_lesson("overfitting")
        assert dock.start(unsaved="discard")
        settle(qtbot, w)
        g, stack = w.document.graph, w.document.undo_stack
        fc1 = g.find("fc1")
        trained = g.nodes[fc1].tensors["W"].copy()
        n = stack.count()
        click(dock.show_button)  # p = 0.5, fresh weights, train
        settle(qtbot, w)
        assert stack.count() == n + 2 and stack.text(n + 1) == "Fresh weights"
        stack.undo()  # the run's weights are applied outside the stack: undo the redraw itself
        assert np.array_equal(g.nodes[fc1].tensors["W"], trained)
        stack.redo()
        assert not np.array_equal(g.nodes[fc1].tensors["W"], trained)
        dock.progress["dead-relus"] = {"step": 5, "done": False}
        dock.select_lesson("dead-relus")
        assert dock.start(unsaved="discard")
        settle(qtbot, w)
        g, stack = w.document.graph, w.document.undo_stack
        relu = g.find("relu")
        click(dock.show_button)
        settle(qtbot, w)
        assert g.nodes[relu].op == "elu" and dock.next_button.isEnabled() is False and dock.run.passed()
        item = w.scene.node_item(relu)
        assert "ELU" in item._title
        QTest.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert g.nodes[relu].op == "relu" and item._title == "ReLU"
        assert [e.dst for e in g.out_edges(relu)] == [g.find("fc2")]
    finally:
        done_with(w)
