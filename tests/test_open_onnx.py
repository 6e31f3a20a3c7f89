"""File > Open takes an ONNX model: it becomes a new, untitled graph that computes what the model
computes; a bad model is the loader's message, and the current document stays."""
from __future__ import annotations

import os

import numpy as np
import pytest

import app
import graphcore as gc
from graphcore.export.onnx_export import export_onnx

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "resources", "examples")
CIRCUIT = os.path.join(EXAMPLES, "cs231n_circuit.json")


@pytest.fixture
def win(qtbot):
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    yield w
    w.document.undo_stack.setClean()


def _sink_value(graph) -> float:
    ex = gc.Executor(graph)
    ex.forward()
    (out,) = graph.sinks()
    return float(ex.value(out))


def test_open_an_onnx_model_gives_an_untitled_graph_with_the_same_values(win, tmp_path):
    model = tmp_path / "circuit.onnx"
    export_onnx(gc.load(CIRCUIT), str(model), dtype=np.float64)
    assert win.open_file(str(model))
    doc = win.document
    assert doc.path is None and doc.display_name == "circuit.json"  # Save asks where; the model is never overwritten
    original = gc.load(CIRCUIT)
    for nid, node in original.nodes.items():  # an ONNX input carries no value: feed the circuit's own
        if node.op == "input":
            doc.graph.set_value(doc.graph.find(node.name), original.value(nid))
    assert _sink_value(doc.graph) == pytest.approx(_sink_value(original), abs=1e-12)
    assert "Opened circuit.onnx" in win.statusBar().currentMessage()


def test_a_bad_onnx_file_is_an_error_and_the_current_graph_stays(win, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(win, "show_error", lambda title, text, detail: shown.append((title, text, detail)))
    win.open_file(CIRCUIT)
    before = win.document
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a protobuf at all" * 10)
    assert not win.open_file(str(bad))
    assert win.document is before
    assert shown and shown[0][1] == "Could not open broken.onnx." and "broken.onnx" in shown[0][2]
