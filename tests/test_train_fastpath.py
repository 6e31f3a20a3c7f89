"""The training step's fast paths give the same bits as the plain arithmetic they replace.

Covers: the L2 penalty's gradient fused into the layer's weight gradient (and un-fused
when a second regularizer reaches the same weight), the exact small kernels, the cheap
error-state switch in the executor's loops, and buffer reuse.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphcore as gc
from graphcore import kernels


def _net(dtype, regs):
    rng = np.random.default_rng(4)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((16, 5)))
    y = g.add("input", name="y", value=rng.integers(0, 3, 16))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=7, init="normal", init_scale=0.5)
    r = g.add("relu", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": r}, units=3, init="normal", init_scale=0.5)
    ce = g.add("softmax_cross_entropy", name="ce", inputs={"scores": o, "labels": y})
    nodes = [g.add(op, **kw) for op, kw in regs]
    reg = nodes[0]
    for other in nodes[1:]:
        reg = g.add("add", inputs={"a": reg, "b": other})
    g.add("total_loss", name="loss", inputs={"data": ce, "reg": reg})
    return g, gc.Executor(g, dtype=dtype)


def _data_grad(g, dtype, layer):
    """d(data loss)/dW of `layer` alone, from a graph without the regularizers."""
    ex = gc.Executor(g, dtype=dtype)
    ex.forward()
    ex.backward("ce")
    return ex.weight_grad(layer, "W").copy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_l2_gradient_is_fused_and_exact(dtype):
    g, ex = _net(dtype, [("l2", {"strength": 0.3})])
    ex.forward()
    ex.backward("loss")
    for layer in ("fc1", "fc2"):
        nid = g.find(layer)
        W = g.nodes[nid].tensors["W"].astype(dtype)
        want = _data_grad(g, dtype, layer) + np.multiply(W, 0.3)  # own + strength * W, in that order
        got = ex.weight_grad(layer, "W")
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
        assert (nid, "W") in ex._fused_wgrads  # the one-kernel path was taken
    # the bias is not penalised: only its own gradient
    assert not np.shares_memory(ex.weight_grad("fc1", "b"), ex.weight_grad("fc1", "W"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_second_regularizer_on_a_weight_sums_in_the_usual_order(dtype):
    g, ex = _net(dtype, [("l2", {"strength": 0.3}), ("l1", {"strength": 0.05, "targets": "fc1"}),
                         ("l2", {"strength": 0.7, "targets": "fc1"})])
    ex.forward()
    ex.backward("loss")
    nid = g.find("fc1")
    assert (nid, "W") not in ex._fused_wgrads
    W = g.nodes[nid].tensors["W"].astype(dtype)
    parts = [np.multiply(W, 0.3), np.sign(W) * dtype(0.05), np.multiply(W, 0.7)]
    # the regularizers run in reverse plan order; whatever it is, the sum must equal
    # own + (p_a + p_b + p_c) for that order: check against the order the executor recorded
    extra = ex.extra_wgrads[(nid, "W")]
    assert any(np.array_equal(extra, (parts[i] + parts[j]) + parts[k])
               for i, j, k in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)))
    np.testing.assert_array_equal(ex.weight_grad("fc1", "W"), _data_grad(g, dtype, "fc1") + extra)
    # fc2 has one regularizer: fused
    assert (g.find("fc2"), "W") in ex._fused_wgrads


def test_fused_gradient_is_not_stale_when_the_target_changes():
    g, ex = _net(np.float64, [("l2", {"strength": 0.3})])
    ex.forward()
    ex.backward("loss")
    ex.backward("ce")  # the regularizer is not reached now
    np.testing.assert_array_equal(ex.weight_grad("fc1", "W"), _data_grad(g, np.float64, "fc1"))


def test_weight_grad_accepts_names_and_ids():
    g, ex = _net(np.float64, [("l2", {"strength": 0.3})])
    ex.forward()
    ex.backward("loss")
    assert ex.weight_grad("fc2", "W") is ex.weight_grad(g.find("fc2"), "W")
    with pytest.raises(gc.GraphError):
        ex.weight_grad("nope", "W")


@pytest.mark.parametrize("name", sorted(k.name for k in kernels.all_kernels() if k.exact))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_kernels_match_numpy_bit_for_bit(name, dtype):
    rng = np.random.default_rng(1)
    if name == "bias_add":
        out = rng.standard_normal((37, 19)).astype(dtype)
        b = rng.standard_normal(19).astype(dtype)
        a1, a2 = out.copy(), out.copy()
        kernels.numba_kernel(name)(a1, b)
        a2 += b
        np.testing.assert_array_equal(a1, a2)
    elif name == "axpy_into":
        a = rng.standard_normal(1001).astype(dtype)
        x = rng.standard_normal(1001).astype(dtype)
        k = 1e-3 * 0.37
        got = np.empty_like(a)
        kernels.numba_kernel(name)(a, x, np.dtype(dtype).type(k), got)
        np.testing.assert_array_equal(got, a + np.multiply(x, k))
    elif name == "nonfinite":
        big = np.finfo(dtype).max / 2  # finite, but its square overflows
        for special, want in ((None, False), (np.nan, True), (np.inf, True), (-np.inf, True), (big, False)):
            a = rng.standard_normal(1001).astype(dtype)
            if special is not None:
                a[500] = special
            for fn in (kernels.numba_kernel(name), kernels.numpy_kernel(name)):
                with np.errstate(over="ignore", invalid="ignore"):
                    assert bool(fn(a)) is want, (fn, special)
    elif name == "nonfinite4":
        big = np.finfo(dtype).max / 2
        sizes = (1001, 0, 7, 300)
        for slot in range(4):  # a NaN/Inf (or a huge finite value) in each of the four slots
            for special, want in ((None, False), (np.nan, True), (np.inf, True), (-np.inf, True), (big, False)):
                four = [rng.standard_normal(n).astype(dtype) for n in sizes]
                if special is not None and four[slot].size:
                    four[slot][-1] = special
                elif special is not None:
                    want = False  # the empty slot holds nothing
                for fn in (kernels.numba_kernel(name), kernels.numpy_kernel(name)):
                    with np.errstate(over="ignore", invalid="ignore"):
                        assert bool(fn(*four)) is want, (fn, slot, special)
    else:
        pytest.fail(f"exact kernel {name!r} has no bit-for-bit case here")


def test_passes_silence_numpy_warnings_and_restore_the_error_state():
    g = gc.Graph()
    a = g.add("input", name="a", value=np.array([0.0, 1.0]))
    b = g.add("input", name="b", value=np.array([0.0, 0.0]))
    g.add("div", name="q", inputs={"a": a, "b": b})
    before = np.geterr()
    with np.errstate(divide="raise", invalid="raise"):
        ex = gc.Executor(g, check="none")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ex.forward()
            ex.backward("q")
        assert np.geterr()["divide"] == "raise"  # the caller's setting is back
    assert np.geterr() == before
    assert np.isnan(ex.value("q")[0]) and np.isinf(ex.value("q")[1])


def test_ctx_buf_reuses_until_shape_or_dtype_change():
    g, ex = _net(np.float32, [("l2", {"strength": 0.3})])
    ctx = ex.ctx("fc1")
    b1 = ctx.buf("t", (3, 4))
    assert b1.dtype == np.float32 and ctx.buf("t", (3, 4)) is b1
    assert ctx.buf("t", (3, 4), np.float32) is b1
    assert ctx.buf("t", (3, 4), np.dtype("float32")) is b1
    b2 = ctx.buf("t", (3, 4), np.float64)
    assert b2 is not b1 and b2.dtype == np.float64
    assert ctx.buf("t", (4, 3), np.float64) is not b2


def test_unary_ops_reuse_their_last_call_only_for_the_same_arrays():
    g = gc.Graph()
    v = np.linspace(-2, 2, 2000)
    x = g.add("input", name="x", value=v.copy())
    a = g.add("leaky_relu", name="a", inputs={"x": x}, alpha=0.1)
    ex = gc.Executor(g)
    ex.forward()
    ex.backward("a")
    np.testing.assert_array_equal(ex.value("a"), np.where(v > 0, v, 0.1 * v))
    arr = g.nodes[x].tensors["value"]
    arr *= -1.0  # same array object, new contents
    ex.forward()
    np.testing.assert_array_equal(ex.value("a"), np.where(-v > 0, -v, 0.1 * -v))
    g.set_param(a, "alpha", 0.2)
    ex.forward()
    np.testing.assert_array_equal(ex.value("a"), np.where(-v > 0, -v, 0.2 * -v))
    g.nodes[x].tensors["value"] = v[::2].copy()  # a new array of another size
    ex.forward()
    ex.backward("a")
    np.testing.assert_array_equal(ex.value("a"), np.where(v[::2] > 0, v[::2], 0.2 * v[::2]))
    np.testing.assert_array_equal(ex.grad("x"), np.where(v[::2] > 0, 1.0, 0.2))


def test_edge_grads_are_filled_when_read():
    g, ex = _net(np.float64, [("l2", {"strength": 0.3})])
    ex.forward()
    ex.backward("loss")
    e = g.input_edge(g.find("fc2"), "x")
    assert ex.edge_grad(e) is ex.edge_grads[e]
    np.testing.assert_array_equal(ex.edge_grads[e], ex.grad(e.src))
    ex.forward()
    assert ex.edge_grads == {}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_repeats_its_last_call_only_while_it_is_valid(dtype):
    rng = np.random.default_rng(7)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((6, 4)))
    lin = g.add("linear", name="fc", inputs={"x": x}, units=3)
    g.add("sum", name="s", inputs={"x": lin})
    ex = gc.Executor(g, dtype=dtype)
    ex.input_grads = True

    def check():
        ex.forward()
        ex.backward("s")
        X = g.nodes[x].tensors["value"].astype(dtype)
        W, b = g.nodes[lin].tensors["W"].astype(dtype), g.nodes[lin].tensors["b"].astype(dtype)
        np.testing.assert_array_equal(ex.value("fc"), np.dot(X, W) + b)
        ones = np.ones((X.shape[0], 3), dtype)
        np.testing.assert_array_equal(ex.weight_grad("fc", "W"), np.dot(X.T, ones))
        np.testing.assert_array_equal(ex.weight_grad("fc", "b"), np.dot(np.ones(X.shape[0], dtype), ones))
        np.testing.assert_array_equal(ex.grad("x"), np.dot(ones, W.T))

    check()
    check()  # the cached calls
    g.nodes[x].tensors["value"] = rng.standard_normal((6, 4))  # a new batch, same shape
    check()
    g.nodes[x].tensors["value"] = rng.standard_normal((2, 4))  # another batch size
    check()
    # weights change through the graph's versioned path (a float32 executor reads a cast copy of a
    # float64 document, refreshed by the node's version)
    g.set_weights(lin, W=rng.standard_normal((4, 3)).astype(dtype))  # new weights
    check()
    with g.editing(lin, quiet=True) as arrays:  # updated in place, as the trainer does
        arrays["W"] += 1.0
    check()
    g.nodes[x].tensors["value"] = np.asfortranarray(rng.standard_normal((2, 4)))  # not C-contiguous
    check()


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grouped_updates_give_the_per_param_bits(kind, dtype):
    from graphcore.train import optim

    if kernels.backend() != "numba":
        pytest.skip("the grouped loops are numba-only")
    rng = np.random.default_rng(3)
    for n_params in (1, 4, 6, 9):
        shapes = [tuple(rng.integers(1, 40, size=rng.integers(1, 3))) for _ in range(n_params)]
        xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
        runs = []
        for grouped in (False, True):
            opt = optim.Optimizer(kind, lr=0.05)
            x_run = [x.copy() for x in xs]
            dxs = [np.empty_like(x) for x in xs]
            sums = []
            for step in range(4):
                for k, d in enumerate(dxs):
                    d[...] = np.sin(x_run[k] * (step + 1))
                items = [(f"p{k}", x_run[k], dxs[k]) for k in range(n_params)]
                if not grouped:
                    opt._groups = None
                sums.append(opt.update(items, 0.05))
                assert (opt._groups is not None) == (grouped and step > 0) or step == 0
            runs.append((x_run, sums))
        (xa, sa), (xb, sb) = runs
        for a, b in zip(xa, xb):
            np.testing.assert_array_equal(a, b)
        assert sa == sb
        assert [type(v) for v in sa[-1][0]] == [type(v) for v in sb[-1][0]]


def test_binary_ops_reuse_their_last_call_only_for_the_same_arrays():
    rng = np.random.default_rng(9)
    g = gc.Graph()
    a = g.add("input", name="a", value=rng.standard_normal((3, 4)))
    b = g.add("input", name="b", value=rng.standard_normal((3, 4)))
    g.add("mul", name="m", inputs={"a": a, "b": b})
    ex = gc.Executor(g)

    def check():
        ex.forward()
        ex.backward("m")
        A, B = g.nodes[a].tensors["value"], g.nodes[b].tensors["value"]
        np.testing.assert_array_equal(ex.value("m"), A * B)
        np.testing.assert_array_equal(ex.grad("a"), B)
        np.testing.assert_array_equal(ex.grad("b"), A)

    check()
    check()
    g.nodes[a].tensors["value"] *= 2.0  # same array, new contents
    check()
    g.nodes[b].tensors["value"] = rng.standard_normal((3, 4))  # a new array
    check()
    g.nodes[a].tensors["value"] = rng.standard_normal((3, 4))[:, ::2]  # not contiguous, other shape
    g.nodes[b].tensors["value"] = rng.standard_normal((3, 2))
    check()
    check()
