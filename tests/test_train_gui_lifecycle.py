"""Training from the GUI, a run's life around its window and document: the main window's training
docks, a run discarded by a document switch or closed window, and the inline worker thread."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
from train_gui_rig import EXAMPLES, shared, spiral  # noqa: F401  (the fixtures)


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
