"""Sum and mean, over everything or one axis."""
from __future__ import annotations

import numpy as np

from ._layerkit import fdata, views_only
from ..export.coderule import CodeRule
from ..registry import OpSpec, ParamSpec, Port, ShapeError, register
from ..export import onnx_rules

AXIS = ParamSpec("axis", "axis", None, "the axis to reduce over, or null for all")
KEEPDIMS = ParamSpec("keepdims", "bool", False, "keep the reduced axis with length 1")


def _shape(params, shapes):
    shape = shapes[0]
    axis = params.get("axis")
    if axis is None:
        return tuple(1 for _ in shape) if params.get("keepdims") else ()
    nd = len(shape)
    if not -nd <= axis < nd:
        raise ShapeError(f"axis {axis} is out of range for an input of shape {tuple(shape)}", port="x")
    axis %= nd
    if params.get("keepdims"):
        return tuple(1 if i == axis else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i != axis)


def _expand(g, x_shape, params):
    axis = params.get("axis")
    if axis is None:
        g = np.reshape(g, (1,) * len(x_shape)) if g.ndim != len(x_shape) else g
    elif not params.get("keepdims"):
        g = np.expand_dims(g, axis % len(x_shape))
    return g


def _cases(rng):
    """Sample cases for the gradient check: all elements, each axis, negative axis, keepdims."""
    out = []
    for shape, axis, keep in (((), None, False), ((5,), None, False), ((3, 4), None, False),
                              ((3, 4), None, True), ((3, 4), 0, False), ((3, 4), 1, False),
                              ((3, 4), -1, True), ((2, 3, 4), 1, False), ((2, 3, 4), 0, True)):
        out.append({"inputs": {"x": rng.uniform(-2.0, 2.0, size=shape)}, "params": {"axis": axis, "keepdims": keep},
                    "label": f"{shape} axis={axis} keepdims={keep}"})
    return out


def _reduce_fwd(ctx, ins, params, reduce):
    """np.sum or np.mean into the step's own buffer (the same bits as without `out`), repeated
    (Ctx.repeat) while the step reads the same array."""
    x0 = ins[0]
    x = fdata(ctx, x0)  # an int64 input would wrap around silently
    axis, keep = params.get("axis"), bool(params.get("keepdims"))
    out = ctx.buf("out", _shape(params, [x.shape]), x.dtype)
    reduce(x, axis=axis, keepdims=keep, out=out)
    if x is x0:
        ctx.repeat(reduce, (x, axis, None, out, keep))
    return out


def _sum_fwd(ctx, ins, params, tensors):
    return _reduce_fwd(ctx, ins, params, np.sum)


def _sum_bwd(ctx, g, ins, out, params, tensors):
    x = ins[0]
    ctx.repeat(views_only, ())  # a broadcast view of g: it follows g's contents
    return [np.broadcast_to(_expand(g, x.shape, params), x.shape)]


def _mean_fwd(ctx, ins, params, tensors):
    return _reduce_fwd(ctx, ins, params, np.mean)


def _mean_bwd(ctx, g, ins, out, params, tensors):
    x = ins[0]
    axis = params.get("axis")
    n = x.size if axis is None else x.shape[axis]
    ge = _expand(g, x.shape, params)
    d = ctx.buf("g_n", ge.shape, ge.dtype)
    np.divide(ge, max(n, 1), out=d)
    ctx.repeat(np.divide, (ge, max(n, 1), d))
    return [np.broadcast_to(d, x.shape)]


register(OpSpec(name="sum", category="reductions", title="Σ", doc="sum of the elements (all, or along an axis)",
                grad_rule="copies the gradient back to every element that was summed",
                code=CodeRule("np.sum({x}, axis={axis}, keepdims={keepdims})",
                              (("x", "_reduce_grad({g}, np.shape({x}), {axis}, {keepdims})",
                                "sum: copies the upstream back to every summed element"),),
                              torch="_sum({x}, {axis}, {keepdims})", helpers=("_reduce_grad",), torch_helpers=("_sum",)),
                inputs=(Port("x"),), params=(AXIS, KEEPDIMS), shape=_shape, forward=_sum_fwd, backward=_sum_bwd,
                examples=_cases,
                onnx=onnx_rules.reduction("ReduceSum")))
register(OpSpec(name="mean", category="reductions", title="mean", doc="mean of the elements (all, or along an axis)",
                grad_rule="gives every averaged element the gradient divided by their count",
                code=CodeRule("np.mean({x}, axis={axis}, keepdims={keepdims})",
                              (("x", "_reduce_grad({g}, np.shape({x}), {axis}, {keepdims}, mean=True)",
                                "mean: every averaged element gets the upstream divided by their count"),),
                              torch="_mean({x}, {axis}, {keepdims})", helpers=("_reduce_grad",),
                              torch_helpers=("_mean",)),
                inputs=(Port("x"),), params=(AXIS, KEEPDIMS), shape=_shape, forward=_mean_fwd,
                backward=_mean_bwd, examples=_cases,
                onnx=onnx_rules.reduction("ReduceMean")))
