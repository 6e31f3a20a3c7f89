"""The Babysit dock (Train > Babysit…): its checks run off the GUI thread, each verdict fills a card
with its numbers and explanation, and what it shows belongs to the document."""
from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox

import app
import graphcore as gc
from app.babysit.dock import format_numbers
from app.main_window import EXAMPLES_DIR
from graphcore.train import checks

SPIRAL = os.path.join(EXAMPLES_DIR, "spiral_2layer.json")
CIRCUIT = os.path.join(EXAMPLES_DIR, "cs231n_circuit.json")


@pytest.fixture
def win(qtbot, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitUntil(lambda: getattr(w, "train_view", None) is not None, timeout=5000)
    yield w
    w.train_view.babysit.dock.stop()


class FakeChecks(QObject):
    """Stands in for ChecksThread: emits the verdicts it is given when started."""

    verdict = Signal(object)
    finished_with = Signal(object)

    def __init__(self, verdicts):
        super().__init__()
        self.verdicts = verdicts
        self.stopped = False

    def start(self):
        for v in self.verdicts:
            self.verdict.emit(v)
        self.finished_with.emit(None)

    def request_stop(self):
        self.stopped = True

    def wait(self, ms):
        return True


def verdicts() -> list[dict]:
    return [checks.Verdict("initial_loss", checks.TITLES["initial_loss"], "pass",
                           {"loss": 1.0986, "expected": 1.0986, "classes": 3}, "within 15%", "Starts at log(3).").to_dict(),
            checks.Verdict("update_ratio", checks.TITLES["update_ratio"], "warn", {"fc1.W": 0.015},
                           "1e-4..1e-2", "The weight fc1.W changes by 0.015.").to_dict()]


def test_action_in_the_train_menu_opens_the_dock(win):
    bv = win.train_view.babysit
    assert bv.actionBabysit.objectName() == "actionBabysit"
    assert bv.actionBabysit in win.menus["train"].actions() and bv.actionSearch in win.menus["train"].actions()
    assert not bv.dock.isVisible()
    bv.actionBabysit.trigger()
    assert bv.dock.isVisible() and bv.dock.objectName() == "babysitDock"
    assert win.findChild(type(bv.dock), "babysitDock") is bv.dock


def test_each_verdict_fills_its_card_and_a_new_document_clears_them(win, qtbot):
    win.open_file(SPIRAL)
    bv = win.train_view.babysit
    bv.actionBabysit.trigger()
    bv.dock.start(FakeChecks(verdicts()))
    card = bv.dock.cards["initial_loss"]
    assert card.verdict == "pass" and card.badge.text() == "PASS"
    assert "expected 1.10" in card.numbers.text() and "classes 3" in card.numbers.text()
    assert card.explanation.text() == "Starts at log(3)." and "within 15%" in card.toolTip()
    assert bv.dock.cards["update_ratio"].badge.text() == "WARN"
    assert bv.dock.chips["initial_loss"].text() == "log C PASS" and bv.dock.chips["update_ratio"].text() == "ratio WARN"
    assert bv.dock.chips["gradient_check"].text() == "grad"  # the summary strip: every verdict at a glance
    assert bv.dock.cards["gradient_check"].verdict == "waiting"  # not sent: not shown as decided
    assert bv.dock.status.text() == "Done: 1 passed, 1 to look at, 0 failed."
    win.actionNew.trigger()
    assert all(c.verdict == "waiting" and not c.explanation.text() for c in bv.dock.cards.values())
    assert bv.dock.results == {}


def test_a_circuit_has_nothing_to_check(win):
    win.open_file(CIRCUIT)
    bv = win.train_view.babysit
    bv.dock.run_button.click()
    assert bv.dock.thread is None and "circuit" in bv.dock.status.text()


def test_numbers_are_formatted_as_the_app_formats_numbers():
    assert format_numbers({"loss": 1.0986, "accuracy": 1.0, "steps": 100, "worst": "fc1.W"}) == \
        "loss 1.10 · accuracy 100% · steps 100 · at fc1.W"


@pytest.mark.slow  # a real check run in a child process (spawn, imports, ~200 training epochs)
def test_run_checks_shows_what_graphcore_decides(win, qtbot):
    win.open_file(SPIRAL)
    bv = win.train_view.babysit
    bv.actionBabysit.trigger()
    qtbot.mouseClick(bv.dock.run_button, Qt.MouseButton.LeftButton)
    assert bv.dock.is_running() and not bv.dock.run_button.isEnabled()
    qtbot.waitUntil(lambda: not bv.dock.is_running(), timeout=120000)
    assert bv.dock.status.text().startswith("Done:"), bv.dock.status.text()
    g = gc.load(SPIRAL)
    want = {v.check: v for v in checks.run_checks(g, base_dir=EXAMPLES_DIR)}  # the same checks, in this process
    got = bv.dock.results
    assert list(got) == list(checks.TITLES)
    for check, v in want.items():
        assert got[check]["verdict"] == v.verdict, check
        assert bv.dock.cards[check].explanation.text() == v.explanation
    assert got["initial_loss"]["numbers"]["expected"] == pytest.approx(1.0986, abs=1e-4)


def test_the_open_dock_leaves_the_canvas_its_share_at_1280x720(win, qtbot):
    from app import window_layout

    win.open_file(SPIRAL)
    bv = win.train_view.babysit
    bv.actionBabysit.trigger()
    bv.dock.start(FakeChecks(verdicts()))
    qtbot.wait(200)
    fw, fh = window_layout.canvas_share(win)
    assert fw >= 0.6 and fh >= 0.6, f"canvas {win.view.width()}x{win.view.height()}"
    assert bv.dock.chips["update_ratio"].width() <= bv.dock.width() // 3
