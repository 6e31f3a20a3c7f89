"""Training from the GUI: the train dock, its worker thread, the live plots and the boundary view,
driven offscreen with pytest-qt on the real canvas scene."""
from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMainWindow

import graphcore as gc
from app.canvas.scene import GraphScene
from app.document import Document
from app.train.boundary import BoundaryDock
from app.train.controller import TrainController
from app.train.dock import TrainDock
from app.train.plots import ROTATION, STEP_LOSS, PlotsDock
from app.train.series import GrowingSeries, RunHistory, pack_records
from backprop_studio_resources import examples_dir

EXAMPLES = examples_dir()


class Rig:
    """A window with the three training docks, a controller and the real canvas scene.

    One window serves the whole module (the app, too, builds its docks once): tests swap
    in a new document. Nothing is destroyed mid-session, so no test depends on how
    pyqtgraph and PySide tear widgets down."""

    def __init__(self) -> None:
        self.win = QMainWindow()
        self.train = TrainDock(self.win)
        self.plots = PlotsDock(self.win)
        self.boundary = BoundaryDock(self.win)
        self.win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.train)
        self.win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.boundary)
        self.win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.plots)
        self.ctl = TrainController(self.train, self.plots, self.boundary)
        self.messages: list[str] = []
        self.ctl.status_message.connect(self.messages.append)
        self.scenes: list[GraphScene] = []  # kept alive: see the class docstring
        self.qtbot = None

    def use(self, qtbot, graph: gc.Graph) -> "Rig":
        self.qtbot = qtbot
        for old in self.scenes:
            old.detach()
        self.doc = Document(graph, undo_stack=QUndoStack())
        self.scene = GraphScene(graph, self.doc.undo_stack)
        self.scenes.append(self.scene)
        self.messages.clear()
        self.plots.clear_kept()
        self.ctl.set_document(self.doc, self.scene)
        return self

    def wait_done(self, timeout=20000) -> dict:
        self.qtbot.waitUntil(lambda: not self.ctl.is_running(), timeout=timeout)
        return self.ctl.last_result

    def close(self) -> None:
        self.ctl.shutdown()
        self.qtbot.waitUntil(lambda: not self.ctl.is_running(), timeout=10000)


@pytest.fixture(scope="module")
def shared(qapp):
    rig = Rig()
    yield rig
    rig.ctl.shutdown()
    rig.plots.timer.stop()
    for sc in rig.scenes:
        sc.detach()


@pytest.fixture
def spiral(shared, qtbot):
    rig = shared.use(qtbot, gc.load(os.path.join(EXAMPLES, "spiral_2layer.json")))
    yield rig
    rig.close()


def log_net(lr: float = 0.1) -> gc.Graph:
    """A net whose scores go through log(): the linear layer's negative outputs give NaN at 'logscores'."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((4, 2)))
    y = g.add("input", name="y", value=np.zeros(4, dtype=np.int64))
    h = g.add("linear", name="fc", inputs={"x": x}, units=3)
    lg = g.add("log", name="logscores", inputs={"x": h})
    g.add("softmax_cross_entropy", name="loss", inputs={"scores": lg, "labels": y})
    g.meta["training"] = {"dataset": {"name": "spiral", "n_per_class": 20, "classes": 3, "seed": 0},
                          "features": "x", "labels": "y", "loss": "loss", "optimizer": {"kind": "sgd", "lr": lr},
                          "batch_size": 16, "epochs": 5, "seed": 0}
    return g


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


# ---------------------------------------------------------------- training runs
def test_training_the_spiral_from_the_gui_lowers_the_loss_and_changes_the_boundary(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(300)
    images = []
    orig = rig.boundary.show_snapshot

    def record(snap):
        orig(snap)
        images.append(rig.boundary.last_image.copy())

    rig.boundary.show_snapshot = record
    w0 = rig.doc.graph.nodes[rig.doc.graph.find("fc1")].tensors["W"].copy()
    assert rig.train.findChild(type(rig.train.actionTrain), "actionTrain") is rig.train.actionTrain
    rig.train.actionTrain.trigger()
    assert rig.ctl.is_running()
    res = rig.wait_done()
    assert res["status"] == "finished" and res["epochs"] == 300
    rig.plots.refresh(everything=True)
    loss = rig.plots.history.get(STEP_LOSS)
    assert len(loss) == 300  # every step arrived, packed into a few chunks
    y = loss.view()[1]
    assert y[0] > 1.0 and y[-20:].mean() < 0.6 * y[0]
    assert len(images) >= 2 and images[0].shape == (96, 96, 3)
    changed = np.mean(np.any(images[0] != images[-1], axis=2))
    assert changed > 0.2, f"only {changed:.0%} of the boundary pixels changed"
    # the learned weights are copied back into the document, which is now modified
    w1 = rig.doc.graph.nodes[rig.doc.graph.find("fc1")].tensors["W"]
    assert not np.array_equal(w0, w1) and rig.doc.modified
    assert rig.train.progress.value() == 100
    assert "Training finished after 300 epochs" in rig.messages[-1]
    assert rig.ctl.flow_updates >= 1
    item = rig.scene.edge_item(rig.doc.graph.input_edge(rig.doc.graph.find("fc2"), "x"))
    assert item.flow() is not None and item.flow()[0] > 0


def test_training_never_emits_graph_events_off_the_gui_thread(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(50)
    threads = []
    rig.doc.graph.changed.sub(lambda: threads.append(threading.current_thread()))
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is None or rig.ctl.thread.isRunning(), timeout=5000)
    during = len(threads)
    rig.wait_done()
    assert during == 0
    assert threads and all(t is threading.main_thread() for t in threads)  # only the final copy-back


def test_stop_takes_effect_within_one_step(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 20, timeout=15000)
    thread = rig.ctl.thread
    rig.train.actionStop.trigger()
    # no wall-clock bound (a busy machine is slow): the promise is counted in steps
    assert thread.wait(20000), "the worker thread did not finish"
    res = rig.wait_done()
    assert res["status"] == "stopped" and not res.get("ended_by")  # stopped by itself, not terminated
    # the process noted its step count when the request arrived: at most the step under way followed
    assert res["stop_step"] is not None and res["steps"] <= res["stop_step"] + 1
    assert rig.train.actionTrain.isEnabled() and not rig.train.actionStop.isEnabled()


def test_pause_and_resume(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 5, timeout=15000)
    t = rig.ctl.thread
    rig.train.actionPause.trigger()  # checkable: on
    qtbot.waitUntil(lambda: t.paused, timeout=3000)
    assert rig.train.actionPause.text() == "Resume"
    held = t.steps_done
    qtbot.wait(300)
    assert t.steps_done == held
    rig.train.actionPause.trigger()  # off: resume
    qtbot.waitUntil(lambda: t.steps_done > held + 5, timeout=5000)
    assert rig.train.actionPause.text() == "Pause"
    rig.train.actionStop.trigger()
    assert rig.wait_done()["status"] == "stopped"


def test_stop_while_paused_ends_the_run(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 2, timeout=15000)
    rig.train.actionPause.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread.paused, timeout=3000)
    rig.train.actionStop.trigger()
    assert rig.wait_done(5000)["status"] == "stopped"


def test_step_epoch_trains_one_epoch_then_pauses(spiral, qtbot):
    rig = spiral
    rig.train.batch_spin.setValue(32)  # 300 points: 10 steps per epoch
    rig.train.epochs_spin.setValue(50)
    rig.train.actionStepEpoch.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.paused, timeout=15000)
    t = rig.ctl.thread
    assert t.epochs_done == 1 and t.steps_done == 10
    rig.train.actionStepEpoch.trigger()
    qtbot.waitUntil(lambda: t.epochs_done == 2 and t.paused, timeout=5000)
    assert t.steps_done == 20
    qtbot.waitUntil(lambda: "epoch 2 / 50" in rig.train.counter.text(), timeout=3000)
    rig.train.actionStop.trigger()
    assert rig.wait_done()["status"] == "stopped"


def test_nan_stops_training_and_selects_the_node(shared, qtbot):
    rig = shared.use(qtbot, log_net())
    try:
        rig.train.actionTrain.trigger()
        res = rig.wait_done()
        nid = rig.doc.graph.find("logscores")
        assert res["status"] == "diverged" and res["node"] == nid
        assert rig.scene.selected_ids() == [nid]
        msg = rig.messages[-1]
        assert "NaN" in msg and "'logscores'" in msg and "selected" in msg
        assert res["tensors"] is None and not rig.doc.modified  # no weights copied from a broken run
    finally:
        rig.close()


def test_huge_learning_rate_is_called_out(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(40)
    rig.train.batch_spin.setValue(32)
    rig.train.lr_spin.setValue(500.0)
    rig.train.pause_explode_check.setChecked(False)
    try:
        rig.train.actionTrain.trigger()
        res = rig.wait_done()
    finally:
        rig.train.pause_explode_check.setChecked(True)
    text = " ".join(rig.messages)
    # either the loss blew up past 3x its first value, or it overflowed to NaN/Inf at a named node
    assert "exploding" in text or (res["status"] == "diverged" and "selected" in text), text
    assert "Paused" not in text  # the option is off: the run goes on


def test_an_exploding_loss_pauses_the_run_by_default(spiral, qtbot):
    rig = spiral
    assert rig.train.pause_explode_check.isChecked()
    rig.train.epochs_spin.setValue(40)
    rig.train.batch_spin.setValue(32)
    rig.train.lr_spin.setValue(500.0)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: not rig.ctl.is_running() or "exploding" in " ".join(rig.messages), timeout=20000)
    text = " ".join(rig.messages)
    if "exploding" in text:
        # the run paused itself before its next step, so it cannot have gone on to NaN meanwhile
        assert "Paused: lower the learning rate" in text and rig.train.actionPause.isChecked()
        t = rig.ctl.thread
        assert t is not None, "the run ended instead of pausing"
        qtbot.waitUntil(lambda: t.paused, timeout=10000)
        rig.train.actionStop.trigger()
    res = rig.wait_done()
    # a blow-up straight to NaN/Inf (no finite exploding loss first) ends the run at the named node instead
    assert "Paused: lower the learning rate" in text or (res["status"] == "diverged" and "selected" in text), text


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


def test_bad_settings_give_a_message_not_a_traceback(spiral, qtbot):
    rig = spiral
    rig.train.dataset_combo.setCurrentText("imported file")
    assert rig.ctl.train() is False
    assert "Import" in rig.messages[-1]
    rig.train.set_imported(os.path.join(os.path.dirname(__file__), "no_such_file.csv"))
    assert rig.ctl.train() is True
    res = rig.wait_done()
    assert res["status"] == "error" and rig.messages[-1].startswith("Cannot train:")
    assert "no_such_file.csv" in rig.messages[-1]


def test_digits_cnn_shows_samples_and_filters(shared, qtbot):
    path = os.path.join(EXAMPLES, "digits_cnn.json")
    rig = shared.use(qtbot, gc.load(path))
    try:
        rig.train.epochs_spin.setValue(1)
        rig.train.actionTrain.trigger()
        res = rig.wait_done(30000)
        assert res["status"] == "finished"
        assert rig.boundary._mode == "images"
        assert len(rig.boundary._sample_boxes) == 16 and len(rig.boundary._filter_boxes) > 0
    finally:
        rig.close()


def test_training_on_an_imported_csv_file(spiral, qtbot, tmp_path):
    rig = spiral
    rng = np.random.default_rng(1)
    rows = ["x1,x2,label"]
    for k in range(3):  # three blobs, 20 points each
        centre = np.array([np.cos(2 * np.pi * k / 3), np.sin(2 * np.pi * k / 3)])
        for p in centre + 0.15 * rng.standard_normal((20, 2)):
            rows.append(f"{p[0]:.5f},{p[1]:.5f},{k}")
    path = tmp_path / "blobs.csv"
    path.write_text("\n".join(rows) + "\n")
    rig.train.set_imported(str(path))
    assert rig.train.dataset_combo.currentText() == "imported file"
    assert rig.train.settings()["training"]["dataset"] == {"name": "csv", "path": str(path)}
    rig.train.epochs_spin.setValue(60)
    rig.train.batch_spin.setValue(16)
    rig.train.val_spin.setValue(0.25)
    rig.train.actionTrain.trigger()
    res = rig.wait_done()
    assert res["status"] == "finished", res["message"]
    assert res["final"]["val_acc"] >= 0.9
    assert rig.boundary._mode == "2d" and len(rig.boundary.val_scatter.data) == 15  # a quarter held out


def test_main_window_has_the_training_docks_and_actions(qtbot, tmp_path, monkeypatch):
    import app as gui
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    w = gui.create_main_window(os.path.join(EXAMPLES, "spiral_2layer.json"), offer_recovery=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: getattr(w, "train_controller", None) is not None, timeout=5000)
    docks = [w.findChild(QDockWidget, name) for name in ("trainDock", "plotsDock", "boundaryDock")]
    assert all(d is not None for d in docks)
    # a dock added to a shown window is shown by a queued call (QLayout::addChildWidget), one
    # event-loop turn after the train view is built: wait for that turn, not for a fixed time
    qtbot.waitUntil(lambda: all(d.isVisible() for d in docks), timeout=5000)
    for name in ("actionTrain", "actionPause", "actionStop", "actionStepEpoch"):
        assert w.findChild(QAction, name) is not None, name
    assert w.menus["train"].objectName() == "menuTrain"
    ctl = w.train_controller
    assert ctl.dock.epochs_spin.value() == 10000  # the example's own settings fill the form
    ctl.dock.epochs_spin.setValue(100000)
    w.findChild(QAction, "actionTrain").trigger()
    qtbot.waitUntil(lambda: ctl.thread is not None and ctl.thread.steps_done > 5, timeout=15000)
    thread = ctl.thread
    assert w.close()  # closing the window stops and joins the training
    assert thread.isFinished() and thread.result["status"] == "stopped"


def test_opening_another_document_discards_the_run(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 5, timeout=15000)
    old = rig.ctl.thread
    other = gc.load(os.path.join(EXAMPLES, "spiral_2layer.json"))
    w0 = other.nodes[other.find("fc1")].tensors["W"].copy()
    rig.use(qtbot, other)
    assert old.isFinished() and old.result["status"] == "stopped"
    assert not rig.ctl.is_running() and rig.train.actionTrain.isEnabled()
    qtbot.wait(200)  # queued signals of the old run must not reach the new document
    assert np.array_equal(other.nodes[other.find("fc1")].tensors["W"], w0) and not rig.doc.modified


def test_signals_queued_by_a_discarded_run_are_ignored(spiral, qtbot):
    """The race behind a flaky failure: a run's signals are already queued when a document
    switch discards it; once its thread object is deleted, sender() is None, which must not
    pass for "the current run" when there is none."""
    import shiboken6
    from PySide6.QtCore import QObject, Qt as QtNS, Signal

    class FakeRun(QObject):
        snapshot = Signal(object)
        progress = Signal(object)
        chunk = Signal(object)
        done = Signal(object)

    rig = spiral
    fake = FakeRun()
    ctl = rig.ctl
    queued = QtNS.ConnectionType.QueuedConnection
    fake.snapshot.connect(ctl._on_snapshot, queued)
    fake.progress.connect(ctl._on_progress, queued)
    fake.chunk.connect(ctl._on_chunk, queued)
    fake.done.connect(ctl._on_done, queued)
    errors, before = [], ctl.last_result
    hook, sys_hook = (lambda *exc: errors.append(exc)), __import__("sys").excepthook
    __import__("sys").excepthook = hook
    try:
        assert ctl.thread is None
        fake.snapshot.emit({"flow": {"e0": (1.0, 1, False)}, "iteration": 1})
        fake.progress.emit({"epoch": 1, "epochs": 2, "iteration": 1, "iterations": 2})
        fake.done.emit({"status": "finished", "epochs": 1, "steps": 1})
        shiboken6.delete(fake)  # gone before its queued calls are delivered
        qtbot.wait(50)
    finally:
        __import__("sys").excepthook = sys_hook
    assert errors == [] and ctl.last_result is before and not rig.messages


def test_editing_the_graph_while_training_keeps_the_learned_weights_out(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 5, timeout=15000)
    g = rig.doc.graph
    w0 = g.nodes[g.find("fc1")].tensors["W"].copy()
    g.add("relu", name="extra")  # the structure changes under the run
    rig.train.actionStop.trigger()
    res = rig.wait_done()
    assert res["status"] == "stopped"
    assert "graph changed while training" in rig.messages[-1]
    assert np.array_equal(g.nodes[g.find("fc1")].tensors["W"], w0)


def sine_net() -> gc.Graph:
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((4, 1)))
    t = g.add("input", name="t", value=np.zeros((4, 1)))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=24, init="xavier_normal")
    a = g.add("tanh", name="tanh", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": a}, units=1)
    g.add("mse", name="loss", inputs={"pred": o, "target": t})
    g.meta["training"] = {"dataset": {"name": "sine", "n": 200, "noise": 0.05, "seed": 0}, "features": "x",
                          "labels": "t", "loss": "loss", "optimizer": {"kind": "adam", "lr": 0.02},
                          "batch_size": 32, "epochs": 150, "seed": 0, "val_fraction": 0.2}
    return g


def test_a_regression_net_on_one_feature_shows_its_prediction_curve(shared, qtbot):
    rig = shared.use(qtbot, sine_net())
    try:
        rig.train.actionTrain.trigger()
        res = rig.wait_done()
        assert res["status"] == "finished", res["message"]
        b = rig.boundary
        assert b._mode == "curve"
        xs, ys = b.curve_item.getData()
        assert len(xs) == 200 and np.max(np.abs(ys - np.sin(xs))) < 0.25  # it learned sin(x)
        assert len(b.scatter.data) == 160 and len(b.val_scatter.data) == 40
    finally:
        rig.close()


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


@pytest.fixture
def numpy_kernels():
    """Inline mode runs the training job on a QThread in this process. numba does not promise that
    compiling (or loading from its cache) on one thread is safe while another thread runs Python: a
    segfault was seen in numba's typing context on the QThread while the GUI thread collected garbage.
    The app trains in a child process; these tests of the inline relay use the numpy twins, so no
    numba code is compiled off the main thread."""
    from graphcore import kernels

    before = kernels.backend()
    kernels.use("numpy")
    yield
    kernels.use(before)


def test_inline_mode_trains_on_the_qthread_itself(qtbot, numpy_kernels):
    from app.train.worker import TrainThread

    g = gc.load(os.path.join(EXAMPLES, "spiral_2layer.json"))
    training = dict(g.meta["training"], epochs=15)
    t = TrainThread(g, training, {"fresh": True}, inline=True)
    chunks = []
    t.chunk.connect(chunks.append)
    with qtbot.waitSignal(t.done, timeout=20000) as blocker:
        t.start()
    res = blocker.args[0]
    assert res["status"] == "finished" and res["steps"] == 15
    assert t.wait(30000), "the thread must end before its QThread object is collected (Qt aborts otherwise)"
    qtbot.waitUntil(lambda: sum(len(c.get("step.loss", ([], []))[0]) for c in chunks) == 15, timeout=3000)


def test_regularisation_field_shows_the_graphs_strength_and_changes_it_only_when_edited(spiral, qtbot):
    rig = spiral
    assert rig.train.reg_spin.value() == pytest.approx(1e-3)  # the example's L2 node
    assert rig.train.settings()["gui"]["reg_strength"] is None  # untouched: the graph decides
    rig.train.reg_spin.setValue(0.01)
    assert rig.train.settings()["gui"]["reg_strength"] == pytest.approx(0.01)


def test_only_the_open_tab_of_the_boundary_view_is_drawn(spiral, qtbot):
    rig = spiral
    b = rig.boundary
    b.tabs.setCurrentIndex(0)
    rig.train.epochs_spin.setValue(30)
    rig.train.actionTrain.trigger()
    rig.wait_done()
    b._drop_hist_curves(set())  # forget curves from earlier runs
    b._hist_drawn = None
    latest = b._latest
    assert latest is not None and b._output_drawn is latest and not b._hist_curves
    b.tabs.setCurrentIndex(1)  # the histograms catch up with the latest snapshot
    assert b._hist_drawn is latest
    assert {name for _, name in b._hist_curves} == {"fc1.W", "fc2.W", "relu"}
    b.tabs.setCurrentIndex(0)


# ---------------------------------------------------------------- Stop ends a runaway process (issue 8)
@pytest.mark.parametrize("child, ended_by", [("ignore_stop", "terminated"), ("ignore_stop_and_terminate", "killed")])
def test_stop_ends_a_training_process_that_does_not_answer(spiral, qtbot, monkeypatch, child, ended_by):
    import signal

    import stuck_child
    from app.train import controller as controller_mod
    from app.train.worker import TrainThread

    class Stuck(TrainThread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.child_target = getattr(stuck_child, child)
            self.stop_grace, self.kill_grace = 0.3, 0.3

    monkeypatch.setattr(controller_mod, "TrainThread", Stuck)
    rig = spiral
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.state == "running", timeout=15000)
    proc = rig.ctl.thread._proc
    t0 = time.perf_counter()
    rig.train.actionStop.trigger()
    res = rig.wait_done(20000)
    took = time.perf_counter() - t0
    assert res["status"] == "error" and res["ended_by"] == ended_by
    assert not proc.is_alive()
    assert proc.exitcode == (-signal.SIGTERM if ended_by == "terminated" else -signal.SIGKILL)
    assert took >= 0.3  # it waited out the grace period (the exit code shows how it ended)
    assert any("did not stop within 0.3 s" in m for m in rig.messages)
    assert f"so the training process was {ended_by}" in rig.train.status.text()
    assert rig.train.actionTrain.isEnabled() and not rig.train.actionStop.isEnabled()


def _graph_in(folder, dataset_path: str, epochs: int = 1) -> str:
    g = gc.load(os.path.join(EXAMPLES, "spiral_2layer.json"))
    g.meta["training"] = {**g.meta["training"], "dataset": {"name": "csv", "path": dataset_path},
                          "epochs": epochs, "val_fraction": 0.0}
    path = os.path.join(folder, "g.json")
    gc.save(g, path)
    return path


def _blobs_csv(path) -> None:
    rows = ["x1,x2,label"] + [f"{k + 0.1 * i},{-k},{k}" for k in range(3) for i in range(4)]
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.slow  # two training processes: the refusal, then the confirmed run
def test_a_data_path_out_of_the_graphs_folder_is_asked_about_once(spiral, qtbot, tmp_path, monkeypatch):
    from app.train import datapaths

    (tmp_path / "graph").mkdir()
    _blobs_csv(tmp_path / "outside.csv")
    gpath = _graph_in(str(tmp_path / "graph"), "../outside.csv")
    rig = spiral.use(qtbot, gc.load(gpath))
    rig.doc.path = gpath
    asked = []
    answer = [False]

    def confirm(real, value):
        asked.append((real, value))
        return answer[0]

    def train() -> dict:
        rig.train.actionTrain.trigger()
        return rig.wait_done()

    monkeypatch.setattr(datapaths, "ask_to_use_data_path", confirm)  # each new thread asks through it
    res = train()
    assert asked == [(str(tmp_path / "outside.csv"), "../outside.csv")]
    assert res["status"] == "error" and "path '../outside.csv' leads out of the graph file's folder" \
        in res["message"]
    assert rig.train.status.text().startswith("Cannot train: ")
    answer[0] = True
    assert train()["status"] == "finished"
    assert len(asked) == 2 and str(tmp_path / "outside.csv") in datapaths.confirmed_data_paths()
    policy = datapaths.data_policy()  # remembered: the next run asks nothing
    assert datapaths.needs_confirmation(rig.train.settings()["training"], str(tmp_path / "graph"), policy) is None


def test_a_picked_data_file_is_named_relative_to_the_graph_when_inside_its_folder(spiral, qtbot, tmp_path,
                                                                                   monkeypatch):
    from app.train import datapaths

    (tmp_path / "sub").mkdir()
    _blobs_csv(tmp_path / "sub" / "d.csv")
    monkeypatch.setattr(spiral.win, "document", spiral.doc, raising=False)
    spiral.doc.path = str(tmp_path / "g.json")
    spiral.train.set_imported(str(tmp_path / "sub" / "d.csv"))
    assert spiral.train.settings()["training"]["dataset"] == {"name": "csv", "path": "sub/d.csv"}
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other.csv"
    _blobs_csv(elsewhere)
    spiral.train.set_imported(str(elsewhere))  # out of the folder: absolute, and the user's own choice
    spec = spiral.train.settings()["training"]["dataset"]
    assert spec == {"name": "csv", "path": str(elsewhere)}
    assert datapaths.needs_confirmation({"dataset": spec}, str(tmp_path), datapaths.data_policy()) is None


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


# ---------------------------------------------------------------- settings edited while training
def test_learning_rate_edited_mid_run_applies_from_the_next_step(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.lr_spin.setValue(0.5)
    was_shown = "lr" in rig.plots.shown
    rig.plots.show_plot("lr", True)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 10, timeout=15000)
    assert rig.train.lr_spin.isEnabled() and not rig.train.optimizer_combo.isEnabled()
    rig.train.lr_spin.setValue(0.125)  # as the user's edit does: valueChanged -> a "settings" command
    qtbot.waitUntil(lambda: any("From iteration" in m and "lr 0.125 (was 0.5)" in m for m in rig.messages),
                    timeout=10000)
    t = rig.ctl.thread
    changed_at = t.steps_done
    qtbot.waitUntil(lambda: t.steps_done > changed_at + 10, timeout=10000)
    rig.train.actionStop.trigger()
    res = rig.wait_done()
    assert res["status"] == "stopped"
    rig.plots.refresh(everything=True)
    x, lr = rig.plots.history.get("step.lr").view()
    assert lr[0] == 0.5 and lr[-1] == 0.125
    first_new = int(np.argmax(lr == 0.125))
    assert np.all(lr[:first_new] == 0.5) and np.all(lr[first_new:] == 0.125)  # one switch, kept
    _, drawn = rig.plots._curves[(0, "lr", "lr")].getData()  # the learning-rate plot draws the step down
    assert drawn[0] == 0.5 and drawn[-1] == 0.125
    rig.plots.show_plot("lr", was_shown)


def test_a_refused_setting_is_reported_and_the_run_goes_on(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 5, timeout=15000)
    rig.train.factor_spin.setValue(0.0)  # the spin box allows it; the schedule does not (unused yet)
    rig.train.schedule_combo.setCurrentText("step")
    qtbot.waitUntil(lambda: any("New settings refused" in m and "factor must be in (0, 1]" in m
                                for m in rig.messages), timeout=10000)
    t = rig.ctl.thread
    held = t.steps_done
    qtbot.waitUntil(lambda: t.steps_done > held + 5, timeout=10000)  # still training
    assert "New settings refused" in rig.train.status.text()
    rig.train.actionStop.trigger()
    assert rig.wait_done()["status"] == "stopped"
    rig.train.factor_spin.setValue(0.5)
    rig.train.schedule_combo.setCurrentText("constant")


def test_inline_mode_takes_settings_mid_run(qtbot, numpy_kernels):
    from app.train.worker import TrainThread

    g = gc.load(os.path.join(EXAMPLES, "spiral_2layer.json"))
    training = dict(g.meta["training"], epochs=100000, batch_size=8)
    t = TrainThread(g, training, {"fresh": True}, inline=True)
    seen = []
    t.event.connect(lambda ev: seen.append(ev))
    t.start()
    qtbot.waitUntil(lambda: t.steps_done > 3 or t.state == "running", timeout=20000)
    t.request_settings({"optimizer": {"kind": "sgd", "lr": 0.03125}})
    qtbot.waitUntil(lambda: any(e.get("type") == "settings" for e in seen), timeout=10000)
    t.request_settings({"optimizer": {"kind": "sgd", "lr": -1.0}})
    qtbot.waitUntil(lambda: any(e.get("type") == "settings_refused" for e in seen), timeout=10000)
    with qtbot.waitSignal(t.done, timeout=20000) as blocker:
        t.request_stop()
    assert blocker.args[0]["status"] == "stopped"
    assert t.wait(30000), "the thread must end before its QThread object is collected (Qt aborts otherwise)"
    ev = [e for e in seen if e.get("type") == "settings"][0]
    assert ev["settings"]["lr"] == 0.03125
    assert "lr must be >= 0" in [e for e in seen if e.get("type") == "settings_refused"][0]["message"]


def test_a_forced_stop_reads_as_a_stop_not_an_error(spiral, qtbot, monkeypatch):
    import stuck_child
    from app.train import controller as controller_mod
    from app.train.worker import TrainThread

    class Stuck(TrainThread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.child_target = stuck_child.ignore_stop
            self.stop_grace, self.kill_grace = 0.3, 0.3

    monkeypatch.setattr(controller_mod, "TrainThread", Stuck)
    rig = spiral
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.state == "running", timeout=15000)
    rig.train.actionStop.trigger()
    res = rig.wait_done(20000)
    assert res["ended_by"] == "terminated"
    text = rig.train.status.text()
    assert text.startswith("Training stopped: Stop was not answered within 0.3 s, so the training process was "
                           "terminated") and "Cannot train" not in text
    assert rig.messages[-1] == text
