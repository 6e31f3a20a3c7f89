"""The regularizers' repeated calls (graphcore.ops.regularizers, Ctx.repeat) never return a stale
penalty or gradient: after each documented change a warm executor agrees with a fresh one."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc


def _net(op: str, targets: str = "auto") -> gc.Graph:
    rng = np.random.default_rng(3)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((8, 4)))
    y = g.add("input", name="y", value=rng.integers(0, 3, 8))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=6, init="normal", init_scale=0.5)
    r = g.add("relu", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": r}, units=3, init="normal", init_scale=0.5)
    ce = g.add("softmax_cross_entropy", name="ce", inputs={"scores": o, "labels": y})
    reg = g.add(op, name="reg", strength=0.25, targets=targets)
    g.add("total_loss", name="loss", inputs={"data": ce, "reg": reg})
    return g


def _pass(ex: gc.Executor) -> tuple:
    ex.forward()
    ex.backward("loss")
    return (float(ex.value("reg")), ex.weight_grad("fc1", "W").copy(), ex.weight_grad("fc2", "W").copy())


def _agree(g: gc.Graph, warm: gc.Executor, dtype) -> None:
    got, want = _pass(warm), _pass(gc.Executor(g, dtype=dtype))
    assert got[0] == want[0]
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", ["l2", "l1"])
def test_a_warm_regularizer_follows_every_change(op, dtype):
    g = _net(op)
    ex = gc.Executor(g, dtype=dtype)
    for _ in range(3):
        _pass(ex)
    assert ex._index[g.find("reg")].frep is not None  # the forward call is being repeated
    before = _pass(ex)[0]
    with g.editing(g.find("fc1")) as arrays:  # in place, the documented way
        arrays["W"] *= 2.0
    _agree(g, ex, dtype)
    assert float(ex.value("reg")) != before
    g.set_weights(g.find("fc2"), W=np.full((6, 3), 0.5))  # a new array
    _agree(g, ex, dtype)
    g.set_param(g.find("reg"), "strength", 0.5)
    _agree(g, ex, dtype)
    g.set_param(g.find("reg"), "targets", "fc2")  # fc1 no longer penalised
    _agree(g, ex, dtype)
    g.rename(g.find("fc2"), "out")  # the target's name no longer resolves: the same error as a fresh executor
    with pytest.raises(gc.GraphError, match="no node named 'fc2'"):
        _pass(ex)
    g.rename(g.find("out"), "fc2")
    _agree(g, ex, dtype)


def test_the_penalty_alone_repeats_bit_for_bit():
    g = _net("l2")
    ex = gc.Executor(g)
    first = _pass(ex)
    W1, W2 = (g.nodes[g.find(n)].tensors["W"] for n in ("fc1", "fc2"))
    want = 0.5 * 0.25 * float(W1.reshape(-1) @ W1.reshape(-1)) + 0.5 * 0.25 * float(W2.reshape(-1) @ W2.reshape(-1))
    for _ in range(3):
        again = _pass(ex)
        assert again[0] == first[0] == pytest.approx(want, rel=1e-14)
        np.testing.assert_array_equal(again[1], first[1])
