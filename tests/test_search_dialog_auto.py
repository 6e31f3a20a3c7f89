"""Train > Hyperparameter search… defaults to "auto" epochs per trial, the command line's default:
about 1,000 optimizer steps (1,000 full-batch epochs on the spiral example, where 5 told no trial
from another), at most half the Train panel's epochs."""
from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QMessageBox

import app
from app.main_window import EXAMPLES_DIR

SPIRAL = os.path.join(EXAMPLES_DIR, "spiral_2layer.json")


class Recording:
    """A runner that records each trial's job and answers without training."""

    jobs: list[dict] = []

    def stream(self, jobs, stop=None):
        for job in jobs:
            Recording.jobs.append(job)
            yield {"stage": job["stage"], "index": job["index"], "lr": job["lr"], "reg": job["reg"],
                   "status": "finished", "val_acc": 0.5, "val_loss": 1.0, "train_acc": 0.5}


@pytest.mark.gui
def test_the_search_dialog_defaults_to_auto_epochs_per_trial(qtbot, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    qtbot.waitUntil(lambda: getattr(w, "train_view", None) is not None, timeout=5000)
    assert w.open_file(SPIRAL)
    bv = w.train_view.babysit
    bv.actionSearch.trigger()
    d = bv.dialog
    try:
        assert d.epochs_spin.value() == 0 and d.epochs_spin.text() == "auto"
        assert "1,000 optimizer steps" in d.epochs_spin.toolTip()
        d.trials_spin.setValue(2)
        Recording.jobs = []
        bv.runner_factory = Recording
        d.start_button.click()
        qtbot.waitUntil(lambda: d.thread is None and len(d.trials) == 4, timeout=20000)
        assert {j["config"]["epochs"] for j in Recording.jobs} == {1000}  # full batch: 1,000 steps
        assert len(Recording.jobs) == 4
        d.epochs_spin.setValue(7)  # a number typed in wins
        Recording.jobs = []
        d.start_button.click()
        qtbot.waitUntil(lambda: d.thread is None and len(d.trials) == 4, timeout=20000)
        assert {j["config"]["epochs"] for j in Recording.jobs} == {7}
    finally:
        d.stop()
