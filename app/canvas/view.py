"""GraphView: the canvas widget — zoom, pan, frame, Tab search, drops from the palette, image export."""
from __future__ import annotations

import math
import os

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

from . import look as it
from .search_popup import OpSearchPopup

OP_MIME = "application/x-backprop-op"
MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
SINK_STUB_ROOM = 110.0  # scene units right of a sink's output: its value and gradient stub
READABLE_ZOOM = 0.6  # below it a node's labels (~11 px at zoom 1) are too small to read
STEP_ZOOM = 0.85  # how close bring_into_view comes: readable, with some of the graph around


class GraphView(QGraphicsView):
    resized = Signal()  # the viewport changed size (a lesson keeps the nodes its step names in view)

    def __init__(self, scene=None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("graphView")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self.frame_max_zoom = 1.5
        self._space = False
        self.last_mouse_pos = QPoint(self.width() // 2, self.height() // 2)
        self.search = OpSearchPopup(self.viewport())
        self.search.op_chosen.connect(self._add_from_search)
        self._search_scene_pos = QPointF()
        if scene is not None:
            self.setScene(scene)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    # ------------------------------------------------------------------ zoom and framing
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Scale by factor, keeping the scene point under `anchor` (viewport coords) in place."""
        z = self.zoom()
        factor = min(max(factor, MIN_ZOOM / z), MAX_ZOOM / z)
        if abs(factor - 1.0) < 1e-9:
            return
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        before = self.mapToScene(anchor)
        old = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor, factor)
        after = self.mapToScene(anchor)
        d = after - before
        self.translate(d.x(), d.y())
        self.setTransformationAnchor(old)

    def set_zoom(self, z: float) -> None:
        self.zoom_by(z / self.zoom())

    def reset_zoom(self) -> None:
        self.set_zoom(1.0)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015 ** delta, event.position().toPoint())
        event.accept()

    def frame_selection(self) -> None:
        """Fit the selected nodes (or, with none selected, everything) in the view."""
        scene = self.scene()
        if scene is None:
            return
        ids = scene.selected_ids()
        rect = self.content_rect(ids or None)
        if rect.isEmpty():
            return
        self.fit_rect(rect)

    def frame_all(self) -> None:
        rect = self.content_rect(None) if self.scene() is not None else QRectF()
        if not rect.isEmpty():
            self.fit_rect(rect)

    def bring_into_view(self, ids) -> None:
        """Show the nodes `ids` at a zoom their labels can be read at (a lesson step names them):
        nothing moves when they are shown so already; else the whole graph is framed when it fits
        readably, and only those nodes when it does not (a long net at 1280x720)."""
        vp = self.viewport().rect()
        if self.scene() is None or not ids or vp.width() < 2 or vp.height() < 2:
            return
        rect = self.content_rect(set(ids))
        if rect.isEmpty():
            return
        if self.zoom() >= READABLE_ZOOM - 1e-6 and self.mapToScene(vp).boundingRect().contains(rect):
            return
        whole = self.content_rect(None)
        if min(vp.width() / whole.width(), vp.height() / whole.height()) >= READABLE_ZOOM:
            self.fit_rect(whole)
        else:
            self.fit_rect(rect, max_zoom=STEP_ZOOM)

    def content_rect(self, ids=None, margin: float = 40.0) -> QRectF:
        """The nodes and wires plus what hangs off the nodes (a sink's value stub), with a margin."""
        scene = self.scene()
        rect = scene.items_rect(ids, margin=margin)
        if rect.isEmpty():
            return rect
        sinks = set(scene.graph.sinks())
        for n in scene.node_items():
            if ids is None or n.node_id in ids:
                kids = n.mapRectToScene(n.childrenBoundingRect())
                if n.node_id in sinks and n.output is not None:  # room for the value stub a pass adds
                    out = n.output.scenePos()
                    kids = kids.united(QRectF(out.x(), out.y() - 30, SINK_STUB_ROOM, 60))
                if not kids.isEmpty():
                    rect = rect.united(kids.adjusted(-margin, -margin, margin, margin))
        return rect

    def fit_rect(self, rect: QRectF, max_zoom: float | None = None) -> None:
        """Fit rect in the view, zooming in at most to max_zoom (default frame_max_zoom: 1.5, and
        presentation mode's 3.0 so a small graph's labels fill a projector)."""
        vp = self.viewport().rect()
        if vp.width() < 2 or vp.height() < 2:
            return
        limit = self.frame_max_zoom if max_zoom is None else max_zoom
        z = min(vp.width() / rect.width(), vp.height() / rect.height(), limit)
        z = min(max(z, MIN_ZOOM), MAX_ZOOM)
        self.resetTransform()
        self.scale(z, z)
        self.centerOn(rect.center())
        if self.scene() is not None:
            self.scene().update()

    EMPTY_HINT = "Press Tab to add a node, or drag one from the palette"

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """On an empty graph, say how to start."""
        scene = self.scene()
        if scene is None or scene.node_items() or scene.exporting:
            return
        painter.save()
        painter.resetTransform()
        f = it.Fonts.get().title
        painter.setFont(f)
        painter.setPen(it.palette().color("subtext"))
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.EMPTY_HINT)
        painter.restore()

    # ------------------------------------------------------------------ keys
    def event(self, event) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:
            self.open_search()
            return True
        return super().event(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens the op search instead of moving focus

    def open_search(self, view_pos: QPoint | None = None) -> OpSearchPopup:
        """Show the op search at the cursor; the chosen op is added at that scene point."""
        pos = view_pos if view_pos is not None else self.last_mouse_pos
        self._search_scene_pos = self.mapToScene(pos)
        self.search.open_at(pos)
        return self.search

    def _add_from_search(self, op: str) -> None:
        scene = self.scene()
        if scene is not None:
            scene.add_node(op, self._search_scene_pos)
        self.setFocus()

    def keyPressEvent(self, event) -> None:
        scene = self.scene()
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if scene is not None and not isinstance(scene.focusItem(), QGraphicsItem):
            if key == Qt.Key.Key_Escape:
                scene.cancel_interaction()
                self.search.hide()
                return
            if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                scene.delete_selected()
                return
            if key == Qt.Key.Key_F and not ctrl:
                self.frame_selection()
                return
            if key == Qt.Key.Key_L and not ctrl:
                scene.auto_layout()
                return
            if key == Qt.Key.Key_F2:
                scene.begin_rename()
                return
            if ctrl and key == Qt.Key.Key_A:
                scene.select_all()
                return
            if ctrl and key == Qt.Key.Key_D:
                scene.duplicate_selected()
                return
            if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
                self.zoom_by(1.25)
                return
            if key == Qt.Key.Key_Minus:
                self.zoom_by(0.8)
                return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan_from is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------------ panning
    def pan_by(self, dx: float, dy: float) -> None:
        """Move the content by (dx, dy) viewport pixels."""
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(dx))
        v.setValue(v.value() - round(dy))

    def mousePressEvent(self, event) -> None:
        if self.search.isVisible() and not self.search.geometry().contains(event.position().toPoint()):
            self.search.hide()
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        self.last_mouse_pos = event.position().toPoint()
        if self._pan_from is not None:
            p = event.position().toPoint()
            d = p - self._pan_from
            self._pan_from = p
            self.pan_by(d.x(), d.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton,
                                                              Qt.MouseButton.LeftButton):
            self._pan_from = None
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # ------------------------------------------------------------------ drops from the palette
    def _op_from(self, event) -> str | None:
        md = event.mimeData()
        if md is None or not md.hasFormat(OP_MIME):
            return None
        return bytes(md.data(OP_MIME)).decode("utf-8", "replace").strip() or None

    def dragEnterEvent(self, event) -> None:
        if self._op_from(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._op_from(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        op = self._op_from(event)
        if op and self.scene() is not None:
            self.scene().add_node(op, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            event.ignore()

    # ------------------------------------------------------------------ export
    def export_size(self, scale: float = 2.0, margin: float = 40.0) -> QSize:
        """Pixel size export_image gives a PNG: the graph's bounding box plus margin, times scale."""
        rect = self.scene().items_rect(None, margin)
        return QSize(max(1, math.ceil(rect.width() * scale)), max(1, math.ceil(rect.height() * scale)))

    def export_image(self, path: str, scale: float = 2.0, margin: float = 40.0) -> bool:
        """Write the whole graph to PNG (raster, `scale` pixels per scene unit) or SVG (vector).

        Selection and hover marks and the grid are left out: the image is for slides."""
        scene = self.scene()
        if scene is None:
            raise ValueError("the view shows no graph")
        rect = scene.items_rect(None, margin)
        if rect.isEmpty():
            rect = QRectF(-100, -60, 200, 120)
        ext = os.path.splitext(path)[1].lower()
        if ext not in (".png", ".svg"):
            raise ValueError(f"export_image: use a .png or .svg file name, got {path!r}")
        if ext == ".png":  # sized (and refused) before a pixel is allocated
            from graphcore.uilimits import raster_size

            pw, ph, _ = raster_size(rect.width(), rect.height(), scale)
        cached = [n for n in scene.node_items() if n.cacheMode() != QGraphicsItem.CacheMode.NoCache]
        for n in cached:
            n.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        scene.exporting = True
        try:
            if ext == ".svg":
                from PySide6.QtSvg import QSvgGenerator

                gen = QSvgGenerator()
                gen.setFileName(path)
                w, h = math.ceil(rect.width()), math.ceil(rect.height())
                gen.setSize(QSize(w, h))
                gen.setViewBox(QRect(0, 0, w, h))
                gen.setTitle("Backprop Studio graph")
                painter = QPainter(gen)
                self._paint_export(painter, scene, QRectF(0, 0, w, h), rect)
                painter.end()
            else:
                size = QSize(pw, ph)
                img = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
                img.fill(it.palette().color("background"))
                painter = QPainter(img)
                self._paint_export(painter, scene, QRectF(0, 0, size.width(), size.height()), rect)
                painter.end()
                if not img.save(path):
                    raise OSError(f"could not write the image {path!r}")
        finally:
            scene.exporting = False
            for n in cached:
                n.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return True

    @staticmethod
    def _paint_export(painter: QPainter, scene, target: QRectF, source: QRectF) -> None:
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                               | QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(target, it.palette().color("background"))
        scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
