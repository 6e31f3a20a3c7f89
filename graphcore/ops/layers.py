"""Layers with weights (linear, conv2d, batchnorm, maxout) and the shape plumbing
between them (matmul, pooling, flatten, reshape, dropout, softmax).

Layouts follow the CS231n assignments: feature rows (N, D), images (N, C, H, W),
linear W of shape (D, units), conv W of shape (F, C, size, size). Outputs and
gradients live in reusable ctx buffers; matrix products go to BLAS (np.dot with
out=), the loops that BLAS cannot do are numba kernels (graphcore.kernels.nn).
"""
from __future__ import annotations

import numpy as np

from ..init import INITIALIZERS
from ..registry import OpSpec, ParamSpec, Port, ShapeError, WeightSpec, register

INIT_CHOICES = tuple(INITIALIZERS)


def init_param(default: str) -> ParamSpec:
    return ParamSpec("init", "choice", default,
                     "how W is drawn: " + ", ".join(INIT_CHOICES) + " (seeded by the graph's seed)",
                     choices=INIT_CHOICES)


INIT_SCALE = ParamSpec("init_scale", "float", 0.01, "scale for the 'normal' (scale * randn) and 'uniform' "
                                                    "(+-scale) initializers", min=0.0)


def fdata(ctx, a: np.ndarray) -> np.ndarray:
    """The input as a C-contiguous array of the executor's float dtype (a no-op when it already is)."""
    if a.dtype == ctx.dtype and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, dtype=ctx.dtype)


def weight(tensors: dict, name: str, dtype) -> np.ndarray:
    w = tensors[name]
    return w if w.dtype == dtype else w.astype(dtype)


def _rows(shape, what: str, port: str = "x") -> tuple[int, int]:
    if len(shape) != 2:
        hint = " (put a flatten node before it)" if len(shape) > 2 else ""
        raise ShapeError(f"{what} expects rows of features, shape (N, D); got {tuple(shape)}{hint}", port=port)
    return shape


# ------------------------------------------------------------------ linear
def _linear_shape(params, shapes):
    n, _ = _rows(shapes[0], "linear")
    return (n, params["units"])


def _linear_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    W = weight(tensors, "W", x.dtype)
    b = weight(tensors, "b", x.dtype)
    out = ctx.buf("out", (x.shape[0], W.shape[1]), x.dtype)
    np.dot(x, W, out=out)
    out += b
    return out


def _linear_bwd(ctx, g, ins, out, params, tensors):
    x = fdata(ctx, ins[0])
    g = fdata(ctx, g)
    W = weight(tensors, "W", x.dtype)
    dW = ctx.buf("dW", W.shape, x.dtype)
    np.dot(x.T, g, out=dW)
    db = ctx.buf("db", (W.shape[1],), x.dtype)
    np.sum(g, axis=0, out=db)
    ctx.wgrads["W"] = dW
    ctx.wgrads["b"] = db
    if not ctx.need_grad[0]:
        return [None]
    dx = ctx.buf("dx", x.shape, x.dtype)
    np.dot(g, W.T, out=dx)
    return [dx]


def _linear_examples(rng):
    return [{"inputs": {"x": rng.standard_normal((n, d))}, "params": {"units": u, "init": "xavier_normal"},
             "weights": {"b": rng.standard_normal(u) * 0.1}, "label": f"({n},{d}) -> {u} units"}
            for n, d, u in ((1, 3, 2), (4, 5, 3), (6, 2, 7))]


register(OpSpec(
    name="linear", category="layers", title="linear",
    doc="affine layer x W + b: x is (N, D) rows (flatten images first), W is (D, units), b is (units,)",
    grad_rule="x gets g W^T, W gets x^T g, b gets the column sums of g",
    inputs=(Port("x", "rows of features, shape (N, D)"),),
    params=(ParamSpec("units", "int", 10, "number of outputs (columns of W)", min=1, max=100000),
            init_param("xavier_normal"), INIT_SCALE),
    weights=(WeightSpec("W", shape=lambda p, s: (s[0][1], p["units"]), init="xavier_normal",
                        fan=lambda shape: (shape[0], shape[1]), doc="weights, (D, units)"),
             WeightSpec("b", shape=lambda p, s: (p["units"],), init="zeros", doc="biases, (units,)")),
    shape=_linear_shape, forward=_linear_fwd, backward=_linear_bwd, examples=_linear_examples,
))


# ------------------------------------------------------------------ matmul
def _matmul_shape(params, shapes):
    a, b = shapes
    if len(a) != 2:
        raise ShapeError(f"matmul needs a matrix for a, got shape {tuple(a)}", port="a")
    if len(b) != 2:
        raise ShapeError(f"matmul needs a matrix for b, got shape {tuple(b)}", port="b")
    if a[1] != b[0]:
        raise ShapeError(f"cannot multiply {tuple(a)} by {tuple(b)}: a has {a[1]} columns but b has "
                         f"{b[0]} rows", port="b")
    return (a[0], b[1])


def _matmul_fwd(ctx, ins, params, tensors):
    a = fdata(ctx, ins[0])
    b = fdata(ctx, ins[1])
    out = ctx.buf("out", (a.shape[0], b.shape[1]), a.dtype)
    np.dot(a, b, out=out)
    return out


def _matmul_bwd(ctx, g, ins, out, params, tensors):
    a = fdata(ctx, ins[0])
    b = fdata(ctx, ins[1])
    g = fdata(ctx, g)
    da = db = None
    if ctx.need_grad[0]:
        da = ctx.buf("da", a.shape, a.dtype)
        np.dot(g, b.T, out=da)
    if ctx.need_grad[1]:
        db = ctx.buf("db", b.shape, b.dtype)
        np.dot(a.T, g, out=db)
    return [da, db]


register(OpSpec(
    name="matmul", category="layers", title="a·b",
    doc="matrix product a @ b of an (n, k) and a (k, m) matrix",
    grad_rule="a gets g b^T, b gets a^T g",
    inputs=(Port("a", "(n, k) matrix"), Port("b", "(k, m) matrix")),
    shape=_matmul_shape, forward=_matmul_fwd, backward=_matmul_bwd,
    examples=lambda rng: [{"inputs": {"a": rng.standard_normal((n, k)), "b": rng.standard_normal((k, m))},
                           "label": f"({n},{k}) @ ({k},{m})"} for n, k, m in ((1, 1, 1), (3, 4, 2), (2, 5, 6))],
))
