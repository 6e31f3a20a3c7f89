"""Layer kernels (conv, pooling, batchnorm, softmax losses) and their numpy twins.

Each loop in LOOPS is compiled by numba (graphcore.kernels.get); TWINS holds a
plain-numpy function of the same name and signature that computes the same
thing, for machines without numba and for the agreement test. Kernels write
into preallocated outputs so a training step allocates (almost) nothing.
Example arguments for the warm-up and the agreement test are registered at
the bottom (graphcore.kernels.signatures.register).
"""
from __future__ import annotations

import math

import numpy as np

from . import signatures

LOOPS: dict = {}
TWINS: dict = {}


def _loop(fn):
    LOOPS[fn.__name__] = fn
    return fn


def _twin(fn):
    TWINS[fn.__name__] = fn
    return fn


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


# ------------------------------------------------------------ example args


def _labels_case(dtype):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((5, 4)).astype(dtype)
    labels = np.array([0, 3, 1, 2, 3], dtype=np.int64)
    return scores, labels


signatures.register("softmax_ce_fwd", lambda dtype: (*_labels_case(dtype), np.empty((5, 4), dtype)))
signatures.register("svm_fwd", lambda dtype: (*_labels_case(dtype), 1.0, np.empty((5, 4), dtype)))
