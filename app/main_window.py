"""The main window: one document on a canvas, with the palette, inspector, problems and history docks.

It owns the menus, the layout, autosave and recovery (the file life cycle, from New to the
Examples menu, is its FileActions mixin in file_actions.py) and hands every graph edit to the
canvas scene, which pushes undo commands. Other parts of the app (the run view) hook
in through `document_changed`, `self.scene`, `self.view`, `self.menus` and `self.toolbar`.
"""
from __future__ import annotations

import sys
from importlib import metadata

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDockWidget, QHeaderView, QLabel, QMainWindow, QMenu,
    QMessageBox, QTableWidget, QTableWidgetItem, QToolBar, QUndoView, QVBoxLayout, QWidget,
)

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
from .file_actions import APP_NAME, FileActions, example_files  # noqa: F401 (example_files: tests and docs)
from .inspector import InspectorDock
from .palette import PaletteDock
from .problems_dock import ProblemsDock

EXAMPLES_DIR = examples_dir()
STATE_VERSION = 2  # 1 could hold the collapsed canvas of issue 9: such layouts are not restored

# Gestures the canvas handles itself (listed in Help > Keyboard shortcuts next to the actions).
CANVAS_GESTURES = [
    ("Tab", "Search ops at the cursor and add one"),
    ("Drag from a port", "Wire an output to an input (or the reverse)"),
    ("Drag a wire's end", "Re-route or disconnect it"),
    ("Wheel", "Zoom around the cursor"),
    ("Middle-drag / Space+drag", "Pan"),
    ("Drag on empty canvas", "Rubber-band selection"),
    ("Double-click a title", "Rename the node"),
    ("Double-click a value or param", "Type it on the node"),
    ("Drag a value sideways", "Scrub it (Alt: finer); one undo step"),
]


def versions() -> dict[str, str]:
    """Versions for the About box; numba and pyqtgraph are read from metadata, not imported (startup time)."""
    from PySide6 import QtCore
    import PySide6
    import numpy

    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        APP_NAME: gc.__version__,
        "Python": sys.version.split()[0],
        "Qt": QtCore.qVersion(),
        "PySide6": PySide6.__version__,
        "numpy": numpy.__version__,
        "numba": dist("numba"),
        "pyqtgraph": dist("pyqtgraph"),
    }


class MainWindow(FileActions, QMainWindow):
    document_changed = Signal(object)  # the new Document

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

    # ================================================================ actions and menus
    def _action(self, name: str, text: str, slot=None, shortcut=None, tip: str = "", checkable=False) -> QAction:
        act = QAction(text, self)
        act.setObjectName(name)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            act.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.setCheckable(checkable)
        if slot is not None:
            act.triggered.connect(slot)
        self.addAction(act)  # shortcuts work even when the menu bar is hidden
        return act

    def _create_actions(self) -> None:
        K = QKeySequence.StandardKey
        a = self._action
        self.actionNew = a("actionNew", "&New", self.new_file, K.New, "Start an empty graph")
        self.actionOpen = a("actionOpen", "&Open…", self.open_dialog, K.Open, "Open a graph file")
        self.actionSave = a("actionSave", "&Save", self.save, K.Save, "Save the graph")
        self.actionSaveAs = a("actionSaveAs", "Save &As…", self.save_as, K.SaveAs, "Save the graph under a new name")
        self.actionExportImage = a("actionExportImage", "&Export Image…", self.export_dialog, "Ctrl+E",
                                   "Export the canvas as PNG or SVG")
        self.actionClose = a("actionQuit", "&Quit", self.close, "Ctrl+Q", "Quit Backprop Studio")

        self.actionUndo = self.undo_group.createUndoAction(self, "&Undo")
        self.actionUndo.setObjectName("actionUndo")
        self.actionUndo.setShortcuts([QKeySequence(K.Undo)])
        self.actionRedo = self.undo_group.createRedoAction(self, "&Redo")
        self.actionRedo.setObjectName("actionRedo")
        self.actionRedo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(self.actionUndo)
        self.addAction(self.actionRedo)
        self.actionHistory = self.history_dock.toggleViewAction()
        self.actionHistory.setObjectName("actionHistory")
        self.actionHistory.setText("Undo &History")
        self.actionCut = a("actionCut", "Cu&t", self.cut, K.Cut, "Cut the selected nodes")
        self.actionCopy = a("actionCopy", "&Copy", self.copy, K.Copy, "Copy the selected nodes (as graph JSON)")
        self.actionPaste = a("actionPaste", "&Paste", self.paste, K.Paste, "Paste nodes at the cursor")
        self.actionDuplicate = a("actionDuplicate", "D&uplicate", self._scene_call("duplicate_selected"), "Ctrl+D",
                                 "Duplicate the selected nodes")
        self.actionDelete = a("actionDelete", "&Delete", self._scene_call("delete_selected"),
                              [QKeySequence.StandardKey.Delete, "Backspace"], "Delete the selected nodes")
        self.actionRename = a("actionRename", "&Rename", self.rename_selected, "F2", "Rename the selected node")
        self.actionSelectAll = a("actionSelectAll", "Select &All", self.select_all, K.SelectAll)
        self.actionSnap = a("actionSnapToGrid", "S&nap to Grid", self.set_snap, None,
                            "Snap nodes to the grid while moving", checkable=True)

        self.actionFrame = a("actionFrame", "&Frame Selection", self._view_call("frame_selection"), "F",
                             "Frame the selection, or everything")
        self.actionAutoLayout = a("actionAutoLayout", "Auto &Layout", self._scene_call("auto_layout"), "L",
                                  "Arrange the graph left to right in layers")
        self.actionResetLayout = a("actionResetLayout", "&Reset Layout", lambda: self.reset_layout(), None,
                                   "Put every panel back in its default place around the canvas")
        self.theme_group = QActionGroup(self)
        self.actionThemeDark = a("actionThemeDark", "&Dark", lambda: self.set_theme("dark"), checkable=True)
        self.actionThemeLight = a("actionThemeLight", "&Light", lambda: self.set_theme("light"), checkable=True)
        self.theme_group.addAction(self.actionThemeDark)
        self.theme_group.addAction(self.actionThemeLight)

        # Canvas actions fire only while the canvas has focus, so Delete in a table or F typed in
        # a list never deletes or frames nodes; the menus trigger them from anywhere.
        self._canvas_actions = [self.actionCut, self.actionCopy, self.actionPaste, self.actionDuplicate,
                                self.actionDelete, self.actionRename, self.actionSelectAll, self.actionFrame,
                                self.actionAutoLayout]
        for act in self._canvas_actions:
            self.removeAction(act)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

        self.actionShortcuts = a("actionShortcuts", "&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/")
        self.actionAbout = a("actionAbout", "&About Backprop Studio", self.show_about)

    def _create_menus(self) -> None:
        bar = self.menuBar()
        m = self.menus["file"] = bar.addMenu("&File")
        m.setObjectName("menuFile")
        m.addActions([self.actionNew, self.actionOpen])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.setObjectName("menuRecent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.examples_menu = m.addMenu("E&xamples")
        self.examples_menu.setObjectName("menuExamples")
        self.examples_menu.aboutToShow.connect(self._fill_examples_menu)
        m.addSeparator()
        m.addActions([self.actionSave, self.actionSaveAs])
        m.addSeparator()
        m.addAction(self.actionExportImage)
        m.addSeparator()
        m.addAction(self.actionClose)
        self._fill_recent_menu()
        self._fill_examples_menu()

        m = self.menus["edit"] = bar.addMenu("&Edit")
        m.setObjectName("menuEdit")
        m.addActions([self.actionUndo, self.actionRedo, self.actionHistory])
        m.addSeparator()
        m.addActions([self.actionCut, self.actionCopy, self.actionPaste, self.actionDuplicate, self.actionDelete])
        m.addSeparator()
        m.addActions([self.actionRename, self.actionSelectAll])
        m.addSeparator()
        m.addAction(self.actionSnap)

        m = self.menus["view"] = bar.addMenu("&View")
        m.setObjectName("menuView")
        m.addActions([self.actionFrame, self.actionAutoLayout])
        m.addSeparator()
        tm = m.addMenu("&Theme")
        tm.setObjectName("menuTheme")
        tm.addActions([self.actionThemeDark, self.actionThemeLight])
        m.addSeparator()
        m.addAction(self.actionResetLayout)
        m.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.problems_dock, self.history_dock):
            m.addAction(dock.toggleViewAction())

        m = self.menus["help"] = bar.addMenu("&Help")
        m.setObjectName("menuHelp")
        m.addActions([self.actionShortcuts, self.actionAbout])

    def _create_toolbar(self) -> None:
        tb = self.toolbar = QToolBar("Main", self)
        tb.setObjectName("mainToolBar")
        tb.setMovable(False)
        tb.setIconSize(QSize(16, 16))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.addActions([self.actionNew, self.actionOpen, self.actionSave])
        tb.addSeparator()
        # Plain "Undo"/"Redo" here (the menu's actions name the command, which would make the bar jump).
        for text, slot, signal, tip in (("Undo", self.undo_group.undo, self.undo_group.canUndoChanged, "Undo (Ctrl+Z)"),
                                        ("Redo", self.undo_group.redo, self.undo_group.canRedoChanged,
                                         "Redo (Ctrl+Shift+Z)")):
            act = QAction(text, tb)
            act.setObjectName(f"toolbar{text}")
            act.setToolTip(tip)
            act.setEnabled(False)
            act.triggered.connect(slot)
            signal.connect(act.setEnabled)
            tb.addAction(act)
        tb.addSeparator()
        tb.addActions([self.actionFrame, self.actionAutoLayout])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)

    def _scene_call(self, method: str):
        def call() -> None:
            if self.scene is not None:
                getattr(self.scene, method)()
        return call

    def _view_call(self, method: str):
        def call() -> None:
            if self.view is not None:
                getattr(self.view, method)()
        return call

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
        if self.view is not None and self.scene is not None:
            self.scene.clearSelection()
            self.view.frame_selection()

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

    # ---------------------------------------------------------------- editing
    def add_op_at_centre(self, op: str) -> None:
        """Palette double-click: add the op near the middle of the visible canvas (staggered)."""
        if self.scene is None or self.view is None:
            return
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        k = self._add_count % 6
        self._add_count += 1
        self.scene.add_node(op, centre + type(centre)(24 * k - 60, 24 * k - 30))

    def cut(self) -> None:
        if self.scene is None or not self.scene.selected_ids():
            self.show_status("Nothing selected to cut")
            return
        QGuiApplication.clipboard().setText(self.scene.cut_selected())

    def copy(self) -> None:
        if self.scene is None or not self.scene.selected_ids():
            return
        text = self.scene.copy_selected()
        QGuiApplication.clipboard().setText(text)
        n = len(self.scene.selected_ids())
        self.show_status(f"Copied {n} node{'s' * (n != 1)}")

    def paste(self) -> None:
        if self.scene is None:
            return
        text = QGuiApplication.clipboard().text()
        if not text.strip():
            self.show_status("Nothing to paste")
            return
        self.scene.paste(text, self._paste_position())

    def _paste_position(self):
        view = self.view
        local = view.mapFromGlobal(view.cursor().pos())
        if not view.viewport().rect().contains(local):
            local = view.viewport().rect().center()
        return view.mapToScene(local)

    def rename_selected(self) -> None:
        """F2: the canvas' inline editor over the node's title."""
        if self.scene is not None:
            self.scene.begin_rename()

    def select_all(self) -> None:
        if self.scene is not None:
            self.scene.select_all()

    def set_snap(self, on: bool) -> None:
        if self.scene is not None:
            self.scene.snap_to_grid = bool(on)
        s = app_settings.settings()
        s.setValue("snapToGrid", bool(on))

    def select_and_centre(self, node_id: str) -> None:
        if self.scene is None or node_id not in self.document.graph.nodes:
            return
        item = self.scene.node_item(node_id)
        if item is None:
            return
        self.scene.select_ids([node_id])
        self.view.centerOn(item)
        self.inspector_dock.show_node(node_id)

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

    # ---------------------------------------------------------------- help
    def shortcut_rows(self) -> list[tuple[str, str]]:
        rows = []
        seen = set()

        def walk(menu: QMenu):
            for act in menu.actions():
                if act.menu() is not None:
                    yield from walk(act.menu())
                else:
                    yield act

        menu_actions = [a for m in self.menus.values() for a in walk(m)]
        others = [a for a in self.findChildren(QAction) if a not in menu_actions]  # e.g. the run toolbar's
        for act in menu_actions + others:
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts()]
            key = act.objectName() or act.text()
            if not keys or key in seen:
                continue
            seen.add(key)
            rows.append((", ".join(keys), act.text().replace("&", "").rstrip("…")))
        return rows + CANVAS_GESTURES

    def show_shortcuts(self) -> QDialog:
        dlg = QDialog(self)
        dlg.setObjectName("shortcutsDialog")
        dlg.setWindowTitle("Keyboard Shortcuts")
        layout = QVBoxLayout(dlg)
        rows = self.shortcut_rows()
        table = QTableWidget(len(rows), 2, dlg)
        table.setObjectName("shortcutsTable")
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.verticalHeader().setDefaultSectionSize(24)
        for r, (keys, what) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(keys))
            table.setItem(r, 1, QTableWidgetItem(what))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
        buttons.rejected.connect(dlg.reject)
        layout.addWidget(buttons)
        dlg.resize(520, 560)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def about_text(self) -> str:
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in versions().items())
        return (f"<h3>{APP_NAME}</h3><p>Wire gates and layers into a computational graph and watch "
                f"backpropagation happen.</p><table>{rows}</table>")

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())

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
