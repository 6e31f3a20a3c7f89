"""Layers with weights (linear, conv2d, batchnorm, maxout) and the shape plumbing
between them (matmul, pooling, flatten, reshape, dropout, softmax).

Layouts follow the CS231n assignments: feature rows (N, D), images (N, C, H, W),
linear W of shape (D, units), conv W of shape (F, C, size, size). Outputs and
gradients live in reusable ctx buffers; matrix products go to BLAS (np.dot with
out=), the loops that BLAS cannot do are numba kernels (graphcore.kernels.nn).
"""
from __future__ import annotations

import math

import numpy as np

from .. import kernels
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


def colsum(ctx, g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Column sums of a (N, M) matrix as ones(N) @ g: BLAS does it 3-5x faster than np.sum(axis=0)."""
    ones = ctx.saved.get("ones")
    if ones is None or ones.shape[0] != g.shape[0] or ones.dtype != g.dtype:
        ones = ctx.saved["ones"] = np.ones(g.shape[0], g.dtype)
    return np.dot(ones, g, out=out)


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
    colsum(ctx, g, db)
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


# ------------------------------------------------------------------ images
def _images(shape, what: str, port: str = "x") -> tuple[int, int, int, int]:
    if len(shape) != 4:
        raise ShapeError(f"{what} expects images of shape (N, C, H, W); got {tuple(shape)}", port=port)
    return shape


def out_size(what: str, axis: str, n: int, size: int, pad: int, stride: int, port: str) -> int:
    """(n - size + 2 pad) / stride + 1, or a ShapeError naming the numbers when it is not whole."""
    span = n - size + 2 * pad
    if span < 0:
        raise ShapeError(f"{what}: the {size}x{size} window does not fit the input {axis} {n} "
                         f"(with padding {pad})", port=port)
    if span % stride:
        raise ShapeError(f"{what}: output {axis} ({n} - {size} + 2*{pad})/{stride} + 1 = "
                         f"{span / stride + 1:g} is not a whole number; change size, stride or pad", port=port)
    return span // stride + 1


def _conv_geometry_cached(ctx, params, shape):
    key = (shape, params["size"], params["stride"], params["pad"])
    cached = ctx.saved.get("geometry")
    if cached is None or cached[0] != key:
        cached = ctx.saved["geometry"] = (key, _conv_geometry(params, shape))
    return cached[1]


def _conv_geometry(params, shape):
    n, c, h, w = _images(shape, "conv2d", "images")
    k, s, p = params["size"], params["stride"], params["pad"]
    ho = out_size("conv2d", "height", h, k, p, s, "images")
    wo = out_size("conv2d", "width", w, k, p, s, "images")
    return n, c, h, w, ho, wo


def _conv_shape(params, shapes):
    n, c, h, w, ho, wo = _conv_geometry(params, shapes[0])
    return (n, params["filters"], ho, wo)


def _conv_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    W = weight(tensors, "W", x.dtype)
    b = weight(tensors, "b", x.dtype)
    n, c, h, w, ho, wo = _conv_geometry_cached(ctx, params, x.shape)
    f, k = W.shape[0], W.shape[2]
    cols = ctx.buf("cols", (c * k * k, n * ho * wo), x.dtype)
    kernels.get("conv_im2col")(x, k, params["stride"], params["pad"], ho, wo, cols)
    y = ctx.buf("y", (f, n * ho * wo), x.dtype)
    np.dot(W.reshape(f, -1), cols, out=y)
    out = ctx.buf("out", (n, f, ho, wo), x.dtype)
    kernels.get("conv_out")(y.reshape(f, n, ho * wo), b, out.reshape(n, f, ho * wo))
    return out


def _conv_bwd(ctx, g, ins, out, params, tensors):
    x = fdata(ctx, ins[0])
    g = fdata(ctx, g)
    W = weight(tensors, "W", x.dtype)
    n, f, ho, wo = g.shape
    k = W.shape[2]
    cols = ctx.bufs["cols"]
    gt = ctx.buf("gt", (f, n * ho * wo), x.dtype)
    db = ctx.buf("db", (f,), x.dtype)
    kernels.get("conv_dout_t")(g.reshape(n, f, ho * wo), gt.reshape(f, n, ho * wo), db)
    dW = ctx.buf("dW", W.shape, x.dtype)
    np.dot(gt, cols.T, out=dW.reshape(f, -1))
    ctx.wgrads["W"] = dW
    ctx.wgrads["b"] = db
    if not ctx.need_grad[0]:
        return [None]
    dcols = ctx.buf("dcols", cols.shape, x.dtype)
    np.dot(W.reshape(f, -1).T, gt, out=dcols)
    dx = ctx.buf("dx", x.shape, x.dtype)
    kernels.get("conv_col2im")(dcols, k, params["stride"], params["pad"], ho, wo, dx)
    return [dx]


def _conv_examples(rng):
    cases = []
    for (n, c, h, w), f, k, s, p in (((2, 1, 5, 5), 2, 3, 1, 0), ((2, 2, 5, 6), 3, 3, 1, 1),
                                     ((1, 2, 7, 7), 2, 3, 2, 0), ((2, 3, 6, 6), 2, 2, 2, 1),
                                     ((1, 1, 5, 5), 2, 3, 2, 1)):
        cases.append({"inputs": {"images": rng.standard_normal((n, c, h, w))},
                      "params": {"filters": f, "size": k, "stride": s, "pad": p},
                      "weights": {"b": rng.standard_normal(f) * 0.1},
                      "label": f"({n},{c},{h},{w}) F={f} size={k} stride={s} pad={p}"})
    return cases


register(OpSpec(
    name="conv2d", category="layers", title="conv",
    doc="2-D convolution: F filters of size x size slide over (N, C, H, W) images every `stride` pixels with "
        "`pad` zeros around; output (N, F, (H - size + 2 pad)/stride + 1, same for W)",
    grad_rule="each weight gets the sum over positions of upstream gradient times the input pixel it saw; "
              "the input gets the filters slid back over the upstream gradient; b gets the sums per filter",
    inputs=(Port("images", "images, shape (N, C, H, W)"),),
    params=(ParamSpec("filters", "int", 8, "number of filters F (output channels)", min=1, max=4096),
            ParamSpec("size", "int", 3, "filter height and width", min=1, max=64),
            ParamSpec("stride", "int", 1, "step between filter positions", min=1, max=64),
            ParamSpec("pad", "int", 0, "zeros added on every border", min=0, max=64),
            init_param("he"), INIT_SCALE),
    weights=(WeightSpec("W", shape=lambda p, s: (p["filters"], s[0][1], p["size"], p["size"]), init="he",
                        fan=lambda sh: (sh[1] * sh[2] * sh[3], sh[0] * sh[2] * sh[3]),
                        doc="filters, (F, C, size, size)"),
             WeightSpec("b", shape=lambda p, s: (p["filters"],), init="zeros", doc="biases, (F,)")),
    shape=_conv_shape, forward=_conv_fwd, backward=_conv_bwd, examples=_conv_examples,
))


# ------------------------------------------------------------------ pooling
def _pool_geometry(what, params, shape):
    n, c, h, w = _images(shape, what)
    k, s = params["size"], params["stride"]
    return n, c, out_size(what, "height", h, k, 0, s, "x"), out_size(what, "width", w, k, 0, s, "x")


def _pool(kind: str):
    what = f"{kind}_pool"

    def shape(params, shapes):
        return _pool_geometry(what, params, shapes[0])

    def forward(ctx, ins, params, tensors):
        x = fdata(ctx, ins[0])
        out = ctx.buf("out", _pool_geometry(what, params, x.shape), x.dtype)
        if kind == "max":
            idx = ctx.buf("idx", out.shape, np.int64)
            kernels.get("max_pool_fwd")(x, params["size"], params["stride"], out, idx)
        else:
            kernels.get("avg_pool_fwd")(x, params["size"], params["stride"], out)
        return out

    def backward(ctx, g, ins, out, params, tensors):
        x = ins[0]
        g = fdata(ctx, g)
        dx = ctx.buf("dx", x.shape, g.dtype)
        if kind == "max":
            kernels.get("max_pool_bwd")(g, ctx.bufs["idx"], params["size"], params["stride"], dx)
        else:
            kernels.get("avg_pool_bwd")(g, params["size"], params["stride"], dx)
        return [dx]

    def examples(rng):
        cases = []
        for shp, k, s in (((2, 2, 4, 4), 2, 2), ((1, 3, 5, 7), 3, 2), ((2, 1, 4, 6), 2, 1)):
            x = rng.permutation(np.prod(shp)).reshape(shp) * 0.1 - 1.0  # distinct values: no max ties
            cases.append({"inputs": {"x": x}, "params": {"size": k, "stride": s},
                          "label": f"{shp} size={k} stride={s}"})
        return cases

    rule = ("routes each output's gradient to the pixel that was the max of its window"
            if kind == "max" else "spreads each output's gradient evenly over its window (divided by size^2)")
    return register(OpSpec(
        name=what, category="layers", title=f"{kind} pool",
        doc=f"{'max' if kind == 'max' else 'mean'} over size x size windows of (N, C, H, W) images every "
            "`stride` pixels; output size (H - size)/stride + 1",
        grad_rule=rule, inputs=(Port("x", "images, shape (N, C, H, W)"),),
        params=(ParamSpec("size", "int", 2, "window height and width", min=1, max=64),
                ParamSpec("stride", "int", 2, "step between windows", min=1, max=64)),
        shape=shape, forward=forward, backward=backward, examples=examples,
    ))


_pool("max")
_pool("avg")


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
    return x.reshape(cached[1])


def _reshape_bwd(ctx, g, ins, out, params, tensors):
    return [g.reshape(ins[0].shape)]


def _flatten_fwd(ctx, ins, params, tensors):
    x = ins[0]
    return x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)


register(OpSpec(
    name="flatten", category="layers", title="flatten",
    doc="(N, C, H, W) -> (N, C*H*W): one row per example, for a linear layer after convolutions",
    grad_rule="reshapes the gradient back to the input's shape",
    inputs=(Port("x", "an array whose first axis is the batch"),),
    shape=_flatten_shape, forward=_flatten_fwd, backward=_reshape_bwd,
    examples=lambda rng: [{"inputs": {"x": rng.standard_normal(s)}, "label": str(s)}
                          for s in ((3, 2, 2, 2), (2, 5), (4,))],
))


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
    size = int(np.prod(shape, dtype=np.int64))
    known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
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
    inputs=(Port("x", "any array"),),
    params=(ShapeParam("shape", "str", "-1", "the new shape: whole numbers separated by commas, one may be -1"),),
    shape=lambda params, shapes: _reshape_target(params, shapes[0]),
    forward=_reshape_fwd, backward=_reshape_bwd,
    examples=lambda rng: [
        {"inputs": {"x": rng.standard_normal((3, 16))}, "params": {"shape": "-1, 1, 4, 4"}, "label": "(3,16) -> images"},
        {"inputs": {"x": rng.standard_normal((2, 3, 2))}, "params": {"shape": "3, 4"}, "label": "(2,3,2) -> (3,4)"}],
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
    inputs=(Port("x", "scores; probabilities are taken along the last axis"),),
    shape=lambda params, shapes: tuple(shapes[0]), forward=_softmax_fwd, backward=_softmax_bwd,
    examples=lambda rng: [{"inputs": {"x": rng.standard_normal(s)}, "label": str(s)}
                          for s in ((4,), (3, 5), (2, 3, 4))],
))


# ---------------------------------------------------------------- batchnorm
def _bn_channels(shape) -> int:
    if len(shape) == 2:
        return shape[1]
    if len(shape) == 4:
        return shape[1]
    raise ShapeError(f"batchnorm takes rows (N, D), normalised per feature, or images (N, C, H, W), per "
                     f"channel; got {tuple(shape)}", port="x")


def _bn_shape(params, shapes):
    s = shapes[0]
    _bn_channels(s)
    return tuple(s)


def _as3(a: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, D, 1) and (N, C, H, W) -> (N, C, H*W), as views."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def _bn_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    c = x.shape[1]
    gamma = weight(tensors, "gamma", x.dtype)
    beta = weight(tensors, "beta", x.dtype)
    out = ctx.buf("out", x.shape, x.dtype)
    if ctx.train:
        rm, rv = tensors["running_mean"], tensors["running_var"]
        if rm.dtype != x.dtype:  # running stats follow the executor's dtype (float32 runs)
            rm = tensors["running_mean"] = rm.astype(x.dtype)
            rv = tensors["running_var"] = rv.astype(x.dtype)
        xhat = ctx.buf("xhat", x.shape, x.dtype)
        invstd = ctx.buf("invstd", (c,), x.dtype)
        kernels.get("batchnorm_fwd")(_as3(x), gamma, beta, float(params["eps"]), float(params["momentum"]),
                                     _as3(out), _as3(xhat), invstd, rm, rv)
        ctx.saved["bn_train"] = True
        return out
    # eval: normalise with the running statistics
    invstd = ctx.buf("invstd", (c,), x.dtype)
    np.add(tensors["running_var"], params["eps"], out=invstd)
    np.sqrt(invstd, out=invstd)
    np.reciprocal(invstd, out=invstd)
    xhat = ctx.buf("xhat", x.shape, x.dtype)
    x3, xh3 = _as3(x), _as3(xhat)
    np.subtract(x3, tensors["running_mean"].astype(x.dtype, copy=False)[None, :, None], out=xh3)
    xh3 *= invstd[None, :, None]
    np.multiply(xh3, gamma[None, :, None], out=_as3(out))
    _as3(out)[...] += beta[None, :, None]
    ctx.saved["bn_train"] = False
    return out


def _bn_bwd(ctx, g, ins, out, params, tensors):
    x = ins[0]
    g = fdata(ctx, g)
    c = g.shape[1]
    gamma = weight(tensors, "gamma", g.dtype)
    dx = ctx.buf("dx", g.shape, g.dtype)
    dgamma = ctx.buf("dgamma", (c,), g.dtype)
    dbeta = ctx.buf("dbeta", (c,), g.dtype)
    xhat, invstd = ctx.bufs["xhat"], ctx.bufs["invstd"]
    if ctx.saved.get("bn_train"):
        kernels.get("batchnorm_bwd")(_as3(g), _as3(xhat), gamma, invstd, _as3(dx), dgamma, dbeta)
    else:  # eval: the statistics are constants, so the layer is a per-channel affine map
        g3 = _as3(g)
        np.sum(g3, axis=(0, 2), out=dbeta)
        np.sum(g3 * _as3(xhat), axis=(0, 2), out=dgamma)
        np.multiply(g3, (gamma * invstd)[None, :, None], out=_as3(dx))
    ctx.wgrads["gamma"] = dgamma
    ctx.wgrads["beta"] = dbeta
    return [dx]


def _bn_examples(rng):
    cases = []
    for shp in ((5, 3), (2, 3, 2, 2), (4, 2, 3, 1)):
        c = shp[1]
        w = {"gamma": 1.0 + 0.5 * rng.random(c), "beta": rng.standard_normal(c) * 0.1}
        x = rng.standard_normal(shp) * 2 + 1
        cases.append({"inputs": {"x": x}, "weights": dict(w), "label": f"train {shp}"})
        ev = dict(w, running_mean=rng.standard_normal(c) * 0.1, running_var=0.5 + rng.random(c))
        cases.append({"inputs": {"x": x}, "weights": ev, "mode": "eval", "label": f"eval {shp}"})
    return cases


register(OpSpec(
    name="batchnorm", category="layers", title="batchnorm", mode_dependent=True,
    doc="batch normalisation: (x - mean) / sqrt(var + eps) * gamma + beta, per feature of (N, D) or per "
        "channel of (N, C, H, W). Train mode uses the batch's statistics and updates running = momentum * "
        "running + (1 - momentum) * batch; eval mode uses the running statistics",
    grad_rule="train: dx = gamma/sqrt(var+eps)/M * (M g - sum g - xhat * sum(g xhat)); gamma gets "
              "sum(g xhat), beta sum(g); eval: dx = g gamma / sqrt(running_var + eps)",
    inputs=(Port("x", "rows (N, D) or images (N, C, H, W)"),),
    params=(ParamSpec("momentum", "float", 0.9, "how much of the running statistics is kept per step",
                      min=0.0, max=1.0),
            ParamSpec("eps", "float", 1e-5, "added to the variance so it is never divided by zero", min=0.0)),
    weights=(WeightSpec("gamma", shape=lambda p, s: (s[0][1],), init="ones", doc="scale per feature/channel"),
             WeightSpec("beta", shape=lambda p, s: (s[0][1],), init="zeros", doc="shift per feature/channel"),
             WeightSpec("running_mean", trainable=False, shape=lambda p, s: (s[0][1],), init="zeros",
                        doc="running mean of the batches seen in train mode (used in eval)"),
             WeightSpec("running_var", trainable=False, shape=lambda p, s: (s[0][1],), init="ones",
                        doc="running variance of the batches seen in train mode (used in eval)")),
    shape=_bn_shape, forward=_bn_fwd, backward=_bn_bwd, examples=_bn_examples,
))


# ------------------------------------------------------------------ dropout
def _dropout_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    p = float(params["p"])
    if not ctx.train or p >= 1.0:
        ctx.saved["dropout_mask"] = False
        return x
    # inverted dropout, as in the notes: mask = (rand(shape) < p) / p
    mask = ctx.buf("mask", x.shape, x.dtype)
    ctx.rng.random(dtype=x.dtype, out=mask)
    keep = ctx.buf("keep", x.shape, np.bool_)
    np.less(mask, p, out=keep)
    np.multiply(keep, 1.0 / p, out=mask)
    out = ctx.buf("out", x.shape, x.dtype)
    np.multiply(x, mask, out=out)
    ctx.saved["dropout_mask"] = True
    return out


def _dropout_bwd(ctx, g, ins, out, params, tensors):
    if not ctx.saved.get("dropout_mask"):
        return [g]
    g = fdata(ctx, g)
    dx = ctx.buf("dx", g.shape, g.dtype)
    np.multiply(g, ctx.bufs["mask"], out=dx)
    return [dx]


register(OpSpec(
    name="dropout", category="layers", title="dropout", mode_dependent=True,
    doc="inverted dropout: in train mode keeps each unit with probability p and divides the kept ones by p "
        "(mask = (rand < p) / p, seeded per node); in eval mode passes x through unchanged",
    grad_rule="multiplies the gradient by the same mask (zero where dropped, 1/p where kept); "
              "unchanged in eval mode",
    inputs=(Port("x", "activations"),),
    params=(ParamSpec("p", "float", 0.5, "keep probability (1 = no dropout)", min=0.01, max=1.0),),
    shape=lambda params, shapes: tuple(shapes[0]), forward=_dropout_fwd, backward=_dropout_bwd,
    examples=lambda rng: [
        {"inputs": {"x": rng.standard_normal((4, 6))}, "params": {"p": 0.5}, "label": "train p=0.5"},
        {"inputs": {"x": rng.standard_normal((2, 3, 2, 2))}, "params": {"p": 0.8}, "label": "train images p=0.8"},
        {"inputs": {"x": rng.standard_normal((3, 5))}, "params": {"p": 0.5}, "mode": "eval", "label": "eval"}],
))


# ------------------------------------------------------------------- maxout
def _maxout_shape(params, shapes):
    n, _ = _rows(shapes[0], "maxout")
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
    z3 = z.reshape(n, units, k)
    arg = ctx.buf("arg", (n, units), np.intp)
    np.argmax(z3, axis=2, out=arg)
    out = ctx.buf("out", (n, units), x.dtype)
    np.max(z3, axis=2, out=out)
    return out


def _maxout_bwd(ctx, g, ins, out, params, tensors):
    x = fdata(ctx, ins[0])
    g = fdata(ctx, g)
    W = weight(tensors, "W", x.dtype)
    units, k = params["units"], params["k"]
    n = x.shape[0]
    dz = ctx.buf("dz", (n, units * k), x.dtype)
    dz.fill(0.0)
    np.put_along_axis(dz.reshape(n, units, k), ctx.bufs["arg"][:, :, None], g[:, :, None], axis=2)
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
    inputs=(Port("x", "rows of features, shape (N, D)"),),
    params=(ParamSpec("units", "int", 10, "number of outputs", min=1, max=100000),
            ParamSpec("k", "int", 2, "pieces per unit", min=1, max=64),
            init_param("xavier_normal"), INIT_SCALE),
    weights=(WeightSpec("W", shape=lambda p, s: (s[0][1], p["units"] * p["k"]), init="xavier_normal",
                        fan=lambda sh: (sh[0], sh[1]), doc="weights of every piece, (D, units*k)"),
             WeightSpec("b", shape=lambda p, s: (p["units"] * p["k"],), init="zeros", doc="biases, (units*k,)")),
    shape=_maxout_shape, forward=_maxout_fwd, backward=_maxout_bwd,
    examples=lambda rng: [{"inputs": {"x": rng.standard_normal((n, d))}, "params": {"units": u, "k": k},
                           "label": f"({n},{d}) units={u} k={k}"} for n, d, u, k in ((3, 4, 2, 2), (5, 3, 3, 3))],
))
