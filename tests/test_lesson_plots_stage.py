"""What a lesson brings to the front has something in it: the Histograms tab of the initialisation
lesson shows the graph's weights and the activations of the pass Show me ran (it stayed empty until
a training run), and a circuit lesson never leaves empty training plots in front."""
from __future__ import annotations

import numpy as np
import pytest

from main_window_helpers import shown_window


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    return tmp_path


def make(qtbot):
    w = shown_window(qtbot, 1280, 720)
    qtbot.waitUntil(lambda: w.train_view is not None)
    return w


def start(w, lesson_id):
    dock = w.lesson_view.open()
    dock.set_language("en")
    dock.select_lesson(lesson_id)
    assert dock.start(unsaved="discard")
    return dock


def in_front(dock) -> bool:
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def curves(boundary) -> dict:
    """(group, layer) -> (x, y) of each histogram curve drawn."""
    out = {}
    for key, curve in boundary._hist_curves.items():
        x, y = curve.getData()
        if x is not None and len(x):
            out[key] = (np.asarray(x), np.asarray(y))
    return out


def test_the_initialisation_lesson_shows_histograms_before_any_training(qtbot, data_dir):
    w = make(qtbot)
    dock = start(w, "initialization")
    boundary = w.train_view.boundary_dock
    g = w.document.graph
    qtbot.waitUntil(lambda: boundary.tabs.currentWidget() is boundary.hist_view.parentWidget())
    # step 1 talks about the histograms: the weights of every layer are there at once
    layers = [n.name for n in g.nodes.values() if n.op == "linear"]
    qtbot.waitUntil(lambda: {k for k in curves(boundary) if k[0] == "weights"} >= {("weights", f"{n}.W") for n in layers})
    for _ in range(2):  # read, then Forward
        dock.show_me()
        dock.next()
    assert dock.run.step.id == "too-small"
    dock.show_me()  # init_scale 0.01, fresh weights, Backward: no training at all
    assert dock.passed
    tanhs = [n for n in g.nodes.values() if n.op == "tanh"]
    qtbot.waitUntil(lambda: {("activations", n.name) for n in tanhs} <= set(curves(boundary)))
    ex = w.run_view.controller.executor
    for n in tanhs:  # each curve spans the values the pass computed, and the deeper layers shrink
        x, y = curves(boundary)[("activations", n.name)]
        v = np.asarray(ex.value(n.id))
        assert x[0] == pytest.approx(v.min()) and x[-1] == pytest.approx(v.max())
        assert y.sum() == pytest.approx(1.0)
    spans = [np.ptp(curves(boundary)[("activations", n.name)][0]) for n in tanhs]
    assert spans == sorted(spans, reverse=True) and spans[-1] < 1e-3 * spans[0]
    w.document.undo_stack.setClean()
    w.document.mark_saved()


def test_a_circuit_lesson_after_a_training_lesson_does_not_show_empty_training_plots(qtbot, data_dir):
    w = make(qtbot)
    plots = w.train_view.plots_dock
    dock = start(w, "dead-relus")
    dock.next()  # step 2 shows the dead units' plot
    qtbot.waitUntil(lambda: in_front(plots))
    start(w, "gates")
    qtbot.wait(20)
    assert not in_front(plots)
    assert in_front(w.run_view.narration)
    assert not w.train_view.boundary_dock.isVisible()  # nothing of "What the net sees" for a circuit
    w.document.undo_stack.setClean()
    w.document.mark_saved()
