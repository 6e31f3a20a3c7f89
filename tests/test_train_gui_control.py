"""Training from the GUI, controlling a run: stop, pause, step one epoch, settings edited mid-run,
and Stop ending a training process that does not answer."""
from __future__ import annotations

import time

import numpy as np
import pytest

from train_gui_rig import shared, spiral  # noqa: F401  (the fixtures)


def test_stop_takes_effect_within_one_step(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 20, timeout=15000)
    thread = rig.ctl.thread
    rig.train.actionStop.trigger()
    # no wall-clock bound (a busy machine is slow): the promise is counted in steps
    assert thread.wait(20000), "the worker thread did not finish"
    res = rig.wait_done()
    assert res["status"] == "stopped" and not res.get("ended_by")  # stopped by itself, not terminated
    # the process noted its step count when the request arrived: at most the step under way followed
    assert res["stop_step"] is not None and res["steps"] <= res["stop_step"] + 1
    assert rig.train.actionTrain.isEnabled() and not rig.train.actionStop.isEnabled()


def test_pause_and_resume(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 5, timeout=15000)
    t = rig.ctl.thread
    rig.train.actionPause.trigger()  # checkable: on
    qtbot.waitUntil(lambda: t.paused, timeout=3000)
    assert rig.train.actionPause.text() == "Resume"
    held = t.steps_done
    qtbot.wait(300)
    assert t.steps_done == held
    rig.train.actionPause.trigger()  # off: resume
    qtbot.waitUntil(lambda: t.steps_done > held + 5, timeout=5000)
    assert rig.train.actionPause.text() == "Pause"
    rig.train.actionStop.trigger()
    assert rig.wait_done()["status"] == "stopped"


def test_stop_while_paused_ends_the_run(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 2, timeout=15000)
    rig.train.actionPause.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread.paused, timeout=3000)
    rig.train.actionStop.trigger()
    assert rig.wait_done(5000)["status"] == "stopped"


def test_step_epoch_trains_one_epoch_then_pauses(spiral, qtbot):
    rig = spiral
    rig.train.batch_spin.setValue(32)  # 300 points: 10 steps per epoch
    rig.train.epochs_spin.setValue(50)
    rig.train.actionStepEpoch.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.paused, timeout=15000)
    t = rig.ctl.thread
    assert t.epochs_done == 1 and t.steps_done == 10
    rig.train.actionStepEpoch.trigger()
    qtbot.waitUntil(lambda: t.epochs_done == 2 and t.paused, timeout=5000)
    assert t.steps_done == 20
    qtbot.waitUntil(lambda: "epoch 2 / 50" in rig.train.counter.text(), timeout=3000)
    rig.train.actionStop.trigger()
    assert rig.wait_done()["status"] == "stopped"


def test_regularisation_field_shows_the_graphs_strength_and_changes_it_only_when_edited(spiral, qtbot):
    rig = spiral
    assert rig.train.reg_spin.value() == pytest.approx(1e-3)  # the example's L2 node
    assert rig.train.settings()["gui"]["reg_strength"] is None  # untouched: the graph decides
    rig.train.reg_spin.setValue(0.01)
    assert rig.train.settings()["gui"]["reg_strength"] == pytest.approx(0.01)


# ---------------------------------------------------------------- Stop ends a runaway process (issue 8)
@pytest.mark.parametrize("child, ended_by", [("ignore_stop", "terminated"), ("ignore_stop_and_terminate", "killed")])
def test_stop_ends_a_training_process_that_does_not_answer(spiral, qtbot, monkeypatch, child, ended_by):
    import signal

    import stuck_child
    from app.train import controller as controller_mod
    from app.train.worker import TrainThread

    class Stuck(TrainThread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.child_target = getattr(stuck_child, child)
            self.stop_grace, self.kill_grace = 0.3, 0.3

    monkeypatch.setattr(controller_mod, "TrainThread", Stuck)
    rig = spiral
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.state == "running", timeout=15000)
    proc = rig.ctl.thread._proc
    t0 = time.perf_counter()
    rig.train.actionStop.trigger()
    res = rig.wait_done(20000)
    took = time.perf_counter() - t0
    assert res["status"] == "error" and res["ended_by"] == ended_by
    assert not proc.is_alive()
    assert proc.exitcode == (-signal.SIGTERM if ended_by == "terminated" else -signal.SIGKILL)
    assert took >= 0.3  # it waited out the grace period (the exit code shows how it ended)
    assert any("did not stop within 0.3 s" in m for m in rig.messages)
    assert f"so the training process was {ended_by}" in rig.train.status.text()
    assert rig.train.actionTrain.isEnabled() and not rig.train.actionStop.isEnabled()


# ---------------------------------------------------------------- settings edited while training
def test_learning_rate_edited_mid_run_applies_from_the_next_step(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.lr_spin.setValue(0.5)
    was_shown = "lr" in rig.plots.shown
    rig.plots.show_plot("lr", True)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 10, timeout=15000)
    assert rig.train.lr_spin.isEnabled() and not rig.train.optimizer_combo.isEnabled()
    rig.train.lr_spin.setValue(0.125)  # as the user's edit does: valueChanged -> a "settings" command
    qtbot.waitUntil(lambda: any("From iteration" in m and "lr 0.125 (was 0.5)" in m for m in rig.messages),
                    timeout=10000)
    t = rig.ctl.thread
    changed_at = t.steps_done
    qtbot.waitUntil(lambda: t.steps_done > changed_at + 10, timeout=10000)
    rig.train.actionStop.trigger()
    res = rig.wait_done()
    assert res["status"] == "stopped"
    rig.plots.refresh(everything=True)
    x, lr = rig.plots.history.get("step.lr").view()
    assert lr[0] == 0.5 and lr[-1] == 0.125
    first_new = int(np.argmax(lr == 0.125))
    assert np.all(lr[:first_new] == 0.5) and np.all(lr[first_new:] == 0.125)  # one switch, kept
    _, drawn = rig.plots._curves[(0, "lr", "lr")].getData()  # the learning-rate plot draws the step down
    assert drawn[0] == 0.5 and drawn[-1] == 0.125
    rig.plots.show_plot("lr", was_shown)


def test_a_refused_setting_is_reported_and_the_run_goes_on(spiral, qtbot):
    rig = spiral
    rig.train.epochs_spin.setValue(100000)
    rig.train.batch_spin.setValue(8)
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.steps_done > 5, timeout=15000)
    rig.train.factor_spin.setValue(0.0)  # the spin box allows it; the schedule does not (unused yet)
    rig.train.schedule_combo.setCurrentText("step")
    qtbot.waitUntil(lambda: any("New settings refused" in m and "factor must be in (0, 1]" in m
                                for m in rig.messages), timeout=10000)
    t = rig.ctl.thread
    held = t.steps_done
    qtbot.waitUntil(lambda: t.steps_done > held + 5, timeout=10000)  # still training
    assert "New settings refused" in rig.train.status.text()
    rig.train.actionStop.trigger()
    assert rig.wait_done()["status"] == "stopped"
    rig.train.factor_spin.setValue(0.5)
    rig.train.schedule_combo.setCurrentText("constant")


def test_a_forced_stop_reads_as_a_stop_not_an_error(spiral, qtbot, monkeypatch):
    import stuck_child
    from app.train import controller as controller_mod
    from app.train.worker import TrainThread

    class Stuck(TrainThread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.child_target = stuck_child.ignore_stop
            self.stop_grace, self.kill_grace = 0.3, 0.3

    monkeypatch.setattr(controller_mod, "TrainThread", Stuck)
    rig = spiral
    rig.train.actionTrain.trigger()
    qtbot.waitUntil(lambda: rig.ctl.thread is not None and rig.ctl.thread.state == "running", timeout=15000)
    rig.train.actionStop.trigger()
    res = rig.wait_done(20000)
    assert res["ended_by"] == "terminated"
    text = rig.train.status.text()
    assert text.startswith("Training stopped: Stop was not answered within 0.3 s, so the training process was "
                           "terminated") and "Cannot train" not in text
    assert rig.messages[-1] == text
