"""Declare elementwise ops once: the kernels do the work, buffers are reused.

Arrays of fewer than graphcore.kernels.SMALL elements go to the numpy twins (no JIT wait for
scalar circuits); larger ones to the numba loops."""
from __future__ import annotations

import math

import numpy as np

from ..kernels import Kernel
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


# ------------------------------------------------ sample cases (gradient check)
# Each factory returns `examples(rng) -> [{"inputs": {port: array}, "params": {...}, "label": str}]`
# for OpSpec.examples: scalar, vector and matrix shapes, and for binary ops the broadcast pairs
# (3,4)+(4,), (3,4)+(), (3,1)+(1,4), (4,)+(3,4). Values stay clear of kinks so that centred
# differences are valid.
UNARY_SHAPES = (("scalar", ()), ("vector", (5,)), ("matrix", (3, 4)))
BINARY_SHAPES = (("scalar", (), ()), ("vector", (5,), (5,)), ("matrix", (3, 4), (3, 4)),
                 ("broadcast (3,4)+(4,)", (3, 4), (4,)), ("broadcast (3,4)+()", (3, 4), ()),
                 ("broadcast (3,1)+(1,4)", (3, 1), (1, 4)), ("broadcast (4,)+(3,4)", (4,), (3, 4)))


def sample(rng: np.random.Generator, shape: tuple, lo: float = -2.0, hi: float = 2.0,
           away: float = 0.0, sign: float = 0.0) -> np.ndarray:
    """Random values in [lo, hi]; with `away` > 0, magnitudes in [away, hi] with alternating signs
    (both branches of a kink at 0 get exercised); `sign` = +1/-1 forces one sign (scalars)."""
    if not away:
        return np.asarray(rng.uniform(lo, hi, size=shape), dtype=np.float64)
    mag = rng.uniform(away, hi, size=shape)
    if sign:
        return np.asarray(sign * mag, dtype=np.float64)
    flat = np.asarray(mag, dtype=np.float64).reshape(-1)
    start = int(rng.integers(2))
    signs = np.where((np.arange(flat.size) + start) % 2 == 0, 1.0, -1.0)
    return (flat * signs).reshape(shape)


def unary_cases(lo: float = -2.0, hi: float = 2.0, away: float = 0.0, params: tuple = ({},)):
    """Sample cases for a unary op over scalar, vector and matrix inputs, for each params dict."""
    def examples(rng):
        cases = []
        for p in params:
            tag = "".join(f" {k}={v}" for k, v in p.items())
            for label, shape in UNARY_SHAPES:
                signs = (1.0, -1.0) if (away and shape == ()) else (0.0,)
                for sg in signs:
                    extra = {1.0: " x>0", -1.0: " x<0"}.get(sg, "")
                    cases.append({"inputs": {"x": sample(rng, shape, lo, hi, away, sg)}, "params": dict(p),
                                  "label": label + extra + tag})
        return cases
    return examples


def binary_cases(a: tuple = (-2.0, 2.0, 0.0), b: tuple = (-2.0, 2.0, 0.0), gap: float = 0.0,
                 ports: tuple[str, str] = ("a", "b")):
    """Sample cases for a binary op; `a`, `b` are (lo, hi, away) for each input and `gap` > 0
    keeps |a - b| >= gap everywhere (max/min ties are kinks)."""
    def examples(rng):
        cases = []
        for label, sa, sb in BINARY_SHAPES:
            for _ in range(10000):
                va, vb = sample(rng, sa, *a), sample(rng, sb, *b)
                if not gap or np.abs(va - vb).min(initial=np.inf) >= gap:
                    break
            else:  # pragma: no cover - the ranges make this practically impossible
                raise RuntimeError(f"could not draw inputs {gap} apart")
            cases.append({"inputs": {ports[0]: va, ports[1]: vb}, "params": {}, "label": label})
        return cases
    return examples


def unary(name: str, doc: str, grad_rule: str, kernels: tuple[Kernel, Kernel], title: str = "",
          category: str = "activations", param: ParamSpec | None = None, examples=None,
          code=None, onnx=None) -> OpSpec:
    """`kernels`: the (forward, backward) Kernel objects (graphcore.kernels.elementwise); `code`: the
    op's CodeRule (graphcore.export.coderule); `onnx`: the op's ONNX rule (OpSpec.onnx)."""
    kf, kb = kernels
    pname = param.name if param else None

    # Training feeds a node the same arrays every step (the previous node's buffers): each direction
    # tells the executor how to repeat its kernel call (ctx.repeat), and the executor repeats it while
    # the step's key holds, skipping the buffer lookup, the flat views and the kernel choice.
    def forward(ctx, ins, params, tensors):
        x = ins[0]
        p = float(params[pname]) if pname else 0.0
        xf = as_float(ctx, x)
        out = ctx.buf("out", xf.shape, xf.dtype)
        args = (flat(xf), out.reshape(-1), p)
        fn = kf.sized(xf.size)
        fn(*args)
        if xf is x and x.flags.c_contiguous:  # the flat arguments are views of x and out
            ctx.repeat(fn, args)
        return out

    def backward(ctx, g, ins, out, params, tensors):
        x = ins[0]
        p = float(params[pname]) if pname else 0.0
        xf = as_float(ctx, x)
        dx = ctx.buf("dx", xf.shape, xf.dtype)
        args = (flat(xf), flat(out), flat(g), dx.reshape(-1), p)
        fn = kb.sized(xf.size)
        fn(*args)
        if xf is x and x.flags.c_contiguous and g.flags.c_contiguous and out.flags.c_contiguous:
            ctx.repeat(fn, args)
        return [dx]

    return register(OpSpec(name=name, category=category, doc=doc, grad_rule=grad_rule, title=title or name,
                           code=code,
                           inputs=(Port("x"),), params=(param,) if param else (), shape=same_shape,
                           forward=forward, backward=backward, elementwise=True,
                           examples=examples, kernels=(kf, kb),
                           onnx=onnx))


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


def _sub_bwd(a, b, g, da, db):
    np.copyto(da, g)
    np.negative(g, out=db)


def _mul_bwd(a, b, g, da, db):
    np.multiply(g, b, out=da)
    np.multiply(g, a, out=db)


def _div_bwd(a, b, g, da, db):
    np.divide(g, b, out=da)
    np.multiply(g, a, out=db)  # -(g a) is (-g) a exactly, and b * b is formed at b's own shape:
    np.negative(db, out=db)  # the same roundings, in the same order, as the kernel's -g * a / (b * b)
    np.divide(db, np.multiply(b, b), out=db)


# Ops whose ufuncs broadcast with the kernel's roundings (one per element, same order): their
# broadcasting or strided operands need no copy at the output's shape (a (n, 1) * (1, n) product
# held five n x n arrays, now three). Other binary ops copy operands to the output's shape.
_UFUNC = {"add": (np.add, None), "sub": (np.subtract, _sub_bwd), "mul": (np.multiply, _mul_bwd),
          "div": (np.divide, _div_bwd)}


def _strided(*arrays) -> bool:
    """True when the flat kernels would need a copy: shapes differ or an array is not contiguous."""
    return any(x.shape != arrays[0].shape or not x.flags.c_contiguous for x in arrays)


def _broadcast_work(ports: tuple[str, str], passthrough, copies: bool):
    """What a broadcast costs (the plan's estimate): with `copies` each stretched input is copied
    at the output's shape (_operands), and unless the gradient passes through unchanged its
    gradient is computed at the output's shape before the executor sums it back to the input's."""
    def workspace(params, in_shapes, out_shape):
        n = math.prod(out_shape)
        work = {}
        for port, s in zip(ports, in_shapes):
            if s is None or tuple(s) == tuple(out_shape):
                continue
            if copies:
                work[f"{port} broadcast to the output's shape"] = n
            if passthrough is None:
                work[f"{port}'s gradient at the output's shape"] = n
        return work
    return workspace


def binary(name: str, doc: str, grad_rule: str, kernels: tuple, title: str = "", category: str = "gates",
           ports: tuple[str, str] = ("a", "b"), passthrough: tuple[float, float] | None = None,
           examples=None, code=None, onnx=None) -> OpSpec:
    """`kernels`: the (forward, backward) Kernel objects; `passthrough=(1, 1)` marks add: the
    gradient goes back unchanged, no backward kernel (kernels=(add_fwd,)); `code`: the op's CodeRule;
    `onnx`: OpSpec.onnx."""
    kf = kernels[0]
    kb = kernels[1] if len(kernels) > 1 else None
    ufwd, ubwd = _UFUNC.get(name, (None, None))

    # like unary ops, each direction lets the executor repeat its kernel call, when no broadcast
    # copy or dtype conversion was needed (the flat arguments are views of the inputs)
    def forward(ctx, ins, params, tensors):
        a0, b0 = ins[0], ins[1]
        if ufwd is not None and _strided(a0, b0):
            a, b = as_float(ctx, a0), as_float(ctx, b0)
            out = ctx.buf("out", np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
            ufwd(a, b, out=out)
            return out
        a, b, shape = _operands(ctx, a0, b0)
        out = ctx.buf("out", shape, np.result_type(a, b))
        args = (flat(a), flat(b), out.reshape(-1))
        fn = kf.sized(out.size)
        fn(*args)
        if a is a0 and b is b0 and a0.flags.c_contiguous and b0.flags.c_contiguous:
            ctx.repeat(fn, args)
        return out

    if passthrough is not None:
        def backward(ctx, g, ins, out, params, tensors):
            return [g, g]
    else:
        def backward(ctx, g, ins, out, params, tensors):
            a0, b0 = ins[0], ins[1]
            if ubwd is not None and _strided(g, a0, b0):
                a, b = as_float(ctx, a0), as_float(ctx, b0)
                da = ctx.buf("da", g.shape, g.dtype)
                db = ctx.buf("db", g.shape, g.dtype)
                ubwd(a, b, g, da, db)
                return [da, db]
            a, b, shape = _operands(ctx, a0, b0)
            da = ctx.buf("da", shape, g.dtype)
            db = ctx.buf("db", shape, g.dtype)
            args = (flat(a), flat(b), flat(g), da.reshape(-1), db.reshape(-1))
            fn = kb.sized(da.size)
            fn(*args)
            if a is a0 and b is b0 and a0.flags.c_contiguous and b0.flags.c_contiguous and g.flags.c_contiguous:
                ctx.repeat(fn, args)
            return [da, db]

    return register(OpSpec(name=name, category=category, doc=doc, grad_rule=grad_rule, title=title or name,
                           code=code,
                           inputs=(Port(ports[0]), Port(ports[1])), shape=broadcast_shape,
                           forward=forward, backward=backward, elementwise=True,
                           workspace=_broadcast_work(ports, passthrough, copies=name not in _UFUNC),
                           examples=examples, kernels=tuple(kernels),
                           onnx=onnx))
