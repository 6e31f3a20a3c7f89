"""Every kernel's numba loop agrees with its numpy twin, in float64 and float32.

Kernels are found through graphcore.kernels.names(), so layer kernels added
later are covered automatically; a non-elementwise kernel must register example
arguments (graphcore.kernels.signatures.register) or its test fails.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from graphcore import kernels
from graphcore.kernels import elementwise, signatures

N = 257  # odd, larger than any SIMD width
POSITIVE = {"log", "pow"}  # kernels defined for x > 0 only (in these tests)


def _rng(name: str, dtype) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(name.encode()), np.dtype(dtype).itemsize])


def elementwise_args(name: str, dtype) -> tuple | None:
    """Random inputs with the special points (0, ties) mixed in."""
    base, _, kind = name.rpartition("_")
    rng = _rng(name, dtype)
    if base in elementwise.UNARY:
        if base in POSITIVE:
            x = rng.uniform(0.1, 4.0, N)
        else:
            x = rng.uniform(-4.0, 4.0, N)
            x[:5] = (0.0, -0.0, 1e-8, -1e-8, 30.0)
        x = x.astype(dtype)
        p = {"pow": 1.7, "leaky_relu": 0.05, "elu": 0.8}.get(base, 1.0)
        if kind == "fwd":
            return (x, np.empty_like(x), p)
        y = np.empty_like(x)
        kernels.numpy_kernel(f"{base}_fwd")(x, y, p)
        g = rng.standard_normal(N).astype(dtype)
        return (x, y, g, np.empty_like(x), p)
    if base in elementwise.BINARY:
        a = rng.uniform(-3.0, 3.0, N).astype(dtype)
        b = rng.uniform(-3.0, 3.0, N).astype(dtype)
        b[:10] = a[:10]  # ties (max/min route them to a)
        if base == "div":
            b = np.where(np.abs(b) < 0.1, 0.5, b).astype(dtype)
        if kind == "fwd":
            return (a, b, np.empty_like(a))
        g = rng.standard_normal(N).astype(dtype)
        return (a, b, g, np.empty_like(a), np.empty_like(a))
    return None


def make_args(name: str, dtype) -> tuple | None:
    args = elementwise_args(name, dtype)
    if args is None:
        args = signatures.example_args(name, dtype)
    return args


def _copy(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _compare(got, want, dtype, what):
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        got, want = np.asarray(got), np.asarray(want)
        assert got.shape == want.shape, what
        if want.dtype.kind == "f":
            tol = 1e-12 if np.dtype(dtype) == np.float64 else 2e-6
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(got, want, err_msg=what)
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want), what
        for k, (a, b) in enumerate(zip(got, want)):
            _compare(a, b, dtype, f"{what}[{k}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12 if np.dtype(dtype) == np.float64 else 2e-6), what


@pytest.mark.parametrize("name", kernels.names())
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_numba_matches_numpy_twin(name, dtype):
    args = make_args(name, dtype)
    assert args is not None, (f"kernel {name!r} has no example arguments: register them with "
                              "graphcore.kernels.signatures.register")
    a1, a2 = _copy(args), _copy(args)
    fast = kernels.numba_kernel(name)
    ref = kernels.numpy_kernel(name)
    with np.errstate(all="ignore"):
        r1 = fast(*a1)
        r2 = ref(*a2)
    if r1 is not None:  # loops write into their output arguments; some also return a value
        _compare(r1, r2, dtype, f"{name} return value")
    for k, (x1, x2) in enumerate(zip(a1, a2)):
        if isinstance(x1, np.ndarray):
            _compare(x1, x2, dtype, f"{name} argument {k}")


def test_every_kernel_has_a_twin_and_example_args():
    for name in kernels.names():
        assert callable(kernels.numpy_kernel(name)), name
        assert signatures.example_args(name) is not None, f"{name}: no warm-up arguments"


def test_elementwise_ops_have_kernels():
    names = set(kernels.names())
    for op in elementwise.UNARY:
        assert {f"{op}_fwd", f"{op}_bwd"} <= names
    for op in elementwise.BINARY:
        assert f"{op}_fwd" in names and (op == "add" or f"{op}_bwd" in names)


def test_sigmoid_kernel_is_stable_for_large_inputs():
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    for fn in (kernels.numba_kernel("sigmoid_fwd"), kernels.numpy_kernel("sigmoid_fwd")):
        out = np.empty_like(x)
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
            fn(x, out, 0.0)
        assert np.isfinite(out).all() and out[2] == 0.5 and out[0] == 0.0 and out[-1] == 1.0


def test_numpy_backend_switch_gives_the_same_results():
    import graphcore as gc

    def run():
        g = gc.Graph()
        a = g.add("input", value=np.linspace(-2, 2, 12).reshape(3, 4))
        b = g.add("input", value=np.array([0.5, -1.0, 2.0, 0.1]))
        m = g.add("mul", inputs={"a": a, "b": b})
        s = g.add("tanh", inputs={"x": m})
        ex = gc.Executor(g)
        ex.backward(s)
        return ex.value(s).copy(), ex.grad(a).copy(), ex.grad(b).copy()

    try:
        kernels.use("numpy")
        assert kernels.backend() == "numpy"
        want = run()
        kernels.use("numba")
        got = run()
    finally:
        kernels.use("numba")
    for x, y in zip(got, want):
        np.testing.assert_allclose(x, y, rtol=1e-12)
