"""The Trainer's settings and state: roles and bad settings named, the learning-rate schedule, optimizer
state (round trip, checks, misfits dropped), preprocessing, augmentation and data that must fit."""
import numpy as np
import pytest

import graphcore as gc
from graphcore.train import datasets
from graphcore.train.config import ConfigError, TrainConfig
from graphcore.train.trainer import Trainer
from trainer_helpers import spiral_net


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
