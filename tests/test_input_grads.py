"""Gradients into data inputs are computed when first read (graphcore.inputgrads): what a
script reads is, bit for bit, what an eager pass (steps(), which is always eager) gives, for
every registered op, and a change after the pass is never answered from stale arrays."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore import registry
from graphcore.problems import NumericError

OPS = sorted(n for n, s in registry.ops().items() if not s.source and s.examples is not None)


def build(name: str, case: dict):
    """The op fed by data inputs (so its input gradients may wait), then tanh and a sum."""
    g = gc.Graph()
    srcs = {p: g.add("input", name=f"in_{p}", value=np.asarray(a)) for p, a in case["inputs"].items()}
    op = g.add(name, name="op", inputs=srcs, **case.get("params", {}))
    if case.get("weights"):
        g.set_weights(op, **case["weights"])
    t = g.add("tanh", name="t", inputs={"x": op})
    s = g.add("sum", name="s", inputs={"x": t})
    return g, s


def results(ex: gc.Executor) -> dict:
    out = {("grad", k): np.array(v) for k, v in ex.grads.items()}
    out.update({("edge", e.key): np.array(v) for e, v in ex.edge_grads.items()})
    out.update({("wgrad",) + k: np.array(v) for k, v in ex.weight_grads().items()})
    out.update({("value", k): np.array(v) for k, v in ex.values.items()})
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", OPS)
def test_deferred_input_gradients_equal_an_eager_pass_for_every_op(name, dtype):
    spec = registry.get(name)
    for case in spec.examples(np.random.default_rng(0)):
        mode = "eval" if name == "dropout" else case.get("mode", "train")
        if name == "batchnorm" and mode == "train":
            mode = "eval"  # a train pass moves the running statistics: two passes differ
        try:
            g, s = build(name, case)
            lazy = gc.Executor(g, dtype=dtype, mode=mode)
            for _ in range(3):  # the first pass learns which input gradients the rule makes; later ones defer
                lazy.forward()
                lazy.backward(s)
        except gc.GraphError:
            continue
        got = results(lazy)
        eager = gc.Executor(g, dtype=dtype, mode=mode)
        for _ in eager.steps(s):
            pass
        want = results(eager)
        assert got.keys() == want.keys(), name
        for key, a in want.items():
            np.testing.assert_array_equal(got[key], a, err_msg=f"{name}: {key}")


def mlp(n=5, d=7, h=4):
    rng = np.random.default_rng(1)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((n, d)))
    y = g.add("input", name="y", value=rng.integers(0, 3, n))
    l1 = g.add("linear", name="l1", inputs={"x": x}, units=h)
    r = g.add("relu", inputs={"x": l1})
    l2 = g.add("linear", name="l2", inputs={"x": r}, units=3)
    loss = g.add("softmax_cross_entropy", name="loss", inputs={"scores": l2, "labels": y})
    return g, x, l1, loss


def fresh_grad(g, x, loss):
    ex = gc.Executor(g)
    ex.forward()
    ex.backward(loss)
    return np.array(ex.grad(x))


def test_the_first_layer_defers_its_input_gradient_until_it_is_read():
    g, x, l1, loss = mlp()
    ex = gc.Executor(g)
    for _ in range(2):
        ex.forward()
        ex.backward(loss)
    assert [d[0].nid for d in ex._deferred] == [l1]  # the rule was asked for no dx this pass
    np.testing.assert_array_equal(ex.grad(x), fresh_grad(g, x, loss))
    assert not ex._deferred
    assert ex.has_grad(x) and x in ex.grads


@pytest.mark.parametrize("change", ["set_weights", "editing", "set_value"])
def test_a_change_after_the_pass_runs_it_again_before_answering(change):
    g, x, l1, loss = mlp()
    ex = gc.Executor(g)
    for _ in range(2):
        ex.forward()
        ex.backward(loss)
    if change == "set_weights":
        g.set_weights(l1, W=np.asarray(g.weights(l1)["W"]) * -2.0)
    elif change == "editing":
        with g.editing(l1) as arrays:
            arrays["W"] *= 3.0
    else:
        g.set_value(x, np.asarray(g.value(x)) + 1.0)
    np.testing.assert_array_equal(ex.grad(x), fresh_grad(g, x, loss))


def test_a_non_finite_deferred_gradient_names_the_layer_that_made_it():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((2, 3)))
    lin = g.add("linear", name="lin", inputs={"x": x}, units=4)
    s = g.add("sum", name="s", inputs={"x": lin})
    ex = gc.Executor(g)
    for _ in range(2):
        ex.forward()
        ex.backward(s)
    # x = 0: the output (b) and W's gradient (x^T g) stay finite, so the pass passes its checks;
    # only the deferred dx = g W^T = 4 * 1e308 overflows, and reading it names the layer
    g.set_weights(lin, W=np.full((3, 4), 1e308))
    ex.forward()
    ex.backward(s)
    assert ex._deferred
    with pytest.raises(NumericError) as info:
        ex.grad(x)
    assert info.value.node == lin


@pytest.mark.parametrize("name", ["linear", "conv2d", "matmul", "mse"])
def test_the_every_op_property_is_not_vacuous(name):
    """These rules skip an input gradient they are not asked for: their calls are deferred above."""
    case = registry.get(name).examples(np.random.default_rng(0))[0]
    g, s = build(name, case)
    ex = gc.Executor(g)
    for _ in range(2):
        ex.forward()
        ex.backward(s)
    assert [d[0].node.name for d in ex._deferred] == ["op"]


def test_a_nan_made_closer_to_the_target_is_named_before_a_deferred_input_gradient():
    """The NaN/Inf walk goes back from the target through what the pass computed: sqrt's Inf
    gradient at 0 is named, as an eager (fresh) executor names it, not the layer whose deferred
    gradient into the data input x inherits it."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([[1.0, 2.0], [3.0, 4.0]]))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=2)
    g.set_weights(h, W=np.ones((2, 2)), b=np.zeros(2))
    q = g.add("pow", name="sqrt", inputs={"x": h}, p=0.5)
    g.add("sum", name="s", inputs={"x": q})
    warm = gc.Executor(g)
    for _ in range(3):
        warm.forward()
        warm.backward()
    g.set_value(x, np.array([[0.0, 0.0], [3.0, 4.0]]))
    names = []
    for ex in (warm, gc.Executor(g)):
        with pytest.raises(gc.NumericError) as err:
            ex.forward()
            ex.backward()
        names.append(err.value.name)
    assert names == ["sqrt", "sqrt"]
