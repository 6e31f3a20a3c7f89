"""The problems dock: graph.validate() as a list, refreshed (debounced) as the graph changes, followed
by why the last Forward/Backward failed (set_run_problems; the run controller sends them).

Clicking a problem emits node_requested(node_id) so the window selects and centres it.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

import graphcore as gc
from backprop_studio_resources import icons_dir

DEBOUNCE_MS = 150
ICON_DIR = icons_dir()
NODE_ROLE = Qt.ItemDataRole.UserRole


class ProblemsDock(QDockWidget):
    node_requested = Signal(str)
    problems_changed = Signal(list)  # list[gc.Problem], after each refresh

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Problems", parent)
        self.setObjectName("problemsDock")
        self.graph: gc.Graph | None = None
        self.problems: list[gc.Problem] = []
        self.run_problems: list[gc.Problem] = []  # why the last pass failed: they belong to this graph
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.list = QListWidget(body)
        self.list.setObjectName("problemsList")
        self.list.setIconSize(QSize(14, 14))
        self.list.itemClicked.connect(self._on_clicked)
        self.list.itemActivated.connect(self._on_clicked)
        self.summary = QLabel(body)
        self.summary.setObjectName("problemsSummary")
        self.summary.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.list)
        self.setWidget(body)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)

    def set_graph(self, graph: gc.Graph | None) -> None:
        if self.graph is not None:
            self.graph.changed.unsub(self.schedule)
        self.graph = graph
        self.run_problems = []
        if graph is not None:
            graph.changed.sub(self.schedule)
        self.refresh()

    def set_run_problems(self, problems: list) -> None:
        """Why the last Forward/Backward failed (an empty list once a pass runs), listed after the graph's."""
        self.run_problems = list(problems)
        self.refresh()

    def schedule(self) -> None:
        """Called on every graph change; validates once the edits pause."""
        self._timer.start()

    def refresh(self) -> None:
        self._timer.stop()
        found = self.graph.validate() if self.graph is not None else []
        self.problems = found + [p for p in self.run_problems if p not in found]
        self.list.clear()
        for p in self.problems:
            node = self.graph.nodes.get(p.node) if p.node is not None else None
            where = node.name if node is not None else (p.node or "graph")
            if p.port:
                where += f".{p.port}"
            item = QListWidgetItem(self._icon("problem"), f"{where}: {p.message}")
            item.setData(NODE_ROLE, p.node)
            item.setToolTip(f"{p.code}: {p}")
            self.list.addItem(item)
        n = len(self.problems)
        icon = os.path.join(ICON_DIR, "ok.svg" if n == 0 else "problem.svg").replace(os.sep, "/")
        text = "No problems" if n == 0 else f"{n} problem{'s' if n != 1 else ''}"
        self.summary.setText(f'<img src="{icon}" width="14" height="14" style="vertical-align: middle">&nbsp; {text}')
        self.setWindowTitle("Problems" if n == 0 else f"Problems ({n})")
        self.problems_changed.emit(list(self.problems))

    def _icon(self, name: str) -> QIcon:
        if not hasattr(self, "_icons"):
            self._icons = {}
        if name not in self._icons:
            self._icons[name] = QIcon(os.path.join(ICON_DIR, f"{name}.svg"))
        return self._icons[name]

    def _on_clicked(self, item: QListWidgetItem) -> None:
        node = item.data(NODE_ROLE)
        if node:
            self.node_requested.emit(node)
