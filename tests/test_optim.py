"""Each optimizer against a direct transcription of the notes' formulas, for several steps."""
import math

import numpy as np
import pytest

from graphcore import kernels
from graphcore.train import optim, schedules
from graphcore.train.optim import Optimizer, OptimizerError


def reference(kind, x, grads, lr, mu=0.9, decay=0.99, b1=0.9, b2=0.999, eps=1e-8):
    """The CS231n notes' update rules, transcribed line by line."""
    x = x.copy()
    v = np.zeros_like(x)
    cache = np.zeros_like(x)
    m = np.zeros_like(x)
    t = 0
    out = []
    for dx in grads:
        if kind == "sgd":
            x += - lr * dx
        elif kind == "momentum":
            v = mu * v - lr * dx
            x += v
        elif kind == "nesterov":
            v_prev = v
            v = mu * v - lr * dx
            x += -mu * v_prev + (1 + mu) * v
        elif kind == "adagrad":
            cache += dx ** 2
            x += - lr * dx / (np.sqrt(cache) + eps)
        elif kind == "rmsprop":
            cache = decay * cache + (1 - decay) * dx ** 2
            x += - lr * dx / (np.sqrt(cache) + eps)
        elif kind == "adam":
            t += 1
            m = b1 * m + (1 - b1) * dx
            v = b2 * v + (1 - b2) * (dx ** 2)
            mt = m / (1 - b1 ** t)
            vt = v / (1 - b2 ** t)
            x += - lr * mt / (np.sqrt(vt) + eps)
        out.append(x.copy())
    return out, {"velocity": v, "cache": cache, "m": m, "v": v, "t": t}


@pytest.fixture(params=["numba", "numpy"])
def backend(request):
    kernels.use(request.param)
    yield request.param
    kernels.use("numba")


@pytest.mark.parametrize("kind", optim.KINDS)
def test_updates_match_the_notes(kind, backend):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(6)]
    lr = 0.05
    want, want_state = reference(kind, x0, grads, lr)
    x = x0.copy()
    state = {}
    opt = Optimizer(kind, state=state, lr=lr)
    for k, dx in enumerate(grads):
        before = x.copy()
        stats = opt.step([("n1/W", x, dx)])
        np.testing.assert_allclose(x, want[k], rtol=1e-12, atol=1e-15)
        assert stats.grad_norm["n1/W"] == pytest.approx(np.linalg.norm(dx), rel=1e-12)
        assert stats.update_norm["n1/W"] == pytest.approx(np.linalg.norm(x - before), rel=1e-9)
        assert stats.weight_norm["n1/W"] == pytest.approx(np.linalg.norm(x), rel=1e-12)
    # the state is inspectable per param under "node/weight"
    for name in optim.STATE_NAMES[kind]:
        got = state["n1/W"][name]
        if name == "t":
            assert int(got) == len(grads)
        else:
            np.testing.assert_allclose(got, want_state["velocity" if name == "velocity" else name], rtol=1e-12)


def test_nesterov_differs_from_momentum():
    x = np.ones(3)
    g = [np.array([1.0, -2.0, 0.5])] * 3
    a, _ = reference("momentum", x, g, 0.1)
    b, _ = reference("nesterov", x, g, 0.1)
    assert not np.allclose(a[-1], b[-1])


def test_weight_decay_adds_wd_times_x_to_the_gradient():
    x = np.array([1.0, -2.0])
    dx = np.array([0.5, 0.5])
    Optimizer("sgd", lr=0.1, weight_decay=0.01).step([("p", x, dx)])
    np.testing.assert_allclose(x, [1.0 - 0.1 * (0.5 + 0.01 * 1.0), -2.0 - 0.1 * (0.5 - 0.01 * 2.0)])


def test_clip_by_global_norm_and_value():
    a, b = np.zeros(2), np.zeros(2)
    da, db = np.array([3.0, 0.0]), np.array([0.0, 4.0])  # global norm 5
    Optimizer("sgd", lr=1.0, clip_norm=1.0).step([("a", a, da), ("b", b, db)])
    np.testing.assert_allclose(a, [-0.6, 0.0])
    np.testing.assert_allclose(b, [0.0, -0.8])
    x = np.zeros(3)
    Optimizer("sgd", lr=1.0, clip_value=0.5).step([("x", x, np.array([2.0, -0.1, -7.0]))])
    np.testing.assert_allclose(x, [-0.5, 0.1, 0.5])


def test_max_norm_clamps_each_units_incoming_weights():
    # linear W is (D, units): each column is one unit's incoming vector
    W = np.array([[3.0, 0.1], [4.0, 0.1]])  # column norms 5 and 0.14
    Optimizer("sgd", lr=0.0, max_norm=2.0).step([("l/W", W, np.zeros_like(W))])
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), [2.0, np.hypot(0.1, 0.1)])
    np.testing.assert_allclose(W[:, 0], [1.2, 1.6])
    # conv W is (F, C, k, k): each filter is one unit
    rng = np.random.default_rng(0)
    C = rng.standard_normal((4, 2, 3, 3)) * 3
    Optimizer("sgd", lr=0.0, max_norm=1.5).step([("c/W", C, np.zeros_like(C))])
    norms = np.sqrt((C ** 2).sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(norms, 1.5)
    b = np.array([10.0, 10.0])  # biases are not constrained
    Optimizer("sgd", lr=0.0, max_norm=1.0).step([("l/b", b, np.zeros(2))])
    np.testing.assert_allclose(b, [10.0, 10.0])


def test_float32_params_update_in_place():
    x = np.ones((2, 2), np.float32)
    ref = x
    opt = Optimizer("adam", lr=0.1)
    opt.step([("k", x, np.ones((2, 2), np.float32))])
    assert x is ref and x.dtype == np.float32
    np.testing.assert_allclose(x, 0.9, rtol=1e-6)
    assert opt.state["k"]["m"].dtype == np.float32


def test_state_adopted_when_it_fits_and_replaced_when_not():
    x = np.zeros(3)
    state = {"k": {"velocity": np.full(3, 2.0)}, "other": {"velocity": np.ones(5)}}
    opt = Optimizer("momentum", state=state, lr=0.0, momentum=0.5)
    opt.step([("k", x, np.zeros(3))])
    np.testing.assert_allclose(state["k"]["velocity"], 1.0)  # mu * v with the saved v
    np.testing.assert_allclose(x, 1.0)
    opt2 = Optimizer("adam", state=state)
    opt2.step([("k", x, np.zeros(3))])
    assert set(state["k"]) == {"m", "v", "t"}


def test_nonfinite_gradients_show_in_the_stats():
    x = np.zeros(2)
    stats = Optimizer("sgd").step([("k", x, np.array([np.nan, 1.0]))])
    assert not stats.finite()


@pytest.mark.parametrize("settings, message", [
    ({"kind": "lbfgs"}, "unknown optimizer 'lbfgs'"),
    ({"kind": "sgd", "lr": -1}, "lr must be >= 0"),
    ({"kind": "adam", "beta1": 1.0}, "beta1 must be in [0, 1)"),
    ({"kind": "sgd", "speed": 2}, "no setting 'speed'"),
    ({"kind": "sgd", "lr": "fast"}, "lr must be a finite number"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(OptimizerError, match=None) as info:
        optim.from_settings(settings)
    assert message in str(info.value)


def test_schedules():
    assert schedules.from_settings(None).lr(0.1, 50) == 0.1
    s = schedules.from_settings({"kind": "step", "every": 5, "factor": 0.5})
    assert [s.lr(1.0, t) for t in (0, 4, 5, 9, 10, 15)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]
    e = schedules.from_settings({"kind": "exponential", "k": 0.1})
    assert e.lr(2.0, 3) == pytest.approx(2.0 * math.exp(-0.3))
    i = schedules.from_settings({"kind": "1/t", "k": 0.5})
    assert i.kind == "inverse" and i.lr(1.0, 4) == pytest.approx(1.0 / 3.0)
    assert schedules.from_settings(i.settings()) == i
    with pytest.raises(schedules.ScheduleError, match="unknown schedule 'cosine'"):
        schedules.from_settings({"kind": "cosine"})
    with pytest.raises(schedules.ScheduleError, match="no setting 'gamma'"):
        schedules.from_settings({"kind": "step", "gamma": 0.1})


@pytest.mark.parametrize("kind", optim.KINDS)
def test_reused_gradient_buffers_take_the_cached_path_and_stay_exact(kind):
    # the executor hands back the same gradient buffer every step, refilled in place
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((3, 5))
    grads = [rng.standard_normal((3, 5)) for _ in range(5)]
    want, _ = reference(kind, x0, grads, 0.03)
    x, buf = x0.copy(), np.empty((3, 5))
    opt = Optimizer(kind, lr=0.03)
    for k, g in enumerate(grads):
        buf[...] = g
        opt.update([("p", x, buf)])
        np.testing.assert_allclose(x, want[k], rtol=1e-12, atol=1e-15)
    assert (opt._fast is not None) == (kind != "adam")
    opt.reset()  # dropped state must not be reused by the cached path
    assert opt._fast is None
