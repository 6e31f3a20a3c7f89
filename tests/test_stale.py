"""Stale results through the public API (issue 8): every cache sees every documented change."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from graphcore import kernels


def square_of(value, dtype=np.float64, op="input"):
    g = gc.Graph()
    x = g.add(op, name="x", value=np.asarray(value, dtype=np.float64))
    y = g.add("pow", name="y", p=2.0, inputs={"x": x})
    return g, x, y, gc.Executor(g, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_edit_of_a_float64_input_is_seen_by_a_warm_executor(dtype):
    g, x, y, ex = square_of([1.0, 2.0, 3.0], dtype)
    ex.forward()
    np.testing.assert_array_equal(ex.value(y), [1, 4, 9])
    with g.editing(x) as arrays:
        arrays["value"] *= 10
    ex.forward()
    np.testing.assert_array_equal(ex.value(y), [100, 400, 900])


def test_hand_written_descent_on_a_param_moves_in_float32():
    g, p, y, ex = square_of(3.0, np.float32, op="param")
    for _ in range(3):
        ex.forward()
        ex.backward(y)
        with g.editing(p) as arrays:
            arrays["value"] -= 0.25 * ex.grad(p)  # d(p^2)/dp = 2p: p halves each step
    assert float(g.value(p)) == pytest.approx(3.0 / 8)


def test_public_arrays_are_read_only_and_editing_bumps_the_version():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((2, 3)))
    lin = g.add("linear", name="lin", inputs={"x": x}, units=2)
    ex = gc.Executor(g)
    ex.forward()
    ex.backward()
    for arr in (g.value(x), g.weights(lin)["W"], ex.value(lin), ex.grad(x), ex.weight_grad(lin, "W")):
        with pytest.raises(ValueError):
            arr[...] = 0
    seen = []
    g.node_changed.sub(lambda nid, what: seen.append((nid, what)))
    v0 = g.nodes[lin].version
    with g.editing(lin) as arrays:
        arrays["W"][...] = 0
    assert g.nodes[lin].version > v0
    assert (lin, "tensor:W") in seen
    assert not np.any(g.weights(lin)["W"])


def test_commit_weights_announces_quiet_updates_once():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((2, 3)))
    a = g.add("linear", name="a", inputs={"x": x}, units=2)
    b = g.add("linear", name="b", inputs={"x": a}, units=2)
    events, changed = [], []
    g.weights_changed.sub(events.append)
    g.node_changed.sub(lambda *args: changed.append(args))
    versions = {a: g.nodes[a].version, b: g.nodes[b].version}
    for _ in range(5):  # a training loop: one quiet bump per node per step
        for nid in (a, b):
            with g.editing(nid, quiet=True) as arrays:
                arrays["W"] *= 0.5
    assert not events and not changed
    assert all(g.nodes[n].version > v for n, v in versions.items())
    assert g.commit_weights() == (a, b)
    assert events == [(a, b)]
    assert g.commit_weights() == () and len(events) == 1  # nothing pending: nothing emitted


def test_warm_executor_reports_a_broken_reshape_as_a_graph_error_naming_the_node():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((2, 16)))
    r = g.add("reshape", name="shaper", inputs={"x": x}, shape="-1, 4, 4")
    ex = gc.Executor(g)
    ex.forward()
    g.set_param(r, "shape", "5, 5")
    with pytest.raises(gc.GraphError) as info:
        ex.forward()
    assert info.value.problems[0].node == r and "25" in str(info.value)


def test_warm_executor_reports_a_broken_conv_stride_as_a_graph_error_naming_the_node():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((1, 1, 6, 6)))
    c = g.add("conv2d", name="conv", inputs={"images": x}, filters=1, size=2, stride=2, pad=0)
    ex = gc.Executor(g)
    ex.forward()
    g.set_param(c, "stride", 3)  # (6 - 2) / 3 is not whole
    with pytest.raises(gc.GraphError) as info:
        ex.forward()
    assert info.value.problems[0].node == c


def test_backward_after_set_value_runs_forward_again():
    # the CS231n circuit f = (x + y) * z
    g = gc.Graph()
    x = g.add("input", name="x", value=-2.0)
    y = g.add("input", name="y", value=5.0)
    z = g.add("input", name="z", value=-4.0)
    q = g.add("add", name="q", inputs={"a": x, "b": y})
    f = g.add("mul", name="f", inputs={"a": q, "b": z})
    ex = gc.Executor(g)
    ex.forward()
    assert float(ex.value(f)) == -12.0
    g.set_value(x, 5.0)
    ex.backward()
    assert float(ex.value(f)) == -40.0
    assert float(ex.grad(x)) == -4.0 and float(ex.grad(z)) == 10.0


def test_backward_does_not_repeat_an_unchanged_forward():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.arange(1.0, 7.0).reshape(2, 3))
    d = g.add("dropout", name="d", inputs={"x": x}, p=0.5)
    ex = gc.Executor(g, seed=1)
    ex.forward()
    out = np.array(ex.value(d))
    ex.backward()  # the same pass: the same dropout mask
    np.testing.assert_array_equal(ex.value(d), out)
    np.testing.assert_array_equal(ex.grad(x), (out != 0) * 2.0)


def batchnorm_graph(x, eps=1e-5):
    g = gc.Graph()
    xi = g.add("input", name="x", value=x)
    bn = g.add("batchnorm", name="bn", inputs={"x": xi}, eps=eps)
    return g, xi, bn


def test_train_forward_announces_batchnorm_statistics():
    g, _, bn = batchnorm_graph(np.arange(12.0).reshape(4, 3))
    seen, dirty = [], []
    g.node_changed.sub(lambda nid, what: seen.append((nid, what)))
    g.changed.sub(lambda: dirty.append(1))
    v0 = g.nodes[bn].version
    ex = gc.Executor(g)
    ex.forward()
    assert {(bn, "tensor:running_mean"), (bn, "tensor:running_var")} <= set(seen)
    assert dirty and g.nodes[bn].version > v0
    np.testing.assert_allclose(g.state(bn)["running_mean"], 0.1 * np.array([4.5, 5.5, 6.5]))
    seen.clear()
    ex.mode = "eval"
    ex.forward()  # eval mode reads the statistics and changes nothing
    assert not seen


def test_quiet_executor_leaves_batchnorm_statistics_to_commit_weights():
    g, _, bn = batchnorm_graph(np.arange(12.0).reshape(4, 3))
    seen, events = [], []
    g.node_changed.sub(lambda nid, what: seen.append(what))
    g.weights_changed.sub(events.append)
    ex = gc.Executor(g, state_events=False)
    for _ in range(3):
        ex.forward()
    assert not seen and not events
    assert g.commit_weights() == (bn,) and events == [(bn,)]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
def test_batchnorm_eps_zero_on_a_constant_input_is_a_clear_error(backend, shape):
    x = np.ones(shape)
    x[:, 0] = np.arange(shape[0])[(slice(None),) + (None,) * (len(shape) - 2)] if len(shape) == 4 else np.arange(4)
    g, _, bn = batchnorm_graph(x, eps=0.0)
    kernels.use(backend)
    try:
        with pytest.raises(gc.NumericError) as info:
            gc.Executor(g).forward()
        assert info.value.node == bn and "eps" in str(info.value) and "'bn'" in str(info.value)
        g.set_param(bn, "eps", 1e-5)
        out = gc.Executor(g).forward()[bn]
        assert np.isfinite(out).all()
    finally:
        kernels.use("numba")


def test_nan_in_the_backward_pass_names_the_producing_node_deep_in_a_chain():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([0.0, 1.0]))
    s = g.add("pow", name="root", p=0.5, inputs={"x": x})
    t = g.add("tanh", name="t", inputs={"x": s})
    loss = g.add("sum", name="loss", inputs={"x": t})
    ex = gc.Executor(g)
    ex.forward()
    with pytest.raises(gc.NumericError) as info:
        ex.backward(loss)
    assert info.value.node == s and info.value.phase == "backward"


def test_nan_in_the_middle_of_the_forward_pass_is_named():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([-1.0, 1.0]))
    lg = g.add("log", name="lg", inputs={"x": x})
    e = g.add("exp", name="e", inputs={"x": lg})
    with pytest.raises(gc.NumericError) as info:
        gc.Executor(g).forward()
    assert info.value.node == lg and info.value.phase == "forward"


def test_the_executor_owns_the_call_cache_and_its_key_sees_params_and_backend():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([-2.0, 3.0]))
    a = g.add("leaky_relu", name="a", inputs={"x": x}, alpha=0.1)
    s = g.add("sum", name="s", inputs={"x": a})
    ex = gc.Executor(g)
    for _ in range(2):  # the second pass repeats the recorded calls
        ex.forward()
        ex.backward(s)
    assert not any(k.endswith("_call") for k in ex.ctx(a).saved)  # no private call cache in the op
    np.testing.assert_array_equal(ex.value(a), [-0.2, 3.0])
    g.set_param(a, "alpha", 0.5)
    ex.backward(s)
    np.testing.assert_array_equal(ex.value(a), [-1.0, 3.0])
    np.testing.assert_array_equal(ex.grad(x), [0.5, 1.0])
    with g.editing(x) as arrays:  # same array, new content: the repeated call reads it
        arrays["value"][0] = -4.0
    ex.backward(s)
    np.testing.assert_array_equal(ex.value(a), [-2.0, 3.0])
    kernels.use("numpy")
    try:
        ex.backward(s)
        np.testing.assert_array_equal(ex.value(a), [-2.0, 3.0])
    finally:
        kernels.use("numba")


def test_batchnorm_eps_zero_with_a_zero_running_variance_is_a_clear_error_in_eval_mode():
    g, _, bn = batchnorm_graph(np.arange(12.0).reshape(4, 3), eps=0.0)
    g.set_tensor(bn, "running_var", np.array([1.0, 0.0, 1.0]))
    with pytest.raises(gc.NumericError) as info:
        gc.Executor(g, mode="eval").forward()
    assert info.value.node == bn and "eps" in str(info.value)



@pytest.mark.parametrize("name, value", [("running_mean", np.ones(1)), ("running_var", np.ones((3, 1))),
                                         ("gamma", np.ones(2, dtype=np.float32))])
def test_a_replaced_state_array_is_checked_before_a_warm_executor_runs_the_kernel(name, value):
    g, _, bn = batchnorm_graph(np.arange(12.0).reshape(4, 3))
    ex = gc.Executor(g)
    ex.forward()
    g.set_param(bn, name, value)  # the plan exists: no recompile, but the step's arrays changed
    with pytest.raises(gc.GraphError) as info:
        ex.forward()
    assert info.value.problems[0].node == bn and name in str(info.value)
