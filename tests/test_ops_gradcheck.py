"""Registry-wide gradient check: every op that is not a source is checked on the
sample cases it declares (OpSpec.examples), in float64, with relative error < 1e-6.

An op without examples fails here, so every op added later (layers, losses)
must say how to check it. A case is {"inputs": {port: array}, "params": {...},
"label": str}, optionally with "weights": {name: array} and "mode": "train"/"eval".
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import graphcore as gc
from graphcore import registry

TOL = 1e-6


def op_names() -> list[str]:
    return sorted(n for n, s in registry.ops().items() if not s.source)


def cases_for(name: str) -> list[dict]:
    spec = registry.get(name)
    if spec.examples is None:
        return []
    return list(spec.examples(np.random.default_rng(zlib.crc32(name.encode()))))


def build_case(name: str, case: dict) -> tuple[gc.Graph, dict[str, str], str]:
    """A graph of one input node per port feeding the op; returns (graph, port -> input id, op id)."""
    g = gc.Graph()
    ids = {port: g.add("input", name=f"in_{port}", value=np.asarray(arr)) for port, arr in case["inputs"].items()}
    op = g.add(name, name="op", inputs=ids, **case.get("params", {}))
    for w, arr in case.get("weights", {}).items():
        g.set_tensor(op, w, np.asarray(arr, dtype=np.float64))
    return g, ids, op


def _all_cases():
    out = []
    for name in op_names():
        for i, case in enumerate(cases_for(name)):
            out.append(pytest.param(name, i, id=f"{name}[{case.get('label', i)}]"))
    return out


@pytest.mark.parametrize("name", op_names())
def test_op_declares_examples(name):
    cases = cases_for(name)
    assert cases, (f"op {name!r} declares no examples: give its OpSpec an `examples` function so the "
                   "registry-wide gradient check covers it")
    spec = registry.get(name)
    for case in cases:
        assert set(case["inputs"]) <= set(spec.input_names), case.get("label")
        required = {p.name for p in spec.inputs if not p.optional}
        assert required <= set(case["inputs"]), f"{name} {case.get('label')}: inputs missing"


@pytest.mark.parametrize("name,index", _all_cases())
def test_gradcheck_op(name, index):
    case = cases_for(name)[index]
    g, ids, op = build_case(name, case)
    report = gc.gradcheck(g, target=op, mode=case.get("mode", "train"))
    # every float input and every trainable weight was compared
    for port, nid in ids.items():
        if np.asarray(case["inputs"][port]).dtype.kind == "f" and registry.get(name).port(port).differentiable:
            assert nid in report.errors, f"input {port} was not checked"
    for w, _ in g.weights(op).items():
        assert f"{op}/{w}" in report.errors, f"weight {w} was not checked"
    assert report.errors, "nothing was checked"
    worst = report.worst(3)
    assert report.max_error < TOL, f"{name} {case.get('label')}: worst {worst}"


@pytest.mark.parametrize("name", [n for n in op_names() if registry.get(n).elementwise])
def test_elementwise_examples_cover_shapes(name):
    """Scalar, vector and matrix inputs; binary ops also broadcast (3,4) with (4,) and with ()."""
    spec = registry.get(name)
    shapes = [tuple(np.shape(a) for a in c["inputs"].values()) for c in cases_for(name)]
    ndims = {len(s) for case in shapes for s in case}
    assert {0, 1, 2} <= ndims, f"{name} examples cover ranks {sorted(ndims)}"
    if len(spec.inputs) == 2:
        assert ((3, 4), (4,)) in shapes and ((3, 4), ()) in shapes, shapes


def test_gradient_shapes_match_inputs_under_broadcast():
    for name in ("add", "sub", "mul", "div", "max", "min", "prelu"):
        for case in cases_for(name):
            g, ids, op = build_case(name, case)
            ex = gc.Executor(g)
            ex.forward()
            ex.backward(op)
            for port, nid in ids.items():
                assert ex.grad(nid).shape == np.shape(case["inputs"][port]), (name, case["label"], port)


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    """The check above is meaningful: a backward off by 1% fails it."""
    spec = registry.get("mul")
    good = spec.backward

    def bad(ctx, g, ins, out, params, tensors):
        da, db = good(ctx, g, ins, out, params, tensors)
        return [da * 1.01, db]

    monkeypatch.setattr(spec, "backward", bad)
    g, ids, op = build_case("mul", cases_for("mul")[0])
    report = gc.gradcheck(g, target=op)
    assert report.errors[ids["a"]] > 1e-3
    assert report.errors[ids["b"]] < TOL
    assert not report.ok


def test_step_gradient_is_exactly_zero():
    for case in cases_for("step"):
        g, ids, op = build_case("step", case)
        ex = gc.Executor(g)
        ex.forward()
        ex.backward(op)
        grad = ex.grad(ids["x"])
        assert grad.shape == np.shape(case["inputs"]["x"])
        assert np.all(grad == 0.0), grad
        assert set(np.unique(ex.value(op))) <= {0.0, 1.0}
    assert "cannot learn" in registry.get("step").tooltip()


@pytest.mark.parametrize("op", ["max", "min"])
def test_ties_route_the_gradient_to_the_first_input(op):
    for a, b in ((1.5, 1.5), (np.full((3, 4), 0.25), 0.25), (np.array([1.0, -2.0, 3.0]), np.array([1.0, 5.0, 3.0]))):
        g = gc.Graph()
        na = g.add("input", name="a", value=a)
        nb = g.add("input", name="b", value=b)
        m = g.add(op, inputs={"a": na, "b": nb})
        s = g.add("sum", inputs={"x": m})
        ex = gc.Executor(g)
        ex.forward()
        ex.backward(s)
        a_arr, b_arr = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
        first = (a_arr >= b_arr) if op == "max" else (a_arr <= b_arr)
        want_a = first.astype(float)
        want_b = (~first).astype(float)
        np.testing.assert_array_equal(ex.grad(na), want_a.reshape(np.shape(a)) if np.ndim(a) else want_a.sum())
        np.testing.assert_array_equal(ex.grad(nb), want_b if np.ndim(b) else want_b.sum())
    # the plain scalar tie: all to a, exactly zero to b
    g = gc.Graph()
    na = g.add("input", name="a", value=2.0)
    nb = g.add("input", name="b", value=2.0)
    m = g.add(op, inputs={"a": na, "b": nb})
    ex = gc.Executor(g)
    ex.backward(m)
    assert (float(ex.grad(na)), float(ex.grad(nb))) == (1.0, 0.0)
    assert "ties go to a" in registry.get(op).grad_rule
