"""A linear layer's small products in one compiled call each, with their numpy (BLAS) twins.

For a small layer BLAS is mostly call overhead: on the spiral net (2-100-3), a (300, 2) @
(2, 100) product took 10 us in BLAS against 6 us in a plain loop, a (300, 100) @ (100, 3) one
16.5 us against 6.5 us, and a batch of 32 pays ~1.5 us per np.dot call. graphcore.ops.layers
uses these kernels while N * K * M <= DENSE_SMALL (large layers stay with BLAS), one call per
direction: the forward with its bias, the backward with dW, db and dx together.

Each loop keeps the innermost index on the longer of the two dimensions, over contiguous rows
(a transposed copy of the other operand goes to the scratch buffer `T`), so numba vectorises
it, and sums two rows per pass over the row it accumulates into (`o = o + a0 r0 + a1 r1`: the
same additions in the same order as one row at a time, with half the loads and stores). `fastmath` allows only reassociation and contraction (a dot product may be vectorised,
an FMA used): NaN and Inf still propagate, so the NaN/Inf check sees them. The results agree
with BLAS to rounding, not bit for bit (BLAS itself differs by library and machine), so the
op picks a side by the work N * K * M (Kernel.sized): the same shapes always get the same bits.
"""
from __future__ import annotations

import numpy as np

from .kernel import Kernel

DENSE_SMALL = 1 << 17  # N * K * M up to which a linear layer uses these loops instead of BLAS
_FAST = {"reassoc", "contract"}


def _linear_fwd_loop(x, W, b, out, T):
    """out (N, M) = x (N, K) @ W (K, M) + b (M,); T (M, K) is scratch for W transposed."""
    n, kk = x.shape
    m = W.shape[1]
    if m >= kk:  # long output rows: each row of out is b plus rows of W scaled by x's entries,
        k2 = kk - kk % 2  # two rows of W per pass over it (the same additions in the same order)
        for i in range(n):
            o = out[i]
            for j in range(m):
                o[j] = b[j]
            for k in range(0, k2, 2):
                a0 = x[i, k]
                a1 = x[i, k + 1]
                w0 = W[k]
                w1 = W[k + 1]
                for j in range(m):
                    o[j] = o[j] + a0 * w0[j] + a1 * w1[j]
            if k2 < kk:
                a0 = x[i, kk - 1]
                w0 = W[kk - 1]
                for j in range(m):
                    o[j] += a0 * w0[j]
    else:  # few outputs, long inputs: one dot product per output, over contiguous rows
        for k in range(kk):
            for j in range(m):
                T[j, k] = W[k, j]
        for i in range(n):
            xr = x[i]
            for j in range(m):
                t = T[j]
                s = 0.0
                for k in range(kk):
                    s += xr[k] * t[k]
                out[i, j] = s + b[j]


def _linear_fwd_twin(x, W, b, out, T):
    np.dot(x, W, out=out)
    out += b


def _linear_bwd_loop(x, g, W, dW, db, dx, T):
    """dW (K, M) = x^T g, db (M,) = the column sums of g, and dx (N, K) = g W^T unless dx has no
    rows (that gradient is not wanted); T (M, K) is scratch."""
    n, kk = x.shape
    m = g.shape[1]
    for j in range(m):
        db[j] = 0.0
    if m >= kk:  # dW's rows are the long ones: accumulate them (and db) two rows of g per pass
        for k in range(kk):
            d = dW[k]
            for j in range(m):
                d[j] = 0.0
        n2 = n - n % 2
        for i in range(0, n2, 2):
            g0 = g[i]
            g1 = g[i + 1]
            for j in range(m):
                db[j] = db[j] + g0[j] + g1[j]
            for k in range(kk):
                d = dW[k]
                a0 = x[i, k]
                a1 = x[i + 1, k]
                for j in range(m):
                    d[j] = d[j] + a0 * g0[j] + a1 * g1[j]
        if n2 < n:
            g0 = g[n - 1]
            for j in range(m):
                db[j] += g0[j]
            for k in range(kk):
                d = dW[k]
                a0 = x[n - 1, k]
                for j in range(m):
                    d[j] += a0 * g0[j]
    else:  # accumulate dW^T in T, rows of length K, then transpose it into dW
        for i in range(n):
            gr = g[i]
            for j in range(m):
                db[j] += gr[j]
        for j in range(m):
            t = T[j]
            if n == 0:
                for k in range(kk):
                    t[k] = 0.0
            else:  # the first row of x starts the sums (no separate zeroing pass)
                a = g[0, j]
                x0 = x[0]
                for k in range(kk):
                    t[k] = a * x0[k]
        i = 1
        while i + 1 < n:  # then two rows of x per pass
            x0 = x[i]
            x1 = x[i + 1]
            for j in range(m):
                a0 = g[i, j]
                a1 = g[i + 1, j]
                t = T[j]
                for k in range(kk):
                    t[k] = t[k] + a0 * x0[k] + a1 * x1[k]
            i += 2
        if i < n:
            xr = x[i]
            for j in range(m):
                a = g[i, j]
                t = T[j]
                for k in range(kk):
                    t[k] += a * xr[k]
        for k in range(kk):
            for j in range(m):
                dW[k, j] = T[j, k]
    if dx.shape[0] == 0:
        return
    if kk > m:  # dx's rows are the long ones: each sums rows of W^T (in T) scaled by g's entries
        for j in range(m):
            for k in range(kk):
                T[j, k] = W[k, j]
        for i in range(n):
            d = dx[i]
            if m == 0:
                for k in range(kk):
                    d[k] = 0.0
            else:  # the first column of g starts the sums
                a = g[i, 0]
                t = T[0]
                for k in range(kk):
                    d[k] = a * t[k]
            j = 1
            while j + 1 < m:  # then two rows of W^T per pass
                a0 = g[i, j]
                a1 = g[i, j + 1]
                t0 = T[j]
                t1 = T[j + 1]
                for k in range(kk):
                    d[k] = d[k] + a0 * t0[k] + a1 * t1[k]
                j += 2
            if j < m:
                a = g[i, j]
                t = T[j]
                for k in range(kk):
                    d[k] += a * t[k]
    else:  # one dot product per element of dx, over contiguous rows of g and W
        for i in range(n):
            gr = g[i]
            for k in range(kk):
                w = W[k]
                s = 0.0
                for j in range(m):
                    s += gr[j] * w[j]
                dx[i, k] = s


def _linear_bwd_twin(x, g, W, dW, db, dx, T):
    np.dot(x.T, g, out=dW)
    np.sum(g, axis=0, out=db)
    if dx.shape[0]:
        np.dot(g, W.T, out=dx)


linear_fwd = Kernel("linear_fwd", _linear_fwd_loop, _linear_fwd_twin, fastmath=_FAST)
linear_bwd = Kernel("linear_bwd", _linear_bwd_loop, _linear_bwd_twin, fastmath=_FAST)


def _fwd_args(dtype, n=5, k=3, m=4):
    rng = np.random.default_rng(21)
    return (rng.standard_normal((n, k)).astype(dtype), rng.standard_normal((k, m)).astype(dtype),
            rng.standard_normal(m).astype(dtype), np.empty((n, m), dtype), np.empty((m, k), dtype))


def _bwd_args(dtype, n=5, k=3, m=4):
    rng = np.random.default_rng(22)
    return (rng.standard_normal((n, k)).astype(dtype), rng.standard_normal((n, m)).astype(dtype),
            rng.standard_normal((k, m)).astype(dtype), np.empty((k, m), dtype), np.empty(m, dtype),
            np.empty((n, k), dtype), np.empty((m, k), dtype))


linear_fwd.example = _fwd_args
linear_bwd.example = _bwd_args
