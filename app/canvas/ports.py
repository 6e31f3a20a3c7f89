"""Port dots on a node card's edges: inputs on the left, the output on the right.

An idle dot is painted (and cached) by its node; a PortItem only draws hover and wire-drag states.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from .look import PORT_HIT_R, PORT_R, palette

if TYPE_CHECKING:
    from .nodes import NodeItem



class PortItem(QGraphicsItem):
    """A port dot on a node's edge; inputs on the left, the output on the right."""

    def __init__(self, node: "NodeItem", name: str, is_output: bool, dtype: str = "float") -> None:
        super().__init__(node)
        self.node = node
        self.name = name
        self.is_output = is_output
        self.dtype = dtype
        self.connected = False
        self.hovered = False
        self.drag_state: str | None = None  # None, "ok" (can connect), "dim" (cannot), "target", "bad"
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._sync_contents()

    def _sync_contents(self) -> None:
        """An idle port draws nothing itself (its dot is in the node's cached picture): skip its paint."""
        idle = self.drag_state is None and not self.hovered
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, idle)

    @property
    def node_id(self) -> str:
        return self.node.node_id

    def scene_center(self) -> QPointF:
        return self.mapToScene(QPointF(0, 0))

    def boundingRect(self) -> QRectF:
        r = PORT_HIT_R
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addEllipse(self.boundingRect())
        return p

    def set_connected(self, on: bool) -> None:
        if on != self.connected:
            self.connected = on
            self.node.update()
            self.update()

    def set_drag_state(self, state: str | None) -> None:
        if state != self.drag_state:
            self.drag_state = state
            self._sync_contents()
            self.update()

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self._sync_contents()
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self._sync_contents()
        self.update()
        super().hoverLeaveEvent(event)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        """The plain dot is drawn (and cached) by the node; this draws hover and drag states on top."""
        state = self.drag_state
        if getattr(self.scene(), "exporting", False) or (state is None and not self.hovered):
            return
        pal = palette()
        r = PORT_R
        if state == "dim":
            veil = pal.color("body")
            veil.setAlpha(190)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(veil)
            painter.drawEllipse(QPointF(0, 0), r + 1.5, r + 1.5)
            return
        if state in ("ok", "target"):
            glow = pal.color("wire_ok")
            glow.setAlpha(70 if state == "ok" else 150)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(QPointF(0, 0), r + 6, r + 6)
            if state == "ok":
                painter.setPen(QPen(pal.color("wire_ok"), 2.4))
                painter.setBrush(pal.color("body"))
                painter.drawEllipse(QPointF(0, 0), r, r)
                return
        fill = {"target": "wire_ok", "bad": "wire_bad"}.get(state or "")
        if fill:
            painter.setPen(QPen(pal.color("border"), 1.5))
            painter.setBrush(pal.color(fill))
            painter.drawEllipse(QPointF(0, 0), r + 1, r + 1)
        else:  # hovered
            draw_port_dot(painter, QPointF(0, 0), self, r + 1.5)


def draw_port_dot(painter: QPainter, center: QPointF, port: PortItem, r: float = PORT_R) -> None:
    """A filled dot for a wired port, a ring for a free one; the colour says float or int."""
    pal = palette()
    base = pal.color("port_int" if port.dtype == "int" else "port_float")
    if port.connected:
        painter.setPen(QPen(pal.color("border"), 1.5))
        painter.setBrush(base)
    else:
        painter.setPen(QPen(base, 2.2))
        painter.setBrush(pal.color("body"))
    painter.drawEllipse(center, r, r)
