"""The Histograms tab of "What the net sees" between training runs: the open graph's weights per
layer and the activations of the editor's last pass (graphcore.predict.histograms computes them).

A run's snapshots used to be its only source, so a step that brought the tab up before any
training (lesson 10's Show me: new initial weights, then Backward) showed two empty plots. Here
a new or stepped pass, another document, or the tab coming into view fills it; nothing is computed
while the tab is out of sight or a run is sending its own snapshots."""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QTimer

from graphcore import predict

DELAY_MS = 60  # coalesces Live's re-runs (about 30 a second) into one histogram per few frames


class PassHistograms(QObject):
    def __init__(self, window, boundary, train_controller) -> None:
        super().__init__(window)
        self.window, self.boundary, self.train = window, boundary, train_controller
        self.dirty = True
        self.updates = 0  # histograms drawn from a pass (tests read it)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._timer.timeout.connect(self._draw)
        run_view = getattr(window, "run_view", None)
        if run_view is not None:
            run_view.controller.position_changed.connect(self.schedule)
            run_view.controller.cleared.connect(self.schedule)
        window.document_changed.connect(self.schedule)
        boundary.tabs.currentChanged.connect(self.schedule)
        boundary.visibilityChanged.connect(self.schedule)
        train_controller.running_changed.connect(self.schedule)

    def in_sight(self) -> bool:
        b = self.boundary
        view = b.hist_view.parentWidget()
        return b.isVisible() and not b.visibleRegion().isEmpty() and b.tabs.currentWidget() is view

    def schedule(self, *_args) -> None:
        self.dirty = True
        if shiboken6.isValid(self) and self.in_sight():
            self._timer.start()

    def _draw(self) -> None:
        doc = getattr(self.window, "document", None)
        if not self.in_sight() or doc is None or not doc.trains or self.train.is_running():
            return  # a circuit has no layers to show; a run draws its own
        run_view = getattr(self.window, "run_view", None)
        ctl = run_view.controller if run_view is not None else None
        values = ctl.executor.values if ctl is not None and ctl.rec is not None and ctl.graph is doc.graph else None
        self.boundary.show_histograms(predict.histograms(doc.graph, values))
        self.dirty = False
        self.updates += 1
