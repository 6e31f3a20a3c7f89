"""The main window's file life cycle: open, save, unsaved-changes prompts, recent files, examples,
dropped files and image export."""
import os
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

import graphcore as gc

import app
from app import settings as app_settings
from app.main_window import example_files
from main_window_helpers import B, CIRCUIT, add_node, circuit_copy, dialogs, isolated, win  # noqa: F401  (fixtures)


# ---------------------------------------------------------------- open / save
def test_save_open_round_trip(win, tmp_path):
    assert win.open_file(circuit_copy(tmp_path))
    original = gc.load(CIRCUIT)
    assert win.document.graph == original
    nid = add_node(win, "sigmoid", (400, 300))
    out = str(tmp_path / "out.json")
    assert win.save_file(out)
    edited = win.document.graph.copy()
    assert win.new_file()
    assert len(win.document.graph.nodes) == 0
    assert win.open_file(out)
    assert win.document.graph == edited and nid in win.document.graph.nodes
    assert win.document.path == out and not win.document.modified


def test_bad_file_shows_the_loader_message_and_keeps_the_graph(win, tmp_path, dialogs):
    calls, _ = dialogs
    assert win.open_file(circuit_copy(tmp_path))
    add_node(win, "relu", (500, 0))
    before_doc, before = win.document, win.document.graph.copy()
    bad = tmp_path / "bad.json"
    text = open(CIRCUIT).read().replace('"op": "max"', '"op": 42')
    bad.write_text(text)
    assert win.open_file(str(bad)) is False
    assert len(calls["critical"]) == 1
    assert "nodes[5].op: must be" in calls["critical"][0] and "bad.json" in calls["critical"][0]
    assert calls["question"] == []  # a file that does not load never asks about unsaved changes
    assert win.document is before_doc and win.document.graph == before and win.document.modified
    assert win.open_file(str(tmp_path / "missing.json")) is False
    assert "cannot read the file" in calls["critical"][1]
    not_json = tmp_path / "x.json"
    not_json.write_text("{oops")
    assert win.open_file(str(not_json)) is False
    assert "not valid JSON" in calls["critical"][2]
    assert win.document is before_doc


def test_create_main_window_with_a_path(qtbot, tmp_path, dialogs):
    w = app.create_main_window(circuit_copy(tmp_path), offer_recovery=False)
    qtbot.addWidget(w)
    assert w.document.graph == gc.load(CIRCUIT)
    assert w.windowTitle() == "circuit.json — Backprop Studio"
    w2 = app.create_main_window(str(tmp_path / "nope.json"), offer_recovery=False)
    qtbot.addWidget(w2)
    assert len(w2.document.graph.nodes) == 0 and len(dialogs[0]["critical"]) == 1


def test_save_error_is_reported_not_raised(win, tmp_path, dialogs):
    add_node(win)
    assert win.save_file(str(tmp_path / "no" / "such" / "dir" / "g.json")) is False
    assert "Could not save g.json" in dialogs[0]["critical"][0]
    assert win.document.modified


def test_save_as_adds_json_suffix(win, tmp_path, monkeypatch):
    add_node(win)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "named"), ""))
    assert win.actionSave.isEnabled()
    win.actionSave.trigger()  # untitled: Save goes through Save As
    assert win.document.path == str(tmp_path / "named.json")
    assert gc.load(tmp_path / "named.json") == win.document.graph


# ---------------------------------------------------------------- unsaved changes
def test_unsaved_prompt_cancel_keeps_everything(win, dialogs):
    calls, answers = dialogs
    nid = add_node(win)
    answers["question"] = B.Cancel
    assert win.new_file() is False
    assert len(calls["question"]) == 1 and "Save the changes to Untitled" in calls["question"][0]
    assert nid in win.document.graph.nodes
    assert win.open_file(CIRCUIT, example=True) is False
    assert nid in win.document.graph.nodes
    assert win.close() is False and win.isVisible()


def test_unsaved_prompt_discard(win, dialogs):
    calls, answers = dialogs
    add_node(win)
    answers["question"] = B.Discard
    assert win.open_example(CIRCUIT)
    assert win.document.graph == gc.load(CIRCUIT)
    assert win.document.path is None and win.windowTitle() == "cs231n_circuit.json — Backprop Studio"


def test_unsaved_prompt_save(win, dialogs, tmp_path):
    calls, answers = dialogs
    path = circuit_copy(tmp_path)
    win.open_file(path)
    nid = add_node(win, "exp", (600, 0))
    answers["question"] = B.Save
    assert win.new_file()
    assert nid in gc.load(path).nodes  # saved before the new graph replaced it
    assert len(win.document.graph.nodes) == 0


def test_close_with_unsaved_changes_asks(win, dialogs, tmp_path):
    calls, answers = dialogs
    add_node(win)
    answers["question"] = B.Cancel
    assert win.close() is False
    answers["question"] = B.Discard
    assert win.close() is True
    assert len(calls["question"]) == 2


def test_unmodified_document_never_asks(win, dialogs):
    assert win.new_file() and win.open_example(CIRCUIT) and win.close()
    assert dialogs[0]["question"] == []


# ---------------------------------------------------------------- recent files and examples
def test_recent_files(win, tmp_path):
    paths = []
    for k in range(12):
        p = str(tmp_path / f"g{k}.json")
        shutil.copy(CIRCUIT, p)
        paths.append(p)
        assert win.open_file(p)
    recent = app_settings.recent_files()
    assert recent == list(reversed(paths))[:10]  # newest first, capped at 10
    win.open_file(paths[5])
    assert app_settings.recent_files()[0] == paths[5] and len(app_settings.recent_files()) == 10
    win._fill_recent_menu()
    actions = [a for a in win.recent_menu.actions() if a.data()]
    assert [a.data() for a in actions] == app_settings.recent_files()
    os.unlink(paths[11])
    win._open_recent(paths[11])
    assert paths[11] not in app_settings.recent_files()


def test_recent_files_persist_across_windows(qtbot, win, tmp_path):
    p = circuit_copy(tmp_path)
    win.open_file(p)
    w2 = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w2)
    assert [a.data() for a in w2.recent_menu.actions() if a.data()] == [p]


@pytest.mark.parametrize("path", example_files(), ids=os.path.basename)
def test_every_example_opens_without_problems(win, path, qtbot):
    assert win.open_example(path)
    assert win.document.path is None
    assert win.document.graph == gc.load(path)
    win.problems_dock.refresh()
    assert win.problems_dock.problems == [] and win.problems_dock.list.count() == 0
    assert win.problems_dock.summary.text().endswith("No problems") and "ok.svg" in win.problems_dock.summary.text()
    assert len(win.scene.node_items()) == len(win.document.graph.nodes)


def test_export_image_png_and_svg(win, tmp_path, dialogs):
    win.open_example(CIRCUIT)
    png, svg = str(tmp_path / "c.png"), str(tmp_path / "c.svg")
    assert win.export_image(png) and win.export_image(svg)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 1000
    assert "<svg" in open(svg, encoding="utf-8").read()
    assert win.export_image(str(tmp_path / "c.bmp")) is False
    assert dialogs[0]["critical"]


def test_dropping_a_json_file_opens_it(win, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(circuit_copy(tmp_path))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    win.dropEvent(drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: win.document.path == str(tmp_path / "circuit.json"), timeout=2000)
    assert win.document.graph == gc.load(CIRCUIT)
    text = QMimeData()
    text.setText("hello")
    ignored = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier)
    win.dropEvent(ignored)
    assert not ignored.isAccepted()


def test_open_dialog_starts_in_the_last_folder(win, tmp_path, monkeypatch):
    sub = tmp_path / "graphs"
    sub.mkdir()
    p = sub / "c.json"
    shutil.copy(CIRCUIT, p)
    win.open_file(str(p))
    win.new_file()
    seen = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: seen.append(a[2]) or ("", ""))
    win.actionOpen.trigger()
    assert seen == [str(sub)]
