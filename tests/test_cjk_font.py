"""The shipped Chinese font: it covers GB2312 level 1 and the lessons, and it is what draws hanzi.

The machine running the tests may have its own CJK fonts (this one has Droid Sans Fallback,
which ghostscript pulls in), so "Chinese renders" is checked as "the glyphs Qt lays out for
Chinese text come from the shipped family", not merely "some glyph exists".
"""
from __future__ import annotations

import json
import os

import pytest

from app import cjk_font

pytestmark = pytest.mark.gui

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = os.path.join(ROOT, "resources", "lessons")
SAMPLE = "反向传播的梯度"


def _gb2312_level1() -> list[str]:
    """Decoded independently of tools/make_cjk_font.py: rows 16-55 of GB2312, via EUC-CN bytes."""
    out = []
    for row in range(16, 56):
        for cell in range(1, 95):
            try:
                out.append(bytes([0xA0 + row, 0xA0 + cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def _lesson_hanzi() -> set[str]:
    chars: set[str] = set()

    def walk(node):
        if isinstance(node, str):
            chars.update(c for c in node if "\u3400" <= c <= "\u9fff")
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for name in sorted(os.listdir(LESSONS)) if os.path.isdir(LESSONS) else []:
        if name.endswith(".json"):
            with open(os.path.join(LESSONS, name), encoding="utf-8") as f:
                walk(json.load(f))
    return chars


@pytest.fixture
def app(qapp):
    from app import application

    return application()


def test_the_font_file_is_small_licensed_and_named(app):
    from PySide6.QtGui import QRawFont

    path = cjk_font.font_file()
    assert os.path.getsize(path) < 3_000_000
    license_text = open(os.path.join(os.path.dirname(path), "OFL.txt"), encoding="utf-8").read()
    assert "SIL OPEN FONT LICENSE Version 1.1" in license_text and "Adobe" in license_text
    raw = QRawFont(path, 16)
    assert raw.isValid() and raw.familyName() == cjk_font.FAMILY


def test_it_covers_every_gb2312_level1_hanzi(app):
    from PySide6.QtGui import QRawFont

    level1 = _gb2312_level1()
    assert len(level1) == 3755 and "啊" in level1 and "座" in level1  # the first and the last
    raw = QRawFont(cjk_font.font_file(), 16)
    missing = [c for c in level1 if not raw.supportsCharacter(ord(c))]
    assert missing == []
    assert not raw.supportsCharacter(ord("龘"))  # outside the subset: it is a subset


def test_it_covers_every_hanzi_in_the_lessons(app):
    from PySide6.QtGui import QRawFont

    raw = QRawFont(cjk_font.font_file(), 16)
    hanzi = _lesson_hanzi()
    missing = sorted(c for c in hanzi if not raw.supportsCharacter(ord(c)))
    assert missing == [], f"rebuild with tools/make_cjk_font.py: {''.join(missing)}"


def test_the_app_font_falls_back_to_it_once(app):
    families = app.font().families()
    assert families[-1] == cjk_font.FAMILY and families.count(cjk_font.FAMILY) == 1
    assert families[0] != cjk_font.FAMILY  # Latin text keeps the UI font
    assert cjk_font.install(app) == cjk_font.FAMILY
    assert app.font().families().count(cjk_font.FAMILY) == 1


def _glyph_families(font, text: str) -> set[str]:
    from PySide6.QtGui import QTextLayout

    layout = QTextLayout(text, font)
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return {run.rawFont().familyName() for run in layout.glyphRuns()}


def test_chinese_text_is_drawn_with_the_shipped_font(app):
    from PySide6.QtGui import QFontMetrics

    font = app.font()
    assert _glyph_families(font, SAMPLE) == {cjk_font.FAMILY}
    assert cjk_font.FAMILY not in _glyph_families(font, "Backprop")  # Latin stays in the UI font
    metrics = QFontMetrics(font)
    assert all(metrics.inFontUcs4(ord(c)) for c in SAMPLE)


def _render(font, ch: str):
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter

    img = QImage(64, 64, QImage.Format.Format_Grayscale8)
    img.fill(255)
    p = QPainter(img)
    p.setFont(font)
    p.setPen(Qt.GlobalColor.black)
    p.drawText(img.rect(), Qt.AlignmentFlag.AlignCenter, ch)
    p.end()
    buf = np.frombuffer(img.constBits(), np.uint8).reshape(64, img.bytesPerLine())[:, :64]
    return buf < 128


def test_a_hanzi_renders_as_its_strokes_not_a_box(app):
    """A missing glyph draws the same hollow box for every character; hanzi differ and have
    ink inside their bounding box, not just on its border."""
    import numpy as np

    font = app.font()
    font.setPixelSize(40)
    inks = {}
    for ch in "梯度王":
        ink = _render(font, ch)
        ys, xs = np.nonzero(ink)
        assert ink.sum() > 40, ch
        inner = ink[ys.min() + 3: ys.max() - 2, xs.min() + 3: xs.max() - 2]
        assert inner.sum() > 20, f"{ch}: ink only on the border, like a missing-glyph box"
        inks[ch] = ink
    assert (inks["梯"] != inks["度"]).sum() > 50 and (inks["度"] != inks["王"]).sum() > 50


def test_an_application_made_and_themed_elsewhere_still_gets_the_font_and_the_gc_guard():
    """pytest-qt (or an embedding script) makes the QApplication and a theme may be applied before
    app.application() is called: the font and the GUI-thread collector are still installed (the
    theme being set once made application() skip both, and Chinese fell back to a system font)."""
    import subprocess
    import sys

    script = (
        "import gc, sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "qt = QApplication(sys.argv[:1])\n"
        "from app import theme, cjk_font\n"
        "theme.apply_theme('dark', qt)\n"
        "import app\n"
        "assert app.application() is qt\n"
        "print(qt.font().families()[-1], gc.isenabled())\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-400:]
    assert out.stdout.split("\n")[-2] == f"{cjk_font.FAMILY} False"
