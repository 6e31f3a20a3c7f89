"""Declare elementwise ops once: the kernels do the work, buffers are reused."""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..registry import OpSpec, ParamSpec, Port, ShapeError, register


def flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)


def as_float(ctx, a: np.ndarray) -> np.ndarray:
    return a if a.dtype.kind == "f" else a.astype(ctx.dtype)


def same_shape(params, shapes):
    return shapes[0]


def broadcast_shape(params, shapes):
    try:
        return np.broadcast_shapes(*[s for s in shapes if s is not None])
    except ValueError:
        raise ShapeError("input shapes " + " and ".join(str(tuple(s)) for s in shapes if s is not None)
                         + " cannot broadcast together", port="b") from None


def unary(name: str, doc: str, grad_rule: str, title: str = "", category: str = "activations",
          param: ParamSpec | None = None) -> OpSpec:
    fname, bname = f"{name}_fwd", f"{name}_bwd"
    pname = param.name if param else None

    def forward(ctx, ins, params, tensors):
        x = as_float(ctx, ins[0])
        out = ctx.buf("out", x.shape, x.dtype)
        kernels.get(fname)(flat(x), out.reshape(-1), float(params[pname]) if pname else 0.0)
        return out

    def backward(ctx, g, ins, out, params, tensors):
        x = as_float(ctx, ins[0])
        dx = ctx.buf("dx", x.shape, x.dtype)
        kernels.get(bname)(flat(x), flat(out), flat(g), dx.reshape(-1), float(params[pname]) if pname else 0.0)
        return [dx]

    return register(OpSpec(name=name, category=category, doc=doc, grad_rule=grad_rule, title=title or name,
                           inputs=(Port("x"),), params=(param,) if param else (), shape=same_shape,
                           forward=forward, backward=backward, elementwise=True))


def _operands(ctx, a, b):
    """Both inputs at the output's shape, contiguous (broadcast copies reuse buffers)."""
    a = as_float(ctx, a)
    b = as_float(ctx, b)
    if a.shape == b.shape:
        return a, b, a.shape
    shape = np.broadcast_shapes(a.shape, b.shape)
    dtype = np.result_type(a, b)
    if a.shape != shape:
        buf = ctx.buf("a_wide", shape, dtype)
        np.copyto(buf, a)
        a = buf
    if b.shape != shape:
        buf = ctx.buf("b_wide", shape, dtype)
        np.copyto(buf, b)
        b = buf
    return a, b, shape


def binary(name: str, doc: str, grad_rule: str, title: str = "", category: str = "gates",
           ports: tuple[str, str] = ("a", "b"), passthrough: tuple[float, float] | None = None) -> OpSpec:
    """`passthrough=(1, 1)` marks add: the gradient goes back unchanged, no kernel needed."""
    fname, bname = f"{name}_fwd", f"{name}_bwd"

    def forward(ctx, ins, params, tensors):
        a, b, shape = _operands(ctx, ins[0], ins[1])
        out = ctx.buf("out", shape, np.result_type(a, b))
        kernels.get(fname)(flat(a), flat(b), out.reshape(-1))
        return out

    if passthrough is not None:
        def backward(ctx, g, ins, out, params, tensors):
            return [g, g]
    else:
        def backward(ctx, g, ins, out, params, tensors):
            a, b, shape = _operands(ctx, ins[0], ins[1])
            da = ctx.buf("da", shape, g.dtype)
            db = ctx.buf("db", shape, g.dtype)
            kernels.get(bname)(flat(a), flat(b), flat(g), da.reshape(-1), db.reshape(-1))
            return [da, db]

    return register(OpSpec(name=name, category=category, doc=doc, grad_rule=grad_rule, title=title or name,
                           inputs=(Port(ports[0]), Port(ports[1])), shape=broadcast_shape,
                           forward=forward, backward=backward, elementwise=True))
