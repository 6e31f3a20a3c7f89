"""View > Loss landscape (app/train/landscape_view.py, landscape_dock.py) driven offscreen with pytest-qt:
the action opens the dock, Compute and Race draw, a new document clears it, and a training run's
path grows live. Jobs and runs go inline on the worker threads with the numpy kernels (as the inline
tests of test_train_gui_lifecycle.py do); one test computes in the real child process."""
from __future__ import annotations

import functools
import os

import numpy as np
import pytest
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMainWindow

import graphcore as gc
from app.document import Document
from app.train import controller as controller_mod
from app.train.boundary import BoundaryDock
from app.train.controller import TrainController
from app.train.dock import TrainDock
from app.train.landscape_view import LandscapeView, fitted_extent
from app.train.plots import PlotsDock
from app.train.worker import TrainThread
from graphcore.train.landscape import Landscape, bowl_graph
from backprop_studio_resources import examples_dir

EXAMPLES = examples_dir()


class Window(QMainWindow):
    """What the landscape view needs of the main window: the current document and its signal."""

    document_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.document = None
        self.train = TrainDock(self)
        self.plots = PlotsDock(self)
        self.boundary = BoundaryDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.boundary)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.train)
        self.ctl = TrainController(self.train, self.plots, self.boundary)

    def open(self, graph: gc.Graph) -> Document:
        self.document = Document(graph, undo_stack=QUndoStack())
        self.ctl.set_document(self.document)
        self.document_changed.emit(self.document)
        return self.document


@pytest.fixture
def numpy_kernels():
    """Inline jobs run on a QThread of this process: the numpy twins, so numba compiles nothing off the
    main thread (see test_train_gui_lifecycle.py's fixture of the same name)."""
    from graphcore import kernels

    before = kernels.backend()
    kernels.use("numpy")
    yield
    kernels.use(before)


@pytest.fixture
def rig(qtbot, numpy_kernels):
    w = Window()
    qtbot.addWidget(w)
    view = LandscapeView(w, w.ctl)
    view.inline = True
    w.open(bowl_graph())
    w.resize(900, 700)
    w.show()
    yield w, view
    view._cancel()
    w.ctl.shutdown()
    w.plots.timer.stop()


def wait_idle(qtbot, view, timeout=20000):
    qtbot.waitUntil(lambda: not view.busy(), timeout=timeout)


def test_the_action_opens_the_dock_in_the_main_window(qtbot, tmp_path, monkeypatch):
    import app as gui
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    w = gui.create_main_window(os.path.join(EXAMPLES, "spiral_2layer.json"), offer_recovery=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.findChild(QAction, "actionLossLandscape") is not None, timeout=5000)
    act = w.findChild(QAction, "actionLossLandscape")
    dock = w.findChild(QDockWidget, "lossLandscapeDock")
    assert act in w.menus["view"].actions()
    assert not dock.isVisible()
    act.trigger()
    qtbot.waitUntil(dock.isVisible, timeout=3000)
    assert dock.findChild(QDockWidget) is None and dock.widget().isVisible()
    assert w.train_view.landscape.dock is dock
    assert dock.mode.currentData() == "random"  # a net with many weights: random directions by default
    assert w.close()


def test_compute_draws_the_grid_and_its_values_match_the_core(rig, qtbot):
    w, view = rig
    d = view.dock
    assert d.mode.currentData() == "weights"  # two weights in the graph: the plane is theirs
    assert (d.x_axis.axis(), d.y_axis.axis()) == ((w.document.graph.find("w"), "value", 0),
                                                  (w.document.graph.find("w"), "value", 1))
    d.resolution.setValue(7)
    d.span.setValue(1.5)
    qtbot.mouseClick(d.compute_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, view)
    assert d.draws == 1 and d.image.image is not None and d.image.image.shape == (7, 7)
    grid = view.grid
    assert grid.xs[0] == pytest.approx(-1.5) and grid.xs[-1] == pytest.approx(1.5)
    ref = Landscape(w.document.graph, points=256).grid(view.plane, span=1.5, resolution=7)
    assert np.allclose(grid.loss, ref.loss, rtol=0, atol=1e-12)
    assert len(d.isocurves) > 0
    (x0, x1), (y0, y1) = d.plot.viewRange()
    assert x0 <= -1.5 and x1 >= 1.5 and y0 <= -1.5 and y1 >= 1.5
    assert d.current.data["x"].tolist() == [0.0]  # the current weights are the plane's origin
    assert "log colour scale" in d.status.text()


def test_race_draws_one_path_per_optimizer_with_a_legend(rig, qtbot):
    w, view = rig
    d = view.dock
    d.steps.setValue(30)
    d.lr.setValue(0.1)
    d.resolution.setValue(5)
    qtbot.mouseClick(d.race_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, view)
    assert set(d.race_items) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    for kind, item in d.race_items.items():
        x, y = item.getData()
        assert len(x) == 31 and x[0] == 0.0 and y[0] == 0.0
        assert any(e.startswith(f"{kind} ") for e in d.key_entries)
    qtbot.waitUntil(lambda: view.grid is not None, timeout=20000)  # the race is outside: the grid follows
    wait_idle(qtbot, view)
    xs, ys = view.grid.xs, view.grid.ys
    for tr in view.paths.values():  # the drawn area holds every path
        assert xs[0] <= tr.xy[:, 0].min() and tr.xy[:, 0].max() <= xs[-1]
        assert ys[0] <= tr.xy[:, 1].min() and tr.xy[:, 1].max() <= ys[-1]


def test_a_new_document_clears_the_landscape(rig, qtbot):
    w, view = rig
    view.dock.resolution.setValue(5)
    view.compute()
    wait_idle(qtbot, view)
    assert view.grid is not None and view.dock.image.image is not None
    w.open(gc.load(os.path.join(EXAMPLES, "spiral_linear.json")))
    assert view.grid is None and view.plane is None and view.dock.image.image is None
    assert not view.dock.race_items and not view.dock.isocurves
    assert view.dock.mode.currentData() == "random"
    assert {view.dock.x_axis.node.itemText(i) for i in range(view.dock.x_axis.node.count())} == {"scores"}


def test_a_job_of_the_old_document_is_dropped(rig, qtbot):
    w, view = rig
    view.dock.resolution.setValue(101)
    view.compute()
    assert view.busy()
    w.open(bowl_graph(start=(1.0, 1.0)))
    assert not view.busy() and view.grid is None  # cancelled with the document
    qtbot.wait(50)
    assert view.dock.draws == 0


def test_a_circuit_has_no_landscape(rig, qtbot):
    w, view = rig
    w.open(gc.load(os.path.join(EXAMPLES, "cs231n_circuit.json")))
    assert "no training data" in view.dock.status.text()
    assert not view.compute()
    assert "Cannot draw the landscape" in view.dock.status.text()


@pytest.fixture
def inline_training(monkeypatch):
    monkeypatch.setattr(controller_mod, "TrainThread", functools.partial(TrainThread, inline=True))


def test_the_training_path_grows_live_on_the_drawn_plane(rig, qtbot, inline_training):
    w, view = rig
    d = view.dock
    d.resolution.setValue(5)
    view.compute()
    wait_idle(qtbot, view)
    sizes = []
    w.ctl.trajectory.connect(lambda p: sizes.append(len(view.training_xy)))
    w.train.epochs_spin.setValue(40)
    assert w.ctl.train()
    qtbot.waitUntil(lambda: not w.ctl.is_running(), timeout=20000)
    assert w.ctl.last_result["status"] == "finished"
    assert len(sizes) >= 1 and len(view.training_xy) == 41  # the start and every full-batch step
    assert np.array_equal(view.training_xy[0], [0.0, 0.0])
    x, y = d.training.getData()
    assert len(x) == 41 and d.key_entries == ["training run", "+ current weights"]
    # the learned weights went into the document: the current point is where the path ended
    assert np.allclose(d.current.data["x"], [view.training_xy[-1, 0]], atol=1e-9)
    assert np.allclose(view.plane.coords_of(w.document.graph), view.training_xy[-1], atol=1e-9)


def test_without_a_drawn_plane_a_run_sends_no_path(rig, qtbot, inline_training):
    w, view = rig
    w.train.epochs_spin.setValue(3)
    assert w.ctl.train()
    assert "landscape" not in w.ctl.thread.gui
    qtbot.waitUntil(lambda: not w.ctl.is_running(), timeout=20000)
    assert len(view.training_xy) == 0


def test_compute_in_the_child_process(qtbot):
    """The app's own path: the grid comes from a spawned process, and equals the core's."""
    w = Window()
    qtbot.addWidget(w)
    view = LandscapeView(w, w.ctl)
    w.open(bowl_graph())
    view.dock.resolution.setValue(3)
    assert view.compute() and view.thread is not None and not view.thread.inline
    wait_idle(qtbot, view, timeout=60000)
    assert view.grid is not None, view.dock.status.text()
    ref = Landscape(w.document.graph).grid(view.plane, span=1.0, resolution=3)
    assert np.allclose(view.grid.loss, ref.loss, rtol=0, atol=1e-12)


def test_fitted_extent_covers_the_points_and_the_span():
    center, half = fitted_extent(1.0, [np.array([[0.0, 0.0], [3.0, -0.5]])])
    assert center[0] - half[0] <= -1.0 and center[0] + half[0] >= 3.0
    assert center[1] - half[1] == pytest.approx(-1.0) and center[1] + half[1] == pytest.approx(1.0)
    assert fitted_extent(2.0, []) == ((0.0, 0.0), (2.0, 2.0))


def test_paths_pin_the_plane_and_without_them_compute_starts_at_the_current_weights(rig, qtbot):
    w, view = rig
    view.dock.resolution.setValue(3)
    view.compute()
    wait_idle(qtbot, view)
    first = view.plane
    g = w.document.graph
    g.set_value(g.find("w"), np.array([[0.5], [0.25]]))  # the weights move, no path drawn: a new plane
    view.compute()
    wait_idle(qtbot, view)
    assert view.plane is not first and view.plane.coords_of(g) == (0.0, 0.0)
    view.dock.steps.setValue(3)
    view.race()
    wait_idle(qtbot, view)
    raced = view.plane
    g.set_value(g.find("w"), np.array([[1.5], [1.25]]))
    view.compute()  # the race's paths are on this plane: it stays, and the current point moves on it
    wait_idle(qtbot, view)
    assert view.plane is raced and view.paths
    assert view.dock.current.data["x"].tolist() == pytest.approx([1.0])
