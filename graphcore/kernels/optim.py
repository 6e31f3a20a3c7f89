"""Optimizer update loops (numba) and their numpy twins: one fused pass per parameter.

One call per parameter per step does the whole update in place: gradient
scaling (global-norm clipping) and value clipping, weight decay, the
optimizer's rule, and the sums the trainer reports (|dx|^2 of the raw
gradient, |update|^2, |x|^2 after the update). Computing the norms inside the
update loop makes the per-param diagnostics and the NaN check free.

Every loop takes flat contiguous arrays, then scalars in the arrays' own float
type. The optimizer computes each scalar, derived ones included (1 - beta,
1 + mu, the bias corrections 1 - beta**t), in float64 from the exact setting
and rounds it once, as PyTorch does: a float32 update then stays float32 (and
vectorises) and follows the notes' rule to float32 rounding.
  scale  multiplies the raw gradient (1.0, or the global-norm clip factor)
  clip   clamps each gradient element to [-clip, clip] (inf for none)
  wd     weight decay: the gradient used is dx + wd * x
and returns (sum dx^2, sum update^2, sum x^2).

The loops are compiled with fastmath "reassoc" (LLVM may reorder the three norm
sums to vectorise them; no nnan/ninf, so a NaN still shows in them). The
`*_update4` loops update four params in one call (a compiled call costs ~0.7 us
of argument checking however small the arrays, and a small net has four to
eight params); each runs the very same per-param loop, so the bits are the
per-param calls' bits. Each loop is a Kernel (graphcore.kernels.kernel) with its numpy twin:
it is listed by graphcore.kernels.names(), compiled by the warm-up and checked against its twin
by tests/test_kernels.py; tests/test_optim.py checks the four-param loops against the one-param ones.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np

from .kernel import Kernel


def sgd_update(x, dx, lr, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]  # sums in the array's precision: float32 sums vectorise twice as wide
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        u = -lr * g
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def momentum_update(x, dx, v, lr, mu, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        v[i] = mu * v[i] - lr * g
        u = v[i]
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def nesterov_update(x, dx, v, lr, mu, one_plus_mu, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        v_prev = v[i]
        v[i] = mu * v[i] - lr * g
        u = -mu * v_prev + one_plus_mu * v[i]
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def adagrad_update(x, dx, cache, lr, eps, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        cache[i] += g * g
        u = -lr * g / (math.sqrt(cache[i]) + eps)
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def rmsprop_update(x, dx, cache, lr, decay, one_minus_decay, eps, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        cache[i] = decay * cache[i] + one_minus_decay * (g * g)
        u = -lr * g / (math.sqrt(cache[i]) + eps)
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def adam_update(x, dx, m, v, lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, c1, c2, scale, clip, wd):
    """c1 = 1 - beta1**t and c2 = 1 - beta2**t, the bias corrections."""
    g2 = np.zeros(1, x.dtype)[0]
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        m[i] = beta1 * m[i] + one_minus_beta1 * g
        v[i] = beta2 * v[i] + one_minus_beta2 * (g * g)
        mt = m[i] / c1
        vt = v[i] / c2
        u = -lr * mt / (math.sqrt(vt) + eps)
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def sumsq(a):
    s = np.zeros(1, a.dtype)[0]
    for i in range(a.size):
        s += a[i] * a[i]
    return s


# ------------------------------------------------------------------ four params per call
# They call the compiled per-param loops by these global names (_j_<loop>), bound by _group_kernel.


def sgd_update4(x0, d0, x1, d1, x2, d2, x3, d3, lr, scale, clip, wd):
    f = _j_sgd_update  # noqa: F821
    return (f(x0, d0, lr, scale, clip, wd), f(x1, d1, lr, scale, clip, wd),
            f(x2, d2, lr, scale, clip, wd), f(x3, d3, lr, scale, clip, wd))


def momentum_update4(x0, d0, v0, x1, d1, v1, x2, d2, v2, x3, d3, v3, lr, mu, scale, clip, wd):
    f = _j_momentum_update  # noqa: F821
    return (f(x0, d0, v0, lr, mu, scale, clip, wd), f(x1, d1, v1, lr, mu, scale, clip, wd),
            f(x2, d2, v2, lr, mu, scale, clip, wd), f(x3, d3, v3, lr, mu, scale, clip, wd))


def nesterov_update4(x0, d0, v0, x1, d1, v1, x2, d2, v2, x3, d3, v3, lr, mu, mu1, scale, clip, wd):
    f = _j_nesterov_update  # noqa: F821
    return (f(x0, d0, v0, lr, mu, mu1, scale, clip, wd), f(x1, d1, v1, lr, mu, mu1, scale, clip, wd),
            f(x2, d2, v2, lr, mu, mu1, scale, clip, wd), f(x3, d3, v3, lr, mu, mu1, scale, clip, wd))


def adagrad_update4(x0, d0, c0, x1, d1, c1, x2, d2, c2, x3, d3, c3, lr, eps, scale, clip, wd):
    f = _j_adagrad_update  # noqa: F821
    return (f(x0, d0, c0, lr, eps, scale, clip, wd), f(x1, d1, c1, lr, eps, scale, clip, wd),
            f(x2, d2, c2, lr, eps, scale, clip, wd), f(x3, d3, c3, lr, eps, scale, clip, wd))


def rmsprop_update4(x0, d0, c0, x1, d1, c1, x2, d2, c2, x3, d3, c3, lr, decay, omd, eps, scale, clip, wd):
    f = _j_rmsprop_update  # noqa: F821
    return (f(x0, d0, c0, lr, decay, omd, eps, scale, clip, wd), f(x1, d1, c1, lr, decay, omd, eps, scale, clip, wd),
            f(x2, d2, c2, lr, decay, omd, eps, scale, clip, wd), f(x3, d3, c3, lr, decay, omd, eps, scale, clip, wd))


# how many leading arguments of the per-param loop are arrays (the rest are the shared scalars)
N_ARRAYS = {"sgd_update": 2, "momentum_update": 3, "nesterov_update": 3, "adagrad_update": 3,
            "rmsprop_update": 3, "adam_update": 4, "sumsq": 1}


# ------------------------------------------------------------------ numpy twins
def _grad(x, dx, scale, clip, wd):
    g = dx * scale
    if math.isfinite(clip):
        g = np.clip(g, -clip, clip)
    if wd:
        g = g + wd * x
    return g


def _finish(x, dx, u):
    x += u
    return float(np.dot(dx, dx)), float(np.dot(u, u)), float(np.dot(x, x))


def sgd_update_np(x, dx, lr, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    return _finish(x, dx, -lr * g)


def momentum_update_np(x, dx, v, lr, mu, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    v[:] = mu * v - lr * g
    return _finish(x, dx, v.copy())


def nesterov_update_np(x, dx, v, lr, mu, one_plus_mu, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    v_prev = v.copy()
    v[:] = mu * v - lr * g
    return _finish(x, dx, -mu * v_prev + one_plus_mu * v)


def adagrad_update_np(x, dx, cache, lr, eps, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    cache += g * g
    return _finish(x, dx, -lr * g / (np.sqrt(cache) + eps))


def rmsprop_update_np(x, dx, cache, lr, decay, one_minus_decay, eps, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    cache[:] = decay * cache + one_minus_decay * (g * g)
    return _finish(x, dx, -lr * g / (np.sqrt(cache) + eps))


def adam_update_np(x, dx, m, v, lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, c1, c2, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    m[:] = beta1 * m + one_minus_beta1 * g
    v[:] = beta2 * v + one_minus_beta2 * (g * g)
    return _finish(x, dx, -lr * (m / c1) / (np.sqrt(v / c2) + eps))


def sumsq_np(a):
    return float(np.dot(a, a))


def _group_twin(one, na: int):
    def twin(*args):
        tail = args[4 * na:]
        return tuple(one(*args[k * na:(k + 1) * na], *tail) for k in range(4))

    return twin


# ------------------------------------------------------------------ example arguments
def _scalars(loop: str, dtype) -> tuple:
    T = np.dtype(dtype).type
    lr, scale, clip, wd = T(0.05), T(0.9), T(1.5), T(1e-2)
    return {
        "sgd_update": (lr, scale, clip, wd),
        "momentum_update": (lr, T(0.9), scale, clip, wd),
        "nesterov_update": (lr, T(0.9), T(1.0 + 0.9), scale, clip, wd),
        "adagrad_update": (lr, T(1e-8), scale, clip, wd),
        "rmsprop_update": (lr, T(0.99), T(1.0 - 0.99), T(1e-8), scale, clip, wd),
        "adam_update": (lr, T(0.9), T(1.0 - 0.9), T(0.999), T(1.0 - 0.999), T(1e-8), T(1.0 - 0.9 ** 3),
                        T(1.0 - 0.999 ** 3), scale, clip, wd),
        "sumsq": (),
    }[loop]


def _arrays(loop: str, dtype, n: int, seed: int) -> list:
    """x, dx (a few elements beyond the clip), then state arrays (non-negative where they are squares)."""
    rng = np.random.default_rng([seed, np.dtype(dtype).itemsize])
    x = rng.standard_normal(n).astype(dtype)
    if loop == "sumsq":
        return [x]
    dx = (2.0 * rng.standard_normal(n)).astype(dtype)
    states = []
    for k in range(N_ARRAYS[loop] - 2):
        s = 0.1 * rng.standard_normal(n)
        states.append((np.abs(s) if loop in ("adagrad_update", "rmsprop_update") or k == 1 else s).astype(dtype))
    return [x, dx, *states]


def example_args(name: str, dtype=np.float64, n: int = 37):
    """Arguments to compile (warm-up) and test (twins) the loop `name`."""
    if name.endswith("4"):
        loop = name[:-1]
        arrays = [a for k, size in enumerate((n, 1, 0, n + 6)) for a in _arrays(loop, dtype, size, 10 + k)]
        return (*arrays, *_scalars(loop, dtype))
    if name not in N_ARRAYS:
        return None
    return (*_arrays(name, dtype, n, 3), *_scalars(name, dtype))


# ------------------------------------------------------------------ the Kernel objects
# fastmath "reassoc" only: LLVM may reorder the norm sums; NaN and Inf keep their meaning
_FAST = {"reassoc"}


def _update_kernel(loop, twin) -> Kernel:
    return Kernel(loop.__name__, loop, twin, fastmath=_FAST, example=partial(example_args, loop.__name__))


def _group_kernel(group, one: Kernel) -> Kernel:
    """A four-param loop calls the compiled per-param loop through the global _j_<loop>: bound first."""
    def bind():
        globals()["_j_" + one.name] = one.numba()
    return Kernel(group.__name__, group, _group_twin(one.twin, N_ARRAYS[one.name]), fastmath=_FAST, prepare=bind,
                  example=partial(example_args, group.__name__))


UPDATE = {kind: _update_kernel(loop, twin) for kind, loop, twin in (
    ("sgd", sgd_update, sgd_update_np), ("momentum", momentum_update, momentum_update_np),
    ("nesterov", nesterov_update, nesterov_update_np), ("adagrad", adagrad_update, adagrad_update_np),
    ("rmsprop", rmsprop_update, rmsprop_update_np), ("adam", adam_update, adam_update_np))}
SUMSQ = _update_kernel(sumsq, sumsq_np)
GROUP = {kind: _group_kernel(group, UPDATE[kind]) for kind, group in (
    ("sgd", sgd_update4), ("momentum", momentum_update4), ("nesterov", nesterov_update4),
    ("adagrad", adagrad_update4), ("rmsprop", rmsprop_update4))}
KERNELS = (*UPDATE.values(), SUMSQ, *GROUP.values())
