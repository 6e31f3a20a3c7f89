"""NodeItem: one graph node drawn as a rounded card with a category-coloured header.

The card only draws what the model says; GraphScene creates, refreshes and removes it from the
graph's events.
"""
from __future__ import annotations

import math

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from .look import (BODY_PAD, HEADER_H, MIN_W, PORT_R, RADIUS, ROW_H, SIDE_PAD, Fonts, add_palette_listener,
                   format_value, palette, param_entries)
from .ports import PortItem, draw_port_dot
from .value_edit import CanvasEditing



class NodeItem(CanvasEditing, QGraphicsItem):
    """One graph node: a rounded card with a category-coloured header (CanvasEditing: type or
    scrub its value and params on the card)."""

    def __init__(self, scene, node_id: str) -> None:
        super().__init__()
        self.graph_scene = scene
        self.node_id = node_id
        self.problems: list[str] = []
        self.highlighted = False
        self.hovered = False
        self.inputs: dict[str, PortItem] = {}
        self.output: PortItem | None = None
        self._w = MIN_W
        self._head, self._row = HEADER_H, ROW_H  # header and port-row heights: they grow with the fonts
        self._h = HEADER_H + ROW_H
        self._name = ""
        self._title = ""
        self._center: list[tuple[str, str]] = []  # (text, font key)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        add_palette_listener(self)  # a sink's value/gradient labels hang off the card and take the theme
        self.refresh()

    # -- model
    @property
    def node(self):
        return self.graph_scene.graph.nodes[self.node_id]

    def palette_changed(self) -> None:
        """Recolour the run view's output stub (a sink's value above, gradient below) for the new theme;
        its labels are coloured when set, so a theme switch must reach them here."""
        if not shiboken6.isValid(self):
            return
        stub = getattr(self, "_run_stub", None)
        if stub is None or not shiboken6.isValid(stub):
            return
        pal = palette()
        for lab, key in ((stub.value_label, "value_text"), (stub.grad_label, "grad_text")):
            lab.setBrush(pal.color(key))
            plate = getattr(lab, "_run_halo", None)
            if plate is not None:
                plate.update()
        stub.update()

    def refresh(self) -> None:
        """Re-read name, params, value and ports from the model and re-measure."""
        node = self.node
        spec = node.spec
        f = Fonts.get()
        m = f.metrics
        self._head, self._row = f.header_h, f.row_h
        self._name = node.name
        self._title = (spec.title or spec.name) if spec else f"{node.op}?"
        self._center = []
        self._center_params: list[str | None] = []  # the param each centre line shows (double-click edits it)
        if spec is None:
            self._center = [(f"unknown op {node.op!r}", "param")]
        elif spec.source:
            if "value" in node.tensors:
                self._center = [(format_value(node.tensors["value"]), "value")]
        else:
            entries = param_entries(node, spec)
            big = "symbol" if len(self._title) <= 4 else "word"
            self._center = [(t, "param") for _, t in entries] if entries else [(self._title, big)]
            self._center_params = [n for n, _ in entries]
            if entries:
                self._center.insert(0, (self._title, "label"))
                self._center_params.insert(0, None)
        self._center_params += [None] * (len(self._center) - len(self._center_params))
        if spec is not None:
            in_ports = list(spec.inputs)
        else:  # an op this version does not know (kept from a file): show the ports its wires use
            from graphcore.registry import Port
            used = sorted({e.dst_port for e in self.graph_scene.graph.edges if e.dst == self.node_id})
            in_ports = [Port(name) for name in used]
        # ports
        wanted = [p.name for p in in_ports]
        for name in list(self.inputs):
            if name not in wanted:
                port = self.inputs.pop(name)
                if port.scene() is not None:
                    port.scene().removeItem(port)
        for p in in_ports:
            if p.name not in self.inputs:
                self.inputs[p.name] = PortItem(self, p.name, False, p.dtype)
        if self.output is None and (spec is None or spec.outputs):
            self.output = PortItem(self, "out", True)
        # size
        left = max((m["port"].horizontalAdvance(p.name) for p in in_ports), default=0.0)
        center = max((m[k].horizontalAdvance(t) for t, k in self._center), default=0.0)
        right = m["port"].horizontalAdvance("out") if self.output else 0.0
        body_w = SIDE_PAD + left + (16 if left else 0) + center + 16 + right + SIDE_PAD
        head_w = SIDE_PAD + m["name"].horizontalAdvance(self._name) + 18 + m["title"].horizontalAdvance(
            self._header_right()) + SIDE_PAD
        w = max(MIN_W, body_w, head_w)
        rows = max(len(in_ports), 1)
        lines_h = sum(m[k].height() + 2 for _, k in self._center)
        body_h = max(rows * self._row, lines_h + 4) + 2 * BODY_PAD
        w = math.ceil(w / 2) * 2
        if (w, self._head + body_h) != (self._w, self._h):
            self.prepareGeometryChange()
            self._w, self._h = w, self._head + body_h
        self._left_w = left
        for i, p in enumerate(in_ports):
            self.inputs[p.name].setPos(0, self._port_y(i, rows))
        if self.output is not None:
            self.output.setPos(self._w, self._head + body_h / 2)
        self._update_tooltip()
        self.update()

    # -- the centre lines (value or params): where they are, and editing them on the canvas
    def center_rects(self) -> list[QRectF]:
        """One rect per centre line, in item coordinates (paint and hit tests share them)."""
        if not self._center:
            return []
        f = Fonts.get()
        m = f.metrics
        total = sum(m[k].height() + 2 for _, k in self._center)
        x0 = SIDE_PAD + (self._left_w + 16 if self._left_w else 0)
        x1 = self._w - SIDE_PAD - (m["port"].horizontalAdvance("out") + 16 if self.output else 0)
        y = self._head + (self._h - self._head - total) / 2
        rects = []
        for _, key in self._center:
            lh = m[key].height() + 2
            rects.append(QRectF(x0, y, max(x1 - x0, 1), lh))
            y += lh
        return rects

    def center_line_rect(self, index: int) -> QRectF:
        return self.center_rects()[index]

    def center_font(self, index: int) -> QFont:
        return getattr(Fonts.get(), self._center[index][1])

    def param_at_line(self, index: int) -> str | None:
        return self._center_params[index] if 0 <= index < len(self._center_params) else None

    def line_at(self, pos: QPointF) -> int | None:
        """The centre line under pos (item coordinates), widened a little for a comfortable hit."""
        for i, r in enumerate(self.center_rects()):
            if r.adjusted(-6, -2, 6, 2).contains(pos):
                return i
        return None

    def _header_right(self) -> str:
        spec = self.node.spec
        return spec.name if spec is not None else self.node.op

    def _port_y(self, i: int, rows: int) -> float:
        body_h = self._h - self._head
        top = self._head + (body_h - rows * self._row) / 2
        return top + (i + 0.5) * self._row

    def size(self) -> tuple[float, float]:
        return self._w, self._h

    def port(self, name: str) -> PortItem | None:
        return self.output if name == "out" else self.inputs.get(name)

    # -- state set by the scene / run view
    def set_problems(self, messages: list[str]) -> None:
        if messages != self.problems:
            self.problems = list(messages)
            self._update_tooltip()
            self.update()

    def set_highlight(self, on: bool) -> None:
        """Mark the node (the run view uses this for the node being computed)."""
        if on != self.highlighted:
            self.highlighted = on
            self.update()

    def _update_tooltip(self) -> None:
        spec = self.node.spec
        tip = spec.tooltip() if spec is not None else f"unknown op {self.node.op!r}"
        tip = f"{self._name}\n{tip}"
        if self.problems:
            tip += "\n\nProblems:\n" + "\n".join(f"• {p}" for p in self.problems)
        self.setToolTip(tip)

    # -- Qt
    def boundingRect(self) -> QRectF:
        m = PORT_R + 3
        return QRectF(-m, -4, self._w + 2 * m, self._h + 11)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addRoundedRect(QRectF(0, 0, self._w, self._h), RADIUS, RADIUS)
        return p

    def header_rect(self) -> QRectF:
        return QRectF(0, 0, self._w, self._head)

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            scene = self.graph_scene
            if scene.snap_to_grid and not scene.syncing:
                g = scene.grid_size
                return QPointF(round(value.x() / g) * g, round(value.y() / g) * g)
        elif change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.graph_scene.node_moved(self.node_id)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setZValue(1.5 if value else 1)  # a selected node comes on top of its neighbours
        return super().itemChange(change, value)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.header_rect().contains(event.pos()):
            self.ungrabMouse()  # the editor takes the release (see CanvasEditing.edit_at)
            self.graph_scene.begin_rename(self.node_id)
            event.accept()
            return
        if self.edit_at(event):
            return
        super().mouseDoubleClickEvent(event)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = palette()
        f = Fonts.get()
        exporting = getattr(self.scene(), "exporting", False)
        w, h = self._w, self._h
        rect = QRectF(0, 0, w, h)
        # shadow
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pal.color("shadow"))
        painter.drawRoundedRect(rect.translated(2.5, 3.5), RADIUS, RADIUS)
        # body
        painter.setBrush(pal.color("body"))
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        # header
        spec = self.node.spec
        head = QPainterPath()
        head.addRoundedRect(QRectF(0, 0, w, self._head + RADIUS), RADIUS, RADIUS)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, w, self._head))
        painter.setBrush(pal.category(spec.category if spec else None))
        painter.drawPath(head.intersected(clip))
        # header text
        painter.setFont(f.name)
        painter.setPen(pal.color("header_text"))
        painter.drawText(QRectF(SIDE_PAD, 0, w - 2 * SIDE_PAD, self._head),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self._name)
        right = QColor(pal.header_text)
        right.setAlpha(175)
        painter.setFont(f.title)
        painter.setPen(right)
        painter.drawText(QRectF(SIDE_PAD, 0, w - 2 * SIDE_PAD, self._head),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self._header_right())
        # port labels
        painter.setFont(f.port)
        painter.setPen(pal.color("subtext"))
        for name, port in self.inputs.items():
            y = port.pos().y()
            painter.drawText(QRectF(SIDE_PAD, y - self._row / 2, w, self._row),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
        if self.output is not None:
            y = self.output.pos().y()
            painter.drawText(QRectF(0, y - self._row / 2, w - SIDE_PAD, self._row),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "out")
        # centre: value, params or the op's symbol
        for (text, key), r in zip(self._center, self.center_rects()):
            painter.setFont(getattr(f, key))
            painter.setPen(pal.color("text" if key in ("symbol", "word", "value", "label") else "subtext"))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        # outline
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.problems:
            pen = QPen(pal.color("problem"), 3)
        elif self.isSelected() and not exporting:
            pen = QPen(pal.color("selection"), 3)
        elif self.highlighted:
            pen = QPen(pal.color("highlight"), 3)
        elif self.hovered and not exporting:
            pen = QPen(pal.color("border_hover"), 1.5)
        else:
            pen = QPen(pal.color("border"), 1.2)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        if self.problems and self.isSelected() and not exporting:
            painter.setPen(QPen(pal.color("selection"), 1.5, Qt.PenStyle.DashLine))
            painter.drawRoundedRect(rect.adjusted(-3, -3, 3, 3), RADIUS + 2, RADIUS + 2)
        # port dots (cached with the node; PortItem draws hover and drag states over them)
        for port in list(self.inputs.values()) + ([self.output] if self.output is not None else []):
            draw_port_dot(painter, port.pos(), port)
