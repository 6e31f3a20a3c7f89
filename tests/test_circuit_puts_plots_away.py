"""A graph that does not train (a circuit) opens on the Narration (or Problems) tab, not on empty Loss
and Accuracy plots; a graph that trains leaves the training plots where they were."""
from __future__ import annotations

from backprop_studio_resources import example_path
from main_window_helpers import shown_window


def test_opening_a_circuit_puts_the_empty_training_plots_behind(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    w = shown_window(qtbot, 1280, 720)
    qtbot.waitUntil(lambda: w.train_view is not None)
    plots = w.train_view.plots_dock
    w.open_file(example_path("spiral_2layer.json"))
    qtbot.wait(50)  # the window's first (empty) document has put its plots away by now
    plots.raise_()
    qtbot.wait(50)
    assert not plots.visibleRegion().isEmpty()  # a graph that trains keeps them in front
    w.document.mark_saved()
    w.open_file(example_path("cs231n_circuit.json"))
    qtbot.waitUntil(lambda: plots.visibleRegion().isEmpty())
    narration = w.run_view.narration
    assert not narration.visibleRegion().isEmpty()
    w.document.mark_saved()
