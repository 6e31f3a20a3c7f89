"""What an executor hands out stays its own, and a stepped pass dropped half-way leaves nothing
half-done behind: the next forward()/backward() gives what a fresh executor gives."""
import numpy as np
import pytest

import graphcore as gc


def _net():
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([1.0, -2.0, 0.5]))
    t = g.add("tanh", name="t", inputs={"x": x})
    w = g.add("param", name="w", value=np.array([0.3, 0.2, -0.7]))
    m = g.add("mul", name="m", inputs={"a": t, "b": w})
    g.add("sum", name="s", inputs={"x": m})
    return g


def _fresh(g):
    ex = gc.Executor(g)
    ex.forward()
    ex.backward("s")
    return ex


@pytest.mark.parametrize("events", [1, 3, 6, 8])  # dropped in the forward phase, and in the backward one
def test_backward_after_a_dropped_steps_generator_runs_the_pass_again(events):
    g = _net()
    ex = _fresh(g)
    it = ex.steps("s")
    for _ in range(events):
        next(it)
    it.close()
    grads = ex.backward("s")
    ref = _fresh(g)
    for name in ("x", "w", "t", "m"):
        np.testing.assert_array_equal(grads[g.find(name)], ref.grads[g.find(name)])
    assert ex.value("s") == ref.value("s")


def test_forward_after_a_dropped_steps_generator_gives_every_value():
    g = _net()
    ex = _fresh(g)
    it = ex.steps("s")
    next(it)
    it.close()
    values = ex.forward()
    assert set(values) == set(g.nodes)
    np.testing.assert_array_equal(values[g.find("s")], _fresh(g).value("s"))


def test_forward_and_backward_hand_out_read_only_arrays():
    g = _net()
    ex = gc.Executor(g)
    values = ex.forward()
    grads = ex.backward("s")
    x = g.find("x")
    assert ex.values is values and ex.grads is grads  # the attributes are the same read-only mappings
    for a in (values[x], values[g.find("t")], grads[x], grads.get(g.find("w")), *values.copy().values(),
              *grads.copy().values(), *ex.values.values()):
        with pytest.raises(ValueError):
            a[...] = 0.0
    np.testing.assert_array_equal(g.value(x), [1.0, -2.0, 0.5])  # the document's array, untouched
    with pytest.raises(TypeError):
        values[x] = np.zeros(3)  # the mapping itself is read-only too
    assert grads.get("no such id", "default") == "default"


def test_errors_from_a_pass_name_the_node_as_the_person_named_it():
    """An op's rule or a shape check knows only the node's id ('n2'); the executor's errors say 'fc',
    as the command line and the app do."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((4, 3)))
    y = g.add("input", name="y", value=np.array([0, 1, 0, 1]))
    fc = g.add("linear", name="fc", inputs={"x": x}, units=2)
    g.add("softmax_cross_entropy", name="ce", inputs={"scores": fc, "labels": y})
    warm = gc.Executor(g)
    warm.forward()
    g.set_value(x, np.ones(5))  # not rows of features
    for ex in (warm, gc.Executor(g)):
        with pytest.raises(gc.GraphError, match="node 'fc' port 'x'") as e:
            ex.forward()
        assert fc not in str(e.value)
    g.set_value(x, np.ones((4, 3)))
    g.set_value(y, np.array([0, 1, 7, 1]))  # a label beyond the 2 classes
    with pytest.raises(gc.GraphError, match="node 'ce' port 'labels'"):
        warm.forward()
    with pytest.raises(gc.GraphError, match="node 'ce'"):
        list(gc.Executor(g).steps())


def test_turning_the_check_on_after_an_unchecked_nan_pass_checks_that_pass():
    """A pass run with check="none" that produced a NaN: with the check on again, backward() runs
    the pass again and raises, as a fresh executor does, instead of backpropagating the NaN."""
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([-1.0, 2.0]))
    lg = g.add("log", name="lg", inputs={"x": x})
    g.add("sum", name="s", inputs={"x": lg})
    ex = gc.Executor(g, check="none")
    ex.forward()
    assert np.isnan(ex.value("s"))
    ex.check = "all"
    with pytest.raises(gc.NumericError, match="'lg'"):
        ex.backward("s")
    with pytest.raises(gc.NumericError, match="'lg'"):
        gc.Executor(g).backward("s")
    with pytest.raises(ValueError):
        ex.check = "some"
