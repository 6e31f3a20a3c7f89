"""Stepping a pass while a lesson runs leaves the lesson in front: the Code tab comes forward in the
Inspector's place only (it used to cover the lesson at a pass's first event, so the text the student
was reading, and the next step's, went out of sight)."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from backprop_studio_resources import example_path
from main_window_helpers import shown_window, started_lesson


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    return tmp_path


def test_a_step_during_a_lesson_keeps_the_lesson_in_view(qtbot, data_dir):
    w, dock = started_lesson(qtbot, "gates")
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty())
    w.run_view.toolbar.actionStep.trigger()
    qtbot.waitUntil(lambda: w.run_view.controller.state_text() != "")  # the step is shown
    QApplication.processEvents()
    assert not dock.visibleRegion().isEmpty()


def test_with_the_inspector_in_front_a_pass_brings_the_code_tab(qtbot, data_dir):
    w = shown_window(qtbot, 1280, 720)
    w.open_file(example_path("cs231n_circuit.json"))
    w.inspector_dock.raise_()
    qtbot.waitUntil(lambda: not w.inspector_dock.visibleRegion().isEmpty())
    w.run_view.toolbar.actionStep.trigger()
    qtbot.waitUntil(lambda: not w.run_view.code.visibleRegion().isEmpty())
