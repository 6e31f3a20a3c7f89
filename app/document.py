"""One open graph: the model, where it lives on disk, and its undo history.

The undo stack's clean state is the saved state, so undoing back to the last
save clears the modified flag again. `mark_modified` covers edits that bypass
the stack (a recovered autosave, training that changes weights).
"""
from __future__ import annotations

import os

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

import graphcore as gc


class GraphUndoStack(QUndoStack):
    """The document's undo stack; while `edit_lock` holds a reason (a training run), edits that
    change the graph's structure or weights are refused with it instead of being pushed."""

    refused = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.edit_lock: str | None = None

    def push(self, cmd) -> None:  # noqa: D401 (Qt name)
        if self.edit_lock and not getattr(cmd, "allowed_while_locked", False):
            if hasattr(cmd, "error"):
                cmd.error = self.edit_lock
            self.refused.emit(f"{cmd.text()} refused: {self.edit_lock}")
            return
        super().push(cmd)


class Document(QObject):
    modified_changed = Signal(bool)
    path_changed = Signal(str)
    edited_outside_stack = Signal()  # mark_modified: e.g. trained weights copied in (autosave writes them)

    def __init__(self, graph: gc.Graph | None = None, path: str | None = None,
                 undo_stack: QUndoStack | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = graph if graph is not None else gc.Graph()
        self.path = os.path.abspath(path) if path else None
        self.undo_stack = undo_stack if undo_stack is not None else GraphUndoStack(self)
        self.title_hint: str | None = None  # shown while there is no path (an example's file name)
        self._forced = False
        self._last = False
        self.undo_stack.cleanChanged.connect(self._emit_if_changed)

    @property
    def modified(self) -> bool:
        if not shiboken6.isValid(self.undo_stack):  # being destroyed (QUndoStack.clear emits on the way out)
            return self._forced
        return self._forced or not self.undo_stack.isClean()

    def mark_modified(self) -> None:
        self._forced = True
        self._emit_if_changed()
        self.edited_outside_stack.emit()

    def mark_saved(self, path: str | None = None) -> None:
        if path is not None:
            path = os.path.abspath(path)
            if path != self.path:
                self.path = path
                self.path_changed.emit(path)
        self._forced = False
        self.undo_stack.setClean()
        self._emit_if_changed()

    @property
    def display_name(self) -> str:
        if self.path:
            return os.path.basename(self.path)
        return self.title_hint or "Untitled"

    @property
    def trains(self) -> bool:
        """The graph sets up training (meta.training): the panels that show a training data set
        ("What the net sees", the training plots) have something to show. A circuit does not."""
        return isinstance(self.graph.meta, dict) and "training" in self.graph.meta

    def save(self, path: str | None = None) -> None:
        """Write the graph (atomically, via graphcore) and mark it clean; raises OSError/ValueError."""
        target = path or self.path
        if not target:
            raise ValueError("the document has no file name yet")
        gc.save(self.graph, target)
        self.mark_saved(target)

    @classmethod
    def load(cls, path: str, parent: QObject | None = None) -> "Document":
        """Read a graph file; raises gc.GraphFormatError naming the file and JSON path."""
        graph = gc.load(path)
        return cls(graph, path, parent=parent)

    def _emit_if_changed(self, *_args) -> None:
        now = self.modified
        if now != self._last:
            self._last = now
            self.modified_changed.emit(now)
