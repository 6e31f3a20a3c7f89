"""How the canvas looks: its colour palettes (dark and light), card geometry, fonts and the text
helpers that turn values and params into the short strings a node card prints.

Kept apart from the items so the theme, the palette dock and the run view can read colours and
fonts without importing the item classes.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np
from graphcore.numfmt import fmt_number
from PySide6.QtGui import QColor, QFont, QFontMetricsF

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
    """Created lazily: a QFont needs a QGuiApplication. `text_scale` enlarges every canvas text, the
    node cards' (name, op, port labels, values, params) and the wire labels (the numbers a class
    reads from the back row); presentation mode and the UI scale set it. The card's header and row
    heights grow with their fonts, so a scaled card keeps its proportions without overlapping text."""

    _made = False
    text_scale = 1.0
    LABEL_PX = 13
    # font key -> (pixel size at scale 1, bold)
    SIZES = {"name": (15, True), "title": (13, False), "port": (13, False), "symbol": (24, True),
             "value": (18, True), "word": (17, True), "param": (13, False), "label": (LABEL_PX, True)}
    header_h = HEADER_H
    row_h = ROW_H

    @classmethod
    def set_text_scale(cls, scale: float) -> None:
        """Every canvas font at its size * scale pixels (items call fonts_changed / refresh to follow)."""
        cls.text_scale = float(scale)
        if cls._made:
            cls._make()

    @classmethod
    def _make(cls) -> None:
        for key, (px, bold) in cls.SIZES.items():
            setattr(cls, key, _font(max(1, round(px * cls.text_scale)), bold))
        cls.metrics = {k: QFontMetricsF(getattr(cls, k)) for k in cls.SIZES}
        cls.header_h = max(HEADER_H, math.ceil(cls.metrics["name"].height() + 10))
        cls.row_h = max(ROW_H, math.ceil(cls.metrics["port"].height() + 8))

    @classmethod
    def get(cls) -> "Fonts":
        if not cls._made:
            cls._make()
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
