"""The Code dock (staged numpy code beside the canvas, the current event's line highlighted) and
File > Export in a real main window."""
from __future__ import annotations

import runpy
import time

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

import app
from backprop_studio_resources import example_path

CIRCUIT = example_path("cs231n_circuit.json")
NEURON = example_path("sigmoid_neuron.json")


def _pump(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


@pytest.fixture
def win(qtbot):
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    _pump(0.5)
    w.open_file(CIRCUIT)
    _pump(0.1)
    yield w
    w.document.undo_stack.setClean()


def _expected_start(graph, ev) -> str:
    """What the event's line starts with: the node's variable, or d + the node receiving the gradient."""
    if ev.phase == "forward":
        return graph.nodes[ev.node].name + " = "
    if ev.phase == "seed":
        return f"d{graph.nodes[ev.node].name} = 1.0"
    return f"d{graph.nodes[ev.edge.src].name} = "


def test_dock_and_menus_exist(win):
    dock = win.run_view.code
    assert dock.objectName() == "codeDock" and win.findChild(type(dock), "codeDock") is dock
    assert dock.toggleViewAction() in win.menus["view"].actions()
    export = win.findChild(type(win.menus["file"]), "menuExport")
    names = [a.objectName() for a in export.actions() if a.objectName()]
    assert names == ["actionExportImage", "actionExportOnnx", "actionExportTorch", "actionExportNumpy"]
    metrics = QFontMetrics(dock.editor.font())  # monospace as drawn: i as wide as W
    assert dock.editor.isReadOnly() and metrics.horizontalAdvance("iiii") == metrics.horizontalAdvance("WWWW")


def test_highlighted_line_follows_every_step(win):
    dock = win.run_view.code
    dock.raise_()
    _pump(0.1)
    assert dock.isVisible()
    assert "xy = x * y  # mul" in dock.editor.toPlainText()
    c = win.run_view.controller
    seen = []
    while c.step():
        ev = c.rec.events[c.cursor]
        text = dock.highlighted_text()
        assert text.startswith(_expected_start(win.document.graph, ev)), (c.cursor, text)
        seen.append(text)
    assert c.cursor == c.rec.total - 1 == 17
    assert seen[16] == "dx = y * dxy  # mul gate: upstream times the other input"  # event 17: x gets -8
    assert len(set(seen)) == 18  # one line per event
    c.step_back()
    assert dock.highlighted_text().startswith("dx = y * dxy")
    c.reset()
    assert dock.highlighted_line is None and dock.highlighted_text() == ""


def test_the_dock_shows_the_staged_lines_and_the_whole_file_on_request(win):
    dock = win.run_view.code
    dock.raise_()
    _pump(0.1)
    text = dock.editor.toPlainText()
    assert text.startswith("# ---- inputs, constants and weights") and "def fmt_number" not in text
    assert text.rstrip().endswith("dy = x * dxy  # mul gate: upstream times the other input")
    c = win.run_view.controller
    while c.step() and c.cursor < 16:
        pass
    assert dock.highlighted_text().startswith("dx = y * dxy")
    dock.whole_file.setChecked(True)  # the runnable file: imports above, the printing below
    whole = dock.editor.toPlainText()
    assert whole == dock.code.text and "import numpy as np" in whole and "def fmt_number" in whole
    assert dock.highlighted_text().startswith("dx = y * dxy")  # the same event, the same line of code
    dock.whole_file.setChecked(False)
    assert dock.editor.toPlainText() == text and dock.highlighted_text().startswith("dx = y * dxy")


def test_code_swaps_with_the_document_and_follows_edits(win, qtbot):
    dock = win.run_view.code
    dock.raise_()
    _pump(0.1)
    win.open_file(NEURON)
    _pump(0.1)
    text = dock.editor.toPlainText()
    assert "w0x0 = w0 * x0" in text and "xy = x * y" not in text
    g = win.document.graph
    win.document.graph.rename(g.find("w0x0"), "first")  # an edit: the code follows it
    qtbot.waitUntil(lambda: "first = w0 * x0" in dock.editor.toPlainText(), timeout=3000)


def test_export_menu_writes_numpy_and_refuses_a_missing_exporter(win, monkeypatch, tmp_path, capsys):
    out = tmp_path / "circuit.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    win.actionExportNumpy.trigger()
    assert out.exists()
    runpy.run_path(str(out), run_name="__main__")
    assert "x     input  3.00    -8.00" in capsys.readouterr().out
    from graphcore.export_cli import EXPORTERS

    monkeypatch.delitem(EXPORTERS, "onnx", raising=False)
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a: errors.append(a[2]))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "m.onnx"), ""))
    win.actionExportOnnx.trigger()
    assert errors and "no ONNX model exporter" in errors[0]
    assert not (tmp_path / "m.onnx").exists()
