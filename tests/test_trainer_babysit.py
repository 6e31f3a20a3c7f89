"""Babysitting the learning process: the initial-loss sanity check, overfitting a tiny subset, and the
coarse-to-fine random search over log-uniform samples."""
import math

import numpy as np
import pytest

from graphcore.train import babysit, search
from graphcore.train.config import TrainConfig
from trainer_helpers import spiral_net, weights


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
