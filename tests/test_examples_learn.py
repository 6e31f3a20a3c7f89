"""The training examples learn what they say they learn (full runs, seeds stored in the files)."""
import os

import graphcore as gc
from graphcore.train.trainer import Trainer
from backprop_studio_resources import examples_dir

import pytest

pytestmark = pytest.mark.slow  # seconds per test: a subprocess or a full training run

EX = examples_dir()


def train(name, **over):
    g = gc.load(os.path.join(EX, name))
    res = Trainer(g).run()
    assert res.status == "finished", res.message
    return g, res


def test_spiral_two_layer_net_reaches_98_percent():
    g, res = train("spiral_2layer.json")
    assert res.steps == 10000
    assert res.final["train_acc"] >= 0.98
    assert res.history[-1]["train_loss"] < 0.26  # the notes' final loss is about 0.25
    assert all(res.meets(g.meta["training"]["expect"]).values())


def test_linear_classifier_plateaus_near_half():
    g, res = train("spiral_linear.json")
    assert 0.40 <= res.final["train_acc"] <= 0.60
    # a plateau: the last 50 epochs barely move the loss
    assert abs(res.history[-50]["train_loss"] - res.history[-1]["train_loss"]) < 0.01


def test_xor_mlp_is_perfect():
    g, res = train("xor_mlp.json")
    assert res.final["train_acc"] == 1.0 and res.final["val_acc"] == 1.0


def test_digits_cnn_97_percent_validation_in_10_epochs():
    g, res = train("digits_cnn.json")
    assert res.epochs == 10 and len(res.history) == 10
    assert res.final["val_acc"] >= 0.97
    assert g.meta["training"]["val_fraction"] == 0.2


def test_relu_converges_faster_than_tanh():
    _, relu = train("spiral_relu.json")
    _, tanh = train("spiral_tanh.json")
    r = [h["train_loss"] for h in relu.history]
    t = [h["train_loss"] for h in tanh.history]
    first = lambda losses: next(i for i, v in enumerate(losses) if v < 0.45)  # noqa: E731
    assert first(r) * 2 <= first(t)
    assert sum(a < b for a, b in zip(r, t)) >= 35
    assert relu.final["train_acc"] > tanh.final["train_acc"]
