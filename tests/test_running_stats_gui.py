"""Batchnorm's running statistics through the GUI: the editor's Forward shows inference (eval mode) and
writes nothing, and a run from the Train dock (inline or in its child process) brings back exactly the
statistics `Trainer(g).run()` leaves headless. Lesson 11 showed loss_bn 0.17 in the app against 0.16
headless because each editor Forward was a train-mode pass that updated the document's statistics."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMainWindow

import graphcore as gc
from app.canvas.scene import GraphScene
from app.document import Document
from app.run.controller import RunController
from app.train.boundary import BoundaryDock
from app.train.controller import TrainController
from app.train.dock import TrainDock
from app.train.plots import PlotsDock
from graphcore.train.trainer import Trainer

STATE = ("running_mean", "running_var")
LEARNED = ("W", "b", "gamma", "beta") + STATE


@pytest.fixture
def numpy_kernels(monkeypatch):
    """Both paths on the numpy kernels (inline training compiles nothing off the main thread; the
    child process reads BACKPROP_KERNELS), so the headless reference is the same arithmetic."""
    from graphcore import kernels

    monkeypatch.setenv("BACKPROP_KERNELS", "numpy")
    before = kernels.backend()
    kernels.use("numpy")
    yield
    kernels.use(before)


def bn_net() -> gc.Graph:
    """spiral -> linear(8) -> batchnorm -> relu -> linear(3) -> softmax loss, with non-trivial stats."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((6, 2)))
    y = g.add("input", name="y", value=np.zeros(6, dtype=np.int64))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=8)
    bn = g.add("batchnorm", name="bn", inputs={"x": h})
    r = g.add("relu", name="relu", inputs={"x": bn})
    s = g.add("linear", name="scores", inputs={"x": r}, units=3)
    g.add("softmax_cross_entropy", name="loss", inputs={"scores": s, "labels": y})
    g.meta["training"] = {"dataset": {"name": "spiral", "n_per_class": 20, "classes": 3, "seed": 0},
                          "features": "x", "labels": "y", "loss": "loss", "optimizer": {"kind": "sgd", "lr": 0.5},
                          "batch_size": 16, "epochs": 3, "seed": 0, "val_fraction": 0.0}
    gc.Executor(g, mode="eval").forward()  # shapes the weights
    rng = np.random.default_rng(1)
    g.set_tensor(bn, "running_mean", rng.standard_normal(8))
    g.set_tensor(bn, "running_var", 0.5 + rng.random(8))
    g.set_value(x, rng.standard_normal((6, 2)))
    g.set_value(y, rng.integers(0, 3, 6))
    return g


def learned(g: gc.Graph) -> dict[tuple[str, str], np.ndarray]:
    return {(n.name, w): np.asarray(a, np.float64).copy() for n in g.nodes.values()
            for w, a in n.tensors.items() if w in LEARNED}


def test_forward_in_the_editor_shows_eval_mode_and_leaves_running_statistics_alone(qtbot):
    g = bn_net()
    bn = g.find("bn")
    before = learned(g)
    ctl = RunController(g, GraphScene(g, QUndoStack()))
    try:
        ctl.forward()
        ctl.backward()
    finally:
        ctl.close()
    assert all(np.array_equal(learned(g)[k], v) for k, v in before.items())
    # eval batchnorm by hand: (h - running_mean) / sqrt(running_var + eps) * gamma + beta
    t = g.nodes[bn].tensors
    h = g.value(g.find("x")) @ g.nodes[g.find("fc1")].tensors["W"] + g.nodes[g.find("fc1")].tensors["b"]
    want = (h - t["running_mean"]) / np.sqrt(t["running_var"] + 1e-5) * t["gamma"] + t["beta"]
    np.testing.assert_allclose(ctl.executor.values[bn], want, rtol=1e-12, atol=1e-12)


class TrainRig:
    def __init__(self, qtbot, graph: gc.Graph, inline: bool) -> None:
        self.win = QMainWindow()
        qtbot.addWidget(self.win)
        self.dock, self.plots, self.boundary = TrainDock(self.win), PlotsDock(self.win), BoundaryDock(self.win)
        for area, d in ((Qt.DockWidgetArea.LeftDockWidgetArea, self.dock),
                        (Qt.DockWidgetArea.BottomDockWidgetArea, self.plots),
                        (Qt.DockWidgetArea.RightDockWidgetArea, self.boundary)):
            self.win.addDockWidget(area, d)
        self.ctl = TrainController(self.dock, self.plots, self.boundary)
        self.ctl.inline = inline
        self.doc = Document(graph, undo_stack=QUndoStack())
        self.scene = GraphScene(graph, self.doc.undo_stack)
        self.run = RunController(graph, self.scene)
        self.ctl.set_document(self.doc, self.scene)

    def close(self) -> None:
        self.ctl.shutdown()
        self.run.close()
        self.scene.detach()
        self.plots.timer.stop()


@pytest.mark.parametrize("inline", [pytest.param(True, id="inline"),
                                    pytest.param(False, id="child-process")])
def test_forward_train_forward_in_the_gui_ends_with_the_headless_running_statistics(qtbot, numpy_kernels, inline):
    """A lesson's Show me: Forward, train from the current weights, Forward. Headless that is
    Trainer(g).run() between two eval passes; the GUI must end with bit-identical arrays."""
    g = bn_net()
    ref = g.copy()
    Trainer(ref).run()
    rig = TrainRig(qtbot, g, inline)
    try:
        rig.run.forward()
        assert rig.ctl.train(fresh=False, lesson=True)
        qtbot.waitUntil(lambda: not rig.ctl.is_running(), timeout=60000)
        assert rig.ctl.last_result["status"] == "finished", rig.ctl.last_result["message"]
        rig.run.forward()
        shown = rig.run.executor.values[g.find("loss")]
    finally:
        rig.close()
    got, want = learned(g), learned(ref)
    assert got.keys() == want.keys() and ("bn", "running_var") in got
    for k in want:
        assert np.array_equal(got[k], want[k]), f"{k}: differs by {np.abs(got[k] - want[k]).max():.3g}"
    assert not np.array_equal(want[("bn", "running_mean")], learned(bn_net())[("bn", "running_mean")])
    assert shown == gc.Executor(ref, mode="eval").forward()[ref.find("loss")]


def test_the_grad_check_views_own_pass_leaves_running_statistics_alone():
    """Grad check finds the exactly-zero gradients with a train-mode backward, as gc.gradcheck checks:
    on a copy, since a train-mode pass writes batchnorm's running statistics."""
    from app.run.gradcheck_view import zero_gradient_keys

    g = bn_net()
    before = learned(g)
    version = g.data_version
    report = gc.gradcheck(g)
    zero_gradient_keys(g, report)
    assert g.data_version == version
    assert all(np.array_equal(learned(g)[k], v) for k, v in before.items())
