"""What the run view adds to the canvas items, in one place.

The canvas items (app/canvas/nodes.py, wires.py) offer the hooks the run view needs most: EdgeItem.set_labels,
set_flow, pulse and NodeItem.set_highlight. The rest is drawn here by small child items so the
canvas stays unaware of passes: a glow on the wire being computed, the gradient-check colour of a
wire, and the value/gradient stub after a sink's output port (it has no wire to carry labels).
Each function prefers a method of the item when the canvas provides one.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem

from .flow import FlowStyle

GLOW = "#ffd54f"  # the wire being computed


def _palette():
    try:
        from app.canvas.look import palette
        return palette()
    except Exception:  # the canvas is optional for headless use of the run view
        return None


def _label_font():
    try:
        from app.canvas.look import Fonts
        return Fonts.get().label
    except Exception:
        from PySide6.QtGui import QFont
        f = QFont()
        f.setPixelSize(13)
        f.setBold(True)
        return f


class WireOverlay(QGraphicsItem):
    """A stroke drawn along the parent wire's path: the step glow or the gradient-check colour."""

    def __init__(self, parent: QGraphicsItem, z: float) -> None:
        super().__init__(parent)
        self.color: QColor | None = None
        self.width = 8.0
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, z < 0)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_stroke(self, color: str | None, width: float, alpha: int = 255) -> None:
        self.prepareGeometryChange()
        if color is None:
            self.color = None
            self.setVisible(False)
            return
        c = QColor(color)
        c.setAlpha(alpha)
        self.color = c
        self.width = width
        self.setVisible(True)
        self.update()

    def boundingRect(self) -> QRectF:
        p = self.parentItem()
        return p.boundingRect().adjusted(-6, -6, 6, 6) if p is not None else QRectF()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.color is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.color, self.width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.parentItem().path())


def _overlay(item, attr: str, z: float) -> WireOverlay:
    ov = getattr(item, attr, None)
    if ov is None:
        ov = WireOverlay(item, z)
        setattr(item, attr, ov)
    return ov


# ---------------------------------------------------------------- wires
def set_edge_labels(item, value_text: str, grad_text: str) -> None:
    item.set_labels(value_text or None, grad_text or None)
    for attr in ("_value_label", "_grad_label"):
        label = getattr(item, attr, None)
        if label is not None and label.isVisible():
            _halo(label)


def _halo(label: QGraphicsSimpleTextItem) -> None:
    """A rounded plate behind a wire label so a wire passing under it cannot hide a minus sign."""
    plate = getattr(label, "_run_halo", None)
    if plate is None:
        plate = _Plate(label)
        label._run_halo = plate
        # text is the costly part of a frame with hundreds of labels: draw each once, then blit
        label.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plate.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plate.fit()


class _Plate(QGraphicsItem):
    def __init__(self, label: QGraphicsSimpleTextItem) -> None:
        super().__init__(label)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._rect = QRectF()

    def fit(self) -> None:
        self.prepareGeometryChange()
        self._rect = self.parentItem().boundingRect().adjusted(-3, 0, 3, 0)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = _palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(pal.label_bg if pal else "#e6ffffff"))
        painter.drawRoundedRect(self._rect, 3, 3)


def edge_labels(item) -> tuple[str, str]:
    """(value, gradient) texts a wire shows now ("" for none)."""
    v, g = item.labels()
    return v or "", g or ""


def set_edge_flow(item, style: FlowStyle | None) -> None:
    if style is None:
        item.set_flow(None)
    else:
        try:
            item.set_flow(style.magnitude, style.sign, style.zero, width=None if style.zero else style.width)
        except TypeError:  # a canvas without the width argument keeps its own width rule
            item.set_flow(style.magnitude, style.sign, style.zero)
    item._run_style = style


def edge_flow(item) -> FlowStyle | None:
    return getattr(item, "_run_style", None)


def set_edge_highlight(item, on: bool) -> None:
    if hasattr(item, "set_highlight"):
        item.set_highlight(on)
        return
    _overlay(item, "_run_glow", -1).set_stroke(GLOW if on else None, 12.0, 150)


def pulse(item, duration_ms: int = 600, radius: float = 5.0) -> None:
    """A dot runs backward along the wire; it starts at the wire's input end at once (the canvas's
    animation places it only on its first tick, which would flash it at the scene origin)."""
    if not hasattr(item, "pulse"):
        return
    try:
        item.pulse(duration_ms, radius=radius)
    except TypeError:  # a canvas without the radius argument
        item.pulse(duration_ms)
    dot = getattr(item, "_pulse", None)
    if dot is not None and not item.path().isEmpty():
        dot.setPos(item.path().pointAtPercent(1.0))


def set_edge_other(item, on: bool) -> None:
    """The wire whose value a mul gradient is multiplied by: a glow in the value colour (green), so
    "the mul gate swaps its inputs" is seen, not only read."""
    pal = _palette()
    _overlay(item, "_run_other", -1).set_stroke((pal.value_text if pal else "#15803d") if on else None, 12.0, 120)


def edge_other(item) -> bool:
    ov = getattr(item, "_run_other", None)
    return ov is not None and ov.color is not None


def edge_highlighted(item) -> bool:
    if hasattr(item, "highlighted"):
        return bool(item.highlighted)
    ov = getattr(item, "_run_glow", None)
    return ov is not None and ov.color is not None


def set_check_color(item, color: str | None) -> None:
    if hasattr(item, "set_check_color"):
        item.set_check_color(color)
        return
    _overlay(item, "_run_check", -2).set_stroke(color, 9.0, 150)


def check_color(item) -> str | None:
    ov = getattr(item, "_run_check", None)
    return ov.color.name() if ov is not None and ov.color is not None else None


# ---------------------------------------------------------------- nodes
def set_node_highlight(item, on: bool) -> None:
    item.set_highlight(on)


def set_node_run_tooltip(item, text: str) -> None:
    """The run view's tooltip (gradient rule + numbers); "" goes back to the canvas's own tooltip."""
    if hasattr(item, "set_run_tooltip"):
        item.set_run_tooltip(text)
        return
    if not text:
        restore = getattr(item, "_update_tooltip", None)
        if restore is not None:
            restore()
        return
    problems = getattr(item, "problems", None)
    if problems:
        text += "\n\nProblems:\n" + "\n".join(f"• {p}" for p in problems)
    item.setToolTip(text)


class OutputStub(QGraphicsItem):
    """A short wire after a sink's output port with its value above (green) and gradient below (red)."""

    LENGTH = 70.0

    def __init__(self, node_item: QGraphicsItem) -> None:
        super().__init__(node_item)
        self.value_label = QGraphicsSimpleTextItem(self)
        self.grad_label = QGraphicsSimpleTextItem(self)
        for lab in (self.value_label, self.grad_label):
            lab.setFont(_label_font())
        self.setZValue(2)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_texts(self, value_text: str, grad_text: str) -> None:
        pal = _palette()
        self.value_label.setBrush(QColor(pal.value_text if pal else "#15803d"))
        self.grad_label.setBrush(QColor(pal.grad_text if pal else "#c62828"))
        self.value_label.setText(value_text)
        self.grad_label.setText(grad_text)
        self.setVisible(bool(value_text or grad_text))
        self._place()

    def _anchor(self) -> QPointF:
        node = self.parentItem()
        port = getattr(node, "output", None)
        if port is not None:
            return port.pos()
        r = node.boundingRect()
        return QPointF(r.right(), r.center().y())

    def _place(self) -> None:
        self.prepareGeometryChange()
        a = self._anchor()
        self.setPos(a)
        mid = self.LENGTH / 2 + 6
        for lab, above in ((self.value_label, True), (self.grad_label, False)):
            r = lab.boundingRect()
            lab.setPos(mid - r.width() / 2, -r.height() - 4 if above else 4)

    def boundingRect(self) -> QRectF:
        return QRectF(0, -4, self.LENGTH + 16, 8)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = _palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(pal.wire if pal else "#888888"), 2.6, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(8, 0), QPointF(self.LENGTH, 0))
        painter.setBrush(QColor(pal.wire if pal else "#888888"))
        painter.setPen(Qt.PenStyle.NoPen)
        tip = self.LENGTH + 8
        from PySide6.QtGui import QPolygonF
        painter.drawPolygon(QPolygonF([QPointF(tip, 0), QPointF(tip - 10, -5), QPointF(tip - 10, 5)]))


def set_output_labels(node_item, value_text: str, grad_text: str) -> None:
    if hasattr(node_item, "set_output_labels"):
        node_item.set_output_labels(value_text, grad_text)
        return
    stub = getattr(node_item, "_run_stub", None)
    if stub is None:
        if not (value_text or grad_text):
            return
        stub = OutputStub(node_item)
        node_item._run_stub = stub
    stub.set_texts(value_text, grad_text)


def output_labels(node_item) -> tuple[str, str]:
    stub = getattr(node_item, "_run_stub", None)
    if stub is None or not stub.isVisible():
        return "", ""
    return stub.value_label.text(), stub.grad_label.text()


def refresh_fonts(node_item) -> None:
    """The output stub follows the canvas label font (presentation mode and the UI scale change it)."""
    stub = getattr(node_item, "_run_stub", None)
    if stub is not None:
        for lab in (stub.value_label, stub.grad_label):
            lab.setFont(_label_font())
        stub._place()
