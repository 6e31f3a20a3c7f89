"""Autosave every few edits, cleanup on save/close, and crash recovery (a real crashed process)."""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QUndoStack

import graphcore as gc

from app import autosave
from app.commands import AddNodeCommand, RenameCommand
from app.document import Document

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    yield


def files(folder):
    return sorted(os.listdir(folder))


def test_data_dir_follows_the_environment(tmp_path):
    assert autosave.autosave_dir() == str(tmp_path / "data" / "autosave")


def test_writes_after_every_n_edits_and_cleans_up_on_save(qtbot, tmp_path):
    doc = Document()
    saver = autosave.Autosaver(doc, every=3)
    folder = autosave.autosave_dir()
    for k in range(2):
        doc.undo_stack.push(AddNodeCommand(doc.graph, "input", (k * 10, 0)))
    assert files(folder) == []  # two edits: not yet
    doc.undo_stack.push(AddNodeCommand(doc.graph, "relu", (50, 0)))
    assert len(files(folder)) == 2  # graph + meta after the third
    assert gc.load(saver.file) == doc.graph
    meta = json.load(open(saver.meta_file))
    assert meta["path"] is None and meta["pid"] == os.getpid()
    doc.save(str(tmp_path / "g.json"))
    assert files(folder) == []  # a clean save leaves nothing to recover
    saver.close()


def test_idle_timer_saves_pending_edits(qtbot):
    doc = Document()
    saver = autosave.Autosaver(doc, every=100, idle_ms=20)
    doc.undo_stack.push(AddNodeCommand(doc.graph, "input", (0, 0)))
    qtbot.waitUntil(lambda: os.path.exists(saver.file), timeout=2000)
    saver.close()
    assert not os.path.exists(saver.file)


def test_live_autosaves_are_not_offered_for_recovery(qtbot):
    doc = Document()
    saver = autosave.Autosaver(doc, every=1)
    doc.undo_stack.push(AddNodeCommand(doc.graph, "input", (0, 0)))
    assert os.path.exists(saver.file)
    assert autosave.find_recoverable() == []
    saver.close()


def test_stale_autosave_older_than_its_file_is_dropped(tmp_path):
    folder = autosave.autosave_dir()
    g = gc.Graph()
    g.add("input", value=1.0)
    target = tmp_path / "mine.json"
    gc.save(g, folder + "/dead.json")
    json.dump({"path": str(target), "saved_at": time.time() - 100, "pid": 999_999_999},
              open(folder + "/dead.meta.json", "w"))
    gc.save(g, target)  # saved after the autosave
    assert autosave.find_recoverable() == []
    assert files(folder) == []


def test_corrupt_meta_is_removed(tmp_path):
    folder = autosave.autosave_dir()
    open(folder + "/x.meta.json", "w").write("{not json")
    open(folder + "/x.json", "w").write("{}")
    assert autosave.find_recoverable() == []
    assert files(folder) == []


CRASH = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    import app
    from app.commands import AddNodeCommand, RenameCommand
    w = app.create_main_window(offer_recovery=False)
    doc = w.document
    x = None
    for k in range(5):   # the default autosave interval
        cmd = AddNodeCommand(doc.graph, "input", (k * 100, 0), name=f"v{{k}}")
        doc.undo_stack.push(cmd)
    doc.undo_stack.push(RenameCommand(doc.graph, cmd.node_id, "last"))
    print(len(doc.graph.nodes), flush=True)
    os._exit(3)          # crash: no close event, no cleanup
""")


def test_recovery_after_a_real_crash(qtbot, tmp_path, monkeypatch):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-c", CRASH.format(root=ROOT)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 3, r.stderr
    assert r.stdout.strip() == "5"
    found = autosave.find_recoverable()
    assert len(found) == 1
    crashed = found[0].load()
    assert [n.name for n in crashed.nodes.values()] == ["v0", "v1", "v2", "v3", "v4"]  # autosaved after 5 edits

    import app
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    w = app.create_main_window(offer_recovery=True)
    qtbot.addWidget(w)
    assert len(asked) == 1 and "did not close properly" in asked[0]
    assert w.document.graph == crashed
    assert w.document.modified and w.windowTitle().startswith("Untitled*")
    # the old session's files are gone; the new session holds the recovered graph
    assert [f for f in files(autosave.autosave_dir()) if not f.startswith(f"{os.getpid()}-")] == []
    assert autosave.find_recoverable() == []
    w.document.undo_stack.clear()
    w.document.mark_saved(str(tmp_path / "kept.json"))  # pretend saved so closing does not ask
    w.close()


def test_declining_recovery_discards_it(qtbot, monkeypatch):
    folder = autosave.autosave_dir()
    g = gc.Graph()
    g.add("input", value=1.0)
    gc.save(g, folder + "/dead.json")
    json.dump({"path": None, "saved_at": time.time(), "pid": 999_999_999}, open(folder + "/dead.meta.json", "w"))
    import app
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    w = app.create_main_window(offer_recovery=True)
    qtbot.addWidget(w)
    assert len(w.document.graph.nodes) == 0
    assert files(folder) == []


def test_no_prompt_when_recovery_is_skipped(qtbot, monkeypatch):
    folder = autosave.autosave_dir()
    g = gc.Graph()
    g.add("input", value=1.0)
    gc.save(g, folder + "/dead.json")
    json.dump({"path": None, "saved_at": time.time(), "pid": 999_999_999}, open(folder + "/dead.meta.json", "w"))
    import app
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("must not ask"))
    w = app.create_main_window()  # the test environment sets BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT=1
    qtbot.addWidget(w)
    assert len(w.document.graph.nodes) == 0
    assert len(autosave.find_recoverable()) == 1  # still there for a real start


def test_trained_weights_applied_to_an_already_modified_document_are_autosaved(qtbot):
    """mark_modified (the training controller copying weights in) writes the autosave at once,
    even when the document was already modified and no undo command was pushed."""
    import numpy as np

    doc = Document()
    saver = autosave.Autosaver(doc, every=100, idle_ms=60_000)
    nid = doc.graph.add("param", name="W", value=np.zeros((2, 2)))
    doc.undo_stack.push(RenameCommand(doc.graph, nid, "weights"))  # modified, but no autosave yet
    assert doc.modified and not os.path.exists(saver.file)
    doc.graph.set_tensor(nid, "value", np.full((2, 2), 0.5))  # what TrainController._apply does
    doc.mark_modified()
    assert os.path.exists(saver.file)
    assert np.array_equal(gc.load(saver.file).nodes[nid].tensors["value"], np.full((2, 2), 0.5))
    saver.close()


def test_a_recovered_graph_remembers_the_users_file_not_the_autosave_folder(tmp_path):
    """Training data paths resolve from the graph's file: a recovered graph must point at the file the
    user was editing (or at none, when untitled), never into the autosave folder."""
    folder = autosave.autosave_dir()
    os.makedirs(folder, exist_ok=True)
    g = gc.Graph()
    g.add("input", value=1.0)
    graph_file = os.path.join(folder, "recover.json")
    gc.save(g, graph_file)
    mine = str(tmp_path / "work" / "net.json")
    assert autosave.Recovery(graph_file, graph_file + ".meta", mine, 0.0).load().file == mine
    assert autosave.Recovery(graph_file, graph_file + ".meta", None, 0.0).load().file is None
    assert gc.load(graph_file).file == os.path.abspath(graph_file)  # what it was before the fix
