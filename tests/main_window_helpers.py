"""Shared by the main window tests: settings and autosaves in tmp, message boxes answered by the test
(`isolated`, autouse where imported), a shown window (`win`) and small edits."""
import os
import shutil

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

import app
from app.main_window import EXAMPLES_DIR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CIRCUIT = os.path.join(EXAMPLES_DIR, "cs231n_circuit.json")
B = QMessageBox.StandardButton


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Settings and autosaves in tmp; dialogs answered by the test (default: Discard, record errors)."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    calls = {"question": [], "critical": []}
    answers = {"question": B.Discard}
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: calls["question"].append(a[2]) or answers["question"])
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: calls["critical"].append(a[2]) or B.Ok)
    monkeypatch.setattr(QMessageBox, "about", lambda *a, **k: calls.setdefault("about", []).append(a[2]))
    yield calls, answers
    app.theme.apply_theme("dark")


@pytest.fixture
def dialogs(isolated):
    return isolated


@pytest.fixture
def win(qtbot):
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def circuit_copy(tmp_path) -> str:
    dst = tmp_path / "circuit.json"
    shutil.copy(CIRCUIT, dst)
    return str(dst)


def add_node(w, op="relu", pos=(0, 0)):
    return w.scene.add_node(op, pos)


def forget_changes(w) -> None:
    """Before the window closes: its document counts as saved, so no modal prompt blocks the run."""
    w.document.undo_stack.setClean()
    w.document.mark_saved()


def shown_window(qtbot, width: int = 1280, height: int = 720):
    """A main window of that size, shown and exposed; a failed assert never leaves a save prompt."""
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w, before_close_func=forget_changes)
    w.resize(width, height)
    w.show()
    qtbot.waitExposed(w)
    return w


def started_lesson(qtbot, lesson_id: str, width: int = 1280, height: int = 720):
    """A shown window running the lesson in English, from its first step (set BACKPROP_STUDIO_DATA_DIR
    to a tmp folder first: lesson progress is kept per user). Returns (window, lesson dock)."""
    w = shown_window(qtbot, width, height)
    qtbot.waitUntil(lambda: w.train_view is not None)
    dock = w.lesson_view.open()
    dock.set_language("en")
    dock.select_lesson(lesson_id)
    assert dock.start(unsaved="discard")
    return w, dock

