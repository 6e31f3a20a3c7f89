"""Registry-wide property (hypothesis): after any documented change to a graph, a warm
executor gives exactly, bit for bit, what a fresh executor gives.

The changes: an in-place edit through `Graph.editing`, `set_value`, `set_param`,
`set_weights`, a value of the other float dtype, and a kernel-backend switch; in
float64 and float32 executors. Each graph is one registry op, fed its own
gradient-check example, followed by tanh and a sum (so every op has a scalar target).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import graphcore as gc
from graphcore import kernels, registry

OPS = sorted(n for n, s in registry.ops().items() if not s.source and s.examples is not None)
EDITS = ("editing", "set_value", "set_param", "set_weights", "dtype", "backend")


def build(name: str, case: dict):
    g = gc.Graph()
    srcs = {}
    for port, arr in case["inputs"].items():
        arr = np.asarray(arr)
        srcs[port] = g.add("param" if arr.dtype.kind == "f" else "input", name=f"in_{port}", value=arr)
    op = g.add(name, name="op", inputs=srcs, **case.get("params", {}))
    if case.get("weights"):
        g.set_weights(op, **case["weights"])
    t = g.add("tanh", name="t", inputs={"x": op})
    s = g.add("sum", name="s", inputs={"x": t})
    return g, op, s


def run(ex: gc.Executor, target: str) -> dict:
    """Every value, gradient and weight gradient of one pass, copied."""
    ex.forward()
    ex.backward(target)
    out = {("value", k): np.array(v) for k, v in ex.values.items()}
    out.update({("grad", k): np.array(v) for k, v in ex.grads.items()})
    out.update({("wgrad",) + k: np.array(v) for k, v in ex.weight_grads().items()})
    return out


def edit(g: gc.Graph, op: str, kind: str) -> bool:
    """Apply one change; False when this graph offers nothing of that kind."""
    floats = [nid for nid, n in g.nodes.items() if n.spec.source and n.tensors["value"].dtype.kind == "f"]
    node = g.nodes[op]
    if kind == "editing":
        with g.editing(floats[0]) as arrays:
            arrays["value"] *= 1.25  # keeps signs: no kink or pole is crossed
    elif kind == "set_value":
        g.set_value(floats[0], np.asarray(g.value(floats[0])) * 0.75)
    elif kind == "dtype":
        v = np.asarray(g.value(floats[0]))
        g.set_value(floats[0], v.astype(np.float32 if v.dtype == np.float64 else np.float64))
    elif kind == "set_param":
        ps = [p for p in node.spec.params if p.kind == "float" and node.params.get(p.name)]
        if not ps:
            return False
        p = ps[0]
        new = node.params[p.name] * 0.8
        if p.min is not None and new < p.min:
            return False
        g.set_param(op, p.name, new)
    elif kind == "set_weights":
        ws = {w: np.asarray(a) * 0.9 for w, a in g.weights(op).items()}
        if not ws:
            return False
        g.set_weights(op, **ws)
    else:
        kernels.use("numpy" if kernels.backend() == "numba" else "numba")
    return True


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(name=st.sampled_from(OPS), which=st.integers(0, 20), kind=st.sampled_from(EDITS),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_a_warm_executor_equals_a_fresh_one_after_any_edit(name, which, kind, dtype):
    spec = registry.get(name)
    cases = spec.examples(np.random.default_rng(0))
    case = cases[which % len(cases)]
    mode = case.get("mode", "train")
    if name == "dropout":
        mode = "eval"  # a warm executor's mask generator has moved on; eval is deterministic
    try:
        g, op, s = build(name, case)
    except gc.GraphError:
        assume(False)
    warm = gc.Executor(g, dtype=dtype, mode=mode)
    run(warm, s)
    run(warm, s)  # the second pass may run from the trace the first recorded (graphcore.passtrace)
    before = kernels.backend()
    try:
        assume(edit(g, op, kind))
        after_warm = [run(warm, s), run(warm, s)]  # the first pass after the change, and the next
        after_fresh = run(gc.Executor(g, dtype=dtype, mode=mode), s)
    finally:
        kernels.use(before)
    for k, warm_pass in enumerate(after_warm):
        assert warm_pass.keys() == after_fresh.keys()
        for key, a in after_fresh.items():
            b = warm_pass[key]
            assert a.dtype == b.dtype and a.shape == b.shape, key
            np.testing.assert_array_equal(b, a, err_msg=f"{name} after {kind}, pass {k + 1}: {key}")


def test_every_kind_of_edit_is_exercised_by_some_op():
    """The property above is not vacuous: each edit applies to at least one registry op."""
    for kind in EDITS:
        hits = 0
        for name in OPS:
            case = registry.get(name).examples(np.random.default_rng(0))[0]
            try:
                g, op, _ = build(name, case)
            except gc.GraphError:
                continue
            before = kernels.backend()
            try:
                hits += edit(g, op, kind)
            finally:
                kernels.use(before)
        assert hits, kind
