"""The Trainer: determinism, thread-safe control, early stopping, metrics, NaN, state round trip."""
import math
import threading
import time

import numpy as np
import pytest

import graphcore as gc
from graphcore.train import babysit, datasets, search
from graphcore.train.config import ConfigError, TrainConfig
from graphcore.train.trainer import Data, Trainer


def spiral_net(act="relu", reg=1e-3, n_per_class=50, **training):
    ds = datasets.spiral(n_per_class=n_per_class)
    g = gc.Graph()
    x = g.add("input", name="x", value=ds.X)
    y = g.add("input", name="y", value=ds.y)
    h = g.add("linear", name="fc1", inputs={"x": x}, units=20, init="xavier_normal")
    a = g.add(act, name="act", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": a}, units=3, init="xavier_normal")
    ce = g.add("softmax_cross_entropy", name="data_loss", inputs={"scores": o, "labels": y})
    r = g.add("l2", name="reg", strength=reg)
    g.add("total_loss", name="loss", inputs={"data": ce, "reg": r})
    t = {"dataset": {"name": "spiral", "n_per_class": n_per_class}, "optimizer": {"kind": "momentum", "lr": 0.1},
         "batch_size": 16, "epochs": 3, "seed": 0}
    t.update(training)
    g.meta["training"] = t
    return g


def weights(g):
    return {(n, w): g.nodes[n].tensors[w].copy() for n, w in g.trainable()}


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


def test_optimizer_state_round_trips_through_the_file(tmp_path):
    g = spiral_net(optimizer={"kind": "adam", "lr": 1e-3}, epochs=2)
    res = Trainer(g).run()
    key = f"{g.find('fc1')}/W"
    st = g.opt_state[key]
    assert set(st) == {"m", "v", "t"} and int(st["t"]) == res.steps
    assert st["m"].shape == g.nodes[g.find("fc1")].tensors["W"].shape
    gc.save(g, tmp_path / "t.json")
    g2 = gc.load(tmp_path / "t.json")
    for k, arrays in g.opt_state.items():
        for name, arr in arrays.items():
            np.testing.assert_array_equal(g2.opt_state[k][name], arr)
    # training the loaded graph resumes: t keeps counting
    Trainer(g2, TrainConfig.from_dict(g2.meta["training"]).merged(epochs=1)).run()
    assert int(g2.opt_state[key]["t"]) == res.steps + res.steps // 2


def test_learning_rate_follows_the_schedule():
    g = spiral_net(epochs=4, schedule={"kind": "step", "every": 2, "factor": 0.5})
    res = Trainer(g).run()
    assert [r["lr"] for r in res.history] == [0.1, 0.1, 0.05, 0.05]


def test_the_learning_rate_flows_one_way_from_the_schedule_into_the_update(monkeypatch):
    g = spiral_net(epochs=2, optimizer={"kind": "adam", "lr": 0.01},
                   schedule={"kind": "1/t", "k": 0.5, "per": "step"})
    t = Trainer(g)
    t.prepare()
    handed = []
    update = t.optimizer.update
    t.optimizer.update = lambda items, lr=None: handed.append(lr) or update(items, lr)
    # the optimizer is never asked for its rate: the schedule starts from the settings' lr
    monkeypatch.setattr(type(t.optimizer), "lr", property(lambda self: pytest.fail("the trainer read the rate back")))
    t.run()
    assert handed == [0.01 / (1 + 0.5 * k) for k in range(t.steps_done)]


def test_roles_are_detected_and_bad_settings_named():
    g = spiral_net()
    tr = Trainer(g)
    tr.prepare()
    assert tr.roles["features"] == g.find("x") and tr.roles["labels"] == g.find("y")
    assert tr.roles["scores"] == g.find("fc2") and tr.roles["reg"] == g.find("reg")
    with pytest.raises(ConfigError, match="meta.training.features: no node named 'pixels'"):
        Trainer(spiral_net(features="pixels")).prepare()
    with pytest.raises(ConfigError, match="meta.training.epochs"):
        Trainer(spiral_net(epochs=-1))
    with pytest.raises(ConfigError, match="meta.training.optimizer: unknown optimizer 'sdg'"):
        Trainer(spiral_net(optimizer={"kind": "sdg"}))
    with pytest.raises(ConfigError, match="early_stopping: needs a validation split"):
        Trainer(spiral_net(early_stopping={"patience": 2}))
    with pytest.raises(ConfigError, match="meta.training: unknown setting 'epoch'"):
        TrainConfig.from_dict({"epoch": 3})


def test_initial_loss_sanity_check():
    g = spiral_net()
    for nid in ("fc1", "fc2"):  # small weights: every class equally likely
        node = g.nodes[g.find(nid)]
        node.tensors["W"] = node.tensors["W"] * 1e-3
    out = babysit.initial_loss_check(g)
    assert out["ok"], out["message"]
    assert out["data_loss"] == pytest.approx(math.log(3), rel=1e-3)
    assert out["reg_raises_loss"] is True and "log(3)" in out["message"]
    big = spiral_net()
    node = big.nodes[big.find("fc2")]
    node.tensors["W"] = node.tensors["W"] * 50
    assert not babysit.initial_loss_check(big)["ok"]


def test_overfit_a_tiny_subset():
    g = spiral_net(optimizer={"kind": "adam", "lr": 0.05})
    before = weights(g)
    out = babysit.overfit_tiny(g, n=20, epochs=300)
    assert out["ok"], out["message"]
    assert out["loss"] < 0.05 and out["acc"] == 1.0
    for k, v in before.items():  # the caller's graph is untouched
        np.testing.assert_array_equal(g.nodes[k[0]].tensors[k[1]], v)


@pytest.mark.slow
def test_random_search_coarse_then_fine_on_two_processes():
    g = spiral_net(epochs=2)
    cfg = TrainConfig.from_dict(g.meta["training"])
    res = search.coarse_to_fine(g, cfg, trials=2, epochs=2, lr_range=(1e-3, 1.0), reg_range=(1e-5, 1e-2),
                                workers=2, seed=0)
    trials = res["trials"]
    assert [t["stage"] for t in trials].count("coarse") == 2 and len(trials) == 4
    assert all(1e-3 <= t["lr"] <= 1.0 for t in trials if t["stage"] == "coarse")
    lo, hi = res["fine_lr_range"]
    assert all(lo <= t["lr"] <= hi for t in trials if t["stage"] == "fine")
    assert hi / lo == pytest.approx(10.0)
    assert len({t["pid"] for t in trials}) >= 2  # separate worker processes
    assert {t["threads"] for t in trials} == {"1"}
    assert res["best"]["val_acc"] == max(t["val_acc"] for t in trials)


def test_log_uniform_sampling():
    vals = search.sample(np.random.default_rng(0), 1e-4, 1.0, 4000)
    logs = np.log10(vals)
    assert logs.min() >= -4 and logs.max() <= 0
    counts = np.histogram(logs, bins=4, range=(-4, 0))[0]
    assert counts.min() > 850  # each decade about equally likely


def test_preprocessing_statistics_come_from_the_training_split():
    from graphcore.train.trainer import load_data
    cfg = TrainConfig.from_dict({"dataset": {"name": "blobs", "n_per_class": 40}, "val_fraction": 0.25,
                                 "preprocess": {"center": True, "standardize": True}, "dtype": "float64"})
    d = load_data(cfg)
    np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(d.X_train.std(0), 1, atol=1e-12)
    raw = datasets.blobs(n_per_class=40)
    # validation rows are transformed with the training mean/std, so they are not exactly standardised
    assert np.abs(d.X_val.mean(0)).max() > 1e-6
    assert len(d.X_train) == 90 and len(d.X_val) == 30 and len(raw) == 120


def test_augmented_image_batches_train():
    ds = datasets.digits(n=200)
    g = gc.Graph()
    x = g.add("input", name="x", value=ds.X[:8])
    y = g.add("input", name="y", value=ds.y[:8])
    f = g.add("flatten", inputs={"x": x})
    o = g.add("linear", inputs={"x": f}, units=10)
    g.add("softmax_cross_entropy", name="loss", inputs={"scores": o, "labels": y})
    g.meta["training"] = {"dataset": {"name": "digits", "n": 200}, "augment": {"shift": 1, "flip": False},
                          "optimizer": {"kind": "adam", "lr": 0.01}, "epochs": 3, "batch_size": 32}
    res = Trainer(g).run()
    assert res.status == "finished" and res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    a = spiral_net(epochs=1)
    assert Trainer(a).run().status == "finished"  # non-image data ignores augment settings


def test_dataset_that_does_not_fit_the_input_node_is_named():
    g = spiral_net(dataset={"name": "blobs", "dim": 5})
    with pytest.raises(ConfigError, match="features have shape \\(5,\\) per example but input node 'x' holds "
                                          "\\(2,\\)"):
        Trainer(g).prepare()


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


def test_saved_optimizer_state_that_does_not_fit_is_dropped_with_a_warning(capsys):
    g = spiral_net(epochs=1)
    fc1, fc2 = g.find("fc1"), g.find("fc2")
    W1 = g.nodes[fc1].tensors["W"]
    good = np.full(g.nodes[fc2].tensors["W"].shape, 0.5, np.float64)  # fits; cast to the weights' float32
    g.opt_state.update({"ghost/W": {"velocity": np.zeros(3)},              # no such node
                        f"{fc1}/W": {"velocity": np.zeros((W1.shape[0] + 1, W1.shape[1]))},  # wrong shape
                        f"{fc2}/W": {"velocity": good}})
    tr = Trainer(g)
    tr.prepare()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: optimizer_state.") and "(and 1 more); dropped" in err[0], err
    assert "ghost/W" not in g.opt_state
    assert f"{fc1}/W" not in g.opt_state  # never the wrong shape: fresh zeros at its first step
    v2 = g.opt_state[f"{fc2}/W"]["velocity"]
    assert v2.dtype == g.nodes[fc2].tensors["W"].dtype == np.float32 and (v2 == 0.5).all()  # fits: kept
    tr.train_step(tr.data.X_train[:8], tr.data.y_train[:8], 0.0)
    assert g.opt_state[f"{fc1}/W"]["velocity"].shape == W1.shape
    assert np.allclose(g.opt_state[f"{fc2}/W"]["velocity"], 0.45)  # the kept history was used: 0.9 * 0.5


@pytest.mark.parametrize("entry,why", [
    ({"velocity": np.zeros((2, 2))}, "shape (2, 2) does not match the weight's (2, 3)"),
    ({"velocity": np.full((2, 3), np.nan)}, "holds NaN or Inf"),
    ({"t": np.zeros(2, np.int64)}, "optimizer_state.k/W.t: shape (2,) does not match the weight's ()"),
    ({"t": np.array(-1)}, "a step count must be >= 0"),
    ({"speed": np.zeros((2, 3))}, "no optimizer keeps a state array of this name"),
    ({"m": np.zeros((2, 3), np.int64)}, "must be a float array"),
    ([1, 2], "must be an object of arrays"),
])
def test_optimizer_state_checks(entry, why):
    from graphcore.train import optstate

    state, said = {"k/W": entry}, []
    optstate.check(state, {"k/W": np.zeros((2, 3))}, warn=said.append)
    assert state == {} and len(said) == 1 and why in said[0] and "dropped" in said[0]


def test_a_regression_net_trains_from_a_csv_without_declaring_the_task(tmp_path):
    """The loss says what the labels are: an mse net reads fractional CSV targets as targets."""
    rows = "\n".join(f"{x / 10:.2f},{2 * x / 10 + 0.5:.3f}" for x in range(40))
    (tmp_path / "line.csv").write_text("x,t\n" + rows + "\n")
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((4, 1)))
    t = g.add("input", name="t", value=np.zeros((4, 1)))
    o = g.add("linear", name="fc", inputs={"x": x}, units=1)
    g.add("mse", name="loss", inputs={"pred": o, "target": t})
    g.meta["training"] = {"dataset": {"name": "csv", "path": "line.csv"}, "features": "x", "labels": "t",
                          "loss": "loss", "optimizer": {"kind": "sgd", "lr": 0.1}, "batch_size": 8,
                          "epochs": 2, "seed": 0, "val_fraction": 0.25}
    res = Trainer(g, base_dir=str(tmp_path)).run()
    assert res.status == "finished", res.message
