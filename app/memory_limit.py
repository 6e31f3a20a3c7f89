"""Run > Memory limit...: the budget beyond which graphcore refuses to build a plan.

A graph whose buffers would need more (a conv padded until its images fill the machine)
is refused before anything is allocated, in the status bar, with the node selected. The
value is kept in the settings and handed to the training and search processes too.
"""
from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox

from graphcore import limits

from . import settings


def add_memory_action(menu, window) -> QAction:
    action = QAction("&Memory limit...", window)
    action.setObjectName("actionMemoryLimit")
    action.setStatusTip("The most memory a graph's run may need before it is refused")
    action.triggered.connect(lambda: ask_memory_limit(window))
    menu.addAction(action)
    return action


def ask_memory_limit(window) -> bool:
    """Ask for a size such as 4G (empty: the default); True when a new value was stored."""
    current = settings.settings().value("memoryLimit", "") or ""
    default = limits.fmt_bytes(limits.default_budget())
    text, ok = QInputDialog.getText(
        window, "Memory limit",
        f"The most memory a graph's run may need, such as 4G or 512M.\n"
        f"Empty: a quarter of this machine's memory ({default}).\n"
        f"Now: {limits.fmt_bytes(limits.memory_limit())}.",
        QLineEdit.EchoMode.Normal, str(current))
    if not ok:
        return False
    try:
        nbytes = settings.set_memory_limit(text.strip() or None)
    except ValueError as exc:
        QMessageBox.warning(window, "Memory limit", f"Memory limit {exc}.")
        return False
    show = getattr(window, "show_status", None)
    if show is not None:
        show(f"Memory limit: {limits.fmt_bytes(nbytes) if nbytes else 'default, ' + default}")
    return True
