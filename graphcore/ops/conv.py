"""Image layers: conv2d (im2col + one BLAS product) and max/average pooling.

The loops live in graphcore.kernels.nn (numba, with numpy twins); this module declares
the ops, checks that output sizes are whole, and keeps every array in ctx buffers.
"""
from __future__ import annotations

import numpy as np

from ..export.coderule import CodeRule
from ..kernels import conv as KN
from ..registry import OpSpec, ParamSpec, Port, ShapeError, WeightSpec, register
from ._layerkit import INIT_SCALE, fdata, init_param, weight
from ..export import onnx_rules


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
    KN.conv_im2col.get()(x, k, params["stride"], params["pad"], ho, wo, cols)
    y = ctx.buf("y", (f, n * ho * wo), x.dtype)
    np.dot(W.reshape(f, -1), cols, out=y)
    out = ctx.buf("out", (n, f, ho, wo), x.dtype)
    KN.conv_out.get()(y.reshape(f, n, ho * wo), b, out.reshape(n, f, ho * wo))
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
    KN.conv_dout_t.get()(g.reshape(n, f, ho * wo), gt.reshape(f, n, ho * wo), db)
    dW = ctx.buf("dW", W.shape, x.dtype)
    np.dot(gt, cols.T, out=dW.reshape(f, -1))
    ctx.wgrads["W"] = dW
    ctx.wgrads["b"] = db
    if not ctx.need_grad[0]:
        return [None]
    dcols = ctx.buf("dcols", cols.shape, x.dtype)
    np.dot(W.reshape(f, -1).T, gt, out=dcols)
    dx = ctx.buf("dx", x.shape, x.dtype)
    KN.conv_col2im.get()(dcols, k, params["stride"], params["pad"], ho, wo, dx)
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
    code=CodeRule("_conv2d({images}, {W}, {b}, {stride}, {pad})",
                  (("images", "_conv2d_dx({g}, {images}, {W}, {stride}, {pad})",
                    "conv: the filters slid back over the upstream gradient"),
                   ("W", "_conv2d_dW({g}, {images}, {W}, {stride}, {pad})",
                    "conv: each weight gets upstream times the pixels it saw, summed"),
                   ("b", "np.sum({g}, axis=(0, 2, 3))", "conv: b gets the upstream summed per filter")),
                  torch="F.conv2d({images}, {W}, {b}, stride={stride}, padding={pad})",
                  helpers=("_conv2d", "_conv2d_dx", "_conv2d_dW")),
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
    kernels=(KN.conv_im2col, KN.conv_out, KN.conv_dout_t, KN.conv_col2im),
    onnx=onnx_rules.conv2d,
))


# ------------------------------------------------------------------ pooling
def _pool_geometry(what, params, shape):
    n, c, h, w = _images(shape, what)
    k, s = params["size"], params["stride"]
    return n, c, out_size(what, "height", h, k, 0, s, "x"), out_size(what, "width", w, k, 0, s, "x")


def _pool(kind: str, kf, kb):
    """`kf`, `kb`: the forward and backward Kernel objects (graphcore.kernels.nn)."""
    what = f"{kind}_pool"

    def shape(params, shapes):
        return _pool_geometry(what, params, shapes[0])

    def forward(ctx, ins, params, tensors):
        x = fdata(ctx, ins[0])
        out = ctx.buf("out", _pool_geometry(what, params, x.shape), x.dtype)
        if kind == "max":
            idx = ctx.buf("idx", out.shape, np.int64)
            kf.get()(x, params["size"], params["stride"], out, idx)
        else:
            kf.get()(x, params["size"], params["stride"], out)
        return out

    def backward(ctx, g, ins, out, params, tensors):
        x = ins[0]
        g = fdata(ctx, g)
        dx = ctx.buf("dx", x.shape, g.dtype)
        if kind == "max":
            kb.get()(g, ctx.bufs["idx"], params["size"], params["stride"], dx)
        else:
            kb.get()(g, params["size"], params["stride"], dx)
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
        code=CodeRule(f"_{kind}_pool({{x}}, {{size}}, {{stride}})",
                      (("x", f"_{kind}_pool_dx({{g}}, {{x}}, {{size}}, {{stride}})", f"{kind} pool: {rule}"),),
                      torch=f"F.{kind}_pool2d({{x}}, {{size}}, {{stride}})",
                      helpers=(f"_{kind}_pool", f"_{kind}_pool_dx")),
        params=(ParamSpec("size", "int", 2, "window height and width", min=1, max=64),
                ParamSpec("stride", "int", 2, "step between windows", min=1, max=64)),
        shape=shape, forward=forward, backward=backward, examples=examples, kernels=(kf, kb),
        onnx=onnx_rules.pool("MaxPool" if kind == "max" else "AveragePool"),
    ))


_pool("max", KN.max_pool_fwd, KN.max_pool_bwd)
_pool("avg", KN.avg_pool_fwd, KN.avg_pool_bwd)
