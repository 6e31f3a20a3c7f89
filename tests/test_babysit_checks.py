"""The babysitting checks (graphcore.train.checks, curve.py): each verdict on a case built to pass and
on one built to fail, with the numbers it reports."""
from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest

import graphcore as gc
from graphcore import registry
from graphcore.train import checks
from graphcore.train.curve import diagnose_curve
from graphcore.train.trainer import detect_roles, load_data

EX = os.path.join(os.path.dirname(__file__), "..", "resources", "examples")


def example(name: str) -> tuple[gc.Graph, checks.TrainConfig, object]:
    g = gc.load(os.path.join(EX, name))
    cfg = checks.TrainConfig.from_dict(g.meta["training"])
    data = load_data(cfg, EX, task=detect_roles(g, cfg)["task"], graph_file=g.file)
    return g, cfg, data


def scale_weights(g: gc.Graph, factor: float) -> None:
    for n in g.nodes.values():
        if n.op == "linear":
            n.tensors["W"] = n.tensors["W"] * factor


# ---------------------------------------------------------------- initial loss ~ log C
def test_initial_loss_passes_for_small_weights_and_reports_log_c():
    g, cfg, data = example("spiral_2layer.json")
    v = checks.initial_loss(g, cfg, data)
    assert v.verdict == "pass"
    assert v.numbers["expected"] == pytest.approx(math.log(3))
    assert abs(v.numbers["loss"] / math.log(3) - 1) <= 0.15
    assert "log(3)" in v.rule and "1.0986" in v.explanation


def test_initial_loss_fails_for_large_weights():
    g, cfg, data = example("spiral_2layer.json")
    scale_weights(g, 300.0)
    v = checks.initial_loss(g, cfg, data)
    assert v.verdict == "fail" and v.numbers["ratio"] > 1.5
    assert g.nodes["n3"].tensors["W"].std() > 1  # the check worked on a copy: the scaled graph is as it was


def test_initial_loss_ignores_the_regulariser():
    g, cfg, data = example("spiral_2layer.json")
    g.nodes["n7"].params["strength"] = 1e4  # a huge penalty must not move the data loss the rule reads
    assert checks.initial_loss(g, cfg, data).verdict == "pass"


# ---------------------------------------------------------------- regularisation raises the loss
def test_reg_raises_loss_passes_with_nonzero_weights():
    g, cfg, data = example("spiral_2layer.json")
    v = checks.reg_raises_loss(g, cfg, data)
    assert v.verdict == "pass" and v.numbers["loss_reg_on"] > v.numbers["loss_reg_off"]


def test_reg_raises_loss_fails_when_the_penalty_adds_nothing():
    g, cfg, data = example("spiral_2layer.json")
    scale_weights(g, 0.0)  # an L2 penalty of all-zero weights is 0 for every strength
    v = checks.reg_raises_loss(g, cfg, data)
    assert v.verdict == "fail" and v.numbers["loss_reg_on"] == v.numbers["loss_reg_off"]


def test_reg_raises_loss_not_applicable_without_a_regulariser():
    g, cfg, data = example("spiral_2layer.json")
    g.remove("n7")
    assert checks.reg_raises_loss(g, cfg, data).verdict == "n/a"


# ---------------------------------------------------------------- overfit a tiny subset
def test_overfit_passes_at_the_file_settings():
    g, cfg, data = example("spiral_2layer.json")
    v = checks.overfit(g, cfg, data, n=20, epochs=200)
    assert v.verdict == "pass" and v.numbers["loss"] <= 0.05 and v.numbers["accuracy"] == 1.0
    assert v.numbers["examples"] == 20


def test_overfit_fails_with_a_learning_rate_far_too_low():
    g, cfg, data = example("spiral_2layer.json")
    slow = cfg.merged(optimizer={"kind": "sgd", "lr": 1e-6})
    v = checks.overfit(g, slow, data, n=20, epochs=50)
    assert v.verdict == "fail" and v.numbers["loss"] > 1.0
    assert v.numbers["start_loss"] == pytest.approx(v.numbers["loss"], rel=1e-3)


# ---------------------------------------------------------------- update/weight ratio
@pytest.mark.parametrize("ratio, verdict", [(1e-3, "pass"), (2e-4, "pass"), (5e-2, "warn"), (3e-5, "warn"),
                                            (0.5, "fail"), (1e-7, "fail"), (math.nan, "fail")])
def test_update_ratio_bands(ratio, verdict):
    run = {"losses": [], "ratios": {"fc1.W": [ratio] * 5, "fc2.W": [1e-3] * 5, "fc1.b": [10.0] * 5}}
    v = checks.update_ratio(run)
    assert v.verdict == verdict
    assert "fc1.b" not in v.numbers  # biases are not judged: the notes' ratio is about weight matrices


def test_update_ratio_uses_the_median_over_the_run():
    run = {"losses": [], "ratios": {"W": [1e-3, 1e-3, 9.0, 1e-3, 1e-3]}}  # one wild step does not decide
    assert checks.update_ratio(run).numbers["W"] == pytest.approx(1e-3)


def test_update_ratio_of_a_real_run_follows_the_learning_rate():
    g, cfg, data = example("spiral_linear.json")
    for lr, verdict in ((1e-7, "fail"), (cfg.optimizer["lr"], "pass"), (30.0, "fail")):
        run = checks.short_run(g, cfg.merged(optimizer={**cfg.optimizer, "lr": lr}), data, steps=100)
        assert len(run["losses"]) == 100
        v = checks.update_ratio(run)
        assert v.verdict == verdict, v.explanation


def test_update_ratio_matches_lr_times_gradient_over_weight():
    """Independent reference: plain SGD's first full-batch update is lr * dW, so its ratio is lr |dW| / |W|."""
    g, cfg, data = example("spiral_linear.json")
    sgd = cfg.merged(optimizer={"kind": "sgd", "lr": 1e-2}, batch_size=0)
    run = checks.short_run(g, sgd, data, steps=1)
    fw = checks._Forward(g, sgd, data, limit=len(data.X_train))
    fw.ex.forward()
    fw.ex.backward()
    nid = next(i for i, n in fw.g.nodes.items() if n.op == "linear")
    W = fw.g.nodes[nid].tensors["W"]
    dW = fw.ex.weight_grad(nid, "W")
    want = 1e-2 * np.linalg.norm(dW) / np.linalg.norm(W - 1e-2 * dW)  # the weights after the update
    got = next(v for k, v in run["ratios"].items() if k.endswith(".W"))[0]
    assert got == pytest.approx(want, rel=1e-2)


# ---------------------------------------------------------------- loss curve shape
T = np.arange(200, dtype=float)


@pytest.mark.parametrize("curve, verdict, shape", [
    (1.1 * np.exp(-T / 20) + 0.05, "pass", "good"),
    (1.1 - 0.002 * T, "warn", "lr too low"),
    (np.full(200, 1.1) + 1e-4 * np.sin(T), "fail", "lr too low"),
    (1.1 * np.exp(T / 50), "fail", "lr too high"),
    (np.r_[1.1 * np.exp(-T[:50] / 10), [np.nan] * 150], "fail", "lr too high"),
    (0.6 + 0.5 * np.exp(-T / 3), "warn", "lr too high"),
    (np.where(T < 60, 1.1, 1.1 * np.exp(-(T - 60) / 15) + 0.02), "warn", "bad initialisation"),
], ids=["good", "straight", "flat", "rising", "nan", "plateau", "late-start"])
def test_loss_curve_shapes(curve, verdict, shape):
    d = diagnose_curve(curve)
    assert (d["verdict"], d["shape"]) == (verdict, shape), d["explanation"]
    assert d["rule"] and d["explanation"]


def test_loss_curve_ignores_minibatch_noise():
    rng = np.random.default_rng(0)
    noisy = (1.1 * np.exp(-T / 20) + 0.05) * (1 + 0.3 * rng.standard_normal(200))
    assert diagnose_curve(noisy)["shape"] == "good"


def test_loss_curve_too_short():
    assert diagnose_curve([1.0, 0.5])["verdict"] == "n/a"


# ---------------------------------------------------------------- gradient check
def test_gradient_check_passes_on_the_registry_ops():
    g, cfg, data = example("spiral_2layer.json")
    v = checks.gradient_check(g, cfg, data)
    assert v.verdict == "pass" and v.numbers["max_relative_error"] < 1e-6 and v.numbers["arrays"] == 4


def test_gradient_check_fails_on_a_wrong_backward(monkeypatch):
    spec = registry.get("relu")
    orig = spec.backward

    def doubled(*a, **k):  # a deliberate bug: twice the true gradient
        return [None if x is None else 2 * x for x in orig(*a, **k)]

    monkeypatch.setitem(registry._REGISTRY, "relu", dataclasses.replace(spec, backward=doubled))
    g, cfg, data = example("spiral_2layer.json")
    v = checks.gradient_check(g, cfg, data)
    assert v.verdict == "fail" and v.numbers["max_relative_error"] > 0.1


# ---------------------------------------------------------------- all of them
def test_iter_checks_yields_every_check_in_order_and_stops_between_two():
    g, _, _ = example("spiral_linear.json")
    g.file = os.path.join(EX, "spiral_linear.json")
    seen = []
    for v in checks.iter_checks(g, base_dir=EX, epochs=50, steps=20, stop=lambda: len(seen) >= 2):
        seen.append(v)
    assert [v.check for v in seen] == ["initial_loss", "reg_raises_loss"]
    every = checks.run_checks(g, base_dir=EX, epochs=100, steps=30)
    assert [v.check for v in every] == list(checks.TITLES)
    assert all(v.verdict in checks.VERDICTS and v.rule and v.explanation for v in every)
    assert all(isinstance(v.to_dict()["numbers"], dict) for v in every)


def test_sanity_all_prints_every_verdict(capsys):
    import json

    from graphcore.cli import main as cli_main

    code = cli_main(["sanity", os.path.join(EX, "spiral_linear.json"), "--all", "--overfit-epochs", "50", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert [c["check"] for c in doc["checks"]] == list(checks.TITLES)
    assert code == (0 if doc["ok"] else 1) and doc["ok"] == all(c["verdict"] != "fail" for c in doc["checks"])
