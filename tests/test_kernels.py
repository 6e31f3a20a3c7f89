"""Every kernel's numba loop agrees with its numpy twin, in float64 and float32.

Kernels are found through graphcore.kernels.names() (the ops', the engine's and
the optimizer's), so kernels added later are covered automatically; a
non-elementwise kernel must declare example arguments (Kernel.example) or its
test fails.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from graphcore import kernels
from graphcore.kernels import elementwise, optim

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
        args = kernels.by_name(name).example_args(dtype)
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
        tol = 1e-12 if np.dtype(dtype) == np.float64 else 2e-6
        assert float(got) == pytest.approx(want, rel=tol, abs=tol), what


@pytest.mark.parametrize("name", kernels.names())
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_numba_matches_numpy_twin(name, dtype):
    args = make_args(name, dtype)
    assert args is not None, f"kernel {name!r} has no example arguments: declare Kernel.example"
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


def test_every_kernel_has_a_loop_a_twin_and_example_args():
    for k in kernels.all_kernels():
        assert callable(k.loop) and callable(k.twin) and k.loop is not k.twin, k
        assert k.example_args(np.float64) is not None, f"{k.name}: no warm-up arguments"
        assert kernels.by_name(k.name) is k


def test_every_kernel_is_reachable_from_an_op_spec_the_engine_or_the_optimizer():
    """Ops declare the Kernel objects they call (OpSpec.kernels): no kernel is linked by a name."""
    from graphcore import registry

    from_specs = {k for spec in registry.ops().values() for k in spec.kernels}
    assert all(isinstance(k, kernels.Kernel) for k in from_specs)
    declared = set(kernels.all_kernels())
    assert from_specs <= declared
    assert from_specs | set(kernels.ENGINE) | set(optim.KERNELS) == declared
    for name, spec in registry.ops().items():
        if spec.elementwise:
            assert spec.kernels and all(k.name.startswith(name + "_") for k in spec.kernels), name


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


ELEMENTWISE_CASES = {  # op -> (params, input range, second input range or None)
    **{op: ({}, (-3.0, 3.0), None) for op in ("neg", "abs", "exp", "sigmoid", "tanh", "relu", "selu", "step")},
    "log": ({}, (0.1, 3.0), None), "pow": ({"p": 1.7}, (0.1, 3.0), None),
    "leaky_relu": ({"alpha": 0.1}, (-3.0, 3.0), None), "elu": ({"alpha": 0.7}, (-3.0, 3.0), None),
    **{op: ({}, (-3.0, 3.0), (-3.0, 3.0)) for op in ("add", "sub", "mul", "max", "min")},
    "div": ({}, (-3.0, 3.0), (0.5, 3.0)), "prelu": ({}, (-3.0, 3.0), (0.0, 0.5)),
}


def _run_op(op, n, dtype=np.float64):
    import graphcore as gc
    from graphcore import registry

    params, (lo, hi), second = ELEMENTWISE_CASES[op]
    rng = np.random.default_rng(5)
    g = gc.Graph()
    ports = registry.get(op).input_names
    ins = {ports[0]: g.add("input", value=rng.uniform(lo, hi, (n // 4, 4)))}
    if second:
        # broadcast along rows, but for the ops that broadcast through numpy ufuncs (test_broadcast_ops)
        wide = (n // 4, 4) if op in ("add", "sub", "mul", "div") else 4
        ins[ports[1]] = g.add("input", value=rng.uniform(*second, wide))
    node = g.add(op, inputs=ins, **params)
    ex = gc.Executor(g, dtype=dtype)
    ex.backward(node, seed=rng.standard_normal((n // 4, 4)))
    return [ex.value(node).copy()] + [ex.grad(i).copy() for i in ins.values()]


def test_every_elementwise_op_has_a_backend_case():
    from graphcore import registry

    assert set(ELEMENTWISE_CASES) == {n for n, s in registry.ops().items() if s.elementwise}


@pytest.mark.parametrize("op", sorted(ELEMENTWISE_CASES))
def test_large_arrays_run_numba_and_match_the_numpy_backend(op):
    """Through the executor: arrays of SMALL elements or more use the numba loops."""
    from graphcore import registry

    n = 4 * kernels.SMALL
    try:
        kernels.use("numba")
        got = _run_op(op, n)
        used = {k.name for k in kernels.all_kernels() if k._active is not None}
        kernels.use("numpy")
        want = _run_op(op, n)
    finally:
        kernels.use("numba")
    for k in registry.get(op).kernels:
        if not k.numpy_faster:
            assert k.name in used, f"the numba kernel {k.name} was not used for a large array"
        else:
            assert k.sized(n) is k.twin, "measured-faster numpy twin not used"
    for x, y in zip(got, want):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_small_arrays_use_the_numpy_twins():
    kernels.use("numba")
    got = _run_op("tanh", 8)
    assert elementwise.tanh_fwd._active is None and elementwise.tanh_fwd.sized(8) is elementwise.tanh_fwd.twin
    np.testing.assert_allclose(got[0], np.tanh(np.random.default_rng(5).uniform(-3, 3, (2, 4))), rtol=1e-15)


def test_running_the_cs231n_circuit_does_not_import_numba():
    """A fresh process answers without waiting on numba (its import and cache load take ~1 s)."""
    import os
    import subprocess
    import sys

    from backprop_studio_resources import example_path

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (f"import sys, graphcore as gc; g = gc.load({example_path('sigmoid_neuron.json')!r}); "
            "ex = gc.Executor(g); ex.forward(); ex.backward(); assert round(float(ex.value('f')), 2) == 0.73; "
            "print('numba' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
