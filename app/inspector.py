"""The inspector dock: the selected node's name, params and value, each with a proper editor.

Every editor validates as the person types (an error shows under the field and the
graph is left alone) and every accepted edit is an undo command. Text fields commit
on Enter or when they lose focus; sliders, spin arrows, check boxes and combos commit
at once, and all changes made in one go (a slider drag, holding a spin arrow) merge
into one undo step. The dock mirrors the model: it refreshes on the graph's events.
"""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDockWidget, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QScrollArea,
    QSlider, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

import graphcore as gc
from graphcore import registry
from graphcore.graph import as_tensor

from . import commands

TABLE_LIMIT = 64  # arrays up to this many elements (and at most 2-D) get a cell table
TEXT_LIMIT = 4096  # arrays up to this many elements can be edited as text
SLIDER_STEPS = 1000
INT_LIMIT = 2_147_483_647
_sessions = itertools.count(1)


# ------------------------------------------------------------------ parsing (pure, tested directly)
def parse_number(text: str, pspec: registry.ParamSpec):
    """A float or int param from text, or ValueError with the reason (range included)."""
    t = text.strip()
    if not t:
        raise ValueError(f"{pspec.name} needs a value")
    try:
        value = int(t) if pspec.kind == "int" else float(t)
    except ValueError:
        kind = "an integer" if pspec.kind == "int" else "a number"
        raise ValueError(f"{pspec.name} must be {kind}, got {t!r}") from None
    return pspec.validate(value)


def parse_axis(text: str, pspec: registry.ParamSpec):
    t = text.strip()
    if t.lower() in ("", "none", "all", "null"):
        return None
    try:
        return pspec.validate(int(t))
    except ValueError:
        raise ValueError(f"{pspec.name} must be an integer axis (e.g. 0, -1) or empty for all axes") from None


def parse_tensor(text: str, like: np.ndarray | None = None) -> np.ndarray:
    """A value from text such as `3`, `-1.5`, `1, 2, 3` or `[[1, 2], [3, 4]]` (JSON numbers; never eval).

    Keeps the dtype of `like`: a float value stays float, an integer one (class labels) must stay integers.
    """
    t = text.strip()
    if not t:
        raise ValueError("a value is needed (a number or a list of numbers)")
    try:
        raw = json.loads(t)
    except ValueError:
        try:
            raw = json.loads("[" + t + "]")
        except ValueError:
            raise ValueError("not a number or a list of numbers such as [1, 2, 3]") from None

    def check(v):
        if isinstance(v, list):
            for x in v:
                check(x)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{json.dumps(v)} is not a number")
        elif not math.isfinite(v):
            raise ValueError("values must be finite (no NaN or Infinity)")

    check(raw)
    try:
        arr = as_tensor(raw)
    except gc.GraphError as exc:
        raise ValueError(str(exc)) from None
    if like is not None:
        if like.dtype.kind in "iu" and arr.dtype.kind == "f":
            if not np.all(np.equal(np.floor(arr), arr)):
                raise ValueError(f"this value holds integers ({like.dtype}); got a fraction")
            arr = arr.astype(like.dtype)
        elif like.dtype.kind in "iu":
            arr = arr.astype(like.dtype)
        elif like.dtype.kind == "f":
            arr = arr.astype(like.dtype)
    return arr


def format_tensor(arr: np.ndarray) -> str:
    """Text for the value field: `3.0` for a scalar, JSON lists otherwise (whole floats without `.0`)."""
    arr = np.asarray(arr)
    if arr.ndim == 0:
        v = arr.item()
        return fmt_float(v) if isinstance(v, float) else str(v)

    def item(v) -> str:
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)

    def nested(a) -> str:
        if a.ndim == 1:
            return "[" + ", ".join(item(v) for v in a.tolist()) + "]"
        return "[" + ", ".join(nested(sub) for sub in a) + "]"

    return nested(arr)


def fmt_float(v: float) -> str:
    """The full value for an edit field (0.01, 1.234567e-05, 2.0: Python's shortest round trip, so
    editing never rounds the user's data); NaN and infinities spelt as gc.fmt_number spells them."""
    v = float(v)
    if v != v or v in (float("inf"), float("-inf")):
        return gc.fmt_number(v)
    return repr(v)


# ------------------------------------------------------------------ field widgets
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


class InspectorDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inspector", parent)
        self.setObjectName("inspectorDock")
        self.graph: gc.Graph | None = None
        self.undo_stack: QUndoStack | None = None
        self.node_id: str | None = None
        self.fields: dict[str, QWidget] = {}  # "name", "param:<p>", "value"
        self.table: TensorTable | None = None
        self._session = next(_sessions)
        self._committing = False
        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(0)
        self._rebuild_timer.timeout.connect(self._rebuild)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setWidget(self.scroll)
        self._rebuild()

    # ---------------------------------------------------------- wiring to a document
    def set_document(self, graph: gc.Graph | None, undo_stack: QUndoStack | None) -> None:
        if self.graph is not None:
            self.graph.node_changed.unsub(self._on_node_changed)
            self.graph.node_removed.unsub(self._on_node_removed)
            self.graph.edge_added.unsub(self._on_structure)
            self.graph.edge_removed.unsub(self._on_structure)
        self.graph, self.undo_stack = graph, undo_stack
        if graph is not None:
            graph.node_changed.sub(self._on_node_changed)
            graph.node_removed.sub(self._on_node_removed)
            graph.edge_added.sub(self._on_structure)
            graph.edge_removed.sub(self._on_structure)
        self.show_node(None)

    def show_node(self, node_id: str | None) -> None:
        if node_id is not None and (self.graph is None or node_id not in self.graph.nodes):
            node_id = None
        if node_id == self.node_id and self.fields:
            return
        self.node_id = node_id
        self.begin_session()
        self._rebuild()

    def show_selection(self, ids: list) -> None:
        """The scene's selection: one node is inspected, none or several show a hint."""
        self.show_node(ids[0] if len(ids) == 1 else None)
        if len(ids) > 1:
            self._empty.setText(f"{len(ids)} nodes selected.\nSelect one node to edit it.")

    def begin_session(self) -> None:
        """Start a new undo step: later edits no longer merge into the previous ones."""
        self._session = next(_sessions)

    # ---------------------------------------------------------- model events
    def _on_node_changed(self, node_id: str, what: str) -> None:
        if node_id != self.node_id or what == "ui":
            return
        if what.startswith("tensor:"):
            self._refresh_tensor(what[len("tensor:"):])
            return
        if not self._committing:
            self._refresh_values()

    def _refresh_tensor(self, name: str) -> None:
        """Show a changed array in place; rebuild only when the editors no longer fit (never mid-edit)."""
        node = self.graph.nodes.get(self.node_id) if self.graph is not None else None
        if node is None:
            return
        arr = node.tensors.get(name)
        spec = node.spec
        if name == "value" and spec is not None and spec.source:
            shape_label = self.scroll.widget().findChild(QLabel, "valueShape")
            table_fits = (self.table is not None and self.table._array is not None
                          and self.table._array.shape == getattr(arr, "shape", None)) or (
                self.table is None and arr is not None and not (1 < arr.size <= TABLE_LIMIT and arr.ndim <= 2))
            if arr is None or shape_label is None or not table_fits:
                if not self._committing:
                    self._rebuild_timer.start()
                return
            shape_label.setText(f"{_shape_text(arr.shape)} {arr.dtype}")
            if self._committing:
                return  # the field or cell being edited already shows it
            field = self.fields.get("value")
            if isinstance(field, TextField):
                field.set_text(format_tensor(arr))
            if self.table is not None:
                self.table.set_array(arr)
            return
        label = self.scroll.widget().findChild(QLabel, f"weight_{name}")
        if label is None or arr is None:
            if not self._committing:
                self._rebuild_timer.start()
            return
        w = spec.weight(name) if spec else None
        kind = "trainable" if (w is not None and w.trainable) else "state"
        label.setText(f"{_shape_text(arr.shape)} {arr.dtype}, {kind}")

    def _on_node_removed(self, node_id: str) -> None:
        if node_id == self.node_id:
            self.node_id = None
            self._rebuild_timer.start()

    def _on_structure(self, edge) -> None:
        if self.node_id is not None and edge.dst == self.node_id:
            self._rebuild_timer.start()  # weights may have appeared or changed shape

    # ---------------------------------------------------------- building
    def _rebuild(self) -> None:
        self.fields = {}
        self.table = None
        body = QWidget()
        body.setObjectName("inspectorBody")
        outer = QVBoxLayout(body)
        outer.setContentsMargins(10, 8, 10, 10)
        outer.setSpacing(4)
        self._empty = QLabel("Select a node to see and edit its settings.", body)
        self._empty.setObjectName("inspectorEmpty")
        self._empty.setWordWrap(True)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        node = self.graph.nodes.get(self.node_id) if (self.graph is not None and self.node_id) else None
        if node is None:
            self.node_id = None
            outer.addWidget(self._empty)
            outer.addStretch(1)
            self.scroll.setWidget(body)
            return
        spec = node.spec
        title = QLabel(node.name, body)
        title.setObjectName("inspectorTitle")
        outer.addWidget(title)
        self._title = title
        sub = QLabel(f"{node.op} · {spec.category if spec else 'unknown op'} · id {node.id}", body)
        sub.setObjectName("inspectorSubtitle")
        outer.addWidget(sub)
        if spec is not None:
            doc = QLabel(f"{spec.doc}\nGradient: {spec.grad_rule}", body)
            doc.setObjectName("inspectorDoc")
            doc.setWordWrap(True)
            outer.addWidget(doc)

        grid = _Grid(outer)
        grid.section("NODE")
        name = TextField(self._parse_name, self._commit_name)
        name.line.setObjectName("inspectorName")
        name.set_text(node.name)
        grid.row("Name", name)
        self.fields["name"] = name

        if spec is not None and spec.params:
            editable = [p for p in spec.params if p.kind != "tensor"]
            if editable:
                grid.section("PARAMETERS")
                for p in editable:
                    widget = self._param_editor(p, node.params.get(p.name, p.default))
                    label = grid.row(p.name, widget)
                    if p.doc:
                        label.setToolTip(p.doc)
                        widget.setToolTip(p.doc)
                    self.fields[f"param:{p.name}"] = widget

        if spec is not None and spec.source:
            grid.section("VALUE")
            self._value_editor(grid, node.tensors.get("value"))
        elif node.tensors:
            grid.section("WEIGHTS")
            for key in sorted(node.tensors):
                arr = node.tensors[key]
                w = spec.weight(key) if spec else None
                kind = "trainable" if (w is not None and w.trainable) else "state"
                info = QLabel(f"{_shape_text(arr.shape)} {arr.dtype}, {kind}")
                info.setObjectName(f"weight_{key}")
                if w is not None and w.doc:
                    info.setToolTip(w.doc)
                grid.row(key, info)
        if spec is not None and spec.inputs:
            grid.section("INPUTS")
            wired = self.graph.inputs_of(node.id)
            for port in spec.inputs:
                src = wired.get(port.name)
                text = self.graph.nodes[src].name if src in self.graph.nodes else (
                    "(optional)" if port.optional else "not connected")
                lab = QLabel(text)
                if port.doc:
                    lab.setToolTip(port.doc)
                grid.row(port.name, lab)
        outer.addStretch(1)
        self.scroll.setWidget(body)

    def _param_editor(self, p: registry.ParamSpec, value) -> QWidget:
        commit = (lambda v, name=p.name: self._commit_param(name, v))
        if p.kind == "bool":
            box = QCheckBox()
            box.setObjectName(f"param_{p.name}")
            box.setChecked(bool(value))
            box.toggled.connect(lambda checked, name=p.name: (self.begin_session(), self._commit_param(name, checked)))
            return box
        if p.kind == "choice":
            combo = QComboBox()
            combo.setObjectName(f"param_{p.name}")
            for c in p.choices:
                combo.addItem(str(c), c)
            idx = combo.findData(value)
            combo.setCurrentIndex(max(idx, 0))
            combo.activated.connect(lambda i, c=combo, name=p.name: (self.begin_session(),
                                                                     self._commit_param(name, c.itemData(i))))
            return combo
        if p.kind == "int" and p.min is not None and p.max is not None:
            spin = QSpinBox()
            spin.setObjectName(f"param_{p.name}")
            spin.setRange(int(max(p.min, -INT_LIMIT)), int(min(p.max, INT_LIMIT)))
            spin.setValue(int(value))
            spin.valueChanged.connect(commit)
            spin.editingFinished.connect(self.begin_session)
            return spin
        if p.kind in ("float", "int"):
            field = NumberField(p, commit, self.begin_session)
            field.line.setObjectName(f"param_{p.name}")
            if value is not None:
                field.set_value(value)
            return field
        commit_once = (lambda v, name=p.name: (self._commit_param(name, v), self.begin_session()))
        if p.kind == "axis":
            field = TextField(lambda t, p=p: parse_axis(t, p), commit_once, placeholder="all axes")
            field.line.setObjectName(f"param_{p.name}")
            field.set_text("" if value is None else str(value))
            return field
        field = TextField(lambda t, p=p: p.validate(t), commit_once)  # "str" and anything newer
        field.line.setObjectName(f"param_{p.name}")
        field.set_text("" if value is None else str(value))
        return field

    def _value_editor(self, grid: "_Grid", arr: np.ndarray | None) -> None:
        if arr is None:
            grid.wide(QLabel("no value"))
            return
        shape = QLabel(f"{_shape_text(arr.shape)} {arr.dtype}")
        shape.setObjectName("valueShape")
        grid.row("Shape", shape)
        if arr.size <= TEXT_LIMIT:
            field = TextField(lambda t: parse_tensor(t, self._current_value()), self._commit_value,
                              placeholder="3.0 or [1, 2, 3] or [[1, 2], [3, 4]]")
            field.line.setObjectName("valueText")
            field.line.setToolTip("A number, or a list of numbers (JSON). Enter applies it; the shape may change.")
            field.set_text(format_tensor(arr))
            grid.row("Value", field)
            self.fields["value"] = field
        else:
            grid.row("Value", QLabel("too large to edit here"))
        if 1 < arr.size <= TABLE_LIMIT and arr.ndim <= 2:
            self.table = TensorTable(self._commit_cell)
            self.table.set_array(arr)
            grid.wide(self.table)

    # ---------------------------------------------------------- refreshing from the model
    def _current_value(self) -> np.ndarray | None:
        if self.graph is None or self.node_id not in self.graph.nodes:
            return None
        return self.graph.nodes[self.node_id].tensors.get("value")

    def _refresh_values(self) -> None:
        if self.graph is None or self.node_id not in self.graph.nodes:
            return
        node = self.graph.nodes[self.node_id]
        if "name" in self.fields:
            self.fields["name"].set_text(node.name)
            self._title.setText(node.name)
        spec = node.spec
        for p in (spec.params if spec else ()):
            widget = self.fields.get(f"param:{p.name}")
            value = node.params.get(p.name, p.default)
            if widget is None:
                continue
            if isinstance(widget, QCheckBox):
                with QSignalBlocker(widget):
                    widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                with QSignalBlocker(widget):
                    widget.setCurrentIndex(max(widget.findData(value), 0))
            elif isinstance(widget, QSpinBox):
                with QSignalBlocker(widget):
                    widget.setValue(int(value))
            elif isinstance(widget, NumberField):
                if value is not None:
                    widget.set_value(value)
            elif isinstance(widget, TextField):
                widget.set_text("" if value is None else str(value))

    # ---------------------------------------------------------- commits (each an undo command)
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
