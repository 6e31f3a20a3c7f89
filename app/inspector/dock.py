"""The inspector dock: the selected node's name, params and value, each with a proper editor.

Every editor validates as the person types (an error shows under the field and the
graph is left alone) and every accepted edit is an undo command. Text fields commit
on Enter or when they lose focus; sliders, spin arrows, check boxes and combos commit
at once, and all changes made in one go (a slider drag, holding a spin arrow) merge
into one undo step. The dock mirrors the model: it refreshes on the graph's events.
"""
from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QCheckBox, QComboBox, QDockWidget, QLabel, QScrollArea, QSpinBox, QVBoxLayout, QWidget

import graphcore as gc
from graphcore import registry

from .commits import InspectorCommits
from .fields import NumberField, TensorTable, TextField, _Grid, _shape_text
from .parse import format_tensor, parse_axis, parse_tensor

TABLE_LIMIT = 64  # arrays up to this many elements (and at most 2-D) get a cell table
TEXT_LIMIT = 4096  # arrays up to this many elements can be edited as text
INT_LIMIT = 2_147_483_647
_sessions = itertools.count(1)


class InspectorDock(InspectorCommits, QDockWidget):
    """Builds the editors for the selected node and mirrors the model; commits come from InspectorCommits."""

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
        if what == "op":  # another op: other params, another form
            self.show_node(node_id)
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
