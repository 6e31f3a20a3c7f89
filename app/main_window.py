"""The main window: one document on a canvas, with the palette, inspector, problems and history docks.

It owns the layout, the document swap, autosave and recovery; its mixins hold the file life
cycle from New to the Examples menu (FileActions, file_actions.py), the actions, menus, toolbar
and editing slots (WindowActions, window_actions.py) and the Help dialogs (HelpDialogs,
help_dialogs.py). It hands every graph edit to the canvas scene, which pushes undo commands. Other parts of the app (the run view) hook
in through `document_changed`, `self.scene`, `self.view`, `self.menus` and `self.toolbar`.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QUndoGroup
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QUndoView, QWidget

import graphcore as gc
import shiboken6
from backprop_studio_resources import examples_dir

from . import settings as app_settings
from . import theme, window_layout
from .autosave import Autosaver, Recovery, find_recoverable
from .canvas.scene import GraphScene
from .canvas_host import BANNER_TEXT, CanvasHost
from .canvas.view import GraphView
from .document import Document
from .export_actions import ExportActions
from .file_actions import APP_NAME, FileActions, example_files  # noqa: F401 (example_files: tests and docs)
from .help_dialogs import HelpDialogs
from .inspector import InspectorDock
from .palette import PaletteDock
from .problems_dock import ProblemsDock
from .window_actions import WindowActions

EXAMPLES_DIR = examples_dir()
STATE_VERSION = 2  # 1 could hold the collapsed canvas of issue 9: such layouts are not restored

class MainWindow(FileActions, ExportActions, WindowActions, HelpDialogs, QMainWindow):
    document_changed = Signal(object)  # the new Document
    layout_reset = Signal()  # View > Reset layout put every dock back: views re-apply their document's rules

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setDockNestingEnabled(True)
        self.document: Document | None = None
        self.scene: GraphScene | None = None
        self.view: GraphView | None = None
        self.autosaver: Autosaver | None = None
        self._add_count = 0
        self.undo_group = QUndoGroup(self)
        self.menus: dict[str, QMenu] = {}

        self.palette_dock = PaletteDock(self)
        self.inspector_dock = InspectorDock(self)
        self.problems_dock = ProblemsDock(self)
        self.history_dock = QDockWidget("History", self)
        self.history_dock.setObjectName("historyDock")
        self.undo_view = QUndoView(self.undo_group, self.history_dock)
        self.undo_view.setObjectName("undoView")
        self.history_dock.setWidget(self.undo_view)
        self.canvas_host = CanvasHost(self)  # the central widget for the window's life; documents swap its view
        self.canvas_host.stop_requested.connect(self._stop_training)
        self.setCentralWidget(self.canvas_host)
        self.training_locked = False
        self._layout_timer = QTimer(self)
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(0)
        self._layout_timer.timeout.connect(self._keep_layout)
        self.layout_keeper = window_layout.LayoutKeeper(self)
        window_layout.apply_default(self)
        for dock in self.findChildren(QDockWidget):
            self.layout_keeper.watch(dock)

        self.palette_dock.op_activated.connect(self.add_op_at_centre)
        self.problems_dock.node_requested.connect(self.select_and_centre)

        self.status_label = QLabel(self)
        self.status_label.setObjectName("statusCounts")
        self.statusBar().addPermanentWidget(self.status_label)
        self.statusBar().setSizeGripEnabled(False)

        self._create_actions()
        self._create_menus()
        self._create_toolbar()
        self._default_size()
        self.setAcceptDrops(True)  # drop a .json file anywhere to open it
        self._restore_settings()
        self.set_document(Document(parent=self))
        self.run_view = self._install_run_view()
        self.lesson_view = self._install_lesson_view()
        self.train_view = self._install_train_view()
        self._restore_state()  # after every dock and toolbar exists, so all get their saved places

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._layout_timer.start()  # after Qt has laid the docks out at the new size

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self._layout_timer.start()


    def _keep_layout(self) -> None:
        """After a show or resize: a just-restored layout is checked first, then the columns kept."""
        if getattr(self, "_layout_unchecked", False):
            if self._check_restored_layout():
                return
        self.layout_keeper.restore()

    def reset_layout(self, keep_closed: bool = False) -> None:
        """View > Reset layout: every dock back in its default place and size around the canvas
        (and shown again, unless `keep_closed`)."""
        window_layout.apply_default(self, keep_closed)
        for dock in self.findChildren(QDockWidget):
            self.layout_keeper.watch(dock)
        self.layout_reset.emit()
        self.layout_keeper.intent = None
        QTimer.singleShot(0, self, self._remember_default)

    def _remember_default(self) -> None:
        window_layout.size_columns(self)  # again, now that the re-placed docks have been laid out
        window_layout.enforce(self)
        self.layout_keeper.remember()
        self.layout_keeper.restore()

    def _install_run_view(self):
        """The run/step view (issue 5) hooks itself in via document_changed; absent, the editor still works."""
        try:
            from .run.attach import install_run_view
        except ImportError:
            return None
        return install_run_view(self)

    def _install_lesson_view(self):
        """Help > Lessons (issue 11): the dock is built on first use."""
        from .lessons.attach import install_lesson_view

        return install_lesson_view(self)

    def _install_train_view(self):
        """The training docks (issue 5) hook themselves in via document_changed; absent, the editor still works.

        Built just after the window is up, so pyqtgraph and numba are not loaded at startup."""
        QTimer.singleShot(TRAIN_VIEW_DELAY_MS, self._build_train_view)
        return None

    def _build_train_view(self) -> None:
        try:
            from .train.attach import install_train_view
        except ImportError:
            return
        self.train_view = install_train_view(self)

    def _default_size(self) -> None:
        """1400x860, or 90% of a smaller screen (saved geometry, when there is one, wins)."""
        screen = QGuiApplication.primaryScreen()
        w, h = 1400, 860
        if screen is not None:
            avail = screen.availableGeometry()
            w, h = min(w, int(avail.width() * 0.9)), min(h, int(avail.height() * 0.9))
        self.resize(max(w, 640), max(h, 480))

    def _dropped_file(self, event) -> str | None:
        md = event.mimeData()
        if md is None or not md.hasUrls():
            return None
        for url in md.urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith(".json"):
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._dropped_file(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        path = self._dropped_file(event)
        if path:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_file(path))  # not inside the drag: open may show dialogs
        else:
            event.ignore()

    # ================================================================ documents
    def set_document(self, doc: Document) -> None:
        """Show `doc`, discarding the current one (call maybe_save first)."""
        old = self.document
        if old is not None:
            if self.autosaver is not None:
                self.autosaver.close()
                self.autosaver = None
            self.undo_group.removeStack(old.undo_stack)
        old_scene = self.scene
        doc.setParent(self)
        self.document = doc
        self.undo_group.addStack(doc.undo_stack)
        self.undo_group.setActiveStack(doc.undo_stack)
        self.scene = GraphScene(doc.graph, doc.undo_stack)
        self.scene.setParent(self)
        self.scene.snap_to_grid = self.actionSnap.isChecked()
        self.scene.status_message.connect(self.show_status)
        self.scene.selection_ids_changed.connect(self.inspector_dock.show_selection)
        self.view = GraphView(self.scene)
        self.view.setObjectName("graphView")
        self.view.addActions(self._canvas_actions)
        self._apply_canvas_theme()
        self.canvas_host.set_view(self.view)  # the layout stays: only the view inside the host changes
        self.statusBar().clearMessage()  # the old document's messages are not about this one
        if old_scene is not None:
            _detach_scene(old_scene)
            old_scene.deleteLater()
        self.inspector_dock.set_document(doc.graph, doc.undo_stack)
        self.problems_dock.set_graph(doc.graph)
        doc.graph.changed.sub(self._schedule_counts)
        if old is not None:
            old.graph.changed.unsub(self._schedule_counts)
            old.deleteLater()
        doc.modified_changed.connect(self._update_title)
        doc.path_changed.connect(self._update_title)
        if hasattr(doc.undo_stack, "refused"):
            doc.undo_stack.refused.connect(self.show_status)
        self.set_training_lock(False)
        self.autosaver = Autosaver(doc, parent=self)
        self.autosaver.failed.connect(self.show_status)
        self.undo_view.setEmptyLabel(f"Opened {doc.display_name}")
        self._update_title()
        self._update_counts()
        self.view.setFocus()
        QTimer.singleShot(0, self._frame_all)
        self.document_changed.emit(doc)

    def insert_menu(self, key: str, title: str) -> QMenu:
        """A menu for a later view (Run, Train), placed before Help and kept in `menus`."""
        bar = self.menuBar()
        menu = QMenu(title, bar)
        menu.setObjectName("menu" + key.capitalize())
        help_menu = self.menus.get("help")
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
        self.menus[key] = menu
        return menu

    def _frame_all(self) -> None:
        """Fit the whole graph (after an open, or when the canvas changed size); the selection stays.
        A running lesson's step then brings the nodes it names into view, readable."""
        if self.view is not None and self.scene is not None:
            self.view.frame_all()
            focus = self.lesson_view.canvas_focus() if getattr(self, "lesson_view", None) is not None else []
            if focus:
                self.view.bring_into_view(focus)

    def _update_title(self, *_args) -> None:
        doc = self.document
        star = "*" if doc.modified else ""
        self.setWindowTitle(f"{doc.display_name}{star} — {APP_NAME}")
        self.setWindowFilePath(doc.path or "")

    def _schedule_counts(self) -> None:
        if self.document is not None and shiboken6.isValid(self.status_label):
            self._update_counts()

    def _update_counts(self) -> None:
        g = self.document.graph
        n, e = len(g.nodes), len(g.edges)
        self.status_label.setText(f"{n} node{'s' * (n != 1)} · {e} wire{'s' * (e != 1)}")

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 6000)

    # ---------------------------------------------------------------- theme
    def set_theme(self, name: str) -> None:
        name = theme.apply_theme(name)
        app_settings.set_theme_name(name)
        (self.actionThemeDark if name == "dark" else self.actionThemeLight).setChecked(True)
        self.palette_dock.populate()
        self._apply_canvas_theme()

    def _apply_canvas_theme(self) -> None:
        """The canvas palette follows the app theme (theme.apply_theme switches both)."""
        if self.view is not None:
            self.view.viewport().update()

    # ---------------------------------------------------------------- recovery
    def offer_recovery(self, ask: bool = True) -> bool:
        """If a crashed session left an autosave, offer to restore it. True if one was restored."""
        found = find_recoverable()
        if not found:
            return False
        rec = found[0]
        if ask and not self.ask_recover(rec):
            rec.discard()
            return False
        try:
            graph = rec.load()
        except (gc.GraphFormatError, OSError, ValueError) as exc:
            rec.discard()
            self.show_error("Cannot recover", "The autosaved graph could not be read.", str(exc))
            return False
        doc = Document(graph, rec.original_path, parent=self)
        self.set_document(doc)
        doc.mark_modified()
        self.autosaver.save_now()  # safe in this session's autosave before the old one goes
        rec.discard()
        self.show_status(f"Recovered unsaved changes to {rec.display_name}")
        return True

    def ask_recover(self, rec: Recovery) -> bool:
        from datetime import datetime

        when = datetime.fromtimestamp(rec.saved_at).strftime("%Y-%m-%d %H:%M:%S")
        B = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Recover unsaved changes?",
            f"{APP_NAME} did not close properly last time.\n\nRecover the unsaved changes to "
            f"{rec.display_name} (autosaved {when})?", B.Yes | B.No, B.Yes)
        return answer == B.Yes

    # ---------------------------------------------------------------- settings and closing
    def _restore_settings(self) -> None:
        s = app_settings.settings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        snap = s.value("snapToGrid", False)
        self.actionSnap.setChecked(snap in (True, "true", "1", 1))
        name = app_settings.theme_name()
        (self.actionThemeDark if name == "dark" else self.actionThemeLight).setChecked(True)

    def _restore_state(self) -> bool:
        """The saved dock layout, unless it would leave the canvas less than its share (checked once
        Qt has laid it out; then the default layout is used instead). True if one was restored."""
        state = app_settings.settings().value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty() and self.restoreState(state, STATE_VERSION):
            if not self._check_restored_layout():  # not shown yet: checked once the window is laid out
                self._layout_unchecked = True
                self._layout_timer.start()
            return True
        return False

    def _check_restored_layout(self) -> bool:
        """At 1024x640 and up (a smaller window cannot give the canvas its share): a restored layout
        that leaves the canvas too little is replaced by the default. True if it was checked."""
        if not self.isVisible() or self.width() < 1024 or self.height() < 640:
            return False
        self._layout_unchecked = False
        # measure the layout Qt will show, not the one before its pending layout requests: a loaded
        # machine could run this timer first, pass the crushed layout, then apply it
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        self.layout().activate()
        if not window_layout.state_fits(self):
            self.reset_layout()
        else:
            self.layout_keeper.remember()
            self.layout_keeper.restore()
        return True

    # ---------------------------------------------------------------- training lock
    def set_training_lock(self, on: bool) -> None:
        """While a run holds the graph: the banner shows, structural and weight edits are refused
        (the undo stack says why) and undo/redo wait; moving and renaming nodes stay allowed."""
        self.training_locked = bool(on)
        self.canvas_host.set_banner(self.training_locked)
        doc = self.document
        if doc is None:
            return
        doc.undo_stack.edit_lock = BANNER_TEXT if self.training_locked else None
        self.undo_group.setActiveStack(None if self.training_locked else doc.undo_stack)

    def _stop_training(self) -> None:
        controller = getattr(self, "train_controller", None)
        if controller is not None:
            controller.stop()

    def save_settings(self) -> None:
        s = app_settings.settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.save_settings()
        if self.autosaver is not None:
            self.autosaver.close()
            self.autosaver = None
        event.accept()


TRAIN_VIEW_DELAY_MS = 250


def _detach_scene(scene) -> None:
    """Stop a discarded scene from listening to its graph (its own method when it has one)."""
    for name in ("detach", "close", "dispose", "unsubscribe"):
        fn = getattr(scene, name, None)
        if callable(fn):
            fn()
            return
