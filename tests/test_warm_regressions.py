"""Warm executors against fresh ones, after the sequences a differential fuzzer found to differ:
each test is a minimal repro of one bug, checked against a fresh executor on the same graph."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc


def test_backward_after_a_forward_that_raised_numeric_error_raises_it_again():
    """forward() found a NaN and raised; backward() must not start from that pass's values (a fresh
    executor runs forward, which raises): it used to return gradients of the NaN pass."""
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([-1.0, 2.0]))
    lg = g.add("log", name="lg", inputs={"x": x})
    g.add("sum", name="s", inputs={"x": lg})
    for stepped in (False, True):
        ex = gc.Executor(g)
        with pytest.raises(gc.NumericError) as first:
            if stepped:
                list(ex.steps("s", backward=False))
            else:
                ex.forward()
        with pytest.raises(gc.NumericError) as fresh:
            gc.Executor(g).backward("s")
        with pytest.raises(gc.NumericError) as warm:
            ex.backward("s")
        assert str(warm.value) == str(fresh.value) == str(first.value)
        assert "forward" in str(warm.value) and "'lg'" in str(warm.value)


def test_a_plan_longer_than_max_steps_is_not_traced_and_gives_the_fresh_results(monkeypatch):
    """A trace is one generated function, whose compile grows faster than linearly with its length:
    plans longer than passtrace.MAX_STEPS run the generic loops (here with the limit made small)."""
    from graphcore import passtrace

    def chain(n):
        g = gc.Graph()
        prev = g.add("param", name="x", value=np.array([0.5, -1.0, 2.0]))
        for k in range(n):
            prev = g.add("tanh" if k % 2 else "sigmoid", inputs={"x": prev})
        g.add("sum", name="s", inputs={"x": prev})
        return g

    monkeypatch.setattr(passtrace, "MAX_STEPS", 6)
    for n, traced in ((4, True), (5, False)):  # 4 + 2 steps fit, 5 + 2 do not
        g = chain(n)
        ex = gc.Executor(g)
        for _ in range(3):
            ex.forward()
            ex.backward("s")
        assert (ex.traced_passes > 0) is traced and (ex._ftrace is not None) is traced
        fresh = gc.Executor(g)
        fresh.forward()
        fresh.backward("s")
        for nid in g.nodes:
            np.testing.assert_array_equal(ex.grads[nid], fresh.grads[nid])
            np.testing.assert_array_equal(ex.values[nid], fresh.values[nid])


def test_generated_binds_every_name_of_a_large_namespace():
    """stepctx.generated binds the namespace as the globals of a cached code object (by keyword into a
    closure, matching N names cost O(N^2): 5.8 s for a 3,000-node trace): each name gets its own value."""
    from graphcore.stepctx import generated

    ns = {f"v{k}": k * 3 for k in range(2000)}
    lines = ["        return " + " + ".join(f"v{k}" for k in (0, 7, 1999))]
    assert generated("def run():", lines, ns)() == 3 * (0 + 7 + 1999)


def _tanh_sum():
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([0.5, -1.0]))
    t = g.add("tanh", name="t", inputs={"x": x})
    g.add("sum", name="s", inputs={"x": t})
    return g, x, t


def _same_as_fresh(ex, g, target):
    fresh = gc.Executor(g, mode=ex.mode, seed=ex.seed)
    fresh.backward(target)
    ex.backward(target)
    assert ex.values.keys() == fresh.values.keys() and dict(ex.grads).keys() == dict(fresh.grads).keys()
    for nid in fresh.values:
        np.testing.assert_array_equal(ex.values[nid], fresh.values[nid])
        np.testing.assert_array_equal(ex.grads[nid], fresh.grads[nid])


@pytest.mark.parametrize("change", ["value", "mode"])
def test_a_stepped_forward_edited_while_suspended_is_not_current(change):
    """A value (or the mode) changed between two events of a stepped forward: the pass ends with
    values of two states, so backward() must run forward again (it used to backpropagate the old
    x's tanh, or dropout's train-mode mask in eval mode, under the new key: gradients into x were
    wrong)."""
    g, x, t = _tanh_sum()
    if change == "mode":
        g.remove(t)
        d = g.add("dropout", name="t", inputs={"x": x}, p=0.5)
        g.connect(d, g.find("s"), "x")
    ex = gc.Executor(g, seed=1)
    it = ex.steps("s", backward=False)
    next(it)
    next(it)
    if change == "value":
        g.set_value(x, np.array([2.0, 3.0]))
    else:
        ex.mode = "eval"
    list(it)
    _same_as_fresh(ex, g, "s")


def test_a_stepped_pass_resumed_after_another_pass_or_a_structural_edit_refuses_to_go_on():
    """Resuming a suspended steps() generator after forward()/backward() ran (or after a wire
    changed) wrote the old plan's values over the new pass's ones, which backward() then trusted."""
    g, x, t = _tanh_sum()
    ex = gc.Executor(g)
    it = ex.steps("s")
    next(it)
    next(it)
    m = g.add("mul", name="m", inputs={"a": t, "b": t})
    g.disconnect(g.find("s"), "x")
    g.connect(m, g.find("s"), "x")
    ex.forward()
    ex.backward("s")
    with pytest.raises(gc.GraphError, match="left behind"):
        list(it)
    _same_as_fresh(ex, g, "s")
    it = ex.steps("s")  # a structural edit alone, no other pass
    for _ in range(len(g.nodes) + 1):
        next(it)
    g.remove(m)
    g.connect(t, g.find("s"), "x")
    with pytest.raises(gc.GraphError, match="left behind"):
        next(it)
    _same_as_fresh(ex, g, "s")


def test_a_stepped_pass_resumed_after_a_new_shape_refuses_to_go_on():
    """A source given another shape between two events: the rest of the pass had been shape-checked
    for the old one (a kernel got arrays that do not fit: numpy raised a bare ValueError, a compiled
    kernel could index past a buffer). Resuming raises GraphError; the next pass is a fresh one's."""
    rng = np.random.default_rng(0)
    g = gc.Graph()
    x = g.add("param", name="x", value=rng.standard_normal((2, 3)))
    p = g.add("param", name="p", value=rng.standard_normal((3, 2)))
    m = g.add("matmul", name="m", inputs={"a": x, "b": p})
    g.add("sum", name="s", inputs={"x": m})
    ex = gc.Executor(g)
    ex.forward()  # the shapes are checked once; a stepped pass then skips the checks
    it = ex.steps("s")
    next(it)
    g.set_value(p, rng.standard_normal((4, 2)))  # now x @ p no longer fits
    with pytest.raises(gc.GraphError, match="left behind"):
        list(it)
    with pytest.raises(gc.GraphError, match="cannot multiply"):  # as a fresh executor says
        ex.forward()
    g.set_value(x, rng.standard_normal((2, 4)))
    _same_as_fresh(ex, g, "s")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batchnorm_statistics_of_a_stepped_pass_switched_to_eval_half_way_reach_the_document(dtype):
    """A stepped forward began in train mode (batchnorm wrote new running statistics) and ended in
    eval mode: the statistics must still be committed (a float32 executor wrote them only into its
    cast copies, so its eval passes used statistics the document never got)."""
    rng = np.random.default_rng(0)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((6, 3)) * 3 + 1)
    bn = g.add("batchnorm", name="bn", inputs={"x": x})
    g.add("sum", name="s", inputs={"x": bn})
    ex = gc.Executor(g, dtype=dtype)
    it = ex.steps("s", backward=False)
    next(it)
    next(it)  # bn ran in train mode
    ex.mode = "eval"
    list(it)
    ex.forward()
    fresh = gc.Executor(g, dtype=dtype, mode="eval")
    fresh.forward()
    np.testing.assert_array_equal(ex.values[bn], fresh.values[bn])
    assert not np.array_equal(g.nodes[bn].tensors["running_mean"], np.zeros(3))


def test_reading_a_deferred_input_gradient_after_a_rename_does_not_run_the_pass_again():
    """A warm executor defers the gradient into a data input until it is read (graphcore.inputgrads).
    Read after a rename, it re-ran the whole pass: a new dropout mask, other values and weight
    gradients, and batchnorm's statistics moved in the document, where a cold executor (which had
    computed it at once) returned the pass's own results. Nothing the deferred call reads changed."""
    def build():
        g = gc.Graph()
        x = g.add("input", name="x", value=np.arange(12.0).reshape(3, 4) / 7)
        fc = g.add("linear", name="fc", inputs={"x": x}, units=5)
        d = g.add("dropout", name="drop", inputs={"x": fc}, p=0.5)
        bn = g.add("batchnorm", name="bn", inputs={"x": d})
        g.add("sum", name="s", inputs={"x": bn})
        return g, x, fc, bn

    for warm in (False, True):
        g, x, fc, bn = build()
        ex = gc.Executor(g, seed=0)
        if warm:  # passes that teach it to defer, then read; the rng then differs: compare with itself
            for _ in range(3):
                ex.backward("s")
                dict(ex.grads)
        ex.backward("s")
        values = {k: np.array(v) for k, v in ex.values.items()}
        wgrad = np.array(ex.weight_grad(fc, "W"))
        stats = np.array(g.nodes[bn].tensors["running_mean"])
        eager = None
        if not warm:
            eager = np.array(ex.grads[x])
        g.rename(fc, "layer1")
        gx = np.array(ex.grads[x])
        for k, v in values.items():
            np.testing.assert_array_equal(ex.values[k], v)
        np.testing.assert_array_equal(ex.weight_grad(fc, "W"), wgrad)
        np.testing.assert_array_equal(g.nodes[bn].tensors["running_mean"], stats)
        if eager is not None:
            np.testing.assert_array_equal(gx, eager)


def test_a_seed_array_changed_after_backward_changes_no_gradient():
    """backward(target, seed) kept the caller's array as the target's gradient: changing it
    afterwards changed grads[target] and, in a warm executor that deferred the input gradient,
    the gradient into x computed from it on first read (100x a fresh executor's)."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([[1.0, 2.0], [3.0, 4.0]]))
    fc = g.add("linear", name="fc", inputs={"x": x}, units=2)
    grads = []
    for warm in (False, True):
        ex = gc.Executor(g)
        for _ in range(3 if warm else 0):
            ex.backward(fc)
            dict(ex.grads)
        seed = np.ones((2, 2))
        ex.backward(fc, seed)
        seed[...] = 100.0
        np.testing.assert_array_equal(ex.grads[fc], np.ones((2, 2)))
        grads.append(np.array(ex.grads[x]))
    W = g.nodes[fc].tensors["W"]
    np.testing.assert_allclose(grads[0], np.ones((2, 2)) @ W.T)
    np.testing.assert_array_equal(grads[1], grads[0])


@pytest.mark.parametrize("seed", [np.ones(3), "abc", [[1.0, 2.0, 3.0]]])
def test_a_seed_that_does_not_fit_the_target_raises_graph_error_and_the_next_pass_is_fresh(seed):
    """A seed of the wrong shape or type raised numpy's bare ValueError (from backward() and from
    inside a steps() generator); it is the caller's argument: GraphError naming the target."""
    g, x, t = _tanh_sum()
    ex = gc.Executor(g)
    ex.backward("s")
    with pytest.raises(gc.GraphError, match="seed for 't'.*\\(2,\\)"):
        ex.backward("t", seed)
    with pytest.raises(gc.GraphError, match="seed for 't'"):
        list(ex.steps("t", seed))
    _same_as_fresh(ex, g, "s")
