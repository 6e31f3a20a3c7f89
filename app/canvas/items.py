"""Scene items that draw a graphcore graph: nodes, ports and wires.

Items only draw what the model says; GraphScene creates, updates and removes
them from the graph's events. Colours come from a small Palette so the light
theme can swap them (`set_palette("light")`).
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np
import shiboken6
from graphcore.numfmt import fmt_number
from PySide6.QtCore import QPointF, QRectF, Qt, QVariantAnimation
from PySide6.QtGui import (QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker,
                           QPen)
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsSimpleTextItem

from .value_edit import CanvasEditing

# ---------------------------------------------------------------- palette


@dataclass(frozen=True)
class Palette:
    """Every colour the canvas uses, as hex strings (alpha first when 8 digits: #AARRGGBB)."""

    name: str
    background: str
    grid_minor: str
    grid_major: str
    body: str
    border: str
    border_hover: str
    text: str
    subtext: str
    header_text: str
    selection: str
    problem: str
    highlight: str
    wire: str
    wire_hover: str
    wire_ok: str
    wire_bad: str
    port_float: str
    port_int: str
    value_text: str
    grad_text: str
    grad_pos: str
    grad_neg: str
    label_bg: str
    shadow: str
    categories: dict = field(default_factory=dict)

    def color(self, key: str) -> QColor:
        return QColor(getattr(self, key))

    def category(self, cat: str | None) -> QColor:
        return QColor(self.categories.get(cat or "", self.categories.get("unknown", "#666666")))


DARK = Palette(
    name="dark", background="#1b1c1f", grid_minor="#232428", grid_major="#2c2e33",
    body="#2a2c31", border="#101113", border_hover="#8a8f99", text="#eceef2", subtext="#a3a8b2",
    header_text="#ffffff", selection="#ffb347", problem="#ff4d4f", highlight="#4fc3f7",
    wire="#aab2c0", wire_hover="#e8ecf2", wire_ok="#6ee7a0", wire_bad="#ff6b6b",
    port_float="#9ecbff", port_int="#ffd479", value_text="#6fdc8c", grad_text="#ff7b7b",
    grad_pos="#ff8a65", grad_neg="#64b5f6", label_bg="#d81b1c1f", shadow="#70000000",
    categories={"inputs": "#2f8a5b", "gates": "#3566a8", "activations": "#7e4fa6", "reductions": "#9a7224",
                "layers": "#b4532f", "losses": "#a8324a", "regularizers": "#4f6475", "unknown": "#5c5f66"},
)

LIGHT = Palette(
    name="light", background="#f5f6f8", grid_minor="#edeff2", grid_major="#e1e4e8",
    body="#ffffff", border="#aeb4bd", border_hover="#4b5563", text="#1d2127", subtext="#5b626d",
    header_text="#ffffff", selection="#e8850c", problem="#d92d20", highlight="#0288d1",
    wire="#6b7280", wire_hover="#1f2937", wire_ok="#16a34a", wire_bad="#dc2626",
    port_float="#2563eb", port_int="#b7791f", value_text="#15803d", grad_text="#c62828",
    grad_pos="#e64a19", grad_neg="#1565c0", label_bg="#e6ffffff", shadow="#30000000",
    categories={"inputs": "#2e8b57", "gates": "#3a6fb5", "activations": "#8755b0", "reductions": "#a9791f",
                "layers": "#c05a33", "losses": "#b53a52", "regularizers": "#5a7080", "unknown": "#7a7f87"},
)

PALETTES = {"dark": DARK, "light": LIGHT}
_current: Palette = DARK
_listeners: "weakref.WeakSet" = weakref.WeakSet()


def palette() -> Palette:
    """The palette items draw with now."""
    return _current


def set_palette(which: str | Palette) -> Palette:
    """Switch every canvas to the "dark" or "light" palette (or a Palette object)."""
    global _current
    if isinstance(which, str):
        if which not in PALETTES:
            raise ValueError(f"unknown canvas palette {which!r}; choose one of {', '.join(PALETTES)}")
        which = PALETTES[which]
    _current = which
    for listener in list(_listeners):
        listener.palette_changed()
    return _current


set_theme = set_palette  # the name app/theme.py looks for


def add_palette_listener(obj) -> None:
    """`obj.palette_changed()` is called after set_palette (held weakly)."""
    _listeners.add(obj)


# ---------------------------------------------------------------- geometry and fonts
HEADER_H = 30.0
ROW_H = 26.0
BODY_PAD = 8.0
MIN_W = 118.0
RADIUS = 8.0
PORT_R = 6.0
PORT_HIT_R = 12.0
SIDE_PAD = 14.0


def _font(px: int, bold: bool = False, family: str = "") -> QFont:
    f = QFont(family) if family else QFont()
    f.setPixelSize(px)
    f.setBold(bold)
    f.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    return f


class Fonts:
    """Created lazily: a QFont needs a QGuiApplication. `text_scale` enlarges the wire labels
    (the numbers a class reads from the back row); presentation mode and the UI scale set it."""

    _made = False
    text_scale = 1.0
    LABEL_PX = 13

    @classmethod
    def set_text_scale(cls, scale: float) -> None:
        """Wire and output labels at LABEL_PX * scale pixels (items call fonts_changed to follow)."""
        cls.text_scale = float(scale)
        if cls._made:
            cls.label = _font(round(cls.LABEL_PX * cls.text_scale), True)
            cls.metrics["label"] = QFontMetricsF(cls.label)

    @classmethod
    def get(cls) -> "Fonts":
        if not cls._made:
            cls.name = _font(15, True)
            cls.title = _font(13)
            cls.port = _font(13)
            cls.symbol = _font(24, True)
            cls.value = _font(18, True)
            cls.word = _font(17, True)
            cls.param = _font(13)
            cls.label = _font(round(cls.LABEL_PX * cls.text_scale), True)
            cls.metrics = {k: QFontMetricsF(getattr(cls, k))
                           for k in ("name", "title", "port", "symbol", "word", "value", "param", "label")}
            cls._made = True
        return cls


# ---------------------------------------------------------------- text helpers


def format_number(v: float) -> str:
    """-8.00, 7.00e-03, NaN: graphcore's one number formatter, so a node, its wire, the inspector and
    the narration print a number the same way."""
    return fmt_number(v)


def format_value(arr) -> str:
    """A scalar as a number (3.00, or 3 for integers); an array as its shape (3×4)."""
    a = np.asarray(arr)
    if a.size == 1 and a.ndim <= 1:
        x = a.reshape(-1)[0]
        return str(int(x)) if a.dtype.kind in "iu" else format_number(x)
    if a.ndim == 0:
        return format_number(a)
    return "[" + "×".join(str(s) for s in a.shape) + "]" + (" int" if a.dtype.kind in "iu" else "")


def format_param(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return str(value)


def param_entries(node, spec, limit: int = 4) -> list[tuple[str | None, str]]:
    """(param name, text) of the key params worth printing on a node: "alpha 0.01", "units 100"
    (name None for the "+2 more" line)."""
    lines = []
    for p in spec.params:
        if p.kind == "tensor" or p.name.startswith("init") or p.name == "value":
            continue
        v = node.params.get(p.name)
        if v is None or v is False or v == "":
            continue
        lines.append((p.name, p.name if v is True else f"{p.name} {format_param(v)}"))
    if len(lines) > limit:
        lines = lines[:limit - 1] + [(None, f"+{len(lines) - limit + 1} more")]
    return lines


def param_lines(node, spec, limit: int = 4) -> list[str]:
    return [text for _, text in param_entries(node, spec, limit)]


# ---------------------------------------------------------------- ports


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


# ---------------------------------------------------------------- nodes


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
        body_h = max(rows * ROW_H, lines_h + 4) + 2 * BODY_PAD
        w = math.ceil(w / 2) * 2
        if (w, HEADER_H + body_h) != (self._w, self._h):
            self.prepareGeometryChange()
            self._w, self._h = w, HEADER_H + body_h
        self._left_w = left
        for i, p in enumerate(in_ports):
            self.inputs[p.name].setPos(0, self._port_y(i, rows))
        if self.output is not None:
            self.output.setPos(self._w, HEADER_H + body_h / 2)
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
        y = HEADER_H + (self._h - HEADER_H - total) / 2
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
        body_h = self._h - HEADER_H
        top = HEADER_H + (body_h - rows * ROW_H) / 2
        return top + (i + 0.5) * ROW_H

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
        return QRectF(0, 0, self._w, HEADER_H)

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
        head.addRoundedRect(QRectF(0, 0, w, HEADER_H + RADIUS), RADIUS, RADIUS)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, w, HEADER_H))
        painter.setBrush(pal.category(spec.category if spec else None))
        painter.drawPath(head.intersected(clip))
        # header text
        painter.setFont(f.name)
        painter.setPen(pal.color("header_text"))
        painter.drawText(QRectF(SIDE_PAD, 0, w - 2 * SIDE_PAD, HEADER_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self._name)
        right = QColor(pal.header_text)
        right.setAlpha(175)
        painter.setFont(f.title)
        painter.setPen(right)
        painter.drawText(QRectF(SIDE_PAD, 0, w - 2 * SIDE_PAD, HEADER_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self._header_right())
        # port labels
        painter.setFont(f.port)
        painter.setPen(pal.color("subtext"))
        for name, port in self.inputs.items():
            y = port.pos().y()
            painter.drawText(QRectF(SIDE_PAD, y - ROW_H / 2, w, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
        if self.output is not None:
            y = self.output.pos().y()
            painter.drawText(QRectF(0, y - ROW_H / 2, w - SIDE_PAD, ROW_H),
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


# ---------------------------------------------------------------- wires


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


__all__ = ["DARK", "LIGHT", "EdgeItem", "NodeItem", "Palette", "PortItem", "TempWireItem", "format_value",
           "palette", "set_palette", "set_theme", "wire_path"]
