"""Put training into the main window: the Train, Training plots and "What the net sees" docks,
a Train menu with actionTrain/actionPause/actionStepEpoch/actionStop, the controller following the
open document, its messages in the status bar and a NaN's node selected and centred.

"What the net sees" belongs to its document: a graph that does not train (a circuit) hides it, and
its room goes to the Inspector/Train tabs above it; a graph that trains, or a run starting, brings
it back, unless the person closed it themselves (View or Train menu; remembered in the settings).

MainWindow calls install_train_view(self) once; everything else hangs off its document_changed
signal. Closing the window stops and joins the worker thread.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from .. import settings as app_settings
from .. import window_layout
from .boundary import BoundaryDock
from .controller import TrainController
from .dock import TrainDock
from .pass_histograms import PassHistograms
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
        restore = getattr(window, "_restore_state", None)
        # built after the window restored its layout: apply the saved one again, now with these docks;
        # without one, the training docks take their default places around the canvas
        restored = restore() if restore is not None else False
        reset = getattr(window, "reset_layout", None)
        if not restored and reset is not None:
            reset(keep_closed=True)
        frame = getattr(window, "_frame_all", None)
        if frame is not None:  # the canvas changed size: fit the graph to it again
            QTimer.singleShot(50, window, frame)
        self.controller = TrainController(self.train_dock, self.plots_dock, self.boundary_dock, self)
        self.controller.status_message.connect(window.show_status)
        if hasattr(window, "select_and_centre"):
            self.controller.node_requested.connect(window.select_and_centre)
        if hasattr(window, "set_training_lock"):
            self.controller.running_changed.connect(window.set_training_lock)
        self.controller.running_changed.connect(self._show_run)
        self._add_menu(window)
        from ..babysit.attach import install_babysit  # Train > Babysit… and Hyperparameter search…
        from .landscape_view import install_landscape_view

        self.landscape = install_landscape_view(window, self.controller)  # View > Loss landscape
        self.babysit = install_babysit(window, self)
        self.pass_histograms = PassHistograms(window, self.boundary_dock, self.controller)
        window.train_controller = self.controller
        window.document_changed.connect(self._document_changed)
        window.installEventFilter(self)
        if window.document is not None:
            self.controller.set_document(window.document, window.scene)
        self._fitting = False  # our own show/hide of the boundary dock, not the person's
        self.boundary_dock.toggleViewAction().triggered.connect(self._boundary_toggled)
        if hasattr(window, "layout_reset"):
            window.layout_reset.connect(self.fit_panels)
        self.fit_panels()

    def _add_menu(self, window) -> None:
        menu = window.insert_menu("train", "&Train")
        d = self.train_dock
        d.actionTrain.setShortcut("Ctrl+T")
        d.actionStop.setShortcut("Ctrl+.")
        for act in (d.actionTrain, d.actionPause, d.actionStepEpoch, d.actionStop):
            window.addAction(act)  # shortcuts work wherever the focus is
        menu.addActions([d.actionTrain, d.actionPause, d.actionStepEpoch, d.actionStop])
        menu.addSeparator()
        # the dock is titled "Train", like the action above it: its menu entry says what it shows
        self.train_dock.toggleViewAction().setText("Train &settings panel")
        for dock in (self.train_dock, self.plots_dock, self.boundary_dock):
            menu.addAction(dock.toggleViewAction())
        view = window.menus.get("view")
        if view is not None:
            for dock in (self.train_dock, self.plots_dock, self.boundary_dock):
                view.addAction(dock.toggleViewAction())
        self.menu = menu

    # ---------------------------------------------------------------- panels that belong to the document
    def boundary_wanted(self) -> bool:
        """Whether "What the net sees" has anything to show: the document trains, or a run is on."""
        doc = getattr(self.window, "document", None)
        return (doc is not None and doc.trains) or self.controller.is_running()

    def fit_panels(self) -> None:
        """Hide "What the net sees" for a graph without a training data set, show it again for one
        with (the person's own choice to close it wins)."""
        dock = self.boundary_dock
        if getattr(getattr(self.window, "run_view", None), "extras", None) is not None \
                and self.window.run_view.extras.presenting:
            return  # presentation mode decides the docks until it ends (and then restores them)
        want = self.boundary_wanted() and not _closed_by_user()
        if want == dock.toggleViewAction().isChecked():
            if not want:
                dock.hide()  # explicitly: a dock just added to a shown window is otherwise shown later
            return
        self._fitting = True
        try:
            dock.toggleViewAction().trigger()  # docked tabs need the action, not show()
        finally:
            self._fitting = False
        if want:  # it comes back below the settings with its default share of the column
            QTimer.singleShot(0, self.window, lambda: window_layout.split_right(self.window))

    def _boundary_toggled(self, checked: bool) -> None:
        if not self._fitting:
            app_settings.settings().setValue(BOUNDARY_CLOSED_KEY, not checked)

    def _show_run(self, running: bool) -> None:
        """A run starting brings its tabs to the front (the plots, the Train form, What the net sees
        even for a graph that had none); nothing moves."""
        if running:
            self.fit_panels()
            for dock in (self.plots_dock, self.train_dock, self.boundary_dock):
                if dock.isVisible() or self.window.tabifiedDockWidgets(dock):
                    dock.raise_()

    def _document_changed(self, doc) -> None:
        self.controller.set_document(doc, self.window.scene)
        self.fit_panels()
        # a graph that does not train (a circuit) does not open on empty Loss and Accuracy plots
        QTimer.singleShot(0, self.window, lambda: put_away_plots(self.window))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.window and event.type() == QEvent.Type.Close and event.isAccepted():
            self.controller.shutdown()
            self.plots_dock.timer.stop()
        return False


BOUNDARY_CLOSED_KEY = "ui/boundaryClosed"


def put_away_plots(window) -> bool:
    """When the open graph does not train and the Training plots tab is in front, bring the Narration
    (or Problems) tab of its group forward instead; True if it did."""
    train = getattr(window, "train_view", None)
    doc = getattr(window, "document", None)
    if train is None or doc is None or doc.trains:
        return False
    plots = train.plots_dock
    if not plots.isVisible() or plots.visibleRegion().isEmpty():
        return False
    for name in ("narrationDock", "problemsDock"):
        dock = window.findChild(QDockWidget, name)
        if dock is not None and dock.toggleViewAction().isChecked() and dock in window.tabifiedDockWidgets(plots):
            dock.raise_()
            return True
    return False


def _closed_by_user() -> bool:
    return app_settings.settings().value(BOUNDARY_CLOSED_KEY, False) in (True, "true", "1", 1)


def install_train_view(window) -> TrainView:
    return TrainView(window)
