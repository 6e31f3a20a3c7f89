"""Fused parameter-update loops (numba) and their numpy twins.

One call per parameter per step does the whole update in place: gradient
scaling (global-norm clipping) and value clipping, weight decay, the
optimizer's rule, and the sums the trainer reports (|dx|^2 of the raw
gradient, |update|^2, |x|^2 after the update). Computing the norms inside the
update loop makes the per-param diagnostics and the NaN check free.

Every loop takes flat contiguous arrays and these scalars:
Scalars come in the arrays' own float type (the optimizer converts them), so a
float32 update stays float32 and vectorises.
  scale  multiplies the raw gradient (1.0, or the global-norm clip factor)
  clip   clamps each gradient element to [-clip, clip] (inf for none)
  wd     weight decay: the gradient used is dx + wd * x
and returns (sum dx^2, sum update^2, sum x^2).
"""
from __future__ import annotations

import math

import numpy as np


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
    g2 = np.zeros(1, x.dtype)[0]  # sums in the array's precision: float32 sums vectorise twice as wide
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


def nesterov_update(x, dx, v, lr, mu, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]  # sums in the array's precision: float32 sums vectorise twice as wide
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
        u = -mu * v_prev + (1.0 + mu) * v[i]
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def adagrad_update(x, dx, cache, lr, eps, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]  # sums in the array's precision: float32 sums vectorise twice as wide
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


def rmsprop_update(x, dx, cache, lr, decay, eps, scale, clip, wd):
    g2 = np.zeros(1, x.dtype)[0]  # sums in the array's precision: float32 sums vectorise twice as wide
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        cache[i] = decay * cache[i] + (1.0 - decay) * (g * g)
        u = -lr * g / (math.sqrt(cache[i]) + eps)
        x[i] += u
        u2 += u * u
        w2 += x[i] * x[i]
    return g2, u2, w2


def adam_update(x, dx, m, v, lr, beta1, beta2, eps, c1, c2, scale, clip, wd):
    """c1 = 1 - beta1**t and c2 = 1 - beta2**t, the bias corrections."""
    g2 = np.zeros(1, x.dtype)[0]  # sums in the array's precision: float32 sums vectorise twice as wide
    u2 = g2
    w2 = g2
    for i in range(x.size):
        d = dx[i]
        g2 += d * d
        g = d * scale
        g = min(max(g, -clip), clip)
        g = g + wd * x[i]
        m[i] = beta1 * m[i] + (1.0 - beta1) * g
        v[i] = beta2 * v[i] + (1.0 - beta2) * (g * g)
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


def nesterov_update_np(x, dx, v, lr, mu, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    v_prev = v.copy()
    v[:] = mu * v - lr * g
    return _finish(x, dx, -mu * v_prev + (1.0 + mu) * v)


def adagrad_update_np(x, dx, cache, lr, eps, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    cache += g * g
    return _finish(x, dx, -lr * g / (np.sqrt(cache) + eps))


def rmsprop_update_np(x, dx, cache, lr, decay, eps, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    cache[:] = decay * cache + (1.0 - decay) * (g * g)
    return _finish(x, dx, -lr * g / (np.sqrt(cache) + eps))


def adam_update_np(x, dx, m, v, lr, beta1, beta2, eps, c1, c2, scale, clip, wd):
    g = _grad(x, dx, scale, clip, wd)
    m[:] = beta1 * m + (1.0 - beta1) * g
    v[:] = beta2 * v + (1.0 - beta2) * (g * g)
    return _finish(x, dx, -lr * (m / c1) / (np.sqrt(v / c2) + eps))


def sumsq_np(a):
    return float(np.dot(a, a))


LOOPS = {f.__name__: f for f in (sgd_update, momentum_update, nesterov_update, adagrad_update, rmsprop_update,
                                  adam_update, sumsq)}
TWINS = {name: globals()[name + "_np"] for name in LOOPS}
