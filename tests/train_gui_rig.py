"""Shared by the train GUI tests: a window with the three training docks, a controller and the
real canvas scene (`Rig`), and its module-scoped `shared` and per-test `spiral` fixtures."""
from __future__ import annotations

import os

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
from app.train.plots import PlotsDock
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
