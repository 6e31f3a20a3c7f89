"""Settings edited while a run goes on (Qt-free): the session hands them to the trainer, which applies
them before its next step; a bad value is refused with a message and the run goes on."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
from graphcore.train.optim import OptimizerError
from graphcore.train.schedules import ScheduleError
from graphcore.train.session import TrainJob
from graphcore.train.trainer import Trainer
from backprop_studio_resources import examples_dir

SPIRAL = os.path.join(examples_dir(), "spiral_2layer.json")


def spiral(epochs: int = 30) -> gc.Graph:
    """The spiral example, small: full batch, so one epoch is one step."""
    g = gc.load(SPIRAL)
    g.meta["training"] = dict(g.meta["training"], epochs=epochs, report_every=1,
                              dataset=dict(g.meta["training"]["dataset"], n_per_class=20))
    return g


def run_job(g: gc.Graph, at_step: dict) -> tuple[dict, list]:
    """Run a TrainJob; after step k (a key of at_step) the job is sent at_step[k], as the GUI would."""
    sent: list = []
    job = None

    def emit(kind, payload):
        sent.append((kind, payload))
        if kind == "chunk" and "step.loss" in payload:
            for step in payload["step.loss"][0]:
                if int(step) in at_step:
                    job.request_settings(at_step[int(step)])

    job = TrainJob(g, g.meta["training"], {"fresh": False}, None, snapshots=False, emit=emit)
    import graphcore.train.session as session_mod

    old = session_mod.CHUNK_SECONDS
    session_mod.CHUNK_SECONDS = 0.0  # one chunk per step, so a request lands right after its step
    try:
        result = job.run()
    finally:
        session_mod.CHUNK_SECONDS = old
    return result, sent


def series(sent: list, name: str) -> tuple[np.ndarray, np.ndarray]:
    parts = [p[name] for k, p in sent if k == "chunk" and name in p]
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def events(sent: list, kind: str) -> list[dict]:
    return [p for k, p in sent if k == "event" and p.get("type") == kind]


def test_a_new_learning_rate_applies_from_the_next_step_exactly():
    g = spiral()
    result, sent = run_job(g, {10: {"optimizer": {"kind": "sgd", "lr": 0.25}}})
    assert result["status"] == "finished" and result["steps"] == 30
    x, lr = series(sent, "step.lr")
    np.testing.assert_array_equal(x, np.arange(1, 31))
    assert np.all(lr[:10] == 1.0) and np.all(lr[10:] == 0.25)
    ev = events(sent, "settings")
    assert len(ev) == 1 and ev[0]["step"] == 10 and "From iteration 11: lr 0.25 (was 1)" in ev[0]["message"]
    # the same weights, to the last bit, as 10 steps at lr 1 then 20 at lr 0.25 by hand
    ref = spiral()
    t = Trainer(ref, ref.meta["training"])
    t.run(epochs=10)
    t.optimizer.configure(lr=0.25)
    t.lr0 = 0.25
    t.run(epochs=20)
    for nid in ("fc1", "fc2"):
        np.testing.assert_array_equal(g.nodes[g.find(nid)].tensors["W"], ref.nodes[ref.find(nid)].tensors["W"])


def test_a_bad_value_is_refused_with_a_message_and_the_run_goes_on():
    g = spiral()
    result, sent = run_job(g, {5: {"optimizer": {"kind": "sgd", "lr": 0.5}},
                               8: {"optimizer": {"kind": "momentum", "lr": 0.1, "momentum": 1.5}},
                               12: {"schedule": {"kind": "step", "every": 2, "factor": 0.0}},
                               15: {"optimizer": {"lr": float("nan")}},
                               18: ["not", "a", "dict"]})
    assert result["status"] == "finished" and result["steps"] == 30
    refused = events(sent, "settings_refused")
    assert len(refused) == 4
    assert "momentum must be in [0, 1), got 1.5" in refused[0]["message"]
    assert "factor must be in (0, 1]" in refused[1]["message"]
    assert "lr must be a finite number" in refused[2]["message"]
    assert "settings must be an object" in refused[3]["message"]
    assert all("Training goes on with the previous ones" in r["message"] for r in refused)
    _, lr = series(sent, "step.lr")
    assert np.all(lr[5:] == 0.5)  # the accepted change holds; the refused ones changed nothing


def test_schedule_and_momentum_change_mid_run():
    g = spiral(epochs=20)
    g.meta["training"]["optimizer"] = {"kind": "momentum", "lr": 0.5, "momentum": 0.5}
    result, sent = run_job(g, {6: {"optimizer": {"kind": "momentum", "lr": 0.5, "momentum": 0.9},
                                   "schedule": {"kind": "inverse", "k": 0.5, "per": "step"}}})
    assert result["status"] == "finished"
    _, lr = series(sent, "step.lr")
    assert np.all(lr[:6] == 0.5)
    np.testing.assert_allclose(lr[6:], 0.5 / (1 + 0.5 * np.arange(6, 20)), rtol=0, atol=0)
    msg = events(sent, "settings")[0]["message"]
    assert "momentum 0.9 (was 0.5)" in msg and "schedule kind=inverse" in msg


def test_the_regularisation_strength_reaches_the_graphs_l2_node_mid_run():
    g = spiral()
    result, sent = run_job(g, {10: {"reg_strength": 0.5}})
    assert result["status"] == "finished"
    reg = g.nodes[g.find("reg")]
    assert reg.params["strength"] == 0.5
    _, rl = series(sent, "step.reg_loss")
    assert rl[10] > 100 * rl[9]  # 0.5 instead of the example's 1e-3: the L2 term jumps at step 11
    assert "reg.strength 0.5 (was 0.001)" in events(sent, "settings")[0]["message"]


def test_without_a_regulariser_node_lambda_is_the_weight_decay():
    g = spiral()
    g.remove(g.find("reg"))
    result, sent = run_job(g, {10: {"optimizer": {"kind": "sgd", "lr": 1.0}, "reg_strength": 0.25}})
    assert result["status"] == "finished"
    assert "weight_decay 0.25 (was 0)" in events(sent, "settings")[0]["message"]
    plain = spiral()
    plain.remove(plain.find("reg"))
    run_job(plain, {})
    norm = lambda gr: float(np.linalg.norm(gr.nodes[gr.find("fc1")].tensors["W"]))  # noqa: E731
    assert norm(g) < 0.9 * norm(plain)  # the decay pulled the weights in from step 11 on


def test_settings_before_the_trainer_exists_wait_for_it():
    g = spiral(epochs=5)
    sent: list = []
    job = TrainJob(g, g.meta["training"], {"fresh": False}, None, snapshots=False,
                   emit=lambda k, p: sent.append((k, p)))
    job.request_settings({"optimizer": {"kind": "sgd", "lr": 0.125}})
    assert job.run()["status"] == "finished"
    _, lr = series(sent, "step.lr")
    assert np.all(lr == 0.125)


def test_the_trainer_checks_requests_when_they_are_made():
    g = spiral(epochs=2)
    t = Trainer(g, g.meta["training"])
    t.prepare()
    with pytest.raises(OptimizerError, match="beta2"):
        t.request_settings({"beta2": 1.0})
    with pytest.raises(ScheduleError, match="unknown schedule"):
        t.request_settings(schedule={"kind": "cosine"})
    assert t._pending is None  # nothing queued
    t.request_settings({"lr": 0.5})
    t.request_settings({"lr": 0.75, "momentum": 0.8})  # merged: the latest value wins
    t.run(epochs=1)
    assert t.optimizer.lr == 0.75 and t.optimizer.hyper["momentum"] == 0.8 and t.lr0 == 0.75


def test_a_graph_error_in_a_run_names_the_node_by_name():
    g = spiral(epochs=1)
    fc2 = g.find("fc2")
    g.disconnect(fc2, "x")
    job = TrainJob(g, g.meta["training"], {"fresh": False}, None, snapshots=False, emit=lambda k, p: None)
    result = job.run()
    assert result["status"] == "error"
    assert "node 'fc2' port 'x'" in result["message"] and repr(fc2) not in result["message"]
