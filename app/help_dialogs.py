"""HelpDialogs: Help > Keyboard shortcuts (built from the menus' own actions, so the list cannot
drift from them, plus the canvas' gestures) and Help > About with the versions in use.
A mixin of MainWindow.
"""
from __future__ import annotations

import sys
from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QMenu, QMessageBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

import graphcore as gc

from .file_actions import APP_NAME

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


class HelpDialogs:
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
