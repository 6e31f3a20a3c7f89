"""The Run toolbar: Forward, Backward, Step, Step back, Play, Reset, Gradient check, speed and Live."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontMetrics, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider, QToolBar, QWidget

from .controller import RunController

POSITION_MAX_W = 200  # px: the position label must not push the toolbar past 1280 px
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
        self.speedSlider.setFixedWidth(110)
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
        self.positionLabel = QLabel("", self)
        self.positionLabel.setObjectName("runPositionLabel")
        self.positionLabel.setMinimumWidth(120)
        self.positionLabel.setMaximumWidth(POSITION_MAX_W)
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
        if total == 0:
            full = "  no pass yet"
        else:
            full = f"  event {cursor + 1}/{total}: {desc}"
        # the full sentence is in the Narration dock; here it is elided so the toolbar never overflows
        fm = QFontMetrics(self.positionLabel.font())
        self.positionLabel.setText(fm.elidedText(full, Qt.TextElideMode.ElideRight, POSITION_MAX_W - 8))
        self.positionLabel.setToolTip(full.strip())
