"""Help > Lessons (actionLessons) opens the lesson dock, built on first use so startup does not
read the lesson files."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction

from .. import window_layout


class LessonView(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.dock = None
        self.action = QAction("&Lessons…", window)
        self.action.setObjectName("actionLessons")
        self.action.setStatusTip("Guided lessons: build, run and explain the notes' experiments step by step")
        self.action.triggered.connect(self.open)
        window.addAction(self.action)
        if hasattr(window, "layout_reset"):
            window.layout_reset.connect(self._layout_reset)
        help_menu = window.menus.get("help")
        if help_menu is not None:
            first = help_menu.actions()[0] if help_menu.actions() else None
            help_menu.insertAction(first, self.action)
            help_menu.insertSeparator(first)

    def open(self):
        """Show the lesson dock (creating it the first time), tabbed with the inspector."""
        from .dock import LessonDock

        w = self.window
        if self.dock is None:
            self.dock = LessonDock(w)
            self.dock.room_wanted.connect(self._give_room)
            self.dock.toggleViewAction().toggled.connect(lambda _on: self._give_room())
            w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            self._tab()
            view = w.menus.get("view")
            if view is not None:
                view.addAction(self.dock.toggleViewAction())
        self.dock.show()
        self.dock.raise_()
        self._give_room()
        return self.dock

    def canvas_focus(self) -> list[str]:
        """The ids of the nodes the running lesson's step names (none when no lesson runs)."""
        d = self.dock
        return list(d.highlighter.nodes) if d is not None and d.wants_room() else []

    def _give_room(self) -> None:
        """Split the right column again once the dock has laid out its new step (window_layout
        asks `room_for` how much the lesson wants). Two turns later: a closed tab's neighbour is
        only shown, and the column only measurable, after the first."""
        QTimer.singleShot(0, self, lambda: QTimer.singleShot(0, self, lambda: window_layout.split_right(self.window)))

    def room_for(self, top) -> int | None:
        """The height a running lesson wants when its dock is in the tab group `top` heads (the top of
        the right column), or None: no lesson runs, and the column keeps its default split."""
        d = self.dock
        if d is None or not d.wants_room():
            return None
        if top is not d and d not in self.window.tabifiedDockWidgets(top):
            return None
        return d.wanted_height()

    def _tab(self) -> None:
        """A tab beside the inspector: the canvas keeps its room."""
        w, inspector = self.window, getattr(self.window, "inspector_dock", None)
        if inspector is not None and w.dockWidgetArea(inspector) == Qt.DockWidgetArea.RightDockWidgetArea:
            w.tabifyDockWidget(inspector, self.dock)

    def _layout_reset(self) -> None:
        """View > Reset Layout put the window's docks back: the lesson dock goes back to its tab."""
        if self.dock is not None:
            self._tab()
            if self.dock.isVisible():
                self.dock.raise_()
                self._give_room()


def install_lesson_view(window) -> LessonView:
    return LessonView(window)
