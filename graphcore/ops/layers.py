"""Dense layers (linear, matmul, maxout, softmax) and the shape plumbing (flatten,
reshape). The image layers live in graphcore.ops.conv, the normalisation layers in
graphcore.ops.norm.

Layouts follow the CS231n assignments: feature rows (N, D), images (N, C, H, W),
linear W of shape (D, units), conv W of shape (F, C, size, size). Outputs and
gradients live in reusable ctx buffers; matrix products go to BLAS (np.dot with
out=), the loops that BLAS cannot do are numba kernels (graphcore.kernels.nn).
"""
from __future__ import annotations

import math

import numpy as np

from ..export.coderule import CodeRule
from ..kernels import dense as KD
from ..kernels import nn as KN
from ..registry import OpSpec, ParamSpec, Port, ShapeError, WeightSpec, register
from ._layerkit import INIT_SCALE, colsum, fdata, init_param, rows, views_only, weight
from ..export import onnx_rules


# ------------------------------------------------------------------ linear
def _linear_shape(params, shapes):
    n, _ = rows(shapes[0], "linear")
    return (n, params["units"])


# Each direction declares its call to the executor (ctx.repeat, fed: the input is keyed by shape,
# dtype and contiguity, so a new batch array each step still repeats), which repeats it while the
# weights and the upstream gradient are the same arrays: a training step then skips the dtype and
# contiguity fixes and the buffer lookups (~1 us of ~3 us).
def _linear_fwd(ctx, ins, params, tensors):
    x = ins[0]
    W = tensors["W"]
    b = tensors["b"]
    xf = fdata(ctx, x)
    dt = xf.dtype
    Wf = W if W.dtype == dt else W.astype(dt)
    bf = b if b.dtype == dt else b.astype(dt)
    out = ctx.buf("out", (xf.shape[0], Wf.shape[1]), dt)
    if _small(xf, Wf) and bf.flags.c_contiguous:  # one compiled call beats BLAS's overhead
        T = ctx.buf("T", Wf.shape[::-1], dt)
        fn = KD.linear_fwd.sized(xf.shape[0] * Wf.size)  # by work done, the same side for the same shapes
        fn(xf, Wf, bf, out, T)
        if xf is x and Wf is W and bf is b:
            ctx.repeat(_linear_small_fwd_again, (W, b, out, T, fn), fed=True)
        return out
    np.dot(xf, Wf, out=out)
    fn = KN.bias_add.quick(out.size)  # out += b, without a broadcasting ufunc's overhead
    fn(out, bf)
    if xf is x and Wf is W and bf is b:
        ctx.repeat(_linear_fwd_again, (W, b, out, fn), fed=True)
    return out


def _small(x, W) -> bool:
    """Is the layer small enough for graphcore.kernels.dense (C-contiguous operands)?"""
    return x.shape[0] * W.shape[0] * W.shape[1] <= KD.DENSE_SMALL and W.flags.c_contiguous


def _linear_small_fwd_again(ins, W, b, out, T, fn):
    fn(ins[0], W, b, out, T)
    return out


def _linear_fwd_again(ins, W, b, out, bias_add):
    np.dot(ins[0], W, out=out)
    bias_add(out, b)
    return out


def _linear_bwd(ctx, g, ins, out, params, tensors):
    x = ins[0]
    W = tensors["W"]
    xf = fdata(ctx, x)
    gf = fdata(ctx, g)
    dt = xf.dtype
    Wf = W if W.dtype == dt else W.astype(dt)
    dW = ctx.buf("dW", Wf.shape, dt)
    db = ctx.buf("db", (Wf.shape[1],), dt)
    wg = ctx.wgrads
    if _small(xf, Wf) and gf.flags.c_contiguous:  # dW, db and dx in one compiled call
        dx = ctx.buf("dx", xf.shape, dt) if ctx.need_grad[0] else ctx.buf("no_dx", (0, xf.shape[1]), dt)
        T = ctx.buf("T", Wf.shape[::-1], dt)
        fn = KD.linear_bwd.sized(xf.shape[0] * Wf.size)  # (not quick(): loop and twin differ in the last bits)
        fn(xf, gf, Wf, dW, db, dx, T)
        wg["W"] = dW
        wg["b"] = db
        res = [dx if ctx.need_grad[0] else None]  # the executor only reads the list
        if xf is x and gf is g and Wf is W:
            ctx.repeat(_linear_small_bwd_again, (g, W, dW, db, dx, T, fn, wg, res), fed=True)
        return res
    np.dot(xf.T, gf, out=dW)
    colsum(ctx, gf, db)
    wg["W"] = dW
    wg["b"] = db
    dx = ctx.buf("dx", xf.shape, dt) if ctx.need_grad[0] else None
    res = [dx]  # the same list from every repeat: a pass trace sees the same result (graphcore.passtrace)
    if xf is x and gf is g and Wf is W:
        ctx.repeat(_linear_bwd_again, (g, W.T, dW, db, ctx.saved["ones"], dx, wg, res), fed=True)
    if dx is not None:
        np.dot(gf, Wf.T, out=dx)
    return res


def _linear_small_bwd_again(ins, g, W, dW, db, dx, T, fn, wg, res):
    fn(ins[0], g, W, dW, db, dx, T)
    wg["W"] = dW
    wg["b"] = db
    return res


def _linear_bwd_again(ins, g, WT, dW, db, ones, dx, wg, res):
    np.dot(ins[0].T, g, out=dW)
    np.dot(ones, g, out=db)  # colsum
    wg["W"] = dW
    wg["b"] = db
    if dx is not None:
        np.dot(g, WT, out=dx)
    return res


def _linear_examples(rng):
    return [{"inputs": {"x": rng.standard_normal((n, d))}, "params": {"units": u, "init": "xavier_normal"},
             "weights": {"b": rng.standard_normal(u) * 0.1}, "label": f"({n},{d}) -> {u} units"}
            for n, d, u in ((1, 3, 2), (4, 5, 3), (6, 2, 7))]


register(OpSpec(
    name="linear", category="layers", title="linear",
    doc="affine layer x W + b: x is (N, D) rows (flatten images first), W is (D, units), b is (units,)",
    grad_rule="x gets g W^T, W gets x^T g, b gets the column sums of g",
    code=CodeRule("{x} @ {W} + {b}", (("x", "{g} @ {W}.T", "linear: x gets g W^T"),
                                     ("W", "{x}.T @ {g}", "linear: W gets x^T g"),
                                     ("b", "np.sum({g}, axis=0)", "linear: b gets the column sums of g"))),
    inputs=(Port("x", "rows of features, shape (N, D)"),),
    params=(ParamSpec("units", "int", 10, "number of outputs (columns of W)", min=1, max=100000),
            init_param("xavier_normal"), INIT_SCALE),
    weights=(WeightSpec("W", shape=lambda p, s: (s[0][1], p["units"]), init="xavier_normal",
                        fan=lambda shape: (shape[0], shape[1]), doc="weights, (D, units)"),
             WeightSpec("b", shape=lambda p, s: (p["units"],), init="zeros", doc="biases, (units,)")),
    shape=_linear_shape, forward=_linear_fwd, backward=_linear_bwd, examples=_linear_examples,
    kernels=(KN.bias_add, KD.linear_fwd, KD.linear_bwd),
    onnx=onnx_rules.linear,
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
    code=CodeRule("{a} @ {b}", (("a", "{g} @ {b}.T", "matmul: a gets g b^T"),
                               ("b", "{a}.T @ {g}", "matmul: b gets a^T g"))),
    inputs=(Port("a", "(n, k) matrix"), Port("b", "(k, m) matrix")),
    shape=_matmul_shape, forward=_matmul_fwd, backward=_matmul_bwd,
    examples=lambda rng: [{"inputs": {"a": rng.standard_normal((n, k)), "b": rng.standard_normal((k, m))},
                           "label": f"({n},{k}) @ ({k},{m})"} for n, k, m in ((1, 1, 1), (3, 4, 2), (2, 5, 6))],
    onnx="MatMul",
))


# ------------------------------------------------------------ flatten, reshape
def _flatten_shape(params, shapes):
    s = shapes[0]
    if len(s) < 1:
        raise ShapeError("flatten needs an input with a batch axis, got a scalar", port="x")
    return (s[0], math.prod(s[1:]))


def _reshape_fwd(ctx, ins, params, tensors):
    x = ins[0]
    key = (params["shape"], x.shape)
    cached = ctx.saved.get("reshape")
    if cached is None or cached[0] != key:
        cached = ctx.saved["reshape"] = (key, _reshape_target(params, x.shape))
    return _view(ctx, x, x.reshape(cached[1]))


def _reshape_bwd(ctx, g, ins, out, params, tensors):
    return [_view(ctx, g, g.reshape(ins[0].shape))]


def _flatten_fwd(ctx, ins, params, tensors):
    x = ins[0]
    return _view(ctx, x, x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1))


def _view(ctx, a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """r, a reshape of a: the same object again while a is (Ctx.repeat), when it is a view (a
    C-contiguous array reshapes without a copy; a copy would not follow a's contents)."""
    if a.flags.c_contiguous:
        ctx.repeat(views_only, ())
    return r


register(OpSpec(
    name="flatten", category="layers", title="flatten",
    doc="(N, C, H, W) -> (N, C*H*W): one row per example, for a linear layer after convolutions",
    grad_rule="reshapes the gradient back to the input's shape",
    code=CodeRule("{x}.reshape(len({x}), -1)",
                  (("x", "{g}.reshape(np.shape({x}))", "flatten: the gradient reshaped back to the input's shape"),),
                  torch="{x}.reshape(len({x}), -1)"),
    inputs=(Port("x", "an array whose first axis is the batch"),),
    shape=_flatten_shape, forward=_flatten_fwd, backward=_reshape_bwd,
    examples=lambda rng: [{"inputs": {"x": rng.standard_normal(s)}, "label": str(s)}
                          for s in ((3, 2, 2, 2), (2, 5), (4,))],
    onnx=onnx_rules.flatten,
))


MAX_DIMS = 32  # dimensions a reshape target may have


def parse_shape(value) -> tuple[int, ...]:
    """'-1, 16' or [-1, 16] -> (-1, 16); at most one -1, the others positive integers."""
    if isinstance(value, str):
        text = value.strip().strip("()[]")
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            dims = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(f"shape must be whole numbers separated by commas, like '-1, 1, 8, 8'; "
                             f"got {value!r}") from None
    elif isinstance(value, (list, tuple)):
        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in value):
            raise ValueError(f"shape must be a list of whole numbers, got {value!r}")
        dims = tuple(int(d) for d in value)
    else:
        raise ValueError(f"shape must be text like '-1, 16' or a list of whole numbers, got {value!r}")
    if not dims:
        raise ValueError("shape needs at least one dimension, like '-1, 16'")
    if len(dims) > MAX_DIMS:  # numpy stops at 64; no layer here needs more than a handful
        raise ValueError(f"shape has {len(dims)} dimensions; at most {MAX_DIMS} are allowed")
    if sum(d == -1 for d in dims) > 1:
        raise ValueError(f"shape may contain -1 (work it out) only once, got {value!r}")
    if any(d == 0 or d < -1 for d in dims):
        raise ValueError(f"shape dimensions must be positive (or one -1), got {value!r}")
    return dims


class ShapeParam(ParamSpec):
    """A target shape typed as text in the inspector; stored normalised as '-1, 16'."""

    def validate(self, value):
        return ", ".join(str(d) for d in parse_shape(value))


def _reshape_target(params, shape) -> tuple[int, ...]:
    dims = parse_shape(params["shape"])
    size = math.prod(int(d) for d in shape)  # Python ints: an int64 product of huge dims wraps around
    known = math.prod(d for d in dims if d != -1)
    if -1 in dims:
        if known == 0 or size % known:
            raise ShapeError(f"cannot reshape {tuple(shape)} ({size} elements) to ({params['shape']}): "
                             f"{size} is not a multiple of {known}", port="x")
        dims = tuple(size // known if d == -1 else d for d in dims)
    elif known != size:
        raise ShapeError(f"cannot reshape {tuple(shape)} ({size} elements) to ({params['shape']}) "
                         f"({known} elements)", port="x")
    return dims


register(OpSpec(
    name="reshape", category="layers", title="reshape",
    doc="the same numbers in a new shape, e.g. '-1, 1, 8, 8' turns (N, 64) rows into 8x8 images "
        "(-1: worked out from the size)",
    grad_rule="reshapes the gradient back to the input's shape",
    code=CodeRule(lambda m: f"{m['x']}.reshape({parse_shape(m['_params']['shape'])!r})",
                  (("x", "{g}.reshape(np.shape({x}))", "reshape: the gradient reshaped back to the input's shape"),),
                  torch=lambda m: f"{m['x']}.reshape({parse_shape(m['_params']['shape'])!r})"),
    inputs=(Port("x", "any array"),),
    params=(ShapeParam("shape", "str", "-1", "the new shape: whole numbers separated by commas, one may be -1"),),
    shape=lambda params, shapes: _reshape_target(params, shapes[0]),
    forward=_reshape_fwd, backward=_reshape_bwd,
    examples=lambda rng: [
        {"inputs": {"x": rng.standard_normal((3, 16))}, "params": {"shape": "-1, 1, 4, 4"}, "label": "(3,16) -> images"},
        {"inputs": {"x": rng.standard_normal((2, 3, 2))}, "params": {"shape": "3, 4"}, "label": "(2,3,2) -> (3,4)"}],
    onnx=onnx_rules.reshape,
))


# ---------------------------------------------------------------- softmax
def _softmax_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    out = ctx.buf("out", x.shape, x.dtype)
    if x.ndim == 0:
        out[()] = 1.0
        return out
    np.subtract(x, x.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def _softmax_bwd(ctx, g, ins, out, params, tensors):
    g = fdata(ctx, g)
    dx = ctx.buf("dx", out.shape, out.dtype)
    if out.ndim == 0:
        dx[()] = 0.0
        return [dx]
    np.multiply(g, out, out=dx)
    s = dx.sum(axis=-1, keepdims=True)
    np.subtract(g, s, out=dx)
    dx *= out
    return [dx]


register(OpSpec(
    name="softmax", category="layers", title="softmax",
    doc="e^x / sum e^x along the last axis (each row becomes probabilities); shifted by the row max for "
        "stability. For training, softmax_cross_entropy fuses this with the loss",
    grad_rule="x gets y * (g - sum(g * y)) row by row, y the softmax output",
    code=CodeRule("_softmax({x})", (("x", "{out} * ({g} - np.sum({g} * {out}, axis=-1, keepdims=True))",
                                    "softmax: x gets y (g - sum(g y)) row by row"),),
                  torch="torch.softmax({x}, dim=-1)", helpers=("_softmax",)),
    inputs=(Port("x", "scores; probabilities are taken along the last axis"),),
    shape=lambda params, shapes: tuple(shapes[0]), forward=_softmax_fwd, backward=_softmax_bwd,
    examples=lambda rng: [{"inputs": {"x": rng.standard_normal(s)}, "label": str(s)}
                          for s in ((4,), (3, 5), (2, 3, 4))],
    onnx=onnx_rules.softmax,
))


# ------------------------------------------------------------------- maxout
def _maxout_shape(params, shapes):
    n, _ = rows(shapes[0], "maxout")
    return (n, params["units"])


def _maxout_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    W = weight(tensors, "W", x.dtype)
    b = weight(tensors, "b", x.dtype)
    units, k = params["units"], params["k"]
    n = x.shape[0]
    z = ctx.buf("z", (n, units * k), x.dtype)
    np.dot(x, W, out=z)
    z += b
    arg = ctx.buf("arg", (n, units), np.int64)
    out = ctx.buf("out", (n, units), x.dtype)
    KN.maxout_fwd.get()(z, k, out, arg)
    return out


def _maxout_bwd(ctx, g, ins, out, params, tensors):
    x = fdata(ctx, ins[0])
    g = fdata(ctx, g)
    W = weight(tensors, "W", x.dtype)
    units, k = params["units"], params["k"]
    n = x.shape[0]
    dz = ctx.buf("dz", (n, units * k), x.dtype)
    KN.maxout_bwd.get()(g, ctx.bufs["arg"], k, dz)
    dW = ctx.buf("dW", W.shape, x.dtype)
    np.dot(x.T, dz, out=dW)
    db = ctx.buf("db", (units * k,), x.dtype)
    colsum(ctx, dz, db)
    ctx.wgrads["W"] = dW
    ctx.wgrads["b"] = db
    if not ctx.need_grad[0]:
        return [None]
    dx = ctx.buf("dx", x.shape, x.dtype)
    np.dot(dz, W.T, out=dx)
    return [dx]


register(OpSpec(
    name="maxout", category="layers", title="maxout",
    doc="maxout units (Goodfellow et al.): each of `units` outputs is the max of k affine pieces "
        "max(x w_1 + b_1, ..., x w_k + b_k); x is (N, D), W is (D, units*k) with unit u's pieces in "
        "columns u*k .. u*k+k-1. Generalises ReLU and leaky ReLU, k times the parameters",
    grad_rule="routes each output's gradient to its winning piece, which then backpropagates like a linear layer",
    code=CodeRule("_maxout({x}, {W}, {b}, {k})",
                  (("x", "_maxout_dz({x}, {W}, {b}, {k}, {g}) @ {W}.T", "maxout: the winning piece's dz times W^T"),
                   ("W", "{x}.T @ _maxout_dz({x}, {W}, {b}, {k}, {g})", "maxout: W gets x^T dz"),
                   ("b", "np.sum(_maxout_dz({x}, {W}, {b}, {k}, {g}), axis=0)", "maxout: b gets the column sums of dz")),
                  torch="({x} @ {W} + {b}).reshape(len({x}), -1, {k}).max(dim=2).values",
                  helpers=("_maxout", "_maxout_dz")),
    inputs=(Port("x", "rows of features, shape (N, D)"),),
    params=(ParamSpec("units", "int", 10, "number of outputs", min=1, max=100000),
            ParamSpec("k", "int", 2, "pieces per unit", min=1, max=64),
            init_param("xavier_normal"), INIT_SCALE),
    weights=(WeightSpec("W", shape=lambda p, s: (s[0][1], p["units"] * p["k"]), init="xavier_normal",
                        fan=lambda sh: (sh[0], sh[1]), doc="weights of every piece, (D, units*k)"),
             WeightSpec("b", shape=lambda p, s: (p["units"] * p["k"],), init="zeros", doc="biases, (units*k,)")),
    shape=_maxout_shape, forward=_maxout_fwd, backward=_maxout_bwd, kernels=(KN.maxout_fwd, KN.maxout_bwd),
    examples=lambda rng: [{"inputs": {"x": rng.standard_normal((n, d))}, "params": {"units": u, "k": k},
                           "label": f"({n},{d}) units={u} k={k}"} for n, d, u, k in ((3, 4, 2, 2), (5, 3, 3, 3))],
    onnx=onnx_rules.maxout,
))

