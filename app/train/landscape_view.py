"""View > Loss landscape: the dock, its computations and the live path of a training run.

The landscape belongs to the open document: a new document clears it, and the plane (the weights it
was made at and its two directions) is made from that document's graph. Compute and Race optimizers
run graphcore.train.landscape in a child process (landscape_worker.py), so the GUI never waits. While
the plane fits the graph, a training run started from the Train dock takes it along (gui["landscape"]);
the training process projects its weights onto it and sends two numbers per reported step, which the
dock draws as the run's growing path. The drawn area always covers the paths and the current point.
"""
from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from graphcore.train.plane import LandscapeError, Plane, random_plane, weight_plane

from . import datapaths
from .landscape_dock import LandscapeDock
from .landscape_worker import LandscapeThread

MARGIN = 0.12  # of the paths' extent, around them in the drawn area
POINTS = 256  # examples in the landscape's fixed batch


def fitted_extent(span: float, points: list[np.ndarray]) -> tuple[tuple[float, float], tuple[float, float]]:
    """(center, (sx, sy)): [-span, span]^2 around the origin, grown to cover every point with a margin."""
    pts = np.concatenate([np.zeros((1, 2))] + [np.asarray(p, np.float64).reshape(-1, 2) for p in points])
    pts = pts[np.isfinite(pts).all(axis=1)]
    lo, hi = np.minimum(pts.min(axis=0), -span), np.maximum(pts.max(axis=0), span)
    grow = (hi - lo) * MARGIN
    lo, hi = np.where(pts.min(axis=0) < -span, lo - grow, lo), np.where(pts.max(axis=0) > span, hi + grow, hi)
    center = (hi + lo) / 2
    half = (hi - lo) / 2
    return (float(center[0]), float(center[1])), (float(half[0]), float(half[1]))


class LandscapeView(QObject):
    """Owns the dock and its jobs for one main window; follows the window's document."""

    def __init__(self, window, controller=None) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.dock = LandscapeDock(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        boundary = window.findChild(QDockWidget, "boundaryDock")
        if boundary is not None:
            window.tabifyDockWidget(boundary, self.dock)
        self.dock.hide()
        self.action = self.dock.toggleViewAction()
        self.action.setObjectName("actionLossLandscape")
        self.action.setText("Loss &landscape")
        self.action.setToolTip("The loss around the current weights, optimizers' paths and the training run's path")
        self.action.triggered.connect(self._shown)
        view = getattr(window, "menus", {}).get("view")
        if view is not None:
            view.addAction(self.action)
        window.actionLossLandscape = self.action
        self.inline = False  # tests: compute on the worker thread instead of a process
        self.document = None
        self.plane: Plane | None = None
        self._plane_key = None
        self.grid = None
        self.paths: dict = {}
        self.training_xy = np.zeros((0, 2))
        self.thread: LandscapeThread | None = None
        self._structure = None
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self._graph_changed)
        self.dock.compute_button.clicked.connect(self.compute)
        self.dock.race_button.clicked.connect(self.race)
        if controller is not None:
            controller.plane_provider = self.live_plane
            controller.trajectory.connect(self._on_path)
            controller.running_changed.connect(self._on_running)
            controller.finished.connect(self._after_run)
        if hasattr(window, "document_changed"):
            window.document_changed.connect(self.set_document)
        window.installEventFilter(self)
        self.set_document(getattr(window, "document", None))

    # ---------------------------------------------------------------- document
    @property
    def graph(self):
        return self.document.graph if self.document is not None else None

    def set_document(self, doc) -> None:
        """Forget everything about the old document; offer the new graph's weights."""
        self._cancel()
        old = self.graph
        if old is not None:
            old.changed.unsub(self._refresh.start)
        self.document = doc
        self.plane, self._plane_key, self.grid, self.paths = None, None, None, {}
        self.training_xy = np.zeros((0, 2))
        self.dock.clear()
        g = self.graph
        if g is not None:
            g.changed.sub(self._refresh.start)
        self._structure = None
        self._graph_changed()
        opt = (g.meta.get("training") or {}).get("optimizer") if g is not None and isinstance(g.meta, dict) else None
        if isinstance(opt, dict) and isinstance(opt.get("lr"), (int, float)):
            self.dock.lr.setValue(float(opt["lr"]))
        self._say("Compute draws the loss around the current weights." if self._trains() else
                  "This graph has no training data (meta.training): the landscape needs its data and its loss.")

    def _trains(self) -> bool:
        return self.document is not None and getattr(self.document, "trains", False)

    def _graph_changed(self) -> None:
        """New structure: new weight choices (and a plane that no longer fits is dropped)."""
        g = self.graph
        arrays = [] if g is None else [(nid, g.nodes[nid].name, w, g.nodes[nid].tensors[w].shape)
                                       for nid, w in g.trainable()]
        if g is None or arrays == self._structure:
            if g is not None and self.plane is not None and self.grid is not None:
                self.dock.show_current(self._current())
            return
        self._structure = arrays
        for picker in (self.dock.x_axis, self.dock.y_axis):
            picker.set_choices(arrays)
        total = sum(int(np.prod(s)) for *_, s in arrays)
        if arrays:
            nid, name, w, shape = arrays[0]
            self.dock.x_axis.select(name, w, 0)
            if int(np.prod(shape)) > 1:
                self.dock.y_axis.select(name, w, 1)
            elif len(arrays) > 1:
                self.dock.y_axis.select(arrays[1][1], arrays[1][2], 0)
        self.dock.mode.setCurrentIndex(self.dock.mode.findData("weights" if total <= 2 else "random"))
        if self.plane is not None and not self.plane.fits(g):
            self.plane, self._plane_key, self.grid, self.paths = None, None, None, {}
            self.dock.clear()

    # ---------------------------------------------------------------- the plane
    def _key(self):
        d = self.dock
        if d.mode_key() == "random":
            return ("random", d.seed.value())
        return ("weights", d.x_axis.axis(), d.y_axis.axis())

    def _ensure_plane(self) -> Plane | None:
        """The plane the controls describe, made at the current weights. Drawn paths pin it: while there
        are some and the controls are unchanged the plane stays (its paths stay true); a new plane
        drops them (they are in the old plane's coordinates)."""
        g = self.graph
        if g is None:
            return None
        key = self._key()
        pinned = bool(self.paths) or len(self.training_xy) > 0
        if self.plane is not None and key == self._plane_key and self.plane.fits(g) and pinned:
            return self.plane
        try:
            if key[0] == "random":
                plane = random_plane(g, seed=key[1])
            else:
                if key[1] is None or key[2] is None:
                    raise LandscapeError("the graph has no trainable weights to choose")
                plane = weight_plane(g, key[1], key[2])
        except LandscapeError as exc:
            self._say(f"Cannot draw the landscape: {exc}")
            return None
        self.plane, self._plane_key, self.grid, self.paths = plane, key, None, {}
        self.training_xy = np.zeros((0, 2))
        self.dock.clear()
        return plane

    def live_plane(self) -> Plane | None:
        """For the training controller: the plane a run should project onto (None: none drawn)."""
        g = self.graph
        if self.plane is None or g is None or not self.plane.fits(g):
            return None
        return self.plane

    def _current(self) -> tuple[float, float] | None:
        try:
            return self.plane.coords_of(self.graph)
        except (KeyError, ValueError):
            return None

    # ---------------------------------------------------------------- jobs
    def compute(self) -> bool:
        """Draw the loss over the plane (a new plane when the controls changed); False if it cannot start."""
        plane = self._ensure_plane()
        if plane is None or self.thread is not None:
            return False
        span = self.dock.span.value()
        cur = self._current()
        pts = [tr.xy for tr in self.paths.values()] + [self.training_xy] + ([np.array(cur)] if cur else [])
        center, half = fitted_extent(span, pts)
        return self._start({"what": "grid", "plane": plane, "span": half, "center": center,
                            "resolution": self.dock.resolution.value(), "points": POINTS}, "Computing the landscape…")

    def race(self) -> bool:
        plane = self._ensure_plane()
        if plane is None or self.thread is not None:
            return False
        lr = self.dock.lr.value()
        from graphcore.train.optsettings import KINDS

        return self._start({"what": "race", "plane": plane, "steps": self.dock.steps.value(), "points": POINTS,
                            "settings": {k: {"lr": lr} for k in KINDS}}, "Racing the optimizers…")

    def _start(self, job: dict, text: str) -> bool:
        path = getattr(self.document, "path", None)
        t = LandscapeThread(self.graph, job, base_dir=os.path.dirname(path) if path else None,
                            policy=datapaths.data_policy(), inline=self.inline, parent=self)
        t.finished_job.connect(self._on_job)
        self.thread = t
        self.dock.set_busy(True)
        self._say(text)
        t.start()
        return True

    def busy(self) -> bool:
        return self.thread is not None

    def _cancel(self) -> None:
        t = self.thread
        if t is None:
            return
        self.thread = None
        try:
            t.finished_job.disconnect()
        except (RuntimeError, TypeError):
            pass
        t.cancel()
        t.wait(10000)
        t.deleteLater()
        self.dock.set_busy(False)

    def _on_job(self, kind: str, payload) -> None:
        t = self.thread
        if t is None or self.sender() is not t:
            return  # a cancelled job's answer
        self.thread = None
        t.wait(2000)
        t.deleteLater()
        self.dock.set_busy(False)
        if kind == "error":
            self._say(f"Cannot draw the landscape: {payload.splitlines()[0]}")
            return
        if self.graph is None or t.source_version != self.graph.structure_version or self.plane is not t.job["plane"]:
            return  # the graph or the plane changed meanwhile
        if kind == "grid":
            self.grid = payload
            self.dock.show_grid(payload.xs, payload.ys, payload.loss, payload.labels)
            self.dock.show_current(self._current())
            finite = payload.loss[np.isfinite(payload.loss)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (np.nan, np.nan)
            self._say(f"Loss {lo:.4g} to {hi:.4g} (log colour scale), {payload.center_loss:.4g} where the plane "
                      f"was made; {len(payload.xs)}x{len(payload.ys)} grid.")
        else:
            self.paths = payload
            self.dock.show_race(payload)
            self._say(f"Raced {self.dock.steps.value()} steps at lr {self.dock.lr.value():g}: the legend gives "
                      "each optimizer's final loss.")
            if self._outside([tr.xy for tr in payload.values()]):
                self.compute()  # redraw the landscape around the whole race

    def _outside(self, paths: list[np.ndarray]) -> bool:
        if self.grid is None:
            return True
        xs, ys = self.grid.xs, self.grid.ys
        for xy in paths:
            xy = xy[np.isfinite(xy).all(axis=1)] if len(xy) else xy
            if len(xy) and (xy[:, 0].min() < xs[0] or xy[:, 0].max() > xs[-1] or xy[:, 1].min() < ys[0]
                            or xy[:, 1].max() > ys[-1]):
                return True
        return False

    # ---------------------------------------------------------------- the training run
    def _on_running(self, running: bool) -> None:
        if running:
            self.training_xy = np.zeros((0, 2))
            self.dock.set_training(self.training_xy)
            if self.grid is not None and self.action.isChecked():  # opened and drawn: the path is the point
                self.dock.raise_()

    def _on_path(self, payload: dict) -> None:
        xy = np.asarray(payload.get("xy"), np.float64).reshape(-1, 2)
        if self.plane is None or not len(xy):
            return
        self.training_xy = np.concatenate([self.training_xy, xy])
        self.dock.set_training(self.training_xy)

    def _after_run(self, result: dict) -> None:
        if self.plane is None:
            return
        self.dock.show_current(self._current())
        if len(self.training_xy) and self._outside([self.training_xy]):
            self._say("The training path left the drawn area: Compute draws the landscape around all of it.")

    # ---------------------------------------------------------------- misc
    def _say(self, text: str) -> None:
        self.dock.status.setText(text)

    def _shown(self, checked: bool) -> None:
        if checked:
            self.dock.raise_()
            QTimer.singleShot(0, self.dock.raise_)  # again once Qt has shown the tab

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.window and event.type() == QEvent.Type.Close and event.isAccepted():
            self._cancel()
        return False


def install_landscape_view(window, controller=None) -> LandscapeView:
    return LandscapeView(window, controller)
