"""Wires: EdgeItem (one graph edge, which the run view labels and animates) and the TempWireItem
that follows the cursor while a wire is dragged.
"""
from __future__ import annotations

import math

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, QVariantAnimation
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsSimpleTextItem

from .look import Fonts, palette



def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    """A smooth cubic from an output at `a` to an input at `b`."""
    dx = b.x() - a.x()
    k = max(abs(dx) * 0.5, 40.0) if dx >= 0 else max(abs(dx) * 0.6, 80.0)
    path = QPainterPath(a)
    path.cubicTo(QPointF(a.x() + k, a.y()), QPointF(b.x() - k, b.y()), b)
    return path


class EdgeItem(QGraphicsItem):
    """One wire; the run view can label it and show the gradient flowing back."""

    def __init__(self, scene, edge) -> None:
        super().__init__()
        self.graph_scene = scene
        self.edge = edge
        self.hovered = False
        self._path = QPainterPath()
        self._shape: QPainterPath | None = None
        self._flow: tuple[float, float, bool] | None = None
        self._value_label: QGraphicsSimpleTextItem | None = None
        self._grad_label: QGraphicsSimpleTextItem | None = None
        self._pulse: QGraphicsEllipseItem | None = None
        self._anim: QVariantAnimation | None = None
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        self.update_path()

    def endpoints(self) -> tuple[QPointF, QPointF]:
        s = self.graph_scene
        a = s.node_item(self.edge.src).output.scene_center()
        b = s.node_item(self.edge.dst).inputs[self.edge.dst_port].scene_center()
        return a, b

    def update_path(self) -> None:
        try:
            a, b = self.endpoints()
        except (KeyError, AttributeError):
            return
        self.prepareGeometryChange()
        self._path = wire_path(a, b)
        self._shape = None
        self._place_labels()

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-10, -10, 10, 10)

    def shape(self) -> QPainterPath:
        if self._shape is None:
            st = QPainterPathStroker()
            st.setWidth(14)
            self._shape = st.createStroke(self._path)
        return self._shape

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = palette()
        exporting = getattr(self.scene(), "exporting", False)
        width = 2.6
        color = pal.color("wire")
        if self._flow is not None:
            mag, sign, zero = self._flow
            color = pal.color("grad_pos" if sign >= 0 else "grad_neg")
            width = 2.0 + min(6.0, 1.6 * math.log1p(abs(mag)))
            if getattr(self, "_flow_width", None) is not None:
                width = self._flow_width
            if zero:
                color = pal.color("wire")
                color.setAlpha(60)
                width = 1.6
        if not exporting:
            if self.isSelected():
                color, width = pal.color("selection"), width + 1.0
            elif self.hovered:
                color, width = pal.color("wire_hover"), width + 0.8
        pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)

    # -- run/step view hooks
    def set_labels(self, value_text: str | None, grad_text: str | None) -> None:
        """Value above the wire (green), gradient below (red); None hides a label."""
        pal = palette()
        self._value_label = self._set_label(self._value_label, value_text, pal.color("value_text"))
        self._grad_label = self._set_label(self._grad_label, grad_text, pal.color("grad_text"))
        self._place_labels()

    def labels(self) -> tuple[str | None, str | None]:
        v = self._value_label.text() if self._value_label and self._value_label.isVisible() else None
        g = self._grad_label.text() if self._grad_label and self._grad_label.isVisible() else None
        return v, g

    def _set_label(self, item, text, color):
        if text is None:
            if item is not None:
                item.setVisible(False)
            return item
        if item is None:
            item = QGraphicsSimpleTextItem(self)
            item.setFont(Fonts.get().label)
            item.setZValue(3)
        item.setText(text)
        item.setBrush(color)
        item.setVisible(True)
        return item

    def fonts_changed(self) -> None:
        """Follow Fonts.set_text_scale: the labels take the new label font and are placed again."""
        for lab in (self._value_label, self._grad_label):
            if lab is not None:
                lab.setFont(Fonts.get().label)
                plate = getattr(lab, "_run_halo", None)
                if plate is not None:
                    plate.fit()
        self._place_labels()

    def _place_labels(self) -> None:
        if self._path.isEmpty():
            return
        mid = self._path.pointAtPercent(0.5)
        if self._value_label is not None:
            r = self._value_label.boundingRect()
            self._value_label.setPos(mid.x() - r.width() / 2, mid.y() - r.height() - 4)
        if self._grad_label is not None:
            r = self._grad_label.boundingRect()
            self._grad_label.setPos(mid.x() - r.width() / 2, mid.y() + 4)

    def set_flow(self, grad_magnitude: float | None, sign: float = 1.0, zero: bool = False,
                 width: float | None = None) -> None:
        """Show the gradient on the wire: width from its size, colour from its sign, dim when zero.

        `width` overrides the default width rule (the run view passes its log-scale width).
        `set_flow(None)` goes back to the plain look."""
        self._flow = None if grad_magnitude is None else (float(grad_magnitude), float(sign), bool(zero))
        self._flow_width = width
        self.update()

    def flow(self):
        return self._flow

    def pulse(self, duration_ms: int = 600, backward: bool = True, radius: float = 5.0) -> None:
        """A dot of `radius` (scene units) runs along the wire (from the input end back to the output end
        when backward)."""
        if self._pulse is None:
            self._pulse = QGraphicsEllipseItem(self)
            self._pulse.setPen(Qt.PenStyle.NoPen)
            self._pulse.setZValue(4)
        self._pulse.setRect(-radius, -radius, 2 * radius, 2 * radius)
        pal = palette()
        self._pulse.setBrush(pal.color("grad_text" if backward else "value_text"))
        self._pulse.setPos(self._path.pointAtPercent(1.0 if backward else 0.0))
        self._pulse.setVisible(True)
        if self._anim is not None:
            self._anim.stop()
        anim = QVariantAnimation()
        anim.setStartValue(1.0 if backward else 0.0)
        anim.setEndValue(0.0 if backward else 1.0)
        anim.setDuration(duration_ms)
        dot, path = self._pulse, QPainterPath(self._path)

        def place(t) -> None:  # the animation may outlive the scene (closed window, test teardown)
            if shiboken6.isValid(dot):
                dot.setPos(path.pointAtPercent(min(max(float(t), 0.0), 1.0)))
            else:
                anim.stop()

        anim.valueChanged.connect(place)
        anim.finished.connect(lambda: shiboken6.isValid(dot) and dot.setVisible(False))
        self._anim = anim
        anim.start()

    def palette_changed(self) -> None:
        pal = palette()
        if self._value_label is not None:
            self._value_label.setBrush(pal.color("value_text"))
        if self._grad_label is not None:
            self._grad_label.setBrush(pal.color("grad_text"))
        for lab in (self._value_label, self._grad_label):
            plate = getattr(lab, "_run_halo", None)  # the run view's plate: cached, so repaint it in the new colour
            if plate is not None:
                plate.update()
        self.update()


class TempWireItem(QGraphicsItem):
    """The curve that follows the cursor while a wire is being dragged."""

    def __init__(self) -> None:
        super().__init__()
        self._path = QPainterPath()
        self.state: str | None = None  # None, "ok", "bad"
        self.setZValue(5)

    def set_ends(self, out_pt: QPointF, in_pt: QPointF) -> None:
        self.prepareGeometryChange()
        self._path = wire_path(out_pt, in_pt)

    def set_state(self, state: str | None) -> None:
        self.state = state
        self.update()

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-6, -6, 6, 6)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = palette()
        color = {"ok": "wire_ok", "bad": "wire_bad"}.get(self.state or "", "wire_hover")
        pen = QPen(pal.color(color), 2.6, Qt.PenStyle.DashLine if self.state is None else Qt.PenStyle.SolidLine,
                   Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
