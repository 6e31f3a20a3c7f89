"""The main window: object names, menus, title, theme, settings, help and a light start-up."""
import os
import subprocess
import sys

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDockWidget

import app
from app import settings as app_settings
from app.help_dialogs import versions
from app.main_window import example_files
from main_window_helpers import ROOT, add_node, dialogs, isolated, win  # noqa: F401  (fixtures)


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


def test_startup_loads_neither_numba_nor_pyqtgraph(tmp_path):
    code = ("import sys, app; w = app.create_main_window(); w.show(); app.application().processEvents(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'pyqtgraph'}))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BACKPROP_STUDIO_DATA_DIR=str(tmp_path),
               BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT="1", XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               HOME=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
