"""Put the Babysit dock and the Search dialog into the main window: Train > Babysit… (actionBabysit)
and Train > Hyperparameter search… (actionSearch), both following the open document.

Both read the Train panel's settings (what a run would use), run off the GUI thread, and are cleared
when another document opens. "Apply best" goes through the document's undo stack.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction

from graphcore.train import datapath

from .. import window_layout
from ..train import datapaths
from .apply import ApplySearchResultCommand
from .dock import BabysitDock
from .search_dialog import SearchDialog
from .threads import ChecksThread, SearchThread


class BabysitView(QObject):
    def __init__(self, window, train_view) -> None:
        super().__init__(window)
        self.window = window
        self.train_dock = train_view.train_dock
        self._dock: BabysitDock | None = None  # made on first use: see `dock`
        self.dialog = SearchDialog(window)
        self.runner_factory = None  # where trials run; None: local processes or the dialog's Dask address
        self.actionBabysit = QAction("&Babysit…", window)
        self.actionBabysit.setObjectName("actionBabysit")
        self.actionBabysit.setToolTip("The notes' sanity checks before a long run: initial loss, regularisation, "
                                      "overfitting a few examples, update/weight ratio, loss curve, gradients")
        self.actionSearch = QAction("Hyperparameter &search…", window)
        self.actionSearch.setObjectName("actionSearch")
        self.actionSearch.setToolTip("Random search of the learning rate and λ, coarse then fine")
        self.actionBabysit.triggered.connect(self.open_dock)
        self.actionSearch.triggered.connect(self.open_search)
        menu = train_view.menu
        menu.addSeparator()
        menu.addActions([self.actionBabysit, self.actionSearch])
        self.dialog.start_requested.connect(self.start_search)
        self.dialog.apply_requested.connect(self.apply_best)
        window.document_changed.connect(self._document_changed)
        window.installEventFilter(self)

    # ---------------------------------------------------------------- opening
    @property
    def dock(self) -> BabysitDock:
        """The Babysit dock, made when first asked for (Train > Babysit…): a window that never babysits
        keeps exactly the docks and saved layout it had. It comes back where the saved layout had it, or
        as a tab beside the Train panel."""
        if self._dock is None:
            d = self._dock = BabysitDock(self.window)
            d.run_requested.connect(self.run_checks)
            d.room_wanted.connect(self._give_room)
            d.visibilityChanged.connect(lambda _on: self._give_room())  # in front or not: its room follows
            if not self.window.restoreDockWidget(d):
                self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d)
                self.window.tabifyDockWidget(self.train_dock, d)
            d.hide()
        return self._dock

    def open_dock(self) -> None:
        self.dock.show()
        self.dock.raise_()

    def _give_room(self) -> None:
        """Split the right column again once the dock has laid out (window_layout asks `room_for`)."""
        QTimer.singleShot(0, self, lambda: QTimer.singleShot(0, self, lambda: window_layout.split_right(self.window)))

    def room_for(self, top) -> int | None:
        """The height the Babysit dock wants while it is in front in the tab group `top` heads (the top
        of the right column): its cards, not a sliver above "What the net sees". None otherwise."""
        d = self._dock
        if d is None or not d.isVisible() or d.visibleRegion().isEmpty():
            return None
        if top is not d and d not in self.window.tabifiedDockWidgets(top):
            return None
        return d.wanted_height()

    def open_search(self) -> None:
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    # ---------------------------------------------------------------- what a run would use
    def _settings(self) -> tuple | str:
        """(graph, training, gui, base_dir, policy), or the reason there is nothing to run."""
        doc = self.window.document
        if doc is None or not doc.trains:
            return "the graph has no training settings (meta.training): it is a circuit, with no data, labels " \
                   "or loss to check"
        try:
            s = self.train_dock.settings()
        except ValueError as exc:
            return str(exc)
        base_dir = os.path.dirname(doc.path) if doc.path else None
        policy = datapaths.data_policy()
        ask = datapaths.needs_confirmation(s["training"], datapath.folder_for(doc.graph.file, base_dir)[0], policy)
        if ask is not None and datapaths.ask_to_use_data_path(*ask):
            datapaths.remember_data_path(ask[0])
            policy = policy.allowing(ask[0])
        return doc.graph, s["training"], s["gui"], base_dir, policy

    def run_checks(self) -> None:
        got = self._settings()
        if isinstance(got, str):
            self.dock.status.setText(f"Nothing to check: {got}.")
            return
        graph, training, gui, base_dir, policy = got
        self.dock.start(ChecksThread(graph, training, gui, base_dir, policy, parent=self))

    def start_search(self, options: dict) -> None:
        got = self._settings()
        if isinstance(got, str):
            self.dialog.status.setText(f"Nothing to search: {got}.")
            return
        graph, training, gui, base_dir, policy = got
        graph = graph.copy()
        from graphcore.train.session import apply_reg_strength, prepare_graph

        prepare_graph(graph, gui, int(training.get("seed", 0)))
        if gui.get("reg_strength") is not None:
            training = apply_reg_strength(graph, training, gui["reg_strength"])
        where = f"the Dask cluster at {options['dask']}" if options.get("dask") else \
            f"{options['workers']} local process{'es' if options['workers'] > 1 else ''}"
        thread = SearchThread(graph, training, options, base_dir, policy, parent=self)
        thread.runner_factory = self.runner_factory
        self.dialog.show_run(thread, where)

    def apply_best(self, best: dict) -> None:
        doc = self.window.document
        if doc is None:
            return
        has_reg = any(n.spec is not None and n.spec.category == "regularizers" for n in doc.graph.nodes.values())
        d = self.train_dock

        def set_form(lr: float, reg: float | None) -> None:
            d.lr_spin.setValue(lr)
            if reg is not None:
                d.reg_spin.setValue(reg)

        cmd = ApplySearchResultCommand(doc.graph, float(best["lr"]), float(best["reg"]) if has_reg else None,
                                       d.lr_spin.value(), d.reg_spin.value(), set_form)
        doc.undo_stack.push(cmd)
        if cmd.error is None:
            self.dialog.status.setText(f"Applied: learning rate {best['lr']:.3g}"
                                       + (f", λ {best['reg']:.3g}" if has_reg else "") + " (Edit > Undo takes it back).")
        else:
            self.dialog.status.setText(f"Not applied: {cmd.error}")

    # ---------------------------------------------------------------- the document's
    def _document_changed(self, _doc) -> None:
        if self._dock is not None:
            self._dock.stop()
            self._dock.clear()
        self.dialog.stop()
        self.dialog.clear()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.window and event.type() == QEvent.Type.Close and event.isAccepted():
            if self._dock is not None:
                self._dock.stop()
            self.dialog.stop()
        return False


def install_babysit(window, train_view) -> BabysitView:
    return BabysitView(window, train_view)
