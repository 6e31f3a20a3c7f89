"""The inspector's field widgets: a text field that validates as the person types (the error shows
under it), a number field with a slider and spin arrows, a cell table for small arrays, and the
two-column grid the dock lays them out in.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QSlider, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from graphcore import registry

from .parse import fmt_float, parse_number

SLIDER_STEPS = 1000


class Field(QWidget):
    """An editor plus an error label under it; `commit(value)` is the callback for valid input."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.row = QHBoxLayout()
        self.row.setSpacing(6)
        self.row.addWidget(editor, 1)
        layout.addLayout(self.row)
        self.error = QLabel(self)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.editor = editor

    def set_error(self, message: str | None) -> None:
        widget = self.editor
        widget.setProperty("invalid", bool(message))
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        if message:
            self.error.setText(message)
            self.error.show()
        else:
            self.error.clear()
            self.error.hide()


class TextField(Field):
    """A line edit validated on every keystroke by `parse(text)`; commits on Enter or focus out."""

    def __init__(self, parse, commit, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(QLineEdit(), parent)
        self.line: QLineEdit = self.editor
        self.line.setPlaceholderText(placeholder)
        self.parse = parse
        self.commit = commit
        self._shown = ""
        self.line.textEdited.connect(self._validate)
        self.line.editingFinished.connect(self._finish)

    def set_text(self, text: str) -> None:
        self._shown = text
        with QSignalBlocker(self.line):
            self.line.setText(text)
        self.set_error(None)

    def _validate(self, text: str):
        try:
            value = self.parse(text)
        except ValueError as exc:
            self.set_error(str(exc))
            return None, False
        self.set_error(None)
        return value, True

    def _finish(self) -> None:
        text = self.line.text()
        if text == self._shown:
            self.set_error(None)
            return
        value, ok = self._validate(text)
        if ok:
            self._shown = text
            self.commit(value)


class NumberField(TextField):
    """A float or int as text (so 1e-5 works) with Up/Down and wheel steps and an optional slider."""

    def __init__(self, pspec: registry.ParamSpec, commit, begin_session, parent: QWidget | None = None) -> None:
        super().__init__(lambda t: parse_number(t, pspec), commit, parent=parent)
        self.pspec = pspec
        self.begin_session = begin_session
        self.line.installEventFilter(self)
        self.slider: QSlider | None = None
        if pspec.min is not None and pspec.max is not None and pspec.max > pspec.min and pspec.kind == "float":
            self.slider = QSlider(Qt.Orientation.Horizontal)
            self.slider.setObjectName(f"slider_{pspec.name}")
            self.slider.setRange(0, SLIDER_STEPS)
            self.slider.setMinimumWidth(70)
            self.slider.sliderPressed.connect(begin_session)
            self.slider.valueChanged.connect(self._slider_moved)
            self.slider.sliderReleased.connect(begin_session)
            self.row.addWidget(self.slider, 1)

    def _finish(self) -> None:
        super()._finish()
        self.begin_session()  # Enter or leaving the field ends the undo step

    def set_value(self, value) -> None:
        self.set_text(str(value) if self.pspec.kind == "int" else fmt_float(value))
        if self.slider is not None:
            lo, hi = self.pspec.min, self.pspec.max
            with QSignalBlocker(self.slider):
                self.slider.setValue(round((float(value) - lo) / (hi - lo) * SLIDER_STEPS))

    def _slider_moved(self, pos: int) -> None:
        lo, hi = self.pspec.min, self.pspec.max
        value = lo + (hi - lo) * pos / SLIDER_STEPS
        value = float(f"{value:.6g}")
        self._shown = fmt_float(value)
        with QSignalBlocker(self.line):
            self.line.setText(self._shown)
        self.set_error(None)
        self.commit(value)

    def step(self, direction: int) -> None:
        try:
            current = parse_number(self.line.text(), self.pspec)
        except ValueError:
            return
        if self.pspec.kind == "int":
            value = current + direction
        else:
            if self.pspec.min is not None and self.pspec.max is not None:
                delta = (self.pspec.max - self.pspec.min) / 100
            else:
                delta = 10 ** math.floor(math.log10(abs(current))) / 10 if current else 0.1
            value = float(f"{current + direction * delta:.10g}")
        if self.pspec.min is not None:
            value = max(value, self.pspec.min)
        if self.pspec.max is not None:
            value = min(value, self.pspec.max)
        text = str(value) if self.pspec.kind == "int" else fmt_float(value)
        self._shown = text
        with QSignalBlocker(self.line):
            self.line.setText(text)
        self.set_error(None)
        self.commit(value)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        from PySide6.QtCore import QEvent

        if obj is self.line:
            if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                self.step(1 if event.key() == Qt.Key.Key_Up else -1)
                return True
            if event.type() == QEvent.Type.Wheel and self.line.hasFocus():
                self.step(1 if event.angleDelta().y() > 0 else -1)
                return True
            if event.type() == QEvent.Type.FocusOut:
                self.begin_session()
        return False


class TensorTable(QTableWidget):
    """Cells of a small 0/1/2-D array; each edited cell is checked before it reaches the graph."""

    def __init__(self, commit_cell, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("valueTable")
        self.commit_cell = commit_cell
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setMinimumSectionSize(36)
        self.verticalHeader().setDefaultSectionSize(22)
        self.itemChanged.connect(self._changed)
        self._array: np.ndarray | None = None

    def set_array(self, arr: np.ndarray) -> None:
        self._array = np.asarray(arr)
        grid = self._array.reshape(1, -1) if self._array.ndim < 2 else self._array
        with QSignalBlocker(self):
            self.clear()
            self.setRowCount(grid.shape[0])
            self.setColumnCount(grid.shape[1])
            self.setHorizontalHeaderLabels([str(i) for i in range(grid.shape[1])])  # numpy indices
            self.setVerticalHeaderLabels([str(i) for i in range(grid.shape[0])] if self._array.ndim == 2 else [""])
            for r in range(grid.shape[0]):
                for c in range(grid.shape[1]):
                    v = grid[r, c].item()
                    self.setItem(r, c, QTableWidgetItem(fmt_float(v) if isinstance(v, float) else str(v)))
        rows = min(grid.shape[0], 6)
        self.setFixedHeight(self.horizontalHeader().height() + rows * 22 + 4)

    def _changed(self, item: QTableWidgetItem) -> None:
        if self._array is None:
            return
        self.commit_cell(item.row(), item.column(), item.text(), item)


# ------------------------------------------------------------------ the dock
def _shape_text(shape: tuple) -> str:
    return "scalar" if len(shape) == 0 else "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


class _Grid:
    """Label/field rows and section titles in one grid, so labels line up across sections."""

    def __init__(self, outer: QVBoxLayout) -> None:
        self.layout = QGridLayout()
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.layout.setHorizontalSpacing(10)
        self.layout.setVerticalSpacing(6)
        self.layout.setColumnStretch(1, 1)
        outer.addLayout(self.layout)
        self.n = 0

    def section(self, text: str) -> QLabel:
        lab = QLabel(text)
        lab.setObjectName("sectionLabel")
        self.layout.addWidget(lab, self.n, 0, 1, 2)
        self.n += 1
        return lab

    def row(self, label: str, widget: QWidget) -> QLabel:
        """A right-aligned label beside the field; a field with an error label keeps its label at the top."""
        lab = QLabel(label)
        lab.setObjectName("fieldLabel")
        lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if isinstance(widget, Field):
            lab.setFixedHeight(widget.editor.sizeHint().height())
            self.layout.addWidget(lab, self.n, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        else:
            self.layout.addWidget(lab, self.n, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.layout.addWidget(widget, self.n, 1)
        self.n += 1
        return lab

    def wide(self, widget: QWidget) -> None:
        self.layout.addWidget(widget, self.n, 0, 1, 2)
        self.n += 1
