"""The Babysit dock ("babysitDock"): runs the notes' sanity checks on the open graph and shows each
verdict (pass / warn / fail / n/a) with its numbers, a one-line explanation and the rule it applied.

It shows what graphcore.train.checks decides and computes nothing itself; the checks run in a child
process (threads.ChecksThread). What it shows belongs to the document: `clear()` on New/Open.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDockWidget, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from graphcore.numfmt import fmt_number
from graphcore.train.checks import TITLES

BADGE = {"pass": ("PASS", "#2e7d32"), "warn": ("WARN", "#b26a00"), "fail": ("FAIL", "#c62828"),
         "n/a": ("N/A", "#6b7280"), "running": ("…", "#3b82f6"), "waiting": ("–", "#4b5058")}
SHORT = {"initial_loss": "log C", "reg_raises_loss": "reg", "overfit": "overfit", "update_ratio": "ratio",
         "loss_curve": "curve", "gradient_check": "grad"}
NUMBER_NAMES = {"loss": "loss", "expected": "expected", "ratio": "ratio", "classes": "classes",
                "loss_reg_off": "loss λ=0", "loss_reg_on": "loss λ on", "strength": "λ", "examples": "examples",
                "epochs": "epochs", "start_loss": "start", "accuracy": "accuracy", "first": "first", "last": "last",
                "max": "max", "steps": "steps", "drop_fraction": "drop", "progress_first_fifth": "first fifth",
                "progress_second_half": "second half", "max_relative_error": "max rel. error", "worst": "at",
                "arrays": "arrays", "shape": "shape", "non_finite_at_step": "NaN at step"}


def format_numbers(numbers: dict) -> str:
    """"loss 1.10 · expected 1.10 · ratio 1.00": every number the verdict was decided on."""
    parts = []
    for k, v in numbers.items():
        name = NUMBER_NAMES.get(k, k)
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)):
            text = fmt_number(v) if isinstance(v, float) else str(v)
            if k in ("accuracy", "drop_fraction", "progress_first_fifth", "progress_second_half"):
                text = f"{100 * v:.0f}%"
        else:
            text = str(v)
        parts.append(f"{name} {text}")
    return " · ".join(parts)


class CheckCard(QFrame):
    """One check: a coloured verdict badge and its title, the explanation, then its numbers; the rule it
    applied is the card's tooltip (the dock is often short: three lines per check)."""

    def __init__(self, check: str, parent=None) -> None:
        super().__init__(parent)
        self.check = check
        self.setObjectName(f"babysitCheck_{check}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(2)
        top = QHBoxLayout()
        self.badge = QLabel()
        self.badge.setObjectName("verdictBadge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setFixedWidth(48)
        top.addWidget(self.badge)
        self.title = QLabel(TITLES.get(check, check))
        self.title.setObjectName("checkTitle")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.title.setWordWrap(True)
        top.addWidget(self.title, 1)
        lay.addLayout(top)
        self.explanation = QLabel()
        self.explanation.setObjectName("checkExplanation")
        self.explanation.setWordWrap(True)
        self.numbers = QLabel()
        self.numbers.setObjectName("checkNumbers")
        self.numbers.setWordWrap(True)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.numbers.setEnabled(False)  # the palette's dim text: the figures behind the sentence above
        self.rule = ""
        for w in (self.explanation, self.numbers):
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            lay.addWidget(w)
        self.verdict = "waiting"
        self.set_state("waiting")

    def set_state(self, verdict: str, data: dict | None = None) -> None:
        self.verdict = verdict
        text, colour = BADGE.get(verdict, BADGE["n/a"])
        self.badge.setText(text)
        self.badge.setStyleSheet(f"background:{colour}; color:white; border-radius:3px; font-weight:bold;"
                                 "padding:1px 2px;")
        data = data or {}
        self.numbers.setText(format_numbers(data.get("numbers", {})))
        self.explanation.setText(data.get("explanation", "running…" if verdict == "running" else ""))
        self.rule = data.get("rule", "")
        self.setToolTip(f"Rule: {self.rule}" if self.rule else "")
        for w in (self.numbers, self.explanation):
            w.setVisible(bool(w.text()))


class BabysitDock(QDockWidget):
    """Run checks / Stop, a status line and one card per check. Emits `run_requested`; the owner
    (attach.BabysitView) gathers the document's settings and calls `start(thread)`."""

    run_requested = Signal()
    room_wanted = Signal()  # the cards' text changed: the right column may be split again

    def __init__(self, parent=None) -> None:
        super().__init__("Babysit", parent)
        self.setObjectName("babysitDock")
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(6)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run checks")
        self.run_button.setObjectName("babysitRunButton")
        self.run_button.setToolTip("The notes' sanity checks before a long run, on a copy of the graph with the "
                                   "Train panel's settings (the graph is not changed)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("babysitStopButton")
        self.stop_button.setEnabled(False)
        row.addWidget(self.run_button)
        row.addWidget(self.stop_button)
        row.addStretch(1)
        outer.addLayout(row)
        self.status = QLabel("")
        self.status.setObjectName("babysitStatus")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        # every verdict at a glance (the dock is often short); a chip scrolls to its card. Three to a row,
        # and never wider than the dock: the strip must not push the canvas below its share of the window
        strip_box = QWidget()
        strip_box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        strip = QGridLayout(strip_box)
        strip.setContentsMargins(0, 0, 0, 0)
        strip.setSpacing(3)
        self.chips: dict[str, QToolButton] = {}
        for i, check in enumerate(TITLES):
            chip = QToolButton()
            chip.setObjectName(f"babysitChip_{check}")
            chip.setAutoRaise(True)
            chip.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            chip.clicked.connect(lambda _=False, c=check: self._scroll_to(c))
            strip.addWidget(chip, i // 3, i % 3)
            self.chips[check] = chip
        outer.addWidget(strip_box)
        cards = QWidget()
        self.cards_layout = QVBoxLayout(cards)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        self.cards_layout.setSpacing(4)
        self.cards = {check: CheckCard(check) for check in TITLES}
        for card in self.cards.values():
            self.cards_layout.addWidget(card)
        self.cards_layout.addStretch(1)
        self.scroll = scroll = QScrollArea()
        scroll.setObjectName("babysitScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(cards)
        outer.addWidget(scroll, 1)
        self.setWidget(body)
        self.thread = None
        self.results: dict[str, dict] = {}  # check id -> the verdict shown (tests and lessons read it)
        self.run_button.clicked.connect(self.run_requested)
        self.stop_button.clicked.connect(self.stop)
        self.clear()

    def wanted_height(self) -> int:
        """The dock's height with every card in view at its current width, no scrolling."""
        cards = self.scroll.widget()
        width = max(80, self.scroll.viewport().width())
        lay = cards.layout()
        content = lay.heightForWidth(width) if lay.hasHeightForWidth() else cards.sizeHint().height()
        body = self.widget().layout().sizeHint().height()
        title = self.height() - self.widget().height()
        tab_bar = 32  # resizeDocks counts the tab bar of the group the dock sits in
        return title + body - self.scroll.sizeHint().height() + content + tab_bar

    def _scroll_to(self, check: str) -> None:
        self.scroll.ensureWidgetVisible(self.cards[check], 0, 0)

    def _show_chip(self, check: str) -> None:
        card = self.cards[check]
        text, colour = BADGE.get(card.verdict, BADGE["n/a"])
        chip = self.chips[check]
        chip.setText(f"{SHORT[check]} {text}" if card.verdict not in ("waiting", "running") else SHORT[check])
        chip.setToolTip(f"{card.title.text()}: {card.explanation.text() or card.verdict}")
        chip.setStyleSheet(f"QToolButton {{ background:{colour}; color:white; border-radius:3px; padding:1px 4px; }}")

    # ---------------------------------------------------------------- the run
    def is_running(self) -> bool:
        return self.thread is not None

    def start(self, thread) -> None:
        """Show a run of `thread` (a ChecksThread, not yet started): its verdicts fill the cards in order."""
        self.stop()
        self.clear()
        self.thread = thread
        thread.verdict.connect(self._on_verdict)
        thread.finished_with.connect(self._on_finished)
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        first = next(iter(self.cards))
        self.cards[first].set_state("running")
        self._show_chip(first)
        self.status.setText("Running the checks on a copy of the graph…")
        thread.start()

    def stop(self) -> None:
        t = self.thread
        if t is None:
            return
        for sig, slot in ((t.verdict, self._on_verdict), (t.finished_with, self._on_finished)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        t.request_stop()
        t.wait(5000)
        self.thread = None
        self._idle("Stopped.")

    def clear(self) -> None:
        """Nothing shown (a new document): every card waits."""
        self.results.clear()
        for card in self.cards.values():
            card.set_state("waiting")
        for check in self.chips:
            self._show_chip(check)
        if self.thread is None:
            self._idle("Press Run checks: initial loss, regularisation, overfitting 20 examples, the "
                       "update/weight ratio, the loss curve and a gradient check.")

    def _idle(self, text: str) -> None:
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.status.setText(text)

    def _on_verdict(self, v: dict) -> None:
        self.results[v["check"]] = v
        card = self.cards.get(v["check"])
        if card is not None:
            card.set_state(v["verdict"], v)
        order = list(self.cards)
        i = order.index(v["check"]) if v["check"] in order else -1
        if 0 <= i < len(order) - 1:
            self.cards[order[i + 1]].set_state("running")
        for check in self.chips:
            self._show_chip(check)
        self.room_wanted.emit()

    def _on_finished(self, outcome) -> None:
        self.thread = None
        for check, card in self.cards.items():
            if card.verdict == "running":
                card.set_state("waiting")
            self._show_chip(check)
        if outcome is None:
            counts = {k: sum(1 for v in self.results.values() if v["verdict"] == k) for k in ("pass", "warn", "fail")}
            self._idle(f"Done: {counts['pass']} passed, {counts['warn']} to look at, {counts['fail']} failed.")
        else:
            self._idle("Stopped." if outcome == "stopped" else f"The checks could not run: {outcome}")
