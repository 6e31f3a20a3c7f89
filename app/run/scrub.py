"""Scrub a scalar input with a slider and watch every label follow: the "sensitivity" reading of a
gradient (nudge x by h and f moves by about h·df/dx), as the CS231n notes put it.

Each move is a SetValueCommand (consecutive moves of one node merge into one undo step) and asks
the run controller for a throttled forward + backward re-run.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from .formatting import fmt_scalar

STEPS = 400


def scrub_range(value: float) -> tuple[float, float]:
    """The slider's span around a value: ±max(2, 2|v|), so small and large values both scrub well."""
    span = max(2.0, 2.0 * abs(value))
    return value - span, value + span


class ScrubControl(QWidget):
    """"x = 3.00 [-----o-----]": enabled when one scalar input, const or param is selected."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scrubControl")
        self.controller = controller
        self.graph = None
        self.undo_stack = None
        self.node_id: str | None = None
        self.lo, self.hi = -1.0, 1.0
        self.label = QLabel("scrub: select an input", self)
        self.label.setObjectName("scrubLabel")
        self.label.setMinimumWidth(120)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("scrubSlider")
        self.slider.setRange(0, STEPS)
        self.slider.setFixedWidth(84)
        self.slider.setToolTip("Drag to change the selected input's value: every label updates as you go")
        self.slider.valueChanged.connect(self._moved)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.slider)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # the position label beside it yields, not this
        self._set_enabled(False)

    def set_document(self, graph, undo_stack) -> None:
        if self.graph is not None:
            self.graph.node_changed.unsub(self._node_changed)
        self.graph, self.undo_stack = graph, undo_stack
        graph.node_changed.sub(self._node_changed)
        self.set_selection([])

    def set_selection(self, ids: list[str]) -> None:
        nid = ids[0] if len(ids) == 1 else None
        value = self._scalar(nid)
        if value is None:
            self.node_id = None
            self._set_enabled(False)
            return
        self.node_id = nid
        self.lo, self.hi = scrub_range(value)
        self._set_enabled(True)
        self._show(value)

    def _scalar(self, nid: str | None) -> float | None:
        if nid is None or self.graph is None or nid not in self.graph.nodes:
            return None
        node = self.graph.nodes[nid]
        spec = node.spec
        v = node.tensors.get("value")
        if spec is None or not spec.source or v is None or v.size != 1 or v.dtype.kind != "f":
            return None
        return float(v.reshape(-1)[0])

    def _set_enabled(self, on: bool) -> None:
        self.slider.setEnabled(on)
        if not on:
            self.label.setText("scrub: select an input")

    def _show(self, value: float) -> None:
        name = self.graph.nodes[self.node_id].name
        self.label.setText(f"{name} = {fmt_scalar(value)}")
        with QSignalBlocker(self.slider):
            t = (value - self.lo) / (self.hi - self.lo)
            self.slider.setValue(int(round(min(1.0, max(0.0, t)) * STEPS)))

    def value_at(self, pos: int) -> float:
        return float(f"{self.lo + (self.hi - self.lo) * pos / STEPS:.6g}")

    def _moved(self, pos: int) -> None:
        if self.node_id is None or self.graph is None:
            return
        from app.commands import SetValueCommand

        old = self.graph.nodes[self.node_id].tensors["value"]
        value = np.asarray(self.value_at(pos), dtype=old.dtype).reshape(old.shape)
        self.undo_stack.push(SetValueCommand(self.graph, self.node_id, value))
        self.label.setText(f"{self.graph.nodes[self.node_id].name} = {fmt_scalar(value.reshape(-1)[0])}")
        self.controller.rerun_soon()

    def _node_changed(self, node_id: str, what: str) -> None:
        if node_id == self.node_id and what == "name":  # a rename shows at once
            value = self._scalar(node_id)
            if value is not None:
                self._show(value)
            return
        if node_id == self.node_id and what == "tensor:value" and not self.slider.isSliderDown():
            value = self._scalar(node_id)
            if value is not None:
                if not self.lo <= value <= self.hi:
                    self.lo, self.hi = scrub_range(value)
                self._show(value)
