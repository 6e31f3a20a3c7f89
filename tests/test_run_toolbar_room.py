"""The Run toolbar's pass position is readable at 1280 and 1920 px wide without pushing any other
control off the toolbar, and the toolbar says which mode the editor's passes run in."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from app.run.toolbar import MODE_TIP
from backprop_studio_resources import example_path
from main_window_helpers import shown_window


def make(qtbot, width, height):
    w = shown_window(qtbot, width, height)
    w.open_file(example_path("cs231n_circuit.json"))
    QApplication.processEvents()
    return w


def settle(qtbot):
    qtbot.wait(10)  # the toolbar lays out on the next turn of the event loop


def every_control_shown(bar) -> bool:
    return all(bar.widgetForAction(a).isVisible() for a in bar.actions()
               if bar.widgetForAction(a) is not None and not a.isSeparator())


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_pass_position_is_shown_whole_and_nothing_else_is_pushed_off(qtbot, size):
    w = make(qtbot, *size)
    ctl, bar = w.run_view.controller, w.run_view.toolbar
    label = bar.positionLabel
    for cursor in (15, 17):  # the longest positions of the circuit: a backward wire into a gate
        ctl.backward()
        while ctl.cursor > cursor:
            ctl.step_back()
        settle(qtbot)
        assert label.toolTip() == label.full == f"event {cursor + 1}/18: {ctl.rec.events[cursor].describe(ctl.graph)}"
        assert label.text() == label.full, (label.text(), label.width())  # not elided
        assert label.isVisible() and label.geometry().right() <= bar.width()
        assert every_control_shown(bar)
        assert bar.findChild(type(bar.speedSlider), "speedSlider").isVisible()
        scrub = w.findChild(type(bar.modeIndicator), "scrubLabel")
        assert scrub.width() >= scrub.fontMetrics().horizontalAdvance(scrub.text())  # the scrub label is not cut
    w.document.mark_saved()


def test_a_long_position_is_elided_with_the_whole_of_it_in_the_tooltip(qtbot):
    w = make(qtbot, 1280, 720)
    bar = w.run_view.toolbar
    label = bar.positionLabel
    long = "event 12/40: backward: a_rather_long_layer_name.scores → another_long_node_name_here"
    label.set_full_text(long)
    settle(qtbot)
    assert label.text().startswith("event 12/40: backward:") and label.text().endswith("…")
    assert label.toolTip() == long
    assert every_control_shown(bar)
    w.resize(1920, 1080)  # a wider window gives it the room back
    qtbot.waitUntil(lambda: label.text() == long)
    w.document.mark_saved()


def test_the_toolbar_says_passes_run_in_eval_mode_and_offers_no_switch(qtbot):
    w = make(qtbot, 1280, 720)
    bar, ctl = w.run_view.toolbar, w.run_view.controller
    mode = bar.modeIndicator
    assert mode.objectName() == "runModeIndicator" and mode.isVisible() and not mode.isEnabled()
    assert mode.text().strip() == ctl.executor.mode == "eval"
    assert "passes in the editor run in eval mode; training uses train mode" in mode.toolTip().lower()
    assert mode.toolTip() == MODE_TIP
    assert not [a for a in bar.actions() if "mode" in a.objectName().lower()]  # nothing to switch it with
    w.document.mark_saved()
