"""A float32 executor reads cast copies of a float64 document (never casts it in place), and the
executor's per-step call cache (Replay) repeats linear and softmax-CE calls only while its key holds."""
import numpy as np
import pytest

import graphcore as gc


def _net(seed=0, n=6):
    rng = np.random.default_rng(seed)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((n, 3)))
    y = g.add("input", name="y", value=rng.integers(0, 4, n))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=5)
    r = g.add("relu", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": r}, units=4)
    ce = g.add("softmax_cross_entropy", inputs={"scores": o, "labels": y})
    reg = g.add("l2", strength=0.1)
    g.add("total_loss", name="loss", inputs={"data": ce, "reg": reg})
    return g


def _pass(ex):
    ex.forward()
    ex.backward("loss")
    return float(ex.value("loss")), ex.weight_grad("fc1", "W").copy()


def test_a_float32_executor_leaves_the_document_untouched_and_sees_edits_made_through_editing():
    g = _net()
    fc1 = g.find("fc1")
    node = g.nodes[fc1]
    arrays = dict(node.tensors)
    version = node.version
    ex = gc.Executor(g, dtype=np.float32)
    _pass(ex)
    _pass(ex)
    assert all(node.tensors[k] is a and a.dtype == np.float64 for k, a in arrays.items())
    assert node.version == version
    assert ex.weight_grad("fc1", "W").dtype == np.float32  # the regularizer reads the float32 copies too
    with g.editing(fc1) as arr:
        arr["W"] *= 3.0
        arr["b"] += 0.5
    got = _pass(ex)
    want = _pass(gc.Executor(g, dtype=np.float32))
    assert got[0] == want[0] and got[0] != pytest.approx(_pass(gc.Executor(_net(), dtype=np.float32))[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert g.nodes[fc1].tensors["W"].dtype == np.float64


def test_a_float32_executor_follows_set_weights_of_another_dtype_and_shape_change():
    g = _net()
    ex = gc.Executor(g, dtype=np.float32)
    _pass(ex)
    fc2 = g.find("fc2")
    W = g.nodes[fc2].tensors["W"]
    g.set_weights(fc2, W=(W * -2.0).astype(np.float32))  # now float32: read directly
    assert _pass(ex)[0] == _pass(gc.Executor(g, dtype=np.float32))[0]
    g.set_weights(fc2, W=W * 0.5)  # float64 again: a cast copy again
    assert _pass(ex)[0] == _pass(gc.Executor(g, dtype=np.float32))[0]
    assert g.nodes[fc2].tensors["W"].dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_step_cache_repeats_only_while_its_key_holds(dtype):
    """New batch arrays (fed inputs), a replaced weight array, an in-place shape change: each pass
    equals a fresh executor's."""
    g = _net(n=8)
    ex = gc.Executor(g, dtype=dtype)
    rng = np.random.default_rng(3)
    x, y = g.find("x"), g.find("y")
    for step in range(6):
        g.set_value(x, rng.standard_normal((8, 3)))
        g.set_value(y, rng.integers(0, 4, 8))
        if step == 3:
            g.set_weights(g.find("fc1"), W=rng.standard_normal((3, 5)))
        got = _pass(ex)
        want = _pass(gc.Executor(g, dtype=dtype))
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])
    assert ex._index[g.find("fc1")].frep is not None  # the linear step did record its call


def test_a_bad_label_on_a_repeated_softmax_call_still_names_the_node():
    g = _net()
    ex = gc.Executor(g)
    _pass(ex)
    _pass(ex)
    y = g.find("y")
    with g.editing(y) as arr:
        arr["value"][0] = 7
    with pytest.raises(gc.GraphError, match="label 7"):
        ex.forward()
