"""Put the run view into the main window: the Run toolbar, the controller following the open
document, its messages and the shown pass's state in the status bar, and NaN/Inf nodes selected.

MainWindow calls install_run_view(self) once; everything else hangs off its document_changed signal,
so the window needs no other knowledge of the run view.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from .controller import RunController
from app.presentation import install_view_extras

from .code_dock import CodeDock
from .gradcheck_view import GradCheckView
from .narration_dock import NarrationDock
from .scrub import ScrubControl
from .toolbar import RunToolbar


class RunView(QObject):
    """Owns the controller, the toolbar and the gradient-check view of one main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        doc = window.document
        self.controller = RunController(doc.graph, window.scene, self)
        self.gradcheck = GradCheckView(doc.graph, window.scene, window)
        self.toolbar = RunToolbar(self.controller, window, gradcheck=self.gradcheck.run)
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)  # a row of its own: it is a long toolbar
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.scrub = ScrubControl(self.controller, self.toolbar)
        self.toolbar.add_scrub(self.scrub)
        self.scrub.set_document(doc.graph, doc.undo_stack)
        self.narration = NarrationDock(self.controller, window)
        # tabbed with problems and plots once the window lays its docks out; stepping raises it
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.narration)
        self.controller.position_changed.connect(self._raise_narration)
        self.code = CodeDock(self.controller, window)  # the staged numpy code, tabbed beside the inspector
        self.code.toggleViewAction().setObjectName("actionShowCode")
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.code)
        window.tabifyDockWidget(window.inspector_dock, self.code)
        window.inspector_dock.raise_()
        self._state_shown = ""  # the pass state this view last put in the status bar
        self.controller.position_changed.connect(self._show_state)
        self._add_menu(window)
        for source in (self.controller, self.gradcheck):
            source.status_message.connect(window.show_status)
            source.select_node.connect(window.select_and_centre)
        self.controller.cleared.connect(self.gradcheck.clear)
        self.controller.problems_found.connect(window.problems_dock.set_run_problems)
        self._scene = None
        self._follow_scene(window.scene)
        window.document_changed.connect(self._document_changed)
        self.extras = install_view_extras(window, self)

    def _raise_narration(self, cursor: int, total: int, _desc: str) -> None:
        """The first event of a pass brings the Narration tab to the front (it may sit behind Problems)."""
        if cursor == 0 and total > 0 and self.narration.toggleViewAction().isChecked():
            self.narration.raise_()
        # the Code tab takes the Inspector's place, never another tab's (a running lesson, Train, History)
        if cursor == 0 and total > 0 and self.code.toggleViewAction().isChecked() \
                and not self.window.inspector_dock.visibleRegion().isEmpty():
            self.code.raise_()

    def _show_state(self, *_position) -> None:
        """The status bar says where the shown pass is (so "Opened …" does not linger while stepping);
        with no pass shown, a state message of ours that is still there is cleared. Errors the
        controller reports come after the position, so they win."""
        bar = self.window.statusBar()
        text = self.controller.state_text()
        if text:
            bar.showMessage(text)
        elif self._state_shown and bar.currentMessage() == self._state_shown:
            bar.clearMessage()
        self._state_shown = text

    def _add_menu(self, window) -> None:
        """A Run menu with the toolbar's actions (so Help > Shortcuts lists their keys)."""
        menu = window.insert_menu("run", "&Run")
        t = self.toolbar
        menu.addActions([t.actionForward, t.actionBackward])
        menu.addSeparator()
        menu.addActions([t.actionStepBack, t.actionStep, t.actionPlay, t.actionReset])
        menu.addSeparator()
        menu.addActions([t.actionLive, t.actionGradCheck])
        menu.addSeparator()
        from ..memory_limit import add_memory_action  # the plan budget (issue 8)

        add_memory_action(menu, window)
        self.menu = menu
        view = window.menus.get("view")
        if view is not None:
            view.addAction(self.narration.toggleViewAction())
            view.addAction(self.code.toggleViewAction())

    def _follow_scene(self, scene) -> None:
        if self._scene is not None:
            for slot in (self.controller.set_selection, self.scrub.set_selection):
                try:
                    self._scene.selection_ids_changed.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self._scene = scene
        if scene is not None:
            scene.selection_ids_changed.connect(self.controller.set_selection)
            scene.selection_ids_changed.connect(self.scrub.set_selection)

    def _document_changed(self, doc) -> None:
        if self.gradcheck.dialog is not None:
            self.gradcheck.dialog.close()
        self.controller.set_document(doc.graph, self.window.scene)
        self.code.set_graph(doc.graph)
        self.gradcheck.set_document(doc.graph, self.window.scene)
        self.scrub.set_document(doc.graph, doc.undo_stack)
        self._follow_scene(self.window.scene)


def install_run_view(window) -> RunView:
    return RunView(window)
