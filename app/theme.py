"""Dark and light themes: Fusion style, a matching QPalette, and a small stylesheet.

Colours live here (palette) and in the shipped style/<name>.qss, found with
backprop_studio_resources.style_path (details such as dock titles and error
labels); the canvas gets the same name through `set_theme` when it offers one.
"""
from __future__ import annotations

import os

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from backprop_studio_resources import icons_dir, style_path

THEMES = ("dark", "light")
ICON_DIR = icons_dir()

_COLORS = {
    "dark": {
        "window": "#25272b", "base": "#1d1f22", "alt": "#2a2d31", "text": "#dcdfe4", "dim": "#8b9099",
        "button": "#2f3237", "highlight": "#3b82f6", "hl_text": "#ffffff", "tooltip": "#30333a",
        "link": "#6aa7ff", "disabled": "#676b73",
    },
    "light": {
        "window": "#f3f4f6", "base": "#ffffff", "alt": "#f7f8fa", "text": "#1f2328", "dim": "#6b7280",
        "button": "#e9ebef", "highlight": "#2563eb", "hl_text": "#ffffff", "tooltip": "#ffffff",
        "link": "#1d4ed8", "disabled": "#a0a4ab",
    },
}


def colors(name: str) -> dict[str, str]:
    return dict(_COLORS[name if name in _COLORS else "dark"])


def palette(name: str) -> QPalette:
    c = {k: QColor(v) for k, v in colors(name).items()}
    p = QPalette()
    R = QPalette.ColorRole
    p.setColor(R.Window, c["window"])
    p.setColor(R.WindowText, c["text"])
    p.setColor(R.Base, c["base"])
    p.setColor(R.AlternateBase, c["alt"])
    p.setColor(R.Text, c["text"])
    p.setColor(R.Button, c["button"])
    p.setColor(R.ButtonText, c["text"])
    p.setColor(R.BrightText, QColor("#ff5555"))
    p.setColor(R.Highlight, c["highlight"])
    p.setColor(R.HighlightedText, c["hl_text"])
    p.setColor(R.ToolTipBase, c["tooltip"])
    p.setColor(R.ToolTipText, c["text"])
    p.setColor(R.PlaceholderText, c["dim"])
    p.setColor(R.Link, c["link"])
    p.setColor(R.Mid, c["button"].darker(120) if name == "dark" else c["button"].darker(110))
    p.setColor(R.Dark, c["window"].darker(140))
    p.setColor(R.Light, c["window"].lighter(130))
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, c["disabled"])
    return p


def stylesheet(name: str) -> str:
    path = style_path(name)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return ""
    return text.replace("@ICONS@", ICON_DIR.replace(os.sep, "/"))


def apply_theme(name: str, app: QApplication | None = None) -> str:
    """Apply a theme to the whole application; returns the name applied."""
    if name not in THEMES:
        name = "dark"
    app = app or QApplication.instance()
    if app is None:
        return name
    sheet = stylesheet(name)
    if app.property("backpropTheme") != name or app.styleSheet() != sheet:
        # re-applying the same sheet still re-polishes every widget (0.1 s per open window)
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        app.setPalette(palette(name))
        app.setStyleSheet(sheet)
        app.setProperty("backpropTheme", name)
    try:  # the canvas draws with its own palette of the same name
        from .canvas import look
    except ImportError:  # pragma: no cover - only while the canvas is being written
        return name
    look.set_theme(name)
    return name


def current_theme() -> str:
    app = QApplication.instance()
    name = app.property("backpropTheme") if app is not None else None
    return name if name in THEMES else "dark"
