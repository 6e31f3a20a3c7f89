"""Put training into the main window: the Train, Training plots and "What the net sees" docks,
a Train menu with actionTrain/actionPause/actionStepEpoch/actionStop, the controller following the
open document, its messages in the status bar and a NaN's node selected and centred.

MainWindow calls install_train_view(self) once; everything else hangs off its document_changed
signal. Closing the window stops and joins the worker thread.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer

from .boundary import BoundaryDock
from .controller import TrainController
from .dock import TrainDock
from .plots import PlotsDock


class TrainView(QObject):
    """Owns the three training docks and the controller of one main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.train_dock = TrainDock(window)
        self.plots_dock = PlotsDock(window)
        self.boundary_dock = BoundaryDock(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.train_dock)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.boundary_dock)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.plots_dock)
        inspector = getattr(window, "inspector_dock", None)
        if inspector is not None:
            window.tabifyDockWidget(inspector, self.train_dock)
        restore = getattr(window, "_restore_state", None)
        if restore is not None:
            restore()  # built after the window restored its layout: apply the saved one again, now with these docks
        if not _has_saved_layout():
            QTimer.singleShot(0, self._default_sizes)  # once the new docks have been laid out
        self.controller = TrainController(self.train_dock, self.plots_dock, self.boundary_dock, self)
        self.controller.status_message.connect(window.show_status)
        if hasattr(window, "select_and_centre"):
            self.controller.node_requested.connect(window.select_and_centre)
        self._add_menu(window)
        window.train_controller = self.controller
        window.document_changed.connect(self._document_changed)
        window.installEventFilter(self)
        if window.document is not None:
            self.controller.set_document(window.document, window.scene)

    def _default_sizes(self) -> None:
        w = self.window
        # the canvas keeps most of the height: the plots take about 30% of the window
        w.resizeDocks([self.plots_dock], [max(300, int(w.height() * 0.34))], Qt.Orientation.Vertical)
        w.resizeDocks([self.boundary_dock], [440], Qt.Orientation.Horizontal)
        problems = getattr(w, "problems_dock", None)
        if problems is not None:
            w.resizeDocks([problems, self.plots_dock], [240, 1200], Qt.Orientation.Horizontal)
        history = getattr(w, "history_dock", None)
        if history is not None and history.isVisible():
            w.resizeDocks([self.train_dock, history, self.boundary_dock], [330, 70, 420], Qt.Orientation.Vertical)
        frame = getattr(w, "_frame_all", None)
        if frame is not None:  # the canvas shrank: fit the graph to it again
            QTimer.singleShot(50, frame)

    def _add_menu(self, window) -> None:
        menu = window.insert_menu("train", "&Train")
        d = self.train_dock
        d.actionTrain.setShortcut("Ctrl+T")
        d.actionStop.setShortcut("Ctrl+.")
        for act in (d.actionTrain, d.actionPause, d.actionStepEpoch, d.actionStop):
            window.addAction(act)  # shortcuts work wherever the focus is
        menu.addActions([d.actionTrain, d.actionPause, d.actionStepEpoch, d.actionStop])
        menu.addSeparator()
        for dock in (self.train_dock, self.plots_dock, self.boundary_dock):
            menu.addAction(dock.toggleViewAction())
        view = window.menus.get("view")
        if view is not None:
            for dock in (self.train_dock, self.plots_dock, self.boundary_dock):
                view.addAction(dock.toggleViewAction())
        self.menu = menu

    def _document_changed(self, doc) -> None:
        self.controller.set_document(doc, self.window.scene)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.window and event.type() == QEvent.Type.Close and event.isAccepted():
            self.controller.shutdown()
            self.plots_dock.timer.stop()
        return False


def _has_saved_layout() -> bool:
    try:
        from app import settings

        state = settings.settings().value("window/state")
    except Exception:
        return False
    return state is not None and not (hasattr(state, "isEmpty") and state.isEmpty())


def install_train_view(window) -> TrainView:
    return TrainView(window)
