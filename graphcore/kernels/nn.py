"""Layer kernels (batchnorm, maxout, softmax losses, small fused adds) and their numpy twins.

Each loop is declared with a plain-numpy twin of the same signature that computes
the same thing (for machines without numba and for the agreement test): `@_loop`
then `@_twin` over two defs of one name leave that name bound to the Kernel object
(graphcore.kernels.kernel), which the ops hold. Kernels write
into preallocated outputs so a training step allocates (almost) nothing.
Example arguments for the warm-up and the agreement test are set at the bottom
(Kernel.example).
"""
from __future__ import annotations

import math

import numpy as np

from .kernel import Kernel

_pending: dict = {}  # loops waiting for their twin
EXACT = ("bias_add", "axpy_into", "nonfinite", "nonfinite4")  # loop and twin give the same bits (Kernel.exact)


def _loop(fn):
    _pending[fn.__name__] = fn
    return fn


# x - x is NaN exactly for NaN and Inf: reassociating the sum (so it vectorises) keeps that,
# where the flags that assume no NaN/Inf would fold it to 0
FASTMATH = {"nonfinite": {"reassoc"}, "nonfinite4": {"reassoc"}}


def _twin(fn) -> Kernel:
    name = fn.__name__
    return Kernel(name, _pending.pop(name), fn, exact=name in EXACT, fastmath=FASTMATH.get(name, False))


# ------------------------------------------------------------ small fused adds
# Bit for bit the numpy expressions they replace (one rounding per element, in the
# same order): on arrays of a few hundred elements a compiled call costs ~0.3 us
# where a broadcasting ufunc costs ~1.3 us. Both are "exact" kernels: Kernel.quick
# may pick either side whatever the size.


@_loop
def bias_add(out, b):
    """out (N, M) += b (M,): a linear layer's bias."""
    n, m = out.shape
    for i in range(n):
        for j in range(m):
            out[i, j] += b[j]


@_twin
def bias_add(out, b):  # noqa: F811
    out += b


@_loop
def axpy_into(a, x, k, out):
    """out = a + x * k (flat arrays; k in their float type): a weight gradient plus an L2 penalty's."""
    for i in range(a.size):
        out[i] = a[i] + x[i] * k


@_twin
def axpy_into(a, x, k, out):  # noqa: F811
    np.add(a, np.multiply(x, k), out=out)


@_loop
def nonfinite(a):
    """True when the flat float array holds a NaN or an Inf (x - x is NaN exactly for those):
    the executor's per-pass check of what a pass delivers."""
    acc = 0.0
    for i in range(a.size):
        acc += a[i] - a[i]
    return acc != acc


@_twin
def nonfinite(a):  # noqa: F811
    # a finite dot product (~0.4 us) means no NaN/Inf; only an overflow needs the exact test (and
    # warns of nothing: huge finite values are expected, and the NaN/Inf check must not warn)
    with np.errstate(over="ignore", invalid="ignore"):
        return not math.isfinite(a.dot(a)) and not bool(np.isfinite(a).all())


@_loop
def nonfinite4(a, b, c, d):
    """nonfinite over four flat arrays of one dtype in one call: a pass's weight gradients are
    a handful of small arrays, and a compiled call's dispatch (~0.25 us) costs more than a loop
    over a few hundred elements. Unused slots get an empty array."""
    acc = 0.0
    for i in range(a.size):
        acc += a[i] - a[i]
    for i in range(b.size):
        acc += b[i] - b[i]
    for i in range(c.size):
        acc += c[i] - c[i]
    for i in range(d.size):
        acc += d[i] - d[i]
    return acc != acc


@_twin
def nonfinite4(a, b, c, d):  # noqa: F811
    return nonfinite.twin(a) or nonfinite.twin(b) or nonfinite.twin(c) or nonfinite.twin(d)


# ------------------------------------------------------------- softmax + CE
# softmax_ce_fwd(scores (N,C), labels (N,) int, dscores (N,C)) -> (loss, bad)
# loss = mean_i [log sum_j e^{s_ij} - s_i,y_i], shifted by the row max for stability.
# dscores receives d loss / d scores = (softmax - onehot) / N (fused: backward only scales it).
# bad is the first row whose label is outside [0, C), else -1 (then loss is NaN).


@_loop
def softmax_ce_fwd(scores, labels, dscores):
    n, c = scores.shape
    inv = 1.0 / n
    total = 0.0
    for i in range(n):
        y = labels[i]
        if y < 0 or y >= c:
            return math.nan, i
        m = scores[i, 0]
        for j in range(1, c):
            if scores[i, j] > m:
                m = scores[i, j]
        s = 0.0
        for j in range(c):
            e = math.exp(scores[i, j] - m)
            dscores[i, j] = e
            s += e
        total += math.log(s) - (scores[i, y] - m)
        r = inv / s
        for j in range(c):
            dscores[i, j] *= r
        dscores[i, y] -= inv
    return total * inv, -1


@_twin
def softmax_ce_fwd(scores, labels, dscores):  # noqa: F811
    n, c = scores.shape
    bad = np.flatnonzero((labels < 0) | (labels >= c))
    if bad.size:
        return math.nan, int(bad[0])
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.sum(np.log(s[:, 0]) - shifted[rows, labels])) / n
    dscores[...] = e / s / n
    dscores[rows, labels] -= 1.0 / n
    return loss, -1


# ------------------------------------------------------- multiclass SVM hinge
# svm_fwd(scores, labels, delta, dscores) -> (loss, bad)
# loss = mean_i sum_{j != y_i} max(0, s_ij - s_iy + delta); dscores = d loss / d scores.


@_loop
def svm_fwd(scores, labels, delta, dscores):
    n, c = scores.shape
    inv = 1.0 / n
    total = 0.0
    for i in range(n):
        y = labels[i]
        if y < 0 or y >= c:
            return math.nan, i
        sy = scores[i, y]
        count = 0
        for j in range(c):
            if j == y:
                dscores[i, j] = 0.0
                continue
            margin = scores[i, j] - sy + delta
            if margin > 0:
                total += margin
                dscores[i, j] = inv
                count += 1
            else:
                dscores[i, j] = 0.0
        dscores[i, y] = -count * inv
    return total * inv, -1


@_twin
def svm_fwd(scores, labels, delta, dscores):  # noqa: F811
    n, c = scores.shape
    bad = np.flatnonzero((labels < 0) | (labels >= c))
    if bad.size:
        return math.nan, int(bad[0])
    rows = np.arange(n)
    margins = scores - scores[rows, labels][:, None] + delta
    margins[rows, labels] = 0.0
    pos = margins > 0
    loss = float(np.sum(np.where(pos, margins, 0.0))) / n
    dscores[...] = pos / n
    dscores[rows, labels] = -pos.sum(axis=1) / n
    return loss, -1


# ---------------------------------------------------------------- batchnorm
# x viewed as (N, C, P): per-feature batchnorm is P = 1, spatial (per-channel) is P = H*W.
# Train forward: batch mean/biased variance per channel, xhat = (x - mean) * invstd,
# out = gamma * xhat + beta, and running = momentum * running + (1 - momentum) * batch.


@_loop
def batchnorm_fwd(x, gamma, beta, eps, momentum, out, xhat, invstd, run_mean, run_var):
    n_, c_, p = x.shape
    m = n_ * p
    if p == 1:  # rows (N, D): walk each row across the features (contiguous), not down the columns
        mean = np.zeros(c_)
        var = np.zeros(c_)
        for n in range(n_):
            for c in range(c_):
                mean[c] += x[n, c, 0]
        for c in range(c_):
            mean[c] /= n_
        for n in range(n_):
            for c in range(c_):
                d = x[n, c, 0] - mean[c]
                var[c] += d * d
        for c in range(c_):
            var[c] /= n_
            invstd[c] = 1.0 / math.sqrt(var[c] + eps)
            run_mean[c] = momentum * run_mean[c] + (1.0 - momentum) * mean[c]
            run_var[c] = momentum * run_var[c] + (1.0 - momentum) * var[c]
        for n in range(n_):
            for c in range(c_):
                xh = (x[n, c, 0] - mean[c]) * invstd[c]
                xhat[n, c, 0] = xh
                out[n, c, 0] = gamma[c] * xh + beta[c]
        return
    acc = np.empty(p)  # partial sums per position: the adds vectorise, a single running sum cannot
    for c in range(c_):
        acc[:] = 0.0
        for n in range(n_):
            for q in range(p):
                acc[q] += x[n, c, q]
        mu = acc.sum() / m
        acc[:] = 0.0
        for n in range(n_):
            for q in range(p):
                d = x[n, c, q] - mu
                acc[q] += d * d
        var = acc.sum() / m
        inv = 1.0 / math.sqrt(var + eps)
        invstd[c] = inv
        gc = gamma[c]
        bc = beta[c]
        for n in range(n_):
            for q in range(p):
                xh = (x[n, c, q] - mu) * inv
                xhat[n, c, q] = xh
                out[n, c, q] = gc * xh + bc
        run_mean[c] = momentum * run_mean[c] + (1.0 - momentum) * mu
        run_var[c] = momentum * run_var[c] + (1.0 - momentum) * var


@_twin
def batchnorm_fwd(x, gamma, beta, eps, momentum, out, xhat, invstd, run_mean, run_var):  # noqa: F811
    mu = x.mean(axis=(0, 2))
    var = x.var(axis=(0, 2))
    invstd[...] = 1.0 / np.sqrt(var + eps)
    xhat[...] = (x - mu[None, :, None]) * invstd[None, :, None]
    out[...] = gamma[None, :, None] * xhat + beta[None, :, None]
    run_mean[...] = momentum * run_mean + (1.0 - momentum) * mu
    run_var[...] = momentum * run_var + (1.0 - momentum) * var


@_loop
def batchnorm_bwd(g, xhat, gamma, invstd, dx, dgamma, dbeta):
    """dx = gamma * invstd / M * (M g - sum g - xhat * sum(g xhat)), M = N * P."""
    n_, c_, p = g.shape
    m = n_ * p
    if p == 1:  # rows (N, D)
        sb = np.zeros(c_)
        sg = np.zeros(c_)
        for n in range(n_):
            for c in range(c_):
                gv = g[n, c, 0]
                sb[c] += gv
                sg[c] += gv * xhat[n, c, 0]
        for c in range(c_):
            dbeta[c] = sb[c]
            dgamma[c] = sg[c]
        for n in range(n_):
            for c in range(c_):
                dx[n, c, 0] = gamma[c] * invstd[c] / m * (m * g[n, c, 0] - sb[c] - xhat[n, c, 0] * sg[c])
        return
    acc_b = np.empty(p)
    acc_g = np.empty(p)
    for c in range(c_):
        acc_b[:] = 0.0
        acc_g[:] = 0.0
        for n in range(n_):
            for q in range(p):
                gv = g[n, c, q]
                acc_b[q] += gv
                acc_g[q] += gv * xhat[n, c, q]
        sb = acc_b.sum()
        sg = acc_g.sum()
        dbeta[c] = sb
        dgamma[c] = sg
        k = gamma[c] * invstd[c] / m
        for n in range(n_):
            for q in range(p):
                dx[n, c, q] = k * (m * g[n, c, q] - sb - xhat[n, c, q] * sg)


@_twin
def batchnorm_bwd(g, xhat, gamma, invstd, dx, dgamma, dbeta):  # noqa: F811
    m = g.shape[0] * g.shape[2]
    dbeta[...] = g.sum(axis=(0, 2))
    dgamma[...] = (g * xhat).sum(axis=(0, 2))
    k = gamma * invstd / m
    dx[...] = k[None, :, None] * (m * g - dbeta[None, :, None] - xhat * dgamma[None, :, None])


# ------------------------------------------------------------------- maxout
# z (N, units*k) holds the k pieces of unit u in columns u*k .. u*k+k-1; out (N, units) is the
# max of each unit's pieces and arg (N, units) the winning piece (the first of equals).


@_loop
def maxout_fwd(z, k, out, arg):
    n_, units = out.shape
    for n in range(n_):
        for u in range(units):
            base = u * k
            best = z[n, base]
            a = 0
            for j in range(1, k):
                v = z[n, base + j]
                if v > best:
                    best = v
                    a = j
            out[n, u] = best
            arg[n, u] = a


@_twin
def maxout_fwd(z, k, out, arg):  # noqa: F811
    z3 = z.reshape(z.shape[0], -1, k)
    arg[...] = np.argmax(z3, axis=2)
    out[...] = np.max(z3, axis=2)


@_loop
def maxout_bwd(g, arg, k, dz):
    n_, units = g.shape
    for n in range(n_):
        for u in range(units):
            a = arg[n, u]
            for j in range(k):
                dz[n, u * k + j] = g[n, u] if j == a else 0.0


@_twin
def maxout_bwd(g, arg, k, dz):  # noqa: F811
    dz[...] = 0.0
    np.put_along_axis(dz.reshape(g.shape[0], -1, k), arg[:, :, None], g[:, :, None], axis=2)


# ------------------------------------------------------------ example args


def _labels_case(dtype):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((5, 4)).astype(dtype)
    labels = np.array([0, 3, 1, 2, 3], dtype=np.int64)
    return scores, labels


softmax_ce_fwd.example = (lambda dtype: (*_labels_case(dtype), np.empty((5, 4), dtype)))
svm_fwd.example = (lambda dtype: (*_labels_case(dtype), 1.0, np.empty((5, 4), dtype)))


def _bn_args(dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 5)).astype(dtype)
    c = np.ones(3, dtype)
    return (x, (1.0 + rng.random(3)).astype(dtype), rng.standard_normal(3).astype(dtype), 1e-5, 0.9,
            np.empty_like(x), np.empty_like(x), np.empty(3, dtype), 0 * c, c.copy())


def _bn_bwd_args(dtype):
    rng = np.random.default_rng(6)
    g = rng.standard_normal((4, 3, 5)).astype(dtype)
    xhat = rng.standard_normal((4, 3, 5)).astype(dtype)
    return (g, xhat, (1.0 + rng.random(3)).astype(dtype), (0.5 + rng.random(3)).astype(dtype),
            np.empty_like(g), np.empty(3, dtype), np.empty(3, dtype))


batchnorm_fwd.example = _bn_args
batchnorm_bwd.example = _bn_bwd_args


def _maxout_args(dtype):
    z = np.random.default_rng(10).standard_normal((4, 6)).astype(dtype)
    return z, 3, np.empty((4, 2), dtype), np.empty((4, 2), np.int64)


def _maxout_bwd_args(dtype):
    z, k, out, arg = _maxout_args(dtype)
    maxout_fwd.twin(z, k, out, arg)
    g = np.random.default_rng(11).standard_normal((4, 2)).astype(dtype)
    return g, arg, k, np.empty((4, 6), dtype)


maxout_fwd.example = _maxout_args
maxout_bwd.example = _maxout_bwd_args


bias_add.example = (lambda dtype: (np.random.default_rng(12).standard_normal((3, 5)).astype(dtype),
                                   np.arange(5, dtype=dtype)))
axpy_into.example = (lambda dtype: (np.arange(6, dtype=dtype), np.linspace(-1, 1, 6).astype(dtype),
                                    np.dtype(dtype).type(1e-3), np.empty(6, dtype)))
nonfinite.example = (lambda dtype: (np.array([0.5, np.inf, -1.0], dtype=dtype),))
nonfinite4.example = (lambda dtype: (np.arange(3, dtype=dtype), np.empty(0, dtype),
                                     np.array([0.5, np.nan], dtype=dtype), np.ones(5, dtype)))


KERNELS = tuple(v for v in dict(globals()).values() if isinstance(v, Kernel))
assert not _pending, f"loops without a twin: {sorted(_pending)}"
