"""The Run toolbar and menu in the main window (labels, status bar, Problems dock follow the pass) and
`main.py render --pass`, which draws the same labels into an image."""
from __future__ import annotations

from PySide6.QtGui import QUndoStack

import graphcore as gc
from app.canvas.scene import GraphScene
from app.run import decor
from run_step_helpers import EXAMPLE, FINAL, circuit, labels, placed


def test_render_pass_backward_draws_every_label(tmp_path, qtbot):
    """`python main.py render FILE --pass backward`: the labels the image is drawn with."""
    from app import render
    from app.canvas.view import GraphView
    from app.run.render_pass import apply_pass

    g = circuit()
    scene = GraphScene(g, QUndoStack())
    apply_pass(g, scene, "backward")
    assert labels(g, scene) == FINAL
    assert decor.output_labels(scene.node_item(g.find("f"))) == ("-20.00", "1.00")
    # the exported picture reaches the output stub to the right of f
    rect = scene.items_rect(None, 0.0)
    stub = scene.node_item(g.find("f"))._run_stub
    assert rect.contains(stub.mapRectToScene(stub.childrenBoundingRect()))
    out = tmp_path / "c.png"
    assert GraphView(scene).export_image(str(out)) is not False and out.stat().st_size > 5000
    assert render.main([EXAMPLE, "--out", str(tmp_path / "d.png"), "--pass", "forward"]) == 0


def test_render_pass_refuses_a_nan_graph(tmp_path, capsys):
    from app import render

    g = gc.Graph()
    a = g.add("input", name="a", value=-1.0)
    g.add("log", name="lg", inputs={"x": a})
    gc.save(placed(g), str(tmp_path / "nan.json"))
    assert render.main([str(tmp_path / "nan.json"), "--out", str(tmp_path / "n.png"), "--pass", "backward"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NaN" in err[0] and "'lg'" in err[0]


def test_main_window_has_the_run_toolbar_and_follows_the_document(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QToolBar

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    bar = win.findChild(QToolBar, "runToolbar")
    assert bar is not None
    win.open_file(EXAMPLE)
    g, scene = win.document.graph, win.scene
    bar.actionBackward.trigger()
    assert labels(g, scene) == FINAL
    # a NaN: the producing node is selected and the status bar says so
    g.set_value(g.find("x"), float("inf"))  # xy = inf, then f = inf
    bar.actionForward.trigger()
    assert scene.selected_ids() == [g.find("x")]
    assert "Inf" in win.statusBar().currentMessage()
    # File > New: the toolbar drives the new graph
    win.document.undo_stack.setClean()
    win.document.graph.set_value(g.find("x"), 3.0)
    win.document.undo_stack.setClean()
    win.set_document(type(win.document)(parent=win))
    bar.actionBackward.trigger()
    assert "empty" in win.statusBar().currentMessage()


def test_the_status_bar_follows_the_step_not_the_opened_file(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QToolBar

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    bar = win.findChild(QToolBar, "runToolbar")
    status = win.statusBar()
    win.open_file(EXAMPLE)
    assert status.currentMessage().startswith("Opened")
    bar.actionStep.trigger()
    assert status.currentMessage() == "Forward pass: event 1 of 18 (x)"
    for _ in range(15):
        bar.actionStep.trigger()
    assert status.currentMessage() == "Backward pass: event 16 of 18 (m.b → w)"
    bar.actionStepBack.trigger()
    assert status.currentMessage() == "Backward pass: event 15 of 18 (m.a → z)"
    bar.actionForward.trigger()
    assert status.currentMessage().startswith("Forward pass complete: event 9 of 18")
    bar.actionBackward.trigger()
    assert status.currentMessage().startswith("Backward pass complete: event 18 of 18")
    bar.actionReset.trigger()
    assert status.currentMessage() == ""  # the stale state is cleared, not left behind
    bar.actionBackward.trigger()
    status.showMessage("Copied 2 nodes")  # a later message is not ours to clear
    bar.actionReset.trigger()
    assert status.currentMessage() == "Copied 2 nodes"
    bar.actionStep.trigger()
    win.document.undo_stack.setClean()
    win.open_file(EXAMPLE)  # a new document: its own "Opened", not the old pass's state
    assert status.currentMessage().startswith("Opened")


def test_run_menu_lists_the_actions_with_their_shortcuts(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    titles = [a.text() for a in win.menuBar().actions()]
    assert "&Run" in titles and titles.index("&Run") < titles.index("&Help")
    rows = dict((label, keys) for keys, label in win.shortcut_rows())
    assert rows["Step ▶"] == "F10" and rows["Backward"] == "F6"


def test_the_window_shows_an_unexpected_error_in_the_status_bar_and_the_problems_dock(qtbot, tmp_path,
                                                                                      monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QToolBar

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    win.open_file(EXAMPLE)
    assert win.statusBar().currentMessage().startswith("Opened")
    real = gc.Executor.steps

    def failing(self, *args, **kwargs):
        yield from real(self, *args, **kwargs)
        raise MemoryError("no room for the next array")

    monkeypatch.setattr(gc.Executor, "steps", failing)
    bar = win.findChild(QToolBar, "runToolbar")
    bar.actionBackward.trigger()
    said = win.statusBar().currentMessage()
    assert said.startswith("Cannot run: MemoryError: no room for the next array (in the backward pass")
    dock = win.problems_dock
    texts = [dock.list.item(k).text() for k in range(dock.list.count())]
    assert any("MemoryError: no room for the next array" in t for t in texts), texts
    assert dock.windowTitle() == "Problems (1)"
    monkeypatch.setattr(gc.Executor, "steps", real)
    bar.actionBackward.trigger()
    assert dock.list.count() == 0 and dock.windowTitle() == "Problems"
