"""Layer kernels (conv, pooling, batchnorm, softmax losses) and their numpy twins.

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
EXACT = ("bias_add", "axpy_into", "nonfinite")  # loop and twin give the same bits (Kernel.exact)


def _loop(fn):
    _pending[fn.__name__] = fn
    return fn


def _twin(fn) -> Kernel:
    name = fn.__name__
    return Kernel(name, _pending.pop(name), fn, exact=name in EXACT)


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
    # a finite dot product (~0.4 us) means no NaN/Inf; only an overflow needs the exact test
    return not math.isfinite(a.dot(a)) and not bool(np.isfinite(a).all())


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


# ------------------------------------------------------------------- conv2d
# Convolution as im2col + one BLAS product. cols has shape (C*K*K, N*Ho*Wo): row
# r = (c*K + kh)*K + kw holds, for every output position, the input pixel that
# weight W[:, c, kh, kw] multiplies (0 in the padding). Then
#   y (F, N*Ho*Wo) = W.reshape(F, -1) @ cols,  dW = dy @ cols.T,  dcols = W.T @ dy
# and conv_out / conv_dout_t move between the (F, N, P) and (N, F, P) layouts.


@_loop
def conv_im2col(x, k, stride, pad, ho, wo, cols):
    # For each filter offset (kh, kw), a table gives every output position's source pixel
    # (flat ih * W + iw, or -1 in the padding); the copy is then one flat loop over positions,
    # 2-5x faster than nested loops over short image rows (measured).
    n_, c_, h, w = x.shape
    p = ho * wo
    xf = x.reshape(n_, c_, h * w)
    tab = np.empty(p, np.int64)
    for kh in range(k):
        for kw in range(k):
            for i in range(ho):
                ih = i * stride + kh - pad
                for j in range(wo):
                    iw = j * stride + kw - pad
                    inside = ih >= 0 and ih < h and iw >= 0 and iw < w
                    tab[i * wo + j] = ih * w + iw if inside else -1
            for c in range(c_):
                r = (c * k + kh) * k + kw
                for n in range(n_):
                    base = n * p
                    for q in range(p):
                        o = tab[q]
                        cols[r, base + q] = xf[n, c, o] if o >= 0 else 0.0


@_twin
def conv_im2col(x, k, stride, pad, ho, wo, cols):  # noqa: F811
    n_, c_, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    view = cols.reshape(c_, k, k, n_, ho, wo)
    for kh in range(k):
        for kw in range(k):
            patch = xp[:, :, kh:kh + stride * (ho - 1) + 1:stride, kw:kw + stride * (wo - 1) + 1:stride]
            view[:, kh, kw] = patch.transpose(1, 0, 2, 3)


@_loop
def conv_col2im(dcols, k, stride, pad, ho, wo, dx):
    n_, c_, h, w = dx.shape
    p = ho * wo
    dxf = dx.reshape(n_, c_, h * w)
    for n in range(n_):
        for c in range(c_):
            for q in range(h * w):
                dxf[n, c, q] = 0.0
    tab = np.empty(p, np.int64)
    for kh in range(k):
        for kw in range(k):
            for i in range(ho):
                ih = i * stride + kh - pad
                for j in range(wo):
                    iw = j * stride + kw - pad
                    inside = ih >= 0 and ih < h and iw >= 0 and iw < w
                    tab[i * wo + j] = ih * w + iw if inside else -1
            for c in range(c_):
                r = (c * k + kh) * k + kw
                for n in range(n_):
                    base = n * p
                    for q in range(p):
                        o = tab[q]
                        if o >= 0:
                            dxf[n, c, o] += dcols[r, base + q]


@_twin
def conv_col2im(dcols, k, stride, pad, ho, wo, dx):  # noqa: F811
    n_, c_, h, w = dx.shape
    dxp = np.zeros((n_, c_, h + 2 * pad, w + 2 * pad), dx.dtype)
    view = dcols.reshape(c_, k, k, n_, ho, wo)
    for kh in range(k):
        for kw in range(k):
            dxp[:, :, kh:kh + stride * (ho - 1) + 1:stride, kw:kw + stride * (wo - 1) + 1:stride] += \
                view[:, kh, kw].transpose(1, 0, 2, 3)
    dx[...] = dxp[:, :, pad:pad + h, pad:pad + w]


@_loop
def conv_out(y, b, out):
    """out (N, F, P) = y (F, N, P) moved to image-major order, plus the bias of each filter."""
    f_, n_, p = y.shape
    for n in range(n_):
        for f in range(f_):
            bf = b[f]
            for q in range(p):
                out[n, f, q] = y[f, n, q] + bf


@_twin
def conv_out(y, b, out):  # noqa: F811
    np.add(y.transpose(1, 0, 2), b[None, :, None], out=out)


@_loop
def conv_dout_t(d, out, db):
    """out (F, N, P) = d (N, F, P) transposed, for the weight and input gradient products;
    db[f] = the sum of d over images and positions (the bias gradient)."""
    n_, f_, p = d.shape
    for f in range(f_):
        db[f] = 0.0
    for n in range(n_):
        for f in range(f_):
            s = 0.0
            for q in range(p):
                v = d[n, f, q]
                out[f, n, q] = v
                s += v
            db[f] += s


@_twin
def conv_dout_t(d, out, db):  # noqa: F811
    out[...] = d.transpose(1, 0, 2)
    db[...] = d.sum(axis=(0, 2))


# ------------------------------------------------------------------ pooling
# pool windows of size x size every `stride` pixels, no padding. max_pool_fwd records,
# per output, which pixel of its window won: k = a * size + b for row a, column b of the
# window (the first of equal values). 2x2 windows take an unrolled path (no tiny inner
# loops: about 4x faster).


@_loop
def max_pool_fwd(x, size, stride, out, idx):
    n_, c_, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    if size == 2:
        for n in range(n_):
            for c in range(c_):
                for i in range(ho):
                    r = i * stride
                    for j in range(wo):
                        q = j * stride
                        best = x[n, c, r, q]
                        k = 0
                        v = x[n, c, r, q + 1]
                        if v > best:
                            best = v
                            k = 1
                        v = x[n, c, r + 1, q]
                        if v > best:
                            best = v
                            k = 2
                        v = x[n, c, r + 1, q + 1]
                        if v > best:
                            best = v
                            k = 3
                        out[n, c, i, j] = best
                        idx[n, c, i, j] = k
        return
    for n in range(n_):
        for c in range(c_):
            for i in range(ho):
                for j in range(wo):
                    i0 = i * stride
                    j0 = j * stride
                    best = x[n, c, i0, j0]
                    k = 0
                    for a in range(size):
                        for b in range(size):
                            v = x[n, c, i0 + a, j0 + b]
                            if v > best:
                                best = v
                                k = a * size + b
                    out[n, c, i, j] = best
                    idx[n, c, i, j] = k


@_twin
def max_pool_fwd(x, size, stride, out, idx):  # noqa: F811
    ho, wo = out.shape[2], out.shape[3]
    best = np.full(out.shape, -np.inf, dtype=x.dtype)
    at = np.zeros(out.shape, dtype=np.int64)
    for a in range(size):
        for b in range(size):
            v = x[:, :, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride]
            better = v > best
            best = np.where(better, v, best)
            at = np.where(better, a * size + b, at)
    out[...] = best
    idx[...] = at


@_loop
def max_pool_bwd(g, idx, size, stride, dx):
    n_, c_, h, w = dx.shape
    ho, wo = g.shape[2], g.shape[3]
    if size == 2 and stride == 2 and h == 2 * ho and w == 2 * wo:
        # windows tile the input exactly: write every pixel once, no zeroing pass
        zero = dx.dtype.type(0.0)
        for n in range(n_):
            for c in range(c_):
                for i in range(ho):
                    for j in range(wo):
                        k = idx[n, c, i, j]
                        v = g[n, c, i, j]
                        dx[n, c, 2 * i, 2 * j] = v if k == 0 else zero
                        dx[n, c, 2 * i, 2 * j + 1] = v if k == 1 else zero
                        dx[n, c, 2 * i + 1, 2 * j] = v if k == 2 else zero
                        dx[n, c, 2 * i + 1, 2 * j + 1] = v if k == 3 else zero
        return
    for n in range(n_):
        for c in range(c_):
            for i in range(h):
                for j in range(w):
                    dx[n, c, i, j] = 0.0
            for i in range(ho):
                for j in range(wo):
                    k = idx[n, c, i, j]
                    dx[n, c, i * stride + k // size, j * stride + k % size] += g[n, c, i, j]


@_twin
def max_pool_bwd(g, idx, size, stride, dx):  # noqa: F811
    n_, c_, h, w = dx.shape
    ho, wo = g.shape[2], g.shape[3]
    ii = np.arange(ho)[:, None] * stride + idx // size
    jj = np.arange(wo)[None, :] * stride + idx % size
    flat = np.zeros((n_ * c_, h * w), dx.dtype)
    rows = np.repeat(np.arange(n_ * c_), ho * wo)
    np.add.at(flat, (rows, (ii * w + jj).reshape(-1)), g.reshape(-1))
    dx[...] = flat.reshape(dx.shape)


@_loop
def avg_pool_fwd(x, size, stride, out):
    n_, c_, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    inv = 1.0 / (size * size)
    if size == 2:
        for n in range(n_):
            for c in range(c_):
                for i in range(ho):
                    r = i * stride
                    for j in range(wo):
                        q = j * stride
                        out[n, c, i, j] = (x[n, c, r, q] + x[n, c, r, q + 1] + x[n, c, r + 1, q]
                                           + x[n, c, r + 1, q + 1]) * 0.25
        return
    for n in range(n_):
        for c in range(c_):
            for i in range(ho):
                for j in range(wo):
                    s = 0.0
                    for a in range(size):
                        for b in range(size):
                            s += x[n, c, i * stride + a, j * stride + b]
                    out[n, c, i, j] = s * inv


@_twin
def avg_pool_fwd(x, size, stride, out):  # noqa: F811
    ho, wo = out.shape[2], out.shape[3]
    s = np.zeros(out.shape, np.float64)
    for a in range(size):
        for b in range(size):
            s += x[:, :, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride]
    out[...] = s / (size * size)


@_loop
def avg_pool_bwd(g, size, stride, dx):
    n_, c_, h, w = dx.shape
    ho, wo = g.shape[2], g.shape[3]
    inv = 1.0 / (size * size)
    if size == 2 and stride == 2 and h == 2 * ho and w == 2 * wo:  # windows tile the input
        for n in range(n_):
            for c in range(c_):
                for i in range(ho):
                    for j in range(wo):
                        v = g[n, c, i, j] * 0.25
                        dx[n, c, 2 * i, 2 * j] = v
                        dx[n, c, 2 * i, 2 * j + 1] = v
                        dx[n, c, 2 * i + 1, 2 * j] = v
                        dx[n, c, 2 * i + 1, 2 * j + 1] = v
        return
    for n in range(n_):
        for c in range(c_):
            for i in range(h):
                for j in range(w):
                    dx[n, c, i, j] = 0.0
            for i in range(ho):
                for j in range(wo):
                    v = g[n, c, i, j] * inv
                    for a in range(size):
                        for b in range(size):
                            dx[n, c, i * stride + a, j * stride + b] += v


@_twin
def avg_pool_bwd(g, size, stride, dx):  # noqa: F811
    ho, wo = g.shape[2], g.shape[3]
    dx[...] = 0.0
    v = g / (size * size)
    for a in range(size):
        for b in range(size):
            dx[:, :, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride] += v


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


def _conv_case(dtype, stride=1, pad=1):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    k = 3
    ho, wo = (5 - k + 2 * pad) // stride + 1, (6 - k + 2 * pad) // stride + 1
    return x, k, stride, pad, ho, wo


def _im2col_args(dtype):
    x, k, s, p, ho, wo = _conv_case(dtype)
    return x, k, s, p, ho, wo, np.empty((3 * k * k, 2 * ho * wo), dtype)


def _col2im_args(dtype):
    x, k, s, p, ho, wo = _conv_case(dtype, stride=2, pad=1)
    dcols = np.random.default_rng(2).standard_normal((3 * k * k, 2 * ho * wo)).astype(dtype)
    return dcols, k, s, p, ho, wo, np.empty_like(x)


def _pool_input(dtype):
    return np.random.default_rng(3).standard_normal((2, 3, 6, 7)).astype(dtype)


def _max_pool_bwd_args(dtype):
    x = _pool_input(dtype)
    out = np.empty((2, 3, 2, 3), dtype)
    idx = np.empty(out.shape, np.int64)
    max_pool_fwd.twin(x, 3, 2, out, idx)
    g = np.random.default_rng(4).standard_normal(out.shape).astype(dtype)
    return g, idx, 3, 2, np.empty_like(x)


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


conv_im2col.example = _im2col_args
conv_col2im.example = _col2im_args
conv_out.example = (lambda dtype: (np.random.default_rng(7).standard_normal((4, 2, 6)).astype(dtype),
                                   np.arange(4, dtype=dtype), np.empty((2, 4, 6), dtype)))
conv_dout_t.example = (lambda dtype: (np.random.default_rng(8).standard_normal((2, 4, 6)).astype(dtype),
                                      np.empty((4, 2, 6), dtype), np.empty(4, dtype)))
max_pool_fwd.example = (lambda dtype: (_pool_input(dtype), 3, 2, np.empty((2, 3, 2, 3), dtype),
                                       np.empty((2, 3, 2, 3), np.int64)))
max_pool_bwd.example = _max_pool_bwd_args
avg_pool_fwd.example = (lambda dtype: (_pool_input(dtype), 2, 2, np.empty((2, 3, 3, 3), dtype)))
avg_pool_bwd.example = (lambda dtype: (np.random.default_rng(9).standard_normal((2, 3, 3, 3)).astype(dtype),
                                       2, 2, np.empty((2, 3, 6, 7), dtype)))
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


KERNELS = tuple(v for v in dict(globals()).values() if isinstance(v, Kernel))
assert not _pending, f"loops without a twin: {sorted(_pending)}"
