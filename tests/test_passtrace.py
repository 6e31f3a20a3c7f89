"""The executor's pass traces (graphcore.passtrace): a pass run from a trace gives, bit for bit,
what the generic loops give, through every documented change; a trace is never used where it
would repeat a random or state-writing rule; a trace that keeps failing stops being recorded."""
from __future__ import annotations

import numpy as np
import pytest

import graphcore as gc
from backprop_studio_resources import example_path
from graphcore import kernels, passtrace
from graphcore.train import datasets
from graphcore.train.trainer import Trainer


def spiral(n=32, reg=1e-3, act="relu"):
    rng = np.random.default_rng(0)
    g = gc.Graph()
    x = g.add("input", name="x", value=rng.standard_normal((n, 2)))
    y = g.add("input", name="y", value=rng.integers(0, 3, n))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=16)
    a = g.add(act, name="act", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": a}, units=3)
    ce = g.add("softmax_cross_entropy", name="ce", inputs={"scores": o, "labels": y})
    r = g.add("l2", name="reg", strength=reg)
    g.add("total_loss", name="loss", inputs={"data": ce, "reg": r})
    return g


def snapshot(ex: gc.Executor, target: str) -> dict:
    out = {("value", k): np.array(v) for k, v in ex.values.items()}
    out.update({("grad", k): np.array(v) for k, v in ex.grads.items()})
    out.update({("wgrad",) + k: np.array(v) for k, v in ex.weight_grads().items()})
    out.update({("edge", e.src, e.dst, e.dst_port): np.array(v) for e, v in ex.edge_grads.items()})
    return out


def same(a: dict, b: dict, what: str) -> None:
    assert a.keys() == b.keys(), what
    for k, v in a.items():
        assert v.dtype == b[k].dtype and v.shape == b[k].shape, (what, k)
        np.testing.assert_array_equal(v, b[k], err_msg=f"{what}: {k}")


@pytest.fixture
def untraced(monkeypatch):
    """Run a callable with tracing off (the generic loops only)."""
    def run(fn):
        monkeypatch.setattr(passtrace, "ENABLED", False)
        try:
            return fn()
        finally:
            monkeypatch.setattr(passtrace, "ENABLED", True)
    return run


def test_a_steady_pass_runs_from_its_trace_with_the_generic_results(untraced):
    g = spiral()
    ex = gc.Executor(g)
    for _ in range(4):
        ex.forward()
        ex.backward("loss")
    assert ex.traced_passes >= 4  # forward and backward of the last passes came from traces
    ref = untraced(lambda: (lambda e: (e.forward(), e.backward("loss"), snapshot(e, "loss"))[2])(gc.Executor(g)))
    same(snapshot(ex, "loss"), ref, "steady")


def _edits(g):
    rng = np.random.default_rng(5)
    x, fc1, fc2 = g.find("x"), g.find("fc1"), g.find("fc2")

    def new_batch():  # a training loop's new array of the same shape
        g.set_value(x, rng.standard_normal((32, 2)))

    def new_shape():
        g.set_value(x, rng.standard_normal((20, 2)))
        g.set_value(g.find("y"), rng.integers(0, 3, 20))

    def in_place():
        with g.editing(fc1) as arrays:
            arrays["W"] *= 1.5

    def replace_weights():
        g.set_weights(fc2, W=np.asarray(g.weights(fc2)["W"]) * -0.5)

    def param():
        g.set_param(g.find("reg"), "strength", 0.2)

    def backend():
        kernels.use("numpy" if kernels.backend() == "numba" else "numba")

    return [new_batch, new_batch, in_place, replace_weights, new_shape, param, backend, new_batch]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_traced_passes_equal_generic_ones_through_every_kind_of_change(dtype, untraced):
    """Two graphs take the same changes; one executor traces, the other never does."""
    before = kernels.backend()
    try:
        g1, g2 = spiral(), spiral()
        traced, plain = gc.Executor(g1, dtype=dtype), gc.Executor(g2, dtype=dtype)
        edits1, edits2 = _edits(g1), _edits(g2)
        for k in range(len(edits1)):
            for _ in range(3):  # a pass that records, then passes that may run from the trace
                traced.forward()
                traced.backward("loss")
                a = snapshot(traced, "loss")
                untraced(lambda: (plain.forward(), plain.backward("loss")))
                b = untraced(lambda: snapshot(plain, "loss"))
                same(a, b, f"after edit {k}")
            fresh = gc.Executor(g1, dtype=dtype)  # no repeat of any kind: every rule runs
            fresh.forward()
            fresh.backward("loss")
            same(a, snapshot(fresh, "loss"), f"after edit {k}, against a fresh executor")
            edits1[k]()
            if edits1[k].__name__ != "backend":  # the backend is global: switched once for both
                edits2[k]()
        assert traced.traced_passes > 10 and plain.traced_passes == 0
    finally:
        kernels.use(before)


def test_mode_switches_and_stepped_passes_between_traced_ones(untraced):
    g = gc.load(example_path("xor_mlp.json"))
    ex = gc.Executor(g)
    target = g.sinks()[0]
    for mode in ("train", "eval", "train", "eval"):
        ex.mode = mode
        for _ in range(2):
            ex.forward()
            ex.backward(target)
        list(ex.steps(target))  # a stepped pass in between refills values its own way
        ex.forward()
        ex.backward(target)
        ref = untraced(lambda: (lambda e: (e.forward(), e.backward(target), snapshot(e, target))[2])(
            gc.Executor(g, mode=mode)))
        same(snapshot(ex, target), ref, mode)


def test_a_random_or_state_writing_forward_is_never_traced(untraced):
    """Dropout draws a new mask each train pass and batchnorm writes running statistics: a trace
    abandoned after them (here by a new array for `p`, read further down) would run them twice.
    Such a forward is never recorded, so masks and statistics follow the generic sequence."""
    def build():
        rng = np.random.default_rng(1)
        g = gc.Graph()
        x = g.add("input", name="x", value=rng.standard_normal((8, 5)))
        h = g.add("linear", name="fc", inputs={"x": x}, units=6)
        b = g.add("batchnorm", name="bn", inputs={"x": h})
        d = g.add("dropout", name="drop", inputs={"x": b}, p=0.5)
        p = g.add("param", name="p", value=np.ones((8, 6)))
        m = g.add("mul", name="m", inputs={"a": d, "b": p})
        g.add("sum", name="s", inputs={"x": m})
        return g

    def passes(g, ex):
        for k in range(6):
            g.set_value(g.find("p"), np.full((8, 6), 1.0 + k))
            ex.forward()
            ex.backward("s")

    g1, g2 = build(), build()
    ex1, ex2 = gc.Executor(g1, seed=3), gc.Executor(g2, seed=3)
    passes(g1, ex1)
    untraced(lambda: passes(g2, ex2))
    assert ex1._ftrace is None
    same(snapshot(ex1, "s"), untraced(lambda: snapshot(ex2, "s")), "dropout + batchnorm")
    for name in ("running_mean", "running_var"):
        np.testing.assert_array_equal(g1.nodes[g1.find("bn")].tensors[name], g2.nodes[g2.find("bn")].tensors[name])


def test_a_gradient_summed_from_two_wires_is_correct_without_a_backward_trace(untraced):
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([1.5, -2.0, 0.5]))
    a = g.add("tanh", name="a", inputs={"x": x})
    b = g.add("mul", name="b", inputs={"a": a, "b": a})  # a feeds both ports: its gradient is a sum
    g.add("sum", name="s", inputs={"x": b})
    ex = gc.Executor(g)
    for _ in range(3):
        ex.forward()
        ex.backward("s")
    assert ex._btrace is None
    ref = untraced(lambda: (lambda e: (e.forward(), e.backward("s"), snapshot(e, "s"))[2])(gc.Executor(g)))
    same(snapshot(ex, "s"), ref, "fan-out")
    np.testing.assert_allclose(ex.grads[x], 2 * np.tanh([1.5, -2.0, 0.5]) * (1 - np.tanh([1.5, -2.0, 0.5]) ** 2))


def test_a_trace_that_keeps_failing_stops_being_recorded(untraced):
    """A consumer keyed on its input's identity misses whenever the source gets a new array: after
    MAX_MISSES abandoned traces the executor records no more (until the plan or params change)."""
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([1.0, 2.0, 3.0]))
    t = g.add("tanh", name="t", inputs={"x": x})
    g.add("sum", name="s", inputs={"x": t})
    ex = gc.Executor(g)
    builds = []
    orig = passtrace.ForwardTrace.__init__

    def counting(self, *a):
        builds.append(1)
        orig(self, *a)

    misses = []
    run = passtrace.ForwardTrace.run

    def watching(self, ex):
        ok = run(self, ex)
        misses.append(not ok)
        return ok

    passtrace.ForwardTrace.__init__ = counting
    passtrace.ForwardTrace.run = watching
    try:
        for k in range(12):
            g.set_value(x, np.array([1.0, 2.0, 3.0]) * (k + 1) / 7)
            ex.forward()
            ex.backward("s")
            np.testing.assert_array_equal(ex.values[g.find("s")],
                                          np.tanh(np.array([1.0, 2.0, 3.0]) * (k + 1) / 7).sum())
    finally:
        passtrace.ForwardTrace.__init__ = orig
        passtrace.ForwardTrace.run = run
    assert sum(misses) == passtrace.MAX_MISSES  # then no trace is tried any more
    assert len(builds) == passtrace.MAX_MISSES


def test_training_gives_the_same_weights_with_and_without_traces(untraced):
    def train():
        ds = datasets.spiral(n_per_class=30)
        g = spiral(n=len(ds.y))
        g.set_value(g.find("x"), ds.X)
        g.set_value(g.find("y"), ds.y)
        g.meta["training"] = {"dataset": {"name": "spiral", "n_per_class": 30},
                              "optimizer": {"kind": "adam", "lr": 0.01}, "batch_size": 16, "epochs": 3, "seed": 0}
        Trainer(g).run()
        return {(n, w): g.nodes[n].tensors[w].copy() for n, w in g.trainable()}

    traced = train()
    plain = untraced(train)
    assert traced.keys() == plain.keys()
    for k in traced:
        np.testing.assert_array_equal(traced[k], plain[k], err_msg=str(k))


def test_a_backward_trace_that_keeps_failing_stops_being_recorded(monkeypatch):
    """A backward rule that hands back a new array every pass makes each backward trace fail at
    that step: the executor stops recording after MAX_MISSES, and every pass stays right."""
    from graphcore import registry

    spec = registry.get("tanh")
    rule = spec.backward

    def fresh_arrays(ctx, g, ins, out, params, tensors):
        gl = [np.array(gi, copy=True) if gi is not None else None for gi in rule(ctx, g, ins, out, params, tensors)]
        ctx.rep = None  # nothing to repeat: the results are new arrays
        return gl

    monkeypatch.setattr(spec, "backward", fresh_arrays)
    g = gc.Graph()
    x = g.add("param", name="x", value=np.array([0.5, -1.0]))
    t = g.add("tanh", name="t", inputs={"x": x})
    s = g.add("sigmoid", name="s", inputs={"x": t})
    g.add("sum", name="total", inputs={"x": s})
    ex = gc.Executor(g)
    recorded = []
    orig = passtrace.BackwardTrace.__init__
    monkeypatch.setattr(passtrace.BackwardTrace, "__init__", lambda self, *a: (recorded.append(1), orig(self, *a))[1])
    for _ in range(10):
        ex.forward()
        ex.backward("total")
    assert len(recorded) == passtrace.MAX_MISSES
    t_ = np.tanh([0.5, -1.0])
    sig = 1 / (1 + np.exp(-t_))
    np.testing.assert_allclose(ex.grads[x], sig * (1 - sig) * (1 - t_ ** 2))


def test_a_new_regulariser_target_gets_its_penalty_gradient_on_every_pass():
    """L2's backward repeats its fused calls (Ctx.fused_again) only for the targets they were made
    for: after a layer is added (a new plan) or the targets param changes, the new layer's W gets
    k * W on the second pass too (it lost it when the old calls were repeated)."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([[1.0, 2.0], [0.5, -1.0]]))
    f1 = g.add("linear", name="fc1", inputs={"x": x}, units=2)
    s = g.add("sum", name="s", inputs={"x": f1})
    r = g.add("l2", name="reg", strength=0.1)
    t = g.add("add", name="t", inputs={"a": s, "b": r})
    ex = gc.Executor(g)

    def passes(n):
        for _ in range(n):
            ex.forward()
            ex.backward(t)
            fresh = gc.Executor(g)
            fresh.forward()
            fresh.backward(t)
            for nid, w in g.trainable():
                np.testing.assert_array_equal(ex.weight_grad(nid, w), fresh.weight_grad(nid, w), err_msg=f"{nid}.{w}")

    passes(3)
    f2 = g.add("linear", name="fc2", inputs={"x": f1}, units=2)
    g.disconnect(s, "x")
    g.connect(f2, s, "x")
    passes(3)
    g.set_param(r, "targets", "fc2")
    passes(3)
    g.set_param(r, "targets", "none")
    passes(2)
    g.set_param(r, "targets", "fc1, fc2")
    passes(3)
