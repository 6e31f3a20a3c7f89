"""The main window: file life cycle, prompts, recent files, examples, docks, theme, settings."""
import os
import shutil
import subprocess
import sys

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QLineEdit, QMessageBox

import graphcore as gc

import app
from app import settings as app_settings
from app.help_dialogs import versions
from app.main_window import EXAMPLES_DIR, example_files

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


# ---------------------------------------------------------------- structure
def test_object_names_exist(win):
    assert win.objectName() == "mainWindow"
    assert win.findChild(type(win.view), "graphView") is win.view
    for name in ("paletteDock", "inspectorDock", "problemsDock", "historyDock"):
        assert isinstance(win.findChild(QDockWidget, name), QDockWidget), name
    for name in ("actionNew", "actionOpen", "actionSave", "actionSaveAs", "actionUndo", "actionRedo",
                 "actionDelete", "actionCopy", "actionPaste", "actionFrame", "actionAutoLayout",
                 "actionExportImage", "actionCut", "actionDuplicate", "actionRename", "actionSelectAll"):
        assert isinstance(win.findChild(QAction, name), QAction), name
    shortcuts = {a.objectName(): [k.toString() for k in a.shortcuts()] for a in win.findChildren(QAction)}
    assert shortcuts["actionRedo"] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    assert shortcuts["actionFrame"] == ["F"] and shortcuts["actionAutoLayout"] == ["L"]
    assert shortcuts["actionDuplicate"] == ["Ctrl+D"] and shortcuts["actionRename"] == ["F2"]


def test_menus_list_examples_and_edit_history(win):
    titles = [a.text() for a in win.examples_menu.actions()]
    assert len(titles) == len(example_files()) >= 3
    assert "CS231n circuit: f = 2(xy + max(z, w))" in titles
    edit = [a.objectName() for a in win.menus["edit"].actions()]
    assert {"actionUndo", "actionRedo", "actionHistory"} <= set(edit)
    assert win.undo_view.group() is win.undo_group


# ---------------------------------------------------------------- title and modified flag
def test_title_shows_name_and_asterisk(win, tmp_path):
    assert win.windowTitle() == "Untitled — Backprop Studio"
    add_node(win)
    assert win.windowTitle() == "Untitled* — Backprop Studio"
    win.actionUndo.trigger()
    assert win.windowTitle() == "Untitled — Backprop Studio"
    win.actionRedo.trigger()
    path = str(tmp_path / "mine.json")
    assert win.save_file(path)
    assert win.windowTitle() == "mine.json — Backprop Studio" and not win.document.modified
    win.actionUndo.trigger()
    assert win.windowTitle() == "mine.json* — Backprop Studio"


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


def test_refitting_the_graph_keeps_the_users_selection(win, qtbot):
    """The training view is built a moment after the window shows and then re-fits the graph to the
    smaller canvas; a node the user selected meanwhile stays selected (the re-fit used to clear it)."""
    assert win.open_file(CIRCUIT)
    xy = win.document.graph.find("xy")
    win._frame_all()
    before = win.view.transform().m11()
    win.scene.select_ids([xy])
    win.view.scale(3.0, 3.0)
    win._frame_all()
    assert win.scene.selected_ids() == [xy]
    assert win.view.transform().m11() == pytest.approx(before, rel=1e-6)  # the whole graph, as before


# ---------------------------------------------------------------- docks
def test_palette_double_click_adds_a_node(win, qtbot):
    item = win.palette_dock.item_for("relu")
    win.palette_dock.tree.itemActivated.emit(item, 0)
    ops = [n.op for n in win.document.graph.nodes.values()]
    assert ops == ["relu"]
    assert win.scene.selected_ids() == list(win.document.graph.nodes)
    assert win.inspector_dock.node_id == list(win.document.graph.nodes)[0]
    win.actionUndo.trigger()
    assert len(win.document.graph.nodes) == 0


def test_inspector_edit_is_undone_by_the_window(win, qtbot):
    win.open_example(CIRCUIT)
    g = win.document.graph
    x = g.find("x")
    win.scene.select_ids([x])
    assert win.inspector_dock.node_id == x
    edit = win.inspector_dock.findChild(QLineEdit, "valueText")
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "5")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert float(g.nodes[x].tensors["value"]) == 5.0 and win.document.modified
    assert win.undo_view.model().rowCount() == 2  # the opened state plus one step
    win.actionUndo.trigger()
    assert float(g.nodes[x].tensors["value"]) == 3.0 and not win.document.modified


def test_problems_dock_lists_and_centres(win, qtbot):
    nid = add_node(win, "relu", (2000, 1500))
    win.problems_dock.refresh()
    assert win.problems_dock.list.count() == 1
    item = win.problems_dock.list.item(0)
    assert "missing required input 'x'" in item.text()
    win.scene.clearSelection()
    win.problems_dock.list.itemClicked.emit(item)
    assert win.scene.selected_ids() == [nid]
    centre = win.view.mapToScene(win.view.viewport().rect().center())
    node_centre = win.scene.node_item(nid).sceneBoundingRect().center()
    assert abs(centre.x() - node_centre.x()) < 5 and abs(centre.y() - node_centre.y()) < 5


def test_problems_refresh_is_debounced_on_graph_changes(win, qtbot):
    add_node(win, "relu", (0, 0))
    qtbot.waitUntil(lambda: win.problems_dock.list.count() == 1, timeout=2000)
    win.actionUndo.trigger()
    qtbot.waitUntil(lambda: win.problems_dock.list.count() == 0, timeout=2000)


def test_copy_paste_between_windows(win, qtbot):
    win.open_example(CIRCUIT)
    g = win.document.graph
    win.scene.select_ids([g.find("x"), g.find("y"), g.find("xy")])
    win.actionCopy.trigger()
    assert '"backprop-studio-graph"' in QGuiApplication.clipboard().text()
    w2 = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w2)
    w2.actionPaste.trigger()
    g2 = w2.document.graph
    assert sorted(n.name for n in g2.nodes.values()) == ["x", "xy", "y"]
    assert len(g2.edges) == 2
    w2.actionUndo.trigger()
    assert len(g2.nodes) == 0


def test_cut_delete_duplicate_select_all(win):
    win.open_example(CIRCUIT)
    g = win.document.graph
    n = len(g.nodes)
    win.actionSelectAll.trigger()
    assert len(win.scene.selected_ids()) == n
    win.scene.select_ids([g.find("two")])
    win.actionDuplicate.trigger()
    assert len(g.nodes) == n + 1
    win.actionCut.trigger()
    assert len(g.nodes) == n
    win.scene.select_ids([g.find("f")])
    win.actionDelete.trigger()
    assert len(g.nodes) == n - 1
    for _ in range(3):
        win.actionUndo.trigger()
    assert g == gc.load(CIRCUIT)


# ---------------------------------------------------------------- theme, settings, help
def test_theme_switch_and_persistence(win, qtbot):
    from app.canvas import look as items

    qapp = QApplication.instance()
    win.actionThemeLight.trigger()
    assert qapp.property("backpropTheme") == "light" and items.palette().name == "light"
    assert qapp.palette().color(qapp.palette().ColorRole.Window).name() == "#f3f4f6"
    assert "close-light.svg" in qapp.styleSheet()
    assert app_settings.theme_name() == "light"
    w2 = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w2)
    assert w2.actionThemeLight.isChecked()
    win.actionThemeDark.trigger()
    assert items.palette().name == "dark" and app_settings.theme_name() == "dark"
    assert qapp.palette().color(qapp.palette().ColorRole.Window).name() == "#25272b"


def test_geometry_and_dock_layout_persist(qtbot, dialogs):
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.show()
    w.resize(640, 480)  # within the offscreen screen (800x600): restoreGeometry clamps to it
    w.history_dock.hide()
    qtbot.wait(10)
    assert w.close()
    w2 = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w2)
    w2.show()
    qtbot.wait(10)
    assert (w2.width(), w2.height()) == (640, 480)
    assert not w2.history_dock.isVisible() and w2.problems_dock.isVisible()


def test_shortcuts_and_about(win, dialogs):
    rows = dict((what, keys) for keys, what in win.shortcut_rows())
    assert rows["Undo"] == "Ctrl+Z" and rows["Redo"] == "Ctrl+Shift+Z, Ctrl+Y"
    assert rows["Frame Selection"] == "F" and "Tab" in [k for k, _ in win.shortcut_rows()]
    dlg = win.show_shortcuts()
    assert dlg.objectName() == "shortcutsDialog"
    from PySide6.QtWidgets import QTableWidget

    assert dlg.findChild(QTableWidget, "shortcutsTable").rowCount() == len(win.shortcut_rows())
    dlg.close()
    win.actionAbout.trigger()
    text = dialogs[0]["about"][0]
    v = versions()
    from importlib import metadata

    assert v["numba"] == metadata.version("numba") and v["pyqtgraph"] == metadata.version("pyqtgraph")
    for key in ("Qt", "PySide6", "numpy", "numba", "pyqtgraph"):
        assert f"<td>{key}</td>" in text and v[key] in text


def test_export_image_png_and_svg(win, tmp_path, dialogs):
    win.open_example(CIRCUIT)
    png, svg = str(tmp_path / "c.png"), str(tmp_path / "c.svg")
    assert win.export_image(png) and win.export_image(svg)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 1000
    assert "<svg" in open(svg, encoding="utf-8").read()
    assert win.export_image(str(tmp_path / "c.bmp")) is False
    assert dialogs[0]["critical"]


def test_startup_loads_neither_numba_nor_pyqtgraph(tmp_path):
    code = ("import sys, app; w = app.create_main_window(); w.show(); app.application().processEvents(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'pyqtgraph'}))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BACKPROP_STUDIO_DATA_DIR=str(tmp_path),
               BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT="1", XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               HOME=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_palette_drag_drops_a_node_where_released(win, qtbot, monkeypatch):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QDropEvent

    captured = {}

    class FakeDrag:
        def __init__(self, source):
            pass

        def setMimeData(self, mime):
            captured["mime"] = mime

        def exec(self, *a):
            return Qt.DropAction.CopyAction

    monkeypatch.setattr("app.palette.QDrag", FakeDrag)
    tree = win.palette_dock.tree
    tree.setCurrentItem(win.palette_dock.item_for("tanh"))
    tree.startDrag(Qt.DropAction.CopyAction)
    at = QPoint(300, 200)
    drop = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, captured["mime"], Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    win.view.dropEvent(drop)
    (node,) = win.document.graph.nodes.values()
    where = win.view.mapToScene(at)
    assert node.op == "tanh" and (node.ui["x"], node.ui["y"]) == (where.x(), where.y())


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


def test_snap_rename_frame_and_layout_actions(win, qtbot):
    win.actionSnap.trigger()
    assert win.scene.snap_to_grid is True
    nid = win.scene.add_node("relu", (13, 27))
    node = win.document.graph.nodes[nid]
    assert (node.ui["x"], node.ui["y"]) == (20, 20)
    assert app_settings.settings().value("snapToGrid") in (True, "true")
    win.scene.select_ids([nid])
    win.actionRename.trigger()
    editor = win.view.findChild(QLineEdit, "renameEditor")
    assert editor is not None and editor.text() == "relu1"
    editor.setText("act")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert node.name == "act"
    win.open_example(CIRCUIT)
    g = win.document.graph
    g.set_ui(g.find("f"), x=5000.0, y=5000.0)  # far away: the layout pulls it back in one undo step
    steps = win.document.undo_stack.count()
    win.actionAutoLayout.trigger()
    assert win.document.undo_stack.count() == steps + 1
    assert g.nodes[g.find("f")].ui["x"] < 5000
    win.scene.select_ids([g.find("x")])
    win.actionFrame.trigger()
    centre = win.view.mapToScene(win.view.viewport().rect().center())
    assert win.scene.node_item(g.find("x")).sceneBoundingRect().adjusted(-60, -60, 60, 60).contains(centre)
