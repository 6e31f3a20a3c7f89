"""The Trainer: determinism, thread-safe control, early stopping, metrics, NaN, and the Qt-free session."""
import math
import threading
import time

import numpy as np
import pytest

import graphcore as gc
from graphcore.train import datasets
from graphcore.train.trainer import Data, Trainer
from trainer_helpers import spiral_net, weights


def test_same_seed_same_weights_bit_for_bit():
    runs = []
    for _ in range(2):
        g = spiral_net(val_fraction=0.2, augment={"shift": 0, "flip": False})
        Trainer(g).run()
        runs.append(weights(g))
    for k in runs[0]:
        np.testing.assert_array_equal(runs[0][k], runs[1][k])
    g = spiral_net(seed=1)
    Trainer(g).run()
    assert not np.array_equal(weights(g)[(g.find("fc1"), "W")], runs[0][(g.find("fc1"), "W")])


def test_training_emits_one_weights_changed_at_the_end_and_restores_the_inputs():
    g = spiral_net(epochs=2, report_every=1)
    fc1, fc2 = g.find("fc1"), g.find("fc2")
    before = g.nodes[g.find("x")].tensors["value"]
    seen, changed = [], []
    for ev in (g.node_changed, g.node_added, g.edge_added):
        ev.sub(lambda *a: seen.append(a))
    g.changed.sub(lambda: changed.append(True))
    g.weights_changed.sub(lambda ids: seen.append(("weights_changed", ids)))
    versions = []  # each step gives each updated node a new version, quietly
    res = Trainer(g, on_step=lambda m: versions.append((g.nodes[fc1].version, g.nodes[fc2].version))).run()
    assert res.status == "finished" and res.steps == 2 * math.ceil(150 / 16) == len(versions)
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(versions, versions[1:]))
    assert seen == [("weights_changed", (fc1, fc2))] and changed == [True]
    assert g.nodes[g.find("x")].tensors["value"] is before


def _wait(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


def test_a_pause_announces_the_weights_once_and_a_warm_executor_sees_them():
    g = spiral_net(epochs=100000)  # ended by stop(), never by running out of epochs
    ex = gc.Executor(g)
    ex.forward()
    loss_before = float(ex.value("loss"))
    announced = []
    g.weights_changed.sub(lambda ids: announced.append((ids, float(gc.Executor(g).forward()[g.find("loss")]))))
    pauses = []
    t = Trainer(g, on_event=lambda e: pauses.append(e["step"]) if e["type"] == "paused" else None)
    t.pause()
    th = threading.Thread(target=t.run)
    th.start()
    _wait(lambda: len(pauses) == 1)
    # paused before the first step: nothing to announce yet; then steps, a pause, the end
    assert announced == [], announced
    assert pauses == [0], pauses
    t.resume()
    _wait(lambda: t.steps_done >= 5)
    t.pause()
    _wait(lambda: len(pauses) == 2)  # the event follows the announcement
    assert len(announced) == 1 and set(announced[0][0]) == {g.find("fc1"), g.find("fc2")}
    held = t.steps_done
    t.resume()
    _wait(lambda: t.steps_done >= held + 3)
    t.stop()
    th.join(30)
    assert not th.is_alive() and len(announced) == 2
    ex.forward()  # the executor warmed before training sees the trained weights
    assert float(ex.value("loss")) == pytest.approx(announced[-1][1], rel=1e-12)
    assert float(ex.value("loss")) < loss_before


def test_step_and_epoch_metrics():
    steps, epochs, events = [], [], []
    g = spiral_net(epochs=2, val_fraction=0.2)
    res = Trainer(g, on_step=steps.append, on_epoch=epochs.append, on_event=events.append).run()
    assert [e["type"] for e in events] == ["started", "finished"]
    assert len(steps) == res.steps and len(epochs) == 2 == len(res.history)
    m = steps[-1]
    assert m["loss"] == pytest.approx(m["data_loss"] + m["reg_loss"], rel=1e-6)
    assert m["reg_loss"] > 0 and 0 <= m["acc"] <= 1 and m["lr"] == 0.1
    assert set(m["grad_norm"]) == {"fc1.W", "fc1.b", "fc2.W", "fc2.b"}
    assert all(v > 0 for v in m["grad_norm"].values())
    assert 1e-5 < m["update_ratio"]["fc1.W"] < 1
    assert set(m["dead_relu"]) == {"act"} and 0 <= m["dead_relu"]["act"] < 0.5
    e = epochs[-1]
    for k in ("epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds"):
        assert e[k] is not None
    assert e["val_loss"] > 0 and 0 <= e["val_acc"] <= 1
    assert res.final["train_acc"] > 0.4


def test_dead_and_saturated_fractions():
    from graphcore.train import metrics as M
    out = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert M.dead_fraction(out) == pytest.approx(1 / 3)
    assert M.saturated_fraction("tanh", np.array([0.995, -0.999, 0.5, 0.0])) == 0.5
    assert M.saturated_fraction("sigmoid", np.array([0.005, 0.5, 0.995, 0.2])) == 0.5
    g = spiral_net(act="tanh", epochs=1)
    steps = []
    Trainer(g, on_step=steps.append).run()
    assert set(steps[0]["saturated"]) == {"act"} and steps[0]["dead_relu"] == {}


def test_pause_resume_and_stop_from_another_thread():
    g = spiral_net(epochs=1000)
    reached = threading.Event()
    events = []

    def on_step(m):
        if m["step"] == 5:
            reached.set()

    tr = Trainer(g, on_step=on_step, on_event=lambda e: events.append(e["type"]))
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("res", tr.run()))
    th.start()
    assert reached.wait(20)
    tr.pause()
    deadline = time.time() + 10
    while tr.state != "paused" and time.time() < deadline:
        time.sleep(0.005)
    assert tr.state == "paused"
    n = tr.steps_done
    time.sleep(0.2)
    assert tr.steps_done == n  # nothing runs while paused
    tr.resume()
    while tr.steps_done < n + 3 and time.time() < deadline:
        time.sleep(0.002)
    assert tr.steps_done >= n + 3
    tr.stop()
    stopped_at = tr.steps_done
    th.join(10)
    assert not th.is_alive()
    res = out["res"]
    assert res.status == "stopped" and res.steps <= stopped_at + 1
    assert events[:3] == ["started", "paused", "resumed"] and "stopped" in events


def test_early_stopping_restores_the_best_weights():
    g = spiral_net(epochs=50, val_fraction=0.2, early_stopping={"patience": 2, "min_delta": 100.0})
    snaps = []
    tr = Trainer(g, on_epoch=lambda row: snaps.append(weights(g)))
    res = tr.run()
    # nothing beats epoch 1 by 100, so training stops after 1 + 2 + 1 epochs with epoch 1's weights
    assert res.status == "early_stopped" and res.epochs == 4
    assert "epoch 1" in res.message
    for k, v in snaps[0].items():
        np.testing.assert_array_equal(g.nodes[k[0]].tensors[k[1]], v)
    assert not np.array_equal(snaps[-1][k], snaps[0][k])


def test_nan_stops_training_naming_the_first_node():
    g = spiral_net()
    ds = datasets.spiral(n_per_class=50)
    X = ds.X.astype(np.float32)
    X[7, 1] = np.nan
    data = Data(X, ds.y, X[:0], ds.y[:0], "classification", 3)
    events = []
    res = Trainer(g, data=data, on_event=events.append).run()
    assert res.status == "diverged"
    assert "'x'" in res.message and "forward" in res.message
    assert events[-1]["type"] == "diverged" and events[-1]["node"] == g.find("x")
    g = spiral_net(optimizer={"kind": "sgd", "lr": 1e6}, epochs=5)  # the largest lr accepted
    res = Trainer(g).run()
    assert res.status == "diverged" and "node" in res.message


def test_metrics_keep_nodes_with_the_same_name_apart():
    g = spiral_net(epochs=1)
    g.rename(g.find("fc2"), "fc")
    g.rename(g.find("fc1"), "fc")
    steps = []
    tr = Trainer(g, on_step=steps.append)
    tr.run()
    assert len(steps[0]["grad_norm"]) == 4 and len(set(tr.param_labels.values())) == 4


def test_a_nan_gradient_with_a_finite_loss_stops_before_the_update():
    """sqrt after ReLU: the forward pass is finite, but d sqrt(0) = inf makes the gradient NaN."""
    ds = datasets.spiral(n_per_class=20)
    g = gc.Graph()
    x = g.add("input", name="x", value=ds.X)
    y = g.add("input", name="y", value=ds.y)
    h = g.add("linear", name="fc1", inputs={"x": x}, units=8, init="xavier_normal")
    a = g.add("relu", name="act", inputs={"x": h})
    s = g.add("pow", name="sqrt", inputs={"x": a}, p=0.5)
    o = g.add("linear", name="fc2", inputs={"x": s}, units=3, init="xavier_normal")
    g.add("softmax_cross_entropy", name="loss", inputs={"scores": o, "labels": y})
    g.meta["training"] = {"dataset": {"name": "spiral", "n_per_class": 20}, "batch_size": 8, "epochs": 2,
                          "optimizer": {"kind": "sgd", "lr": 0.1}, "seed": 0}
    res = Trainer(g).run()
    assert res.status == "diverged" and "backward" in res.message and res.steps == 0
    assert all(np.isfinite(v).all() for v in weights(g).values()), "no NaN reached the weights"


# ------------------------------------------------------------------ the Qt-free training session
def test_the_session_runs_a_training_without_qt_and_packs_its_messages():
    from graphcore.train.session import TrainJob

    g = spiral_net(epochs=2, val_fraction=0.2, report_every=1)
    sent = []
    job = TrainJob(g, g.meta["training"], {"fresh": False}, None, snapshots=True,
                   emit=lambda kind, payload: sent.append((kind, payload)))
    result = job.run()
    assert result["status"] == "finished" and result["epochs"] == 2 and result["steps"] == job.trainer.steps_done
    kinds = {k for k, _ in sent}
    assert {"chunk", "progress", "snapshot", "event"} <= kinds
    steps = np.concatenate([p["step.loss"][0] for k, p in sent if k == "chunk" and "step.loss" in p])
    np.testing.assert_array_equal(steps, np.arange(1, job.trainer.steps_done + 1))
    snap = [p for k, p in sent if k == "snapshot"][-1]
    assert snap["grid"]["classes"].shape == (96, 96) and snap["n_classes"] == 3
    assert sum("points" in p for k, p in sent if k == "snapshot") == 1  # the data are sent once
    W = result["tensors"][g.find("fc1")]["W"]
    assert W is g.nodes[g.find("fc1")].tensors["W"]  # the learned arrays go back to the caller


def test_importing_the_session_loads_no_qt():
    import subprocess
    import sys

    code = ("import sys, graphcore.train.session; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'app')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
