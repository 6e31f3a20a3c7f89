"""The plot toggles of the training view: a plot switched on shows the history it already has."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from app.train.plots import EPOCH_VAL_LOSS, GRAD_NORM, STEP_LOSS, STEP_LR, PlotsDock


@pytest.fixture(scope="module")
def dock(qapp):
    """One window for the module: pyqtgraph widgets are not created and destroyed per test."""
    win = QMainWindow()
    d = PlotsDock(win)
    win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, d)
    win.resize(1280, 720)
    win.show()
    yield d
    d.timer.stop()
    win.close()


def _points(item) -> int:
    x, _ = item.getData()
    return 0 if x is None else len(x)


def _chunk(n: int) -> dict:
    x = np.arange(n, dtype=float)
    return {STEP_LOSS: (x, 1.0 / (x + 1.0)), f"{GRAD_NORM}/fc1.W": (x, np.exp(-x / 100.0)),
            STEP_LR: (x, np.full(n, 0.1))}


@pytest.mark.parametrize("key", ["grad", "lr"])
def test_a_plot_toggled_on_after_the_data_arrived_draws_its_history(dock, qtbot, key):
    dock.clear()
    dock.show_plot(key, False)
    dock.add_chunk(_chunk(300))  # one chunk, then the run goes quiet (stopped or paused)
    qtbot.waitUntil(lambda: any(_points(c) for c in dock.curves("loss")), timeout=3000)
    qtbot.wait(300)  # several timer ticks with no new data

    qtbot.mouseClick(dock.plot_buttons[key], Qt.MouseButton.LeftButton)  # as the user toggles it on
    assert key in dock.visible_plots()
    qtbot.waitUntil(lambda: any(_points(c) for c in dock.curves(key)), timeout=3000)
    (x0, x1), _ = dock.plots[key].vb.viewRange()
    assert x0 <= 0.0 and x1 >= 299.0  # the range is fitted to the history, not left at its default 0..1
    dock.show_plot(key, False)


def test_a_hidden_plot_catches_up_with_every_chunk_once_shown(dock, qtbot):
    dock.clear()
    dock.show_plot("grad", False)
    dock.add_chunk(_chunk(100))
    qtbot.wait(200)
    x = np.arange(100, 400, dtype=float)
    dock.add_chunk({f"{GRAD_NORM}/fc1.W": (x, np.exp(-x / 100.0))})
    qtbot.wait(200)
    dock.show_plot("grad", True)
    qtbot.waitUntil(lambda: any(_points(c) for c in dock.curves("grad")), timeout=3000)
    xs, _ = dock.curves("grad")[0].getData()
    assert xs[0] == 0.0 and xs[-1] == 399.0
    dock.show_plot("grad", False)


def test_a_plot_whose_series_did_not_change_is_not_redrawn(dock, qtbot):
    from app.train.plots import EPOCH_TRAIN_ACC

    dock.timer.stop()
    try:
        dock.clear()
        assert {"loss", "acc"} <= set(dock.visible_plots())
        chunk = _chunk(50)
        chunk[EPOCH_TRAIN_ACC] = (np.array([49.0]), np.array([0.5]))
        dock.add_chunk(chunk)
        dock.refresh(everything=True)
        d0 = dock.draws
        x = np.arange(50, 100, dtype=float)
        dock.add_chunk({STEP_LOSS: (x, 1.0 / (x + 1.0))})  # steps only: the accuracy plot has nothing new
        for _ in range(6):
            dock.refresh()
        assert dock.draws == d0 + 1  # the loss, once
        dock.add_chunk({EPOCH_TRAIN_ACC: (np.array([99.0]), np.array([0.7]))})
        for _ in range(2):
            dock.refresh()
        assert dock.draws == d0 + 2
        _, acc = dock.curves("acc")[0].getData()
        assert acc.tolist() == [0.5, 0.7]
    finally:
        dock.timer.start()


def test_the_plots_timer_skips_the_tick_right_after_a_boundary_redraw(dock, qtbot):
    from app.train.pacing import PACER

    dock.timer.stop()
    try:
        dock.clear()
        dock.add_chunk(_chunk(20))
        d0 = dock.draws
        PACER.drew()  # as BoundaryDock does when it redraws the decision boundary
        dock._on_tick()
        assert dock.draws == d0  # not in the same frame as the boundary
        PACER._last = float("-inf")  # a frame later
        dock._on_tick()
        assert dock.draws == d0 + 1
    finally:
        dock.timer.start()


def test_a_kept_run_is_named_in_the_titles_in_its_dashed_colours(dock, qtbot):
    dock.clear_kept()
    dock.clear()
    x = np.arange(40, dtype=float)
    dock.add_chunk({STEP_LOSS: (x, 1.0 / (x + 1.0)), EPOCH_VAL_LOSS: (x[::10], 1.2 / (x[::10] + 1.0))})
    qtbot.waitUntil(lambda: any(_points(c) for c in dock.curves("loss")), timeout=3000)
    assert "kept" not in dock.plots["loss"].titleLabel.text
    dock.keep_run()
    dock.add_chunk({STEP_LOSS: (x, 0.5 / (x + 1.0))})
    qtbot.waitUntil(lambda: len([c for c in dock.curves("loss") if _points(c)]) >= 3, timeout=3000)
    title = dock.plots["loss"].titleLabel.text
    assert "kept:" in title
    kept_part = title.split("kept:", 1)[1]
    assert "train" in kept_part and "val" in kept_part
    dashed = [c for c in dock.curves("loss") if c.opts["pen"].style() == Qt.PenStyle.DashLine and c.opts.get("name")]
    assert dashed
    for c in dashed:  # each kept curve's name is written in its own colour, after "kept:"
        assert f"color:{c.opts['pen'].color().name()}" in kept_part
    solid = [c for c in dock.curves("loss") if c.opts["pen"].style() == Qt.PenStyle.SolidLine and c.opts.get("name")]
    assert all(f"color:{c.opts['pen'].color().name()}" in title.split("kept:", 1)[0] for c in solid)
    dock.keep_run()  # two kept runs: each named by its number
    qtbot.waitUntil(lambda: "kept 2:" in dock.plots["loss"].titleLabel.text, timeout=3000)
    assert "kept 1:" in dock.plots["loss"].titleLabel.text
    dock.clear_kept()
    qtbot.waitUntil(lambda: "kept" not in dock.plots["loss"].titleLabel.text, timeout=3000)
