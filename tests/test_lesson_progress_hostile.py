"""A lesson-progress file that is corrupt or hostile must never stop the lesson dock from opening:
JSON nested deeper than Python's stack, a FIFO where the file should be (open() would block the GUI
forever), a step beyond the lesson's last."""
from __future__ import annotations

import json
import os
import threading

import pytest
from PySide6.QtWidgets import QApplication

import app
from app.lessons import progress


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    return tmp_path


def test_json_nested_beyond_the_stack_starts_over(data_dir):
    (data_dir / progress.FILE).write_text("[" * 200_000 + "]" * 200_000)
    assert progress.load() == {}


def test_a_fifo_in_place_of_the_file_starts_over_without_blocking(data_dir):
    fifo = data_dir / progress.FILE
    os.mkfifo(fifo)
    result = []
    t = threading.Thread(target=lambda: result.append(progress.load()), daemon=True)
    t.start()
    t.join(10)
    blocked = t.is_alive()
    if blocked:  # free the reader the old code left waiting, so the test run can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        t.join(10)
    assert not blocked, "progress.load() blocked on a FIFO"
    assert result == [{}]


def test_the_dock_opens_over_a_hostile_progress_file_and_shows_a_sane_step(qtbot, data_dir):
    (data_dir / progress.FILE).write_text(json.dumps({"version": 1, "lessons": {"gates": {"step": 999}}}))
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    w.findChild(type(w.lesson_view.action), "actionLessons").trigger()
    QApplication.processEvents()
    dock = w.lesson_view.dock
    assert dock is not None and dock.isVisible()
    dock.set_language("en")
    gates = next(i for i in range(dock.list.count()) if dock.list.item(i).text().startswith("1. "))
    n = len(dock.lessons[gates].steps)
    assert dock.list.item(gates).text().endswith(f"  {n}/{n}"), dock.list.item(gates).text()
