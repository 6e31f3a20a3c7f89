"""The Run toolbar: Forward, Backward, Step, Step back, Play, Reset, Gradient check, speed and Live."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSizePolicy, QSlider, QToolBar, QWidget

from .controller import EDITOR_MODE, RunController

POSITION_MIN_W = 120  # px: the least the position label keeps when the toolbar is short of room
MODE_TIP = ("Passes in the editor run in eval mode; training uses train mode. In eval mode batchnorm normalises "
            "with its running statistics and dropout is the identity, so Forward never changes the document "
            "(only training updates the running statistics).")
SPEEDS = (0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)  # events per second, slider positions


class RunToolbar(QToolBar):
    """Buttons that drive a RunController; `gradcheck` is called by actionGradCheck."""

    def __init__(self, controller: RunController, parent: QWidget | None = None, gradcheck=None) -> None:
        super().__init__("Run", parent)
        self.setObjectName("runToolbar")
        self.controller = controller
        self._gradcheck = gradcheck

        def action(name: str, text: str, tip: str, slot, shortcut: str | None = None) -> QAction:
            a = QAction(text, self)
            a.setObjectName(name)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                tip = f"{tip} ({shortcut})"
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        c = controller
        self.actionForward = action("actionForward", "Forward", "Run the forward pass: every wire shows its value",
                                    c.forward, "F5")
        self.actionBackward = action("actionBackward", "Backward",
                                     "Run forward and backward: every wire shows its gradient below it", c.backward,
                                     "F6")
        self.addSeparator()
        self.actionStepBack = action("actionStepBack", "◀ Back", "Go back one event", c.step_back, "Shift+F10")
        self.actionStep = action("actionStep", "Step ▶",
                                 "One event: a node forward, the seed, or one wire's gradient", c.step, "F10")
        self.actionPlay = action("actionPlay", "Play", "Animate the whole pass at the chosen speed", c.toggle_play,
                                 "F7")
        self.actionPlay.setCheckable(True)
        self.actionReset = action("actionReset", "Reset", "Clear every label", c.reset, "Ctrl+F5")
        self.addSeparator()
        self.speedSlider = QSlider(Qt.Orientation.Horizontal, self)
        self.speedSlider.setObjectName("speedSlider")
        self.speedSlider.setRange(0, len(SPEEDS) - 1)
        self.speedSlider.setValue(SPEEDS.index(4))
        self.speedSlider.setFixedWidth(88)  # narrower than it was: the pass position gets the room at 1280 px
        self.speedSlider.setToolTip("Play speed (events per second)")
        self.speedSlider.valueChanged.connect(self._speed_changed)
        self.speedLabel = QLabel(self)
        self.speedLabel.setObjectName("speedLabel")
        self.addWidget(QLabel(" Speed ", self))
        self.addWidget(self.speedSlider)
        self.addWidget(self.speedLabel)
        self.addSeparator()
        self.actionLive = action("actionLive", "Live",
                                 "Re-run forward and backward on every value or param edit (about 30 per second)",
                                 lambda on: c.set_live(on))
        self.actionLive.setCheckable(True)
        self.actionGradCheck = action("actionGradCheck", "Grad check",
                                      "Compare every gradient with centred differences: wires turn green or red",
                                      self._run_gradcheck)
        self._scrub_anchor = self.addSeparator()
        # which mode the editor's passes run in: shown, not switchable (a train-mode Forward would
        # write batchnorm statistics into the document behind the student's back)
        self.modeIndicator = QLabel(f" {EDITOR_MODE} ", self)
        self.modeIndicator.setObjectName("runModeIndicator")
        self.modeIndicator.setEnabled(False)
        self.modeIndicator.setToolTip(MODE_TIP)
        self.modeIndicator.setStyleSheet("QLabel { border: 1px solid #6b7280; border-radius: 3px; padding: 0 2px; }")
        self.addWidget(self.modeIndicator)
        self.positionLabel = ElidedLabel(self)
        self.positionLabel.setObjectName("runPositionLabel")
        self.addWidget(self.positionLabel)

        c.position_changed.connect(self._position_changed)
        c.playing_changed.connect(self.actionPlay.setChecked)
        self._speed_changed(self.speedSlider.value())
        self._position_changed(-1, 0, "")

    def add_scrub(self, widget: QWidget) -> None:
        """Place the scrub control (it needs the document, so the RunView makes it) before the position."""
        self.insertWidget(self._scrub_anchor, widget)

    def set_gradcheck(self, fn) -> None:
        self._gradcheck = fn

    def _run_gradcheck(self) -> None:
        if self._gradcheck is not None:
            self._gradcheck()

    def _speed_changed(self, pos: int) -> None:
        speed = SPEEDS[pos]
        self.controller.set_speed(speed)
        self.speedLabel.setText(f"{speed:g}/s ")

    def _position_changed(self, cursor: int, total: int, desc: str) -> None:
        self.actionStepBack.setEnabled(cursor >= 0)
        full = "no pass yet" if total == 0 else f"event {cursor + 1}/{total}: {desc}"
        self.positionLabel.set_full_text(full)


class ElidedLabel(QLabel):
    """A label that takes the toolbar's spare width and elides its text to what it gets (the whole
    text is its tooltip, and the Narration dock's sentence): the counter and the phase come first,
    so they stay readable when the node names do not fit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(POSITION_MIN_W)
        self.setContentsMargins(6, 0, 6, 0)

    def set_full_text(self, text: str) -> None:
        self.full = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name): the whole text, so a wide window shows all of it
        m = self.contentsMargins()
        return QSize(self.fontMetrics().horizontalAdvance(self.full) + m.left() + m.right() + 4,
                     super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(POSITION_MIN_W, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideRight, max(0, room))
        if shown != self.text():
            self.setText(shown)
