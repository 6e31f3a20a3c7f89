"""A float32 training run gives the graph its arrays back in their own dtype (float64 in a document):
the run trains in float32, and when `run` returns each weight, param value and batchnorm statistic it
cast is a float64 copy holding the float32 result."""
from __future__ import annotations

import numpy as np

import graphcore as gc
from graphcore.train.trainer import Trainer


def bn_net(dtype: str = "float32", epochs: int = 3) -> gc.Graph:
    """spiral -> linear(8) -> batchnorm -> relu -> linear(3) -> softmax loss, plus a trainable param."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((6, 2)))
    y = g.add("input", name="y", value=np.zeros(6, dtype=np.int64))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=8)
    bn = g.add("batchnorm", name="bn", inputs={"x": h})
    r = g.add("relu", name="relu", inputs={"x": bn})
    scale = g.add("param", name="scale", value=np.ones(8))
    m = g.add("mul", name="scaled", inputs={"a": r, "b": scale})
    s = g.add("linear", name="scores", inputs={"x": m}, units=3)
    g.add("softmax_cross_entropy", name="loss", inputs={"scores": s, "labels": y})
    g.meta["training"] = {"dataset": {"name": "spiral", "n_per_class": 20, "classes": 3, "seed": 0},
                          "features": "x", "labels": "y", "loss": "loss",
                          "optimizer": {"kind": "momentum", "lr": 0.3, "momentum": 0.9},
                          "batch_size": 16, "epochs": epochs, "seed": 0, "val_fraction": 0.0, "dtype": dtype}
    gc.Executor(g, mode="eval").forward()  # shapes the weights
    return g


def float_arrays(g: gc.Graph) -> dict[tuple[str, str], np.ndarray]:
    """Every float array but the data inputs' values (which the trainer restores as they were)."""
    return {(n.name, w): np.array(a) for n in g.nodes.values() for w, a in n.tensors.items()
            if a.dtype.kind == "f" and n.op != "input"}


def test_a_float32_run_leaves_float64_arrays_holding_the_float32_result():
    g = bn_net()
    before = float_arrays(g)
    assert {a.dtype for a in before.values()} == {np.dtype(np.float64)}
    assert ("bn", "running_var") in before and ("scale", "value") in before
    during = {}
    tr = Trainer(g, on_step=lambda m: during.update(float_arrays(g)) if not during else None)
    assert tr.run().status == "finished"
    assert {a.dtype for a in during.values()} == {np.dtype(np.float32)}  # it did train in float32
    after = float_arrays(g)
    assert after.keys() == before.keys()
    for key, a in after.items():
        assert a.dtype == np.float64, key
        assert np.array_equal(a, a.astype(np.float32)), key  # float32 values, widened exactly
        assert not np.array_equal(a, before[key]), f"{key} was not trained"


def test_the_weights_changed_event_sees_the_float64_arrays():
    g = bn_net()
    seen = []
    g.weights_changed.sub(lambda *args, **kw: seen.append({a.dtype for a in float_arrays(g).values()}))
    Trainer(g).run()
    assert seen and seen[-1] == {np.dtype(np.float64)}


def test_two_runs_of_one_trainer_equal_one_longer_run_bit_for_bit():
    """Giving the arrays back between runs loses nothing: the next run casts them to the same bits."""
    split, whole = bn_net(epochs=2), bn_net(epochs=4)
    tr = Trainer(split)
    tr.run()
    mid = float_arrays(split)
    tr.run()
    Trainer(whole).run()
    got, want = float_arrays(split), float_arrays(whole)
    for key in want:
        assert got[key].dtype == want[key].dtype == np.float64
        assert np.array_equal(got[key], want[key]), key
        if key[1] == "W":
            assert not np.array_equal(mid[key], want[key])


def test_a_float64_run_keeps_the_very_arrays():
    g = bn_net(dtype="float64")
    ids = {key: id(g.nodes[g.find(key[0])].tensors[key[1]]) for key in float_arrays(g)}
    Trainer(g).run()
    assert {key: id(g.nodes[g.find(key[0])].tensors[key[1]]) for key in ids} == ids  # updated in place, no copies
