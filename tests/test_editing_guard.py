"""editing() hands out views: in-place layout changes are refused, rebindings are checked and applied,
and a warm Executor always agrees with a fresh one afterwards."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphcore as gc
from graphcore.problems import GraphError


def _bn(dtype=np.float64):
    g = gc.Graph()
    x = g.add("input", name="x", value=np.random.default_rng(0).normal(size=(4, 6)))
    b = g.add("batchnorm", name="bn", inputs={"x": x})
    s = g.add("sum", name="s", inputs={"x": g.add("sigmoid", inputs={"x": b})})
    return g, s, b


def _linear():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.random.default_rng(1).normal(size=(3, 4)))
    h = g.add("linear", name="h", inputs={"x": x}, units=2)
    s = g.add("sum", name="s", inputs={"x": h})
    return g, s, h


def _run(g, s, ex=None, dtype=np.float64):
    ex = ex or gc.Executor(g, dtype=dtype)
    ex.forward()
    ex.backward(s)
    return float(np.sum(ex.value(s)))


@pytest.mark.parametrize("key,attr,value", [("gamma", "shape", (1, 6)), ("running_mean", "shape", (6, 1)),
                                            ("running_var", "dtype", np.float32)])
def test_in_place_layout_change_is_refused_and_the_node_keeps_its_arrays(key, attr, value):
    g, s, b = _bn()
    warm = gc.Executor(g)
    before = _run(g, s, warm)
    old = g.nodes[b].tensors[key]
    with pytest.raises(GraphError) as ei:
        with g.editing(b) as arrays:
            setattr(arrays[key], attr, value)
    msg = str(ei.value)
    assert f"tensor '{key}'" in msg and "'bn'" in msg and "changed in place" in msg
    assert g.nodes[b].tensors[key] is old and old.shape == (6,) and old.dtype == np.float64
    assert _run(g, s, warm) == before == _run(g, s)


def test_float32_dtype_reinterpretation_cannot_reach_a_warm_kernel():
    """The heap-corruption repro: (D,) float32 state reinterpreted in place as (D/2,) float64."""
    g, s, b = _bn()
    g.set_weights(b, **{k: np.asarray(v, np.float32) for k, v in g.weights(b).items()})
    for mode in ("train", "eval"):
        warm = gc.Executor(g, dtype=np.float32, mode=mode)
        _run(g, s, warm)
        with pytest.raises(GraphError, match="float32 to shape"):
            with g.editing(b) as arrays:
                for k in ("gamma", "beta"):
                    arrays[k].dtype = np.float64
        assert all(a.shape == (6,) and a.dtype == np.float32 for a in g.weights(b).values())
        assert np.isfinite(_run(g, s, warm))


def test_rebinding_is_applied_with_set_weights_checks():
    g, s, h = _linear()
    warm = gc.Executor(g)
    _run(g, s, warm)
    with g.editing(h) as arrays:
        arrays["W"] = np.zeros((4, 2))
        arrays["b"] = arrays["b"] + 5
    assert np.array_equal(g.weights(h)["W"], np.zeros((4, 2)))
    assert np.array_equal(g.weights(h)["b"], [5.0, 5.0])
    assert _run(g, s, warm) == _run(g, s) == 30.0
    with pytest.raises(GraphError, match=r"W must have shape \(4, 2\)"):
        with g.editing(h) as arrays:
            arrays["W"] = np.zeros((5, 2))
    assert g.weights(h)["W"].shape == (4, 2)


def test_rebinding_a_source_value_is_applied():
    g, s, _ = _linear()
    x = g.find("x")
    with g.editing(x) as arrays:
        arrays["value"] = np.zeros((3, 4))
    assert not g.value(x).any()


def test_adding_or_removing_a_name_is_refused():
    g, _, h = _linear()
    with pytest.raises(GraphError, match="cannot add tensor 'gamma'"):
        with g.editing(h) as arrays:
            arrays["gamma"] = np.ones(2)
    with pytest.raises(GraphError, match="node 'h': tensor 'b' was removed"):
        with g.editing(h) as arrays:
            del arrays["b"]
    assert set(g.nodes[h].tensors) == {"W", "b"}


def test_element_writes_still_reach_the_node_and_the_warm_executor():
    g, s, h = _linear()
    warm = gc.Executor(g)
    _run(g, s, warm)
    with g.editing(h) as arrays:
        arrays["W"] *= 0.0
        arrays["b"][:] = 1.0
    assert _run(g, s, warm) == _run(g, s) == 6.0


_EDITS = st.lists(st.tuples(st.sampled_from(["gamma", "beta", "running_mean", "running_var"]),
                            st.sampled_from(["scale", "shape", "dtype", "rebind_ok", "rebind_bad", "readonly"])),
                  min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(edits=_EDITS, dtype=st.sampled_from([np.float64, np.float32]), mode=st.sampled_from(["train", "eval"]))
def test_warm_equals_fresh_after_any_edit(edits, dtype, mode):
    g, s, b = _bn()
    warm = gc.Executor(g, dtype=dtype, mode=mode)
    _run(g, s, warm)
    try:
        with g.editing(b) as arrays:
            for k, how in edits:
                a = arrays[k]
                if how == "scale":
                    a *= 0.5
                elif how == "shape":
                    a.shape = (2, 3)
                elif how == "dtype":
                    a.dtype = np.float32 if a.dtype == np.float64 else np.float64
                elif how == "readonly":
                    arrays[k] = a  # the same view, rebound to itself: nothing to apply
                    a.flags.writeable = False
                elif how == "rebind_ok":
                    arrays[k] = np.full(6, 0.25)
                else:
                    arrays[k] = np.full(7, 0.25)
    except (GraphError, ValueError):  # ValueError: numpy refused a reshape inside the block
        pass
    for a in g.nodes[b].tensors.values():
        assert a.shape == (6,) and a.dtype in (np.float64, np.float32) and a.flags.c_contiguous
    warm_res = _run(g, s, warm, dtype)
    fresh = gc.Executor(g, dtype=dtype, mode=mode)
    assert warm_res == pytest.approx(_run(g, s, fresh, dtype), rel=1e-6)


def test_graph_errors_name_the_node_by_its_name():
    """API errors read like the CLI's and the Problems dock's: "node 'fc1': ...", not the node's id."""
    g = gc.Graph()
    x = g.add("input", value=np.ones((2, 3)))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=2)
    with pytest.raises(GraphError) as exc:
        g.set_param(h, "units", 10 ** 6)
    assert str(exc.value).startswith("node 'fc1': units must be <= 100000") and h not in str(exc.value)
    assert exc.value.problems[0].node == h  # the id stays on the problem, for the views
