"""The README's "Scripting the app" example runs as printed and never stops at the recovery dialog,
even when a crashed session left an autosave (the dialog would block a script nobody answers)."""
from __future__ import annotations

import json
import os
import re
import time

import pytest
from PySide6.QtCore import QSettings

import graphcore as gc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scripting_example() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- scripting-example -->\n```python\n(.*?)```", text, re.S)
    assert m, "README.md has no scripting example"
    return m.group(1)


@pytest.mark.gui
def test_the_readme_scripting_example_runs_past_a_crashed_sessions_autosave(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    import app
    from app import autosave

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(app.NO_RECOVERY_ENV, raising=False)  # as in a user's own script
    folder = autosave.autosave_dir()
    g = gc.Graph()
    g.add("input", value=1.0)
    gc.save(g, os.path.join(folder, "dead.json"))
    with open(os.path.join(folder, "dead.meta.json"), "w", encoding="utf-8") as f:
        json.dump({"path": None, "saved_at": time.time(), "pid": 999_999_999}, f)
    assert len(autosave.find_recoverable()) == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("a script must not be asked"))
    monkeypatch.chdir(tmp_path)
    code = scripting_example()
    assert "offer_recovery=False" in code
    ns: dict = {}
    exec(compile(code, "README.md scripting example", "exec"), ns)
    qtbot.addWidget(ns["win"])
    assert os.path.getsize(tmp_path / "circuit.png") > 1000
    assert ns["win"].document.graph.find("f")  # the example's graph is open
    assert len(autosave.find_recoverable()) == 1  # kept for the next interactive start
