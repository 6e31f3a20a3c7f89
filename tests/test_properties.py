"""Property tests (hypothesis): every elementwise op against a numpy reference formula
on random values and broadcast shapes, forward and backward; random small DAGs of
gates pass the gradient check."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphcore as gc
from graphcore import registry
from graphcore.kernels.elementwise import SELU_ALPHA, SELU_SCALE

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# name -> (forward(x, p), d forward / dx (x, p), domain (lo, hi), param values)
UNARY_REF = {
    "neg": (lambda x, p: -x, lambda x, p: -np.ones_like(x), (-50, 50), None),
    "abs": (lambda x, p: np.abs(x), lambda x, p: np.sign(x), (-50, 50), None),
    "exp": (lambda x, p: np.exp(x), lambda x, p: np.exp(x), (-30, 30), None),
    "log": (lambda x, p: np.log(x), lambda x, p: 1.0 / x, (1e-3, 1e3), None),
    "pow": (lambda x, p: x ** p, lambda x, p: p * x ** (p - 1), (1e-2, 10), ("p", st.floats(-3, 3))),
    "sigmoid": (lambda x, p: _sig(x), lambda x, p: _sig(x) * (1 - _sig(x)), (-30, 30), None),
    "tanh": (lambda x, p: np.tanh(x), lambda x, p: 1 - np.tanh(x) ** 2, (-20, 20), None),
    "relu": (lambda x, p: np.maximum(x, 0), lambda x, p: (x > 0) * 1.0, (-50, 50), None),
    "leaky_relu": (lambda x, p: np.where(x > 0, x, p * x), lambda x, p: np.where(x > 0, 1.0, p), (-50, 50),
                   ("alpha", st.floats(0, 1))),
    "elu": (lambda x, p: np.where(x > 0, x, p * np.expm1(np.minimum(x, 0))),
            lambda x, p: np.where(x > 0, 1.0, p * np.exp(np.minimum(x, 0))), (-30, 30), ("alpha", st.floats(0, 3))),
    "selu": (lambda x, p: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
             lambda x, p: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0))), (-30, 30), None),
    "step": (lambda x, p: (x > 0) * 1.0, lambda x, p: np.zeros_like(x), (-50, 50), None),
}
# name -> (forward(a, b), (d/da, d/db) as functions of (a, b)) on broadcast arrays
BINARY_REF = {
    "add": (np.add, lambda a, b: (np.ones_like(a), np.ones_like(b))),
    "sub": (np.subtract, lambda a, b: (np.ones_like(a), -np.ones_like(b))),
    "mul": (np.multiply, lambda a, b: (b, a)),
    "div": (np.divide, lambda a, b: (1.0 / b, -a / b ** 2)),
    "max": (np.maximum, lambda a, b: ((a >= b) * 1.0, (a < b) * 1.0)),
    "min": (np.minimum, lambda a, b: ((a <= b) * 1.0, (a > b) * 1.0)),
    "prelu": (lambda x, al: np.where(x > 0, x, al * x), lambda x, al: (np.where(x > 0, 1.0, al), np.where(x > 0, 0, x))),
}


def test_every_elementwise_op_has_a_reference():
    elementwise = {n for n, s in registry.ops().items() if s.elementwise}
    assert elementwise == set(UNARY_REF) | set(BINARY_REF)


def _reduce_to(g, shape):
    return gc.unbroadcast(np.asarray(g), tuple(shape))


def _close(got, want, dtype):
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10, equal_nan=False)


@pytest.mark.parametrize("name", sorted(UNARY_REF))
def test_unary_matches_numpy(name):
    fwd, dfdx, (lo, hi), param = UNARY_REF[name]

    @SETTINGS
    @given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
                        elements=st.floats(lo, hi, allow_subnormal=False)),
           pval=param[1] if param else st.none(), dtype=st.sampled_from([np.float64, np.float32]))
    def check(x, pval, dtype):
        if name in ("relu", "leaky_relu", "elu", "selu", "step", "abs"):
            assume(np.all(x != 0))  # the kink: any subgradient would do
        g = gc.Graph()
        xi = g.add("input", name="x", value=x)
        params = {param[0]: pval} if param else {}
        op = g.add(name, inputs={"x": xi}, **params)
        ex = gc.Executor(g, dtype=dtype, check="none")
        ex.forward()
        ex.backward(op)
        xd = x.astype(dtype).astype(np.float64)
        with np.errstate(all="ignore"):
            want = fwd(xd, pval)
            want_grad = dfdx(xd, pval)
        assert ex.value(op).shape == x.shape and ex.value(op).dtype == dtype
        if dtype == np.float32:
            finite = np.isfinite(want.astype(np.float32)) & np.isfinite(want_grad.astype(np.float32))
            want, want_grad = np.where(finite, want, 0), np.where(finite, want_grad, 0)
            got, got_grad = np.where(finite, ex.value(op), 0), np.where(finite, ex.grad(xi), 0)
        else:
            got, got_grad = ex.value(op), ex.grad(xi)
        _close(got, want, dtype)
        _close(got_grad, want_grad, dtype)

    check()


@pytest.mark.parametrize("name", sorted(BINARY_REF))
def test_binary_matches_numpy_with_broadcasting(name):
    fwd, grads = BINARY_REF[name]

    @SETTINGS
    @given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
           data=st.data())
    def check(shapes, data):
        sa, sb = shapes.input_shapes
        el = st.floats(-20, 20, allow_subnormal=False)
        a = data.draw(hnp.arrays(np.float64, sa, elements=el))
        b = data.draw(hnp.arrays(np.float64, sb, elements=el))
        if name == "div":
            assume(np.all(np.abs(b) > 1e-3))
        if name == "prelu":
            assume(np.all(a != 0))
        g = gc.Graph()
        na = g.add("input", name="a", value=a)
        nb = g.add("input", name="b", value=b)
        ports = registry.get(name).input_names
        op = g.add(name, inputs={ports[0]: na, ports[1]: nb})
        up = data.draw(hnp.arrays(np.float64, shapes.result_shape, elements=st.floats(-2, 2)))
        ex = gc.Executor(g, check="none")
        ex.forward()
        ex.backward(op, seed=up)
        A, B = np.broadcast_arrays(a, b)
        _close(ex.value(op), fwd(A, B), np.float64)
        da, db = grads(A, B)
        _close(ex.grad(na), _reduce_to(up * da, sa), np.float64)
        _close(ex.grad(nb), _reduce_to(up * db, sb), np.float64)
        assert ex.grad(na).shape == sa and ex.grad(nb).shape == sb

    check()


# ---------------------------------------------------------------- random DAGs
SMOOTH_UNARY = ["tanh", "sigmoid", "neg", "exp"]
KINKED_UNARY = ["relu", "abs", "leaky_relu"]
BINARY = ["add", "sub", "mul", "max", "min"]


@st.composite
def random_graph(draw):
    g = gc.Graph()
    ids = []
    for i in range(draw(st.integers(1, 4))):
        shape = draw(st.sampled_from([(), (), (3,)]))
        value = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.5, 1.5, allow_subnormal=False)))
        ids.append(g.add(draw(st.sampled_from(["input", "param", "const"])), name=f"v{i}", value=value))
    for i in range(draw(st.integers(1, 7))):
        op = draw(st.sampled_from(SMOOTH_UNARY + KINKED_UNARY + BINARY + ["pow", "sum", "mean"]))
        pick = st.sampled_from(ids)
        if op in BINARY:
            ids.append(g.add(op, name=f"g{i}", inputs={"a": draw(pick), "b": draw(pick)}))
        elif op == "pow":
            ids.append(g.add("pow", name=f"g{i}", p=draw(st.sampled_from([2.0, 3.0])), inputs={"x": draw(pick)}))
        else:
            ids.append(g.add(op, name=f"g{i}", inputs={"x": draw(pick)}))
    return g, ids[-1]


def _away_from_kinks(g: gc.Graph, ex: gc.Executor, margin: float = 1e-3) -> bool:
    for nid, node in g.nodes.items():
        ins = g.inputs_of(nid)
        if node.op in ("max", "min"):
            a, b = np.broadcast_arrays(ex.value(ins["a"]), ex.value(ins["b"]))
            same = ins["a"] == ins["b"]  # max(x, x): a tie everywhere, but the gradient is still exact
            if not same and np.any(np.abs(a - b) < margin):
                return False
        if node.op in KINKED_UNARY and np.any(np.abs(ex.value(ins["x"])) < margin):
            return False
    return True


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_graph())
def test_random_dags_pass_gradcheck(graph_and_target):
    g, target = graph_and_target
    ex = gc.Executor(g, check="none")
    ex.forward()
    values = [ex.value(n) for n in g.nodes]
    assume(all(np.all(np.abs(v) < 1e3) for v in values))
    assume(_away_from_kinks(g, ex))
    report = gc.gradcheck(g, target=target)
    assert report.errors, "nothing was checked"
    assert report.max_error < 1e-6, (report.worst(), [(n.op, n.name) for n in g.nodes.values()])
