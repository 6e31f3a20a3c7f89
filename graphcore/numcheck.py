"""NaN/Inf checks of a pass, nearly free when everything is finite.

Each pass checks what it delivers: the sinks after forward, the gradients reaching
sources and weights after backward (one dot product per array). Only when one is not
finite does the locate step go node by node, in the order the pass ran, and raise
NumericError naming the first node that produced a NaN or Inf: in the backward pass,
the node whose backward rule produced it (pow(0, 0.5) blames the pow node, not its input).
"""
from __future__ import annotations

import math
from operator import is_
from typing import TYPE_CHECKING

import numpy as np

from . import kernels as _kernels
from .kernels.nn import nonfinite as _NONFINITE
from .kernels.nn import nonfinite4 as _NONFINITE4
from .problems import NumericError
from .stepctx import _loud, _quiet

if TYPE_CHECKING:  # pragma: no cover
    from .executor import Executor


def check_forward(ex: "Executor") -> None:
    """Check the sinks; only when one is not finite, find the first node that produced a NaN/Inf."""
    if ex.check == "none":
        return
    values = ex._values
    for st in ex._sink_steps:
        if not finite(values[st.nid]):
            break
    else:
        return
    locate_forward(ex)


def locate_forward(ex: "Executor") -> None:
    for st in ex._plan:
        v = ex._values.get(st.nid)
        if v is not None and not finite(v):
            raise NumericError(st.nid, st.node.name, "forward", what(v))


def check_backward(ex: "Executor") -> None:
    """Check what the pass delivers (the gradients reaching sources and weights); only when one
    is not finite, find the node whose backward rule produced the first NaN/Inf."""
    if leaves_finite(ex):
        return
    locate_backward(ex)


def leaves_finite(ex: "Executor") -> bool:
    """Are the gradients that reach sources and weights all finite? (ex._leaf_check: one compiled
    call per four small arrays). A layer's own weight gradient fused with a regularizer's (own + k * w)
    is covered by the total: a NaN or Inf in `own` makes the total NaN or Inf."""
    grads = ex._grads
    arrays = []  # (loops, not comprehensions: each of those is a call in Python 3.11)
    for st in ex._sources:
        g = grads.get(st.nid)
        if g is not None:
            arrays.append(g)
    for ctx in ex._wgrad_ctxs:  # the contexts this pass gave weight gradients (Executor._clear_wgrads)
        arrays += ctx.wgrads.values()
    if ex.extra_wgrads:
        arrays += ex.extra_wgrads.values()
    fused = ex._fused_wgrads
    if not fused:
        return ex._leaf_check(arrays, 0)
    owns = []
    for f in fused.values():
        arrays.append(f[0])
        owns.append(f[3])
    return ex._leaf_check(arrays + owns, len(owns))


class FiniteCheck:
    """all(finite(a) for a in arrays), for the same arrays pass after pass (a pass reuses its
    buffers): their flat views, grouped four by four per dtype, are kept while the arrays are the
    same objects, so a handful of small arrays costs one compiled call (~0.3 us) and a large one
    a dot product (BLAS). The last `covered` arrays are not checked, nor is any other place they
    take in the list: the caller checks something that holds each one's NaN or Inf."""

    __slots__ = ("_arrays", "_covered", "_groups", "_large", "_other", "_gen")

    def __init__(self) -> None:
        self._arrays: list = []
        self._covered = 0
        self._gen = -1

    def __call__(self, arrays: list, covered: int = 0) -> bool:
        if self._gen != _kernels.generation or len(arrays) != len(self._arrays) or covered != self._covered \
                or not all(map(is_, arrays, self._arrays)):
            self._prepare(arrays, covered)
        for fn, four in self._groups:
            if fn(*four):
                return False
        if self._large:
            token = _quiet()  # a sum of squares that overflows is expected (huge but finite values)
            try:
                total = sum([float(f.dot(f)) for f in self._large])
            finally:
                _loud(token)
            if not math.isfinite(total) and not all(bool(np.isfinite(f).all()) for f in self._large):
                return False
        return all(map(finite, self._other)) if self._other else True

    def _prepare(self, arrays: list, covered: int) -> None:
        small: dict = {}  # dtype -> flat views
        large, other = [], []
        skip = {id(a) for a in arrays[len(arrays) - covered:]}
        for a in arrays[:len(arrays) - covered]:
            if id(a) in skip:
                continue
            if a.dtype.kind != "f" or a.ndim == 0 or not a.flags.c_contiguous:
                other.append(a)  # finite(): exact for any layout; an int array is always finite
            elif a.size <= 4096:
                small.setdefault(a.dtype, []).append(a.reshape(-1))
            else:
                large.append(a.reshape(-1))
        groups = []
        for dtype, flats in small.items():
            fn = _NONFINITE4.quick(sum(f.size for f in flats))
            empty = np.empty(0, dtype)
            for k in range(0, len(flats), 4):
                four = flats[k:k + 4]
                groups.append((fn, tuple(four + [empty] * (4 - len(four)))))
        self._arrays = list(arrays)
        self._covered = covered
        self._groups, self._large, self._other = groups, large, other
        self._gen = _kernels.generation


def locate_backward(ex: "Executor") -> None:
    """Raise NumericError at the first node, in backward order, whose backward produced a
    non-finite gradient (for an input wire or a weight) from finite ones."""
    g = ex.graph
    target = ex.target
    seed = ex._grads.get(target) if target is not None else None  # (ex.grads would complete the deferred)
    if seed is not None and not finite(seed):
        raise NumericError(target, g.nodes[target].name, "backward", what(seed) + " seed gradient")
    produced: dict[str, list] = {}
    # the gradients the pass computed: a data input's deferred one (graphcore.inputgrads) is not made
    # here, so a node closer to the target that produced the NaN/Inf is named first, as in an eager pass
    computed = list(ex._edge_grads.items()) + [(e, gi) for e, gi in ex._edge_pending if gi is not None]
    for edge, gi in computed:
        produced.setdefault(edge.dst, []).append((f"gradient for input {edge.dst_port!r}", gi))
    start = ex._pos.get(target, len(ex._plan) - 1) if target is not None else len(ex._plan) - 1
    order = [ex._plan[k] for k in range(start, -1, -1)]
    for st in order:
        items = list(produced.get(st.nid, ()))
        if st.ctx.wpass == ex._pass:
            items += [(f"gradient of its weight {w!r}", a) for w, a in st.ctx.wgrads.items()]
        for label, a in items:
            if not finite(a):
                raise NumericError(st.nid, st.node.name, "backward", f"{what(a)} {label}")
    for (nid, w), a in list(ex.extra_wgrads.items()) + [(k, f[0]) for k, f in ex._fused_wgrads.items()]:
        if not finite(a):
            raise NumericError(nid, g.nodes[nid].name, "backward", f"{what(a)} gradient of its weight {w!r}")
    for st in order:  # a finite sum of finite gradients can still overflow
        a = ex.grads.get(st.nid)
        if a is not None and not finite(a):
            raise NumericError(st.nid, st.node.name, "backward", what(a) + " gradient")


def finite(a: np.ndarray) -> bool:
    """No NaN or Inf in `a` (an int array is always finite)."""
    if a.dtype.kind != "f":
        return True
    n = a.size
    if n == 1:  # scalar circuits: ~10x cheaper than a ufunc and a reduction
        return math.isfinite(a.item())
    if n <= 4096 and a.flags.c_contiguous:  # a compiled loop once numba is loaded: ~0.3 us
        return not _NONFINITE.quick(n)(a.reshape(-1))
    f = a.reshape(-1)
    # large arrays: a finite dot product (BLAS) means no NaN/Inf; an overflow goes the slow way
    token = _quiet()  # the overflow of huge finite values is expected and handled
    try:
        s2 = f.dot(f)
    finally:
        _loud(token)
    return math.isfinite(s2) or bool(np.isfinite(a).all())


def what(a: np.ndarray) -> str:
    return "NaN" if np.isnan(a).any() else "Inf"
