"""InspectorCommits: every accepted inspector edit becomes an undo command (a mixin of InspectorDock).

Edits made in one go (a slider drag, holding a spin arrow) merge into one undo step through the
Session* commands below; leaving a field, releasing a slider or pressing Enter starts a new session.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QTableWidgetItem

from .. import commands
from .fields import Field, TextField
from .parse import format_tensor, parse_tensor


class InspectorCommits:
    def _push(self, cmd) -> str | None:
        """Push an undo command; returns graphcore's reason when it refused the edit."""
        if self.undo_stack is None:
            return None
        self._committing = True
        try:
            return commands.push_command(self.undo_stack, cmd)
        finally:
            self._committing = False

    def _parse_name(self, text: str) -> str:
        if not text.strip():
            raise ValueError("a name cannot be empty")
        return text.strip()

    def _commit_name(self, name: str) -> None:
        node = self.graph.nodes.get(self.node_id) if self.graph else None
        if node is None or node.name == name:
            return
        error = self._push(commands.RenameCommand(self.graph, self.node_id, name))
        if error:
            self.fields["name"].set_error(error)
            return
        self._title.setText(name)
        self.begin_session()

    def _commit_param(self, name: str, value) -> None:
        node = self.graph.nodes.get(self.node_id) if self.graph else None
        if node is None:
            return
        spec = node.spec
        try:
            value = spec.param(name).validate(value)
        except (ValueError, AttributeError):
            return
        if node.params.get(name) == value and type(node.params.get(name)) is type(value):
            return
        error = self._push(SessionSetParam(self._session, self.graph, self.node_id, name, value))
        field = self.fields.get(f"param:{name}")
        if isinstance(field, Field):
            field.set_error(error)

    def _commit_value(self, arr: np.ndarray) -> None:
        node = self.graph.nodes.get(self.node_id) if self.graph else None
        if node is None:
            return
        old = node.tensors.get("value")
        if old is not None and old.shape == arr.shape and old.dtype == arr.dtype and np.array_equal(old, arr):
            return
        error = self._push(SessionSetValue(self._session, self.graph, self.node_id, arr))
        self.begin_session()
        field = self.fields.get("value")
        if error:
            if isinstance(field, Field):
                field.set_error(error)
            return
        if old is None or old.shape != arr.shape:
            self._rebuild_timer.start()  # new shape: a new table (after this edit's signals return)
            return
        if isinstance(field, TextField):
            field.set_text(format_tensor(arr))
        if self.table is not None:
            QTimer.singleShot(0, lambda: self.table is not None and self._refresh_table())

    def _refresh_table(self) -> None:
        arr = self._current_value()
        if self.table is not None and arr is not None and self.table._array is not None \
                and self.table._array.shape == arr.shape:
            self.table.set_array(arr)

    def _commit_cell(self, row: int, col: int, text: str, item: QTableWidgetItem) -> None:
        old = self._current_value()
        if old is None:
            return
        try:
            v = parse_tensor(text, old.reshape(-1)[:1])
            if v.ndim != 0:
                raise ValueError("one number per cell")
        except ValueError as exc:
            item.setToolTip(str(exc))
            item.setForeground(Qt.GlobalColor.red)
            field = self.fields.get("value")
            if isinstance(field, Field):
                field.set_error(f"cell ({row}, {col}): {exc}")
            return
        new = old.copy()
        grid = new.reshape(1, -1) if new.ndim < 2 else new
        grid[row, col] = v
        self._commit_value(new)


class SessionSetParam(commands.SetParamCommand):
    """SetParamCommand that merges only within one inspector editing session.

    The canvas' command merges every consecutive edit of the same param; the inspector
    also ends a step when a field is left, a slider released or Enter pressed, so two
    separate edits of one param stay two undo steps while a slider drag stays one.
    """

    def __init__(self, session: int, *args) -> None:
        super().__init__(*args)
        self.session = session

    def mergeWith(self, other) -> bool:  # noqa: N802
        return getattr(other, "session", None) == self.session and super().mergeWith(other)


class SessionSetValue(commands.SetValueCommand):
    """SetValueCommand merging only within one inspector editing session (see SessionSetParam)."""

    def __init__(self, session: int, *args) -> None:
        super().__init__(*args)
        self.session = session

    def mergeWith(self, other) -> bool:  # noqa: N802
        return getattr(other, "session", None) == self.session and super().mergeWith(other)
