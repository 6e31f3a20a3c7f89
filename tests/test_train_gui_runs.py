"""Training from the GUI, whole runs: the loss falls and the boundary view follows, NaN and
exploding losses are called out at the node, and the boundary view shows images and curves."""
from __future__ import annotations

import os
import threading

import numpy as np

import graphcore as gc
from app.train.plots import STEP_LOSS
from train_gui_rig import EXAMPLES, shared, spiral  # noqa: F401  (the fixtures)


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
