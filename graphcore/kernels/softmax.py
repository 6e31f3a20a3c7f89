"""Softmax cross-entropy over many scores: two compiled loops around numpy's SIMD exp.

numba compiles math.exp to the scalar libm call: for the 300 x 3 scores of the spiral net's
full batch the one-loop kernel (graphcore.kernels.nn.softmax_ce_fwd) spent ~10 us in exp
where np.exp takes ~2 us (float64; 3.6 against 0.7 us in float32). So from CE_WIDE scores on
the op runs: ce_shift (each row minus its max, labels checked, the label's shifted score
summed), np.exp in place, ce_finish (row sums, the loss, the gradient). The same shapes always
take the same path, so a pass repeats bit for bit; the paths agree to rounding.
"""
from __future__ import annotations

import math

import numpy as np

from .kernel import Kernel

CE_WIDE = 512  # N * C from which the op takes this path


def _ce_shift_loop(scores, labels, shifted):
    """shifted = scores - row max; returns (sum over rows of the label's shifted score, bad row or -1)."""
    n, c = scores.shape
    picked = 0.0
    for i in range(n):
        y = labels[i]
        if y < 0 or y >= c:
            return 0.0, i
        m = scores[i, 0]
        for j in range(1, c):
            if scores[i, j] > m:
                m = scores[i, j]
        for j in range(c):
            shifted[i, j] = scores[i, j] - m
        picked += shifted[i, y]
    return picked, -1


def _ce_shift_twin(scores, labels, shifted):
    n, c = scores.shape
    bad = np.flatnonzero((labels < 0) | (labels >= c))
    if bad.size:
        return 0.0, int(bad[0])
    np.subtract(scores, scores.max(axis=1, keepdims=True), out=shifted)
    return float(shifted[np.arange(n), labels].sum()), -1


def _ce_finish_loop(e, labels, picked):
    """e holds exp(shifted) on entry and the gradient (softmax - onehot) / N on return;
    returns the mean loss, (sum of log row sums - picked) / N."""
    n, c = e.shape
    inv = 1.0 / n
    logs = 0.0
    for i in range(n):
        s = 0.0
        for j in range(c):
            s += e[i, j]
        logs += math.log(s)
        r = inv / s
        for j in range(c):
            e[i, j] *= r
        e[i, labels[i]] -= inv
    return (logs - picked) * inv


def _ce_finish_twin(e, labels, picked):
    n = e.shape[0]
    s = e.sum(axis=1, keepdims=True)
    loss = (float(np.log(s[:, 0]).sum()) - picked) / n
    e /= s
    e /= n
    e[np.arange(n), labels] -= 1.0 / n
    return loss


ce_shift = Kernel("ce_shift", _ce_shift_loop, _ce_shift_twin)
ce_finish = Kernel("ce_finish", _ce_finish_loop, _ce_finish_twin)


def _scores(dtype):
    rng = np.random.default_rng(5)
    return rng.standard_normal((6, 4)).astype(dtype), np.array([0, 3, 1, 2, 3, 1], dtype=np.int64)


ce_shift.example = lambda dtype: (*_scores(dtype), np.empty((6, 4), dtype))
ce_finish.example = lambda dtype: (np.exp(_scores(dtype)[0]), _scores(dtype)[1], 0.25)
