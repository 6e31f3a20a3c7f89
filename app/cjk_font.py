"""The shipped Chinese font: registered once at startup, placed behind the UI font.

Lessons come in Simplified Chinese, and a machine without a CJK font would draw each hanzi as
an empty box. resources/fonts/ holds a subset of Noto Sans CJK SC (OFL; rebuilt by
tools/make_cjk_font.py) covering the GB2312 level-1 hanzi and every character of the shipped
lessons. The application font's family list becomes [UI family, that subset], so Latin text
keeps the UI font and Qt takes every glyph the UI font lacks from the subset first, before
whatever the system may have.
"""
from __future__ import annotations

import os

FAMILY = "Backprop Studio CJK"
FILE_NAME = "BackpropStudioCJK-Regular.otf"
_PROPERTY = "backpropCjkFamily"


def font_file() -> str:
    """The shipped font file (in resources/fonts/, installed as package data)."""
    from backprop_studio_resources import root

    return os.path.join(root(), "fonts", FILE_NAME)


def install(app) -> str | None:
    """Register the font with Qt and append its family to the app font's families, once.

    Returns the registered family, or None when the file could not be loaded (the app then
    runs on with the system's fonts: Chinese may show boxes, nothing else changes).
    """
    from PySide6.QtGui import QFont, QFontDatabase, QFontInfo

    done = app.property(_PROPERTY)
    if done:
        return str(done)
    font_id = QFontDatabase.addApplicationFont(font_file())
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        return None
    family = families[0]
    font = QFont(app.font())
    # The default family is often an alias ("Sans Serif") that a family list does not resolve:
    # Qt would skip it and draw Latin text with the CJK font too. Name the family Qt really uses.
    current = [QFontInfo(font).family()]
    if family not in current:
        font.setFamilies(current + [family])
        app.setFont(font)
    app.setProperty(_PROPERTY, family)
    return family
