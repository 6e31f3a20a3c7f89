"""WindowActions: the main window's actions, menus and toolbar, and the editing slots they call
(cut, copy, paste, rename, select, snap). A mixin of MainWindow, which holds the scene, view,
docks and undo group these use.

Canvas actions fire only while the canvas has focus; the menus trigger them from anywhere.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QToolBar

from . import settings as app_settings


class WindowActions:
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
        self._create_export_actions()  # File > Export's code exporters (export_actions.py)
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
        self._fill_export_menu(m)
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
