"""Training from the GUI, the live plots: their growing buffers, redraws paced by the timer, kept
runs overlaid, and plots that stay readable with Inf/NaN and many curves."""
from __future__ import annotations

import numpy as np

from app.train.plots import ROTATION, STEP_LOSS
from app.train.series import GrowingSeries, RunHistory, pack_records
from train_gui_rig import shared, spiral  # noqa: F401  (the fixtures)


# ---------------------------------------------------------------- buffers
def test_growing_series_keeps_every_point_across_reallocations():
    s = GrowingSeries(capacity=4)
    for i in range(10):
        s.append(i, i * i)
    s.extend(np.arange(10, 1000), np.arange(10, 1000) ** 2)
    x, y = s.view()
    assert len(s) == 1000 and s.x.shape[0] == 1024
    assert np.array_equal(x, np.arange(1000)) and np.array_equal(y, np.arange(1000) ** 2)


def test_pack_records_makes_one_series_per_scalar_and_per_layer():
    recs = [(1, {"loss": 2.0, "acc": None, "grad_norm": {"fc1.W": 0.5, "fc2.W": 0.25}}),
            (2, {"loss": 1.5, "acc": 0.5, "grad_norm": {"fc1.W": 0.4}})]
    chunk = pack_records(recs)
    assert set(chunk) == {"loss", "acc", "grad_norm/fc1.W", "grad_norm/fc2.W"}
    assert chunk["loss"][0].tolist() == [1.0, 2.0] and chunk["loss"][1].tolist() == [2.0, 1.5]
    assert chunk["acc"][0].tolist() == [2.0]  # None is skipped, not plotted as 0
    assert chunk["grad_norm/fc1.W"][1].tolist() == [0.5, 0.4]
    h = RunHistory()
    h.add_chunk(chunk)
    assert sorted(h.group("grad_norm")) == ["fc1.W", "fc2.W"]


def test_plots_redraw_only_on_the_timer(shared, qtbot):
    dock = shared.plots
    dock.timer.stop()
    dock.clear_kept()
    dock.start_run()
    dock.refresh()
    d0 = dock.draws
    for k in range(50):  # 50 chunks arrive between two ticks
        dock.add_chunk({STEP_LOSS: (np.array([k], float), np.array([1.0 / (k + 1)]))})
    assert dock.draws == d0 and dock.curve_count("loss") == 0
    dock.refresh(everything=True)
    dock.refresh()  # nothing new: no redraw
    assert dock.draws == d0 + 1
    x, y = dock._curves[(0, "loss", "smooth")].getData()
    assert len(x) == 50
    # on a plain tick the loss plot is redrawn plus at most one other plot, in turn
    dock.add_chunk({"step.lr": (np.array([50.0]), np.array([0.1])), "step.grad_norm/fc.W": (np.array([50.0]),
                                                                                          np.array([0.5]))})
    was_shown = set(dock.shown)
    for key in ("grad", "lr"):
        dock.show_plot(key, True)
    dock.refresh()
    assert not ((0, "grad", "g:fc.W") in dock._curves and (0, "lr", "lr") in dock._curves)
    for _ in range(2 * len(ROTATION)):
        dock.refresh()
    assert (0, "grad", "g:fc.W") in dock._curves and (0, "lr", "lr") in dock._curves
    # a hidden plot is not drawn by the ticks; it catches up when shown
    dock.show_plot("grad", False)
    dock.add_chunk({"step.grad_norm/fc.W": (np.array([51.0]), np.array([0.4]))})
    for _ in range(2 * len(ROTATION)):
        dock.refresh()
    assert len(dock._curves[(0, "grad", "g:fc.W")].getData()[0]) == 1
    dock.show_plot("grad", True)
    dock.refresh()
    assert len(dock._curves[(0, "grad", "g:fc.W")].getData()[0]) == 2
    for key in ("grad", "lr"):
        dock.show_plot(key, key in was_shown)
    dock.start_run()
    dock.timer.start()


def test_keep_run_overlays_the_next_run(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(30)
    rig.train.actionTrain.trigger()
    rig.wait_done()
    rig.plots.refresh(everything=True)
    rig.plots.keep_button.click()
    rig.train.optimizer_combo.setCurrentText("adam")
    rig.train.lr_spin.setValue(0.01)
    rig.train.actionTrain.trigger()
    rig.wait_done()
    rig.plots.refresh(everything=True)
    train_curves = [c for c in rig.plots.curves("loss") if c.name() and c.name().startswith("train")]
    assert len(train_curves) == 2
    names = sorted(c.name() for c in train_curves)
    assert names == ["train", "train (kept)"]
    runs = rig.plots.runs_label.text()
    assert "dashed: relu, sgd" in runs and "solid: relu, adam" in runs
    kept_x, kept_y = train_curves[[("kept" in c.name()) for c in train_curves].index(True)].getData()
    assert len(kept_x) == 30
    rig.plots.clear_button.click()
    assert rig.plots.curve_count("loss") == 0 or all("kept" not in (c.name() or "") for c in rig.plots.curves("loss"))


def test_loss_plot_shows_the_regularisation_part(spiral, qtbot):
    rig = spiral  # spiral_2layer has an L2 node (strength 1e-3)
    rig.train.epochs_spin.setValue(20)
    rig.train.actionTrain.trigger()
    rig.wait_done()
    rig.plots.refresh(everything=True)
    reg = rig.plots._curves[(len(rig.plots.kept), "loss", "reg")]
    x, y = reg.xData, reg.yData  # the data, not the log10 the plot draws
    total = rig.plots.history.get(STEP_LOSS).view()[1]
    assert len(x) == 20 and np.all(y > 0) and np.all(y < total)


# ---------------------------------------------------------------- readable at 1280x720 (issue 9)
def _series(name, ys, start=0):
    ys = np.asarray(ys, float)
    return {name: (np.arange(start, start + ys.shape[0], dtype=float), ys)}


def test_plots_survive_inf_and_nan_and_show_a_unit_curve_at_one(shared, qtbot):
    from app.train.plots import DEAD_RELU, GRAD_NORM

    dock = shared.plots
    dock.timer.stop()
    dock.clear()
    chunk = {}
    chunk.update(_series(STEP_LOSS, [2.3, 2.0, 50.0, np.inf, np.nan, -np.inf, 1e308 * 10]))
    chunk.update(_series(f"{GRAD_NORM}/fc1.W", [0.5, np.inf, np.nan, 0.0, 1e-3]))
    chunk.update(_series(f"{DEAD_RELU}/relu", [0.2, 0.9, 1.0, 1.0, 1.0]))
    dock.add_chunk(chunk)
    dock.refresh(everything=True)  # "Cannot set range [-inf, inf]" before
    for key in ("loss", "grad", "units"):
        (x0, x1), (y0, y1) = dock.plots[key].vb.viewRange()
        assert all(np.isfinite(v) for v in (x0, x1, y0, y1)), key
    (_, _), (y0, y1) = dock.plots["units"].vb.viewRange()
    assert y1 > 1.02 and y0 < 0.0  # a curve at 1.0 is inside the view, not on its edge
    dead = next(c for c in dock.curves("units"))
    assert np.nanmax(dead.yData) == 1.0


def test_plot_curve_names_sit_in_the_title_not_over_the_curves(shared, qtbot):
    from app.train.plots import GRAD_NORM

    dock = shared.plots
    dock.timer.stop()
    dock.clear()
    chunk = _series(STEP_LOSS, [2.0, 1.0])
    chunk.update(_series(f"{GRAD_NORM}/fc1.W", [0.5, 0.4]))
    chunk.update(_series(f"{GRAD_NORM}/fc2.W", [0.3, 0.2]))
    dock.add_chunk(chunk)
    dock.refresh(everything=True)
    assert all(p.legend is None for p in dock.plots.values())  # no LegendItem over the curves
    title = dock.plots["grad"].titleLabel.text
    assert "fc1.W" in title and "fc2.W" in title
    assert "train" in dock.plots["loss"].titleLabel.text


def test_plot_controls_share_the_title_row(shared, qtbot):
    dock = shared.plots
    bar = dock.titleBarWidget()
    assert bar is not None and bar.objectName() == "plotsTitleBar"
    assert bar.isAncestorOf(dock.log_check) and bar.isAncestorOf(dock.keep_button)


def test_another_document_takes_the_axes_back_to_where_they_started(shared, qtbot):
    """A document owns its panels: after a long run, opening another graph left its empty plots on the
    old run's axes (x 0 to 10,000, loss down to 1e-5)."""
    dock = shared.plots
    dock.timer.stop()
    dock.clear()
    home = {k: p.vb.viewRange() for k, p in dock.plots.items()}
    dock.start_run()
    xs = np.arange(1.0, 10001.0)
    dock.add_chunk({STEP_LOSS: (xs, 1e-5 + 1.0 / xs)})
    dock.refresh(everything=True)
    assert dock.plots["loss"].vb.viewRange()[0][1] > 1000  # the run moved the axes
    dock.clear()  # what the controller does for another document
    assert {k: p.vb.viewRange() for k, p in dock.plots.items()} == home


def test_an_empty_accuracy_plot_says_why_in_a_regression_run(shared, qtbot):
    """The optimizer race (mse) showed an empty Accuracy plot with nothing to say why."""
    from app.train.plot_data import EPOCH_TRAIN_ACC, EPOCH_TRAIN_LOSS

    dock = shared.plots
    dock.timer.stop()
    dock.clear()
    dock.start_run()
    dock.add_chunk({STEP_LOSS: (np.arange(1.0, 11.0), np.linspace(1.0, 0.1, 10))})
    dock.refresh(everything=True)
    assert dock.accuracy_note() is None  # no epoch has ended: nothing to say yet
    dock.add_chunk({EPOCH_TRAIN_LOSS: (np.array([10.0]), np.array([0.1]))})
    dock.refresh(everything=True)
    assert "regression" in dock.accuracy_note()
    dock.start_run()  # a classification run: its accuracy is plotted, and the note goes
    dock.add_chunk({EPOCH_TRAIN_LOSS: (np.array([10.0]), np.array([0.5])),
                    EPOCH_TRAIN_ACC: (np.array([10.0]), np.array([0.8]))})
    dock.refresh(everything=True)
    assert dock.accuracy_note() is None
