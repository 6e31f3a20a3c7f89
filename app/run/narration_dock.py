"""The Narration dock: the sentence for the current event in large type, and the pass so far below it.

It follows the run controller's cursor (position_changed) and words each event with
app.run.narration, so what a tooltip used to hide is on screen while stepping.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from . import narration_zh
from .narration import LANGS, sentence

WORDS = {"en": {"title": "Narration", "idle": "Step (F10) through a pass: each event is explained here.",
                "start": "Start of the pass: {total} events to go."},
         "zh": narration_zh.UI}
BASE_PT = 11.0  # the current sentence's size at 100 %; the UI scale multiplies it
LARGE = 1.4  # and presentation mode again by this


class NarrationDock(QDockWidget):
    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Narration", parent)
        self.setObjectName("narrationDock")
        self.controller = controller
        self.lang = "en"  # a lesson in Chinese sets "zh" while it runs (set_language)
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(8, 6, 8, 6)
        self.current = QLabel(WORDS["en"]["idle"], body)
        self.current.setObjectName("narrationCurrent")
        self.current.setWordWrap(True)
        self.current.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.current.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log = QListWidget(body)
        self.log.setObjectName("narrationLog")
        self.log.setWordWrap(True)
        self.log.setUniformItemSizes(False)
        self.log.setMinimumHeight(0)  # a short dock gives the current sentence its lines first (_fit_current)
        lay.addWidget(self.current)
        lay.addWidget(self.log, 1)
        self.setWidget(body)
        self._scroll = QTimer(self)  # owned by the dock, so it never fires after the list is gone
        self._scroll.setSingleShot(True)
        self._scroll.setInterval(0)
        self._scroll.timeout.connect(self.log.scrollToBottom)
        self._shown: list[str] = []  # sentences of events 0..cursor, as listed
        self.scale, self.large = 1.0, False
        self.set_scale(1.0)
        controller.position_changed.connect(self._position_changed)

    def set_language(self, lang: str) -> None:
        """Word the pass in `lang` ("en" or "zh"): the title, the current sentence and the list."""
        lang = lang if lang in LANGS else "en"
        if lang == self.lang:
            return
        self.lang = lang
        self.setWindowTitle(WORDS[lang]["title"])
        self._shown = []  # every listed sentence is worded again
        self._rec = None
        c = self.controller
        self._position_changed(c.cursor if c.rec is not None else -1, c.total, "")

    def set_scale(self, scale: float, large: bool = False) -> None:
        """Follow the UI scale; presentation mode (large) shows the current sentence in large type
        and gives it the log's room."""
        self.scale = float(scale)
        self.large = bool(large)
        # its own style sheet: the window's (presentation mode, UI scale) would override setFont
        self.current.setStyleSheet(f"QLabel {{ font-size: {self.point_size():.1f}pt; font-weight: bold; }}")
        self.log.setVisible(not large)
        self._fit_current()

    def _fit_current(self) -> None:
        """The current sentence whole, however many lines it wraps to at this width (at 1280x720 a
        long one lost its third line); the pass so far below takes what is left."""
        lab = self.current
        font = QFont(lab.font())
        font.setPointSizeF(self.point_size())  # as its style sheet sets it (QLabel.heightForWidth overshot)
        font.setBold(True)
        fm = QFontMetrics(font)
        box = fm.boundingRect(QRect(0, 0, max(lab.width(), 1), 100000), int(Qt.TextFlag.TextWordWrap), lab.text())
        need = min(box.height(), 5 * fm.lineSpacing()) + 4
        if lab.minimumHeight() != need:
            lab.setMinimumHeight(need)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name): the sentence rewraps to the new width
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._fit_current)

    def point_size(self) -> float:
        return BASE_PT * self.scale * (LARGE if self.large else 1.0)

    def text(self) -> str:
        return self.current.text()

    def sentences(self) -> list[str]:
        return list(self._shown)

    def _position_changed(self, cursor: int, total: int, _desc: str) -> None:
        if not self.isVisible():  # behind a tab or closed: word the pass when it is shown (Live re-runs
            self._pending = (cursor, total)  # at 30 Hz would word every event of a big net each time)
            return
        self._pending = None
        self._show_position(cursor, total)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        pending = getattr(self, "_pending", None)
        if pending is not None:
            self._pending = None
            self._show_position(*pending)

    def _show_position(self, cursor: int, total: int) -> None:
        c = self.controller
        rec = c.rec
        if rec is None or cursor < 0:
            self._shown = []
            self.log.clear()
            words = WORDS[self.lang]
            self.current.setText(words["idle"] if rec is None else words["start"].format(total=total))
            self._fit_current()
            return
        if self._stale(rec):
            self._shown = []
            self.log.clear()
        for k in range(len(self._shown), cursor + 1):
            text = sentence(c.graph, rec, k, self.lang)
            self._shown.append(text)
            item = QListWidgetItem(f"{k + 1}. {text}")
            self.log.addItem(item)
        while len(self._shown) > cursor + 1:  # stepped back
            self._shown.pop()
            self.log.takeItem(self.log.count() - 1)
        self._rec = rec
        self.current.setText(f"{cursor + 1}/{total} · {self._shown[cursor]}")
        self._fit_current()
        self.log.setCurrentRow(cursor)
        self.log.scrollToBottom()  # the current event is always the last one listed; wrapped rows
        self._scroll.start()  # get their heights in the next layout pass: scroll again then

    def _stale(self, rec) -> bool:
        """A new recorded pass: the listed sentences belong to the old one."""
        return getattr(self, "_rec", None) is not rec
