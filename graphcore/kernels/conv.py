"""Convolution (im2col, col2im and the layout moves around one BLAS product) and pooling kernels,
with their numpy twins; declared as in graphcore.kernels.nn (`@_loop`, then `@_twin`)."""
from __future__ import annotations

import numpy as np

from .nn import _loop, _twin

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


# ------------------------------------------------------------ example args
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
