"""What a plan step is made of: its context (buffers, saved values, weight gradients, the
call the executor may repeat), the step itself, the events of a stepped pass, and numpy's
error state switched cheaply around a pass. Used by graphcore.executor."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import kernels as _kernels
from .graph import Edge

if TYPE_CHECKING:  # pragma: no cover
    from .executor import Executor

try:  # numpy's error-state context variable: set directly, it costs 0.3 us instead of np.errstate's 2 us
    from numpy._core.umath import _extobj_contextvar as _ERR
except ImportError:  # pragma: no cover - other numpy layouts fall back to np.errstate
    _ERR = None
_quiet_cache: tuple = (None, None)  # (an error state, the same with every error ignored)


def _quiet():
    """Enter np.errstate(all="ignore"); returns the token for _loud (None: an errstate object)."""
    global _quiet_cache
    if _ERR is None:
        es = np.errstate(all="ignore")
        es.__enter__()
        return es
    cur = _ERR.get()
    cached = _quiet_cache
    if cached[0] is not cur:  # first call, or the caller changed numpy's error settings
        with np.errstate(all="ignore"):
            cached = _quiet_cache = (cur, _ERR.get())
    return _ERR.set(cached[1])


def _loud(token) -> None:
    if _ERR is None:
        token.__exit__(None, None, None)
    else:
        _ERR.reset(token)


class Ctx:
    """Per-node scratch space that lives as long as the plan: buffers and saved values."""

    __slots__ = ("bufs", "saved", "wgrads", "train", "rng", "node_id", "dtype", "executor", "need_grad", "wpass",
                 "rep")

    def __init__(self, node_id: str, dtype, executor: "Executor") -> None:
        self.node_id = node_id
        self.dtype = dtype
        self.bufs: dict[str, np.ndarray] = {}
        self.saved: dict[str, Any] = {}
        self.wgrads: dict[str, np.ndarray] = {}
        self.train = True
        self.rng: np.random.Generator | None = None
        self.executor = executor
        # per input port: False when no gradient is wanted there (a data input while
        # Executor.input_grads is off), so a backward rule may skip that work and return None
        self.need_grad: tuple[bool, ...] = ()
        self.wpass = -1  # the backward pass whose weight gradients ctx.wgrads holds (Executor._pass)
        self.rep: tuple | None = None  # see repeat()

    def repeat(self, fn, args: tuple, fed: bool = False) -> None:
        """Declare, from a forward or backward rule, that `fn(*args)` redoes the work just done,
        into the same output buffers, as long as the step reads the very same arrays. The
        executor keeps it in the plan step (Replay) under a key of everything the step reads:
        the identity, shape and dtype of each input array, of the node's weight and state arrays,
        and going back of the gradient and output; the node's params_version; the kernel
        backend. While the key holds it calls `fn` instead of the rule, so ops keep no call cache
        of their own. `args` must be views of the live arrays (never a copy), so a changed
        content is always re-read: array versions need no key of their own.

        `fed=True`: the inputs are keyed by shape, dtype and C-contiguity only (a training loop
        feeds a new batch array every step) and the call is `fn(ins, *args)`, returning the
        step's result (None: run the rule instead). Ops whose rule depends on the mode or that
        write state (mode_dependent, updates_state) are never repeated."""
        self.rep = (fn, args, fed)

    def add_weight_grad(self, node_id: str, weight: str, g: np.ndarray) -> None:
        """Add d(target)/d(weight) of ANOTHER node's weight (regularizers reach weights they are
        not wired to); Executor.weight_grad sums it with that node's own gradient."""
        extra = self.executor.extra_wgrads
        key = (node_id, weight)
        if self.executor._fused_wgrads:
            self._unfuse(key)
        prev = extra.get(key)
        extra[key] = g if prev is None else prev + g

    def _unfuse(self, key: tuple[str, str]) -> None:
        """A second contribution to a weight whose first one was fused: make that first one a
        separate term again, so the parts are summed in their usual order."""
        f = self.executor._fused_wgrads.pop(key, None)
        if f is not None:
            d0 = self.buf(f"scaled0:{key[0]}.{key[1]}", f[1].shape, f[1].dtype)
            np.multiply(f[1], f[2], out=d0)
            self.executor.extra_wgrads[key] = d0

    def add_scaled_weight_grad(self, node_id: str, weight: str, w: np.ndarray, k: float) -> None:
        """Add k * w to d(target)/d(weight) of another node's weight: what add_weight_grad(node_id,
        weight, k * w) does, bit for bit, but when that node's own gradient is already there this
        pass it writes own + k * w in one kernel call into the buffer weight_grad returns."""
        ex = self.executor
        key = (node_id, weight)
        fused = ex._fused_wgrads
        if key not in fused and key not in ex.extra_wgrads:
            st = ex._index.get(node_id)
            if st is not None and st.ctx.wpass == ex._pass:
                own = st.ctx.wgrads.get(weight)
                if own is not None:
                    c = self.saved.get(key)  # (own, w, k, kernel, its arguments, total): same arrays, same call
                    if c is None or c[0] is not own or c[1] is not w or c[2] != k:
                        c = self.saved[key] = _fusable(st.ctx, weight, own, w, k)
                    if c[3] is not None:
                        c[3](*c[4])
                        fused[key] = (c[5], w, k, own)
                        return
        d = self.buf(f"scaled:{node_id}.{weight}", w.shape, w.dtype)
        np.multiply(w, k, out=d)
        self.add_weight_grad(node_id, weight, d)

    def fused_calls(self, targets: list, k: float) -> list | None:
        """After add_scaled_weight_grad(nid, w, tens[w], k) for each (nid, w, tens) of `targets`:
        what each call did, when every one of them fused (else None), for fused_again."""
        ex = self.executor
        calls = []
        for nid, weight, tens in targets:
            key = (nid, weight)
            st = ex._index.get(nid)
            c = self.saved.get(key)
            w = tens[weight]
            if st is None or key not in ex._fused_wgrads or c is None or c[3] is None or c[1] is not w or c[2] != k:
                return None
            calls.append((key, st.ctx, weight, c[0], tens, w, c[3], c[4], (c[5], w, k, c[0])))
        return calls

    def fused_again(self, calls: list) -> bool:
        """The fused add_scaled_weight_grad calls of fused_calls again, when each would fuse the same
        arrays this pass (checked for all before any runs); False, with nothing done, otherwise."""
        ex = self.executor
        fused, extra, npass = ex._fused_wgrads, ex.extra_wgrads, ex._pass
        for key, octx, weight, own, tens, w, _, _, _ in calls:
            if key in fused or key in extra or octx.wpass != npass or octx.wgrads.get(weight) is not own \
                    or tens[weight] is not w:
                return False
        for key, _, _, _, _, _, kernel, args, entry in calls:
            kernel(*args)
            fused[key] = entry
        return True

    def buf(self, key: str, shape: tuple, dtype=None) -> np.ndarray:
        """A buffer kept across passes; reallocated only when shape or dtype change."""
        b = self.bufs.get(key)
        if dtype is None:
            dtype = self.dtype
        if b is not None and b.shape == shape:
            bd = b.dtype
            if bd is dtype or bd == dtype:  # `is`: the common case costs no dtype comparison
                return b
        b = np.empty(shape, dtype)
        self.bufs[key] = b
        return b


def _fusable(ctx: Ctx, weight: str, own: np.ndarray, w: np.ndarray, k: float) -> tuple:
    """For Ctx.add_scaled_weight_grad: (own, w, k, kernel or None, its arguments, the total buffer)."""
    if own.dtype != w.dtype or own.shape != w.shape or w.dtype.kind != "f" or not own.flags.c_contiguous \
            or not w.flags.c_contiguous:
        return (own, w, k, None, (), None)
    total = ctx.buf(f"wgrad_total:{weight}", own.shape, own.dtype)
    args = (own.reshape(-1), w.reshape(-1), w.dtype.type(k), total.reshape(-1))
    return (own, w, k, _kernels.nn.axpy_into.quick(own.size), args, total)


class Replay:
    """The executor's call cache of one direction of one plan step (see Ctx.repeat).

    `run(ins, g, out, tensors)` checks the key (identity, shape and dtype of every input, of the
    gradient and output going back, and of the node's arrays; a fed input by shape, dtype and
    contiguity) and redoes the call: the step's result, or None when the rule must run. It is
    generated per record as straight-line code (a generic loop cost ~0.5 us a step); the source
    holds only indices, every value is bound by name in its namespace."""

    __slots__ = ("run", "pv", "gen", "need", "_rec")

    def __init__(self, rep: tuple, ins: list, tensors: dict, result, pv: int, gen: int,
                 g=None, out=None, backward: bool = False) -> None:
        self._rec = (rep, list(ins), dict(tensors), result, g, out, backward)
        self.run = _make_run(*self._rec, (), False)
        self.pv = pv
        self.gen = gen
        self.need = None  # backward: the ctx.need_grad it was recorded under (the executor sets it)

    def trusted(self, known: tuple[int, ...], g=None, out=None):
        """run() without the checks a pass trace (graphcore.passtrace) has already made: of the
        inputs at `known` (the very objects recorded: outputs the trace has verified) and, when `g`
        and `out` are the recorded gradient and output (constants in the trace), of those too."""
        rep, ins, tensors, result, rg, rout, backward = self._rec
        gout = backward and g is rg and out is rout
        if not known and not gout:
            return self.run
        return _make_run(rep, ins, tensors, result, rg, rout, backward, known, gout)


def _make_run(rep: tuple, ins: list, tensors: dict, result, g, out, backward: bool, known: tuple, gout: bool):
    """Replay.run as straight-line code: the inputs at `known`, and g and out when `gout`, unchecked."""
    ns: dict = {}
    lines, call, fed = replay_source((rep, ins, tensors, result, g, out, backward), known, gout, "return None", "", ns)
    lines += [f"        return {call}"] if fed else [f"        {call}", "        return RESULT"]
    return generated("def run(ins, g, out, tensors):", lines, ns)


def replay_source(rec: tuple, known: tuple, gout: bool, fail: str, p: str, ns: dict) -> tuple[list[str], str, bool]:
    """A recorded call (Replay._rec) as source: lines (8 spaces in) checking its key in the locals
    `ins`, `g`, `out` and `tensors`, each failed check running `fail`, and the call expression (fed:
    its value is the result; else the result is `{p}RESULT`). Every value the lines compare with
    or call is bound in `ns` under a name starting with `p`: the source holds only indices."""
    rep, ins, tensors, result, g, out, backward = rec
    fn, args, fed = rep
    ns[f"{p}FN"], ns[f"{p}RESULT"] = fn, result
    lines = []
    for k, a in enumerate(ins):
        if k in known:
            continue
        lines.append(f"        a = ins[{k}]")
        if a is None:
            lines.append(f"        if a is not None: {fail}")
            continue
        ns[f"{p}A{k}"], ns[f"{p}S{k}"], ns[f"{p}D{k}"] = a, a.shape, a.dtype
        if fed:
            lines.append(f"        if a is None or a.shape != {p}S{k} or a.dtype is not {p}D{k}"
                         f" or not a.flags.c_contiguous: {fail}")
        else:
            lines.append(f"        if a is not {p}A{k} or a.shape != {p}S{k} or a.dtype is not {p}D{k}: {fail}")
    if backward and not gout:
        for name, a in (("g", g), ("out", out)):
            ns[f"{p}{name}_A"], ns[f"{p}{name}_S"], ns[f"{p}{name}_D"] = a, a.shape, a.dtype
            lines.append(f"        if {name} is not {p}{name}_A or {name}.shape != {p}{name}_S or {name}.dtype is not"
                         f" {p}{name}_D: {fail}")
    lines.append(f"        if len(tensors) != {len(tensors)}: {fail}")
    for j, (key, t) in enumerate(tensors.items()):
        ns[f"{p}K{j}"], ns[f"{p}T{j}"], ns[f"{p}TS{j}"], ns[f"{p}TD{j}"] = key, t, t.shape, t.dtype
        lines.append(f"        t = tensors.get({p}K{j})")
        lines.append(f"        if t is not {p}T{j} or t.shape != {p}TS{j} or t.dtype is not {p}TD{j}: {fail}")
    for i, a in enumerate(args):  # each argument by name: no tuple to unpack per call
        ns[f"{p}X{i}"] = a
    names = ", ".join([f"{p}X{i}" for i in range(len(args))])
    call = f"{p}FN(ins, {names})" if fed else f"{p}FN({names})"
    return lines, call, fed


_MAKERS: dict = {}  # generated source -> the function that binds its namespace (see generated)
_MAKERS_MAX = 512  # distinct sources kept (a long session of edits makes new ones)


def generated(header: str, lines: list[str], ns: dict):
    """The function `header` (4 spaces in) with body `lines`, every free name bound from `ns`. The
    source holds only indices and names, never a value, so graphs of one shape share one compile
    (exec) and each record costs a closure."""
    names = tuple(ns)
    src = f"def make({', '.join(names)}):\n    {header}\n" + "\n".join(lines) + "\n    return run\n"
    make = _MAKERS.get(src)
    if make is None:
        if len(_MAKERS) >= _MAKERS_MAX:
            _MAKERS.clear()
        scope: dict = {}
        exec(src, scope)  # noqa: S102 - generated from indices and names only (see above)
        make = _MAKERS[src] = scope["make"]
    return make(*ns.values())  # by position: matching N keywords by name costs O(N^2)


@dataclass
class StepEvent:
    """One event of a pass, for stepping and animation.

    phase "forward": `node` computed `value`.
    phase "seed": the backward pass starts at `node` with gradient `grad` (ones).
    phase "backward": gradient `grad` flowed back along `edge` (from edge.dst to edge.src).
    """

    phase: str
    index: int
    total: int
    node: str
    value: np.ndarray | None = None
    grad: np.ndarray | None = None
    edge: Edge | None = None


class _Step:
    __slots__ = ("nid", "spec", "fwd", "bwd", "srcs", "edges", "params", "tensors", "ctx", "source", "in_shapes",
                 "node", "one", "full", "wired", "frep", "brep", "replayable", "cast_version", "lazy", "live",
                 "need_eager", "need_lazy")

    def __init__(self, node, spec, srcs, edges, ctx) -> None:
        self.node = node
        self.nid = node.id
        self.spec = spec
        self.fwd = spec.forward
        self.bwd = spec.backward
        self.srcs = srcs  # source node id per input port (None for an unwired optional port)
        self.edges = edges
        self.params = node.params
        self.tensors = node.tensors  # a float32 executor may replace it by its cast copies (Executor._cast)
        self.cast_version = -1
        self.ctx = ctx
        self.source = spec.source
        self.in_shapes: tuple | None = None
        # for the hot loops: the only source when the node has one wired input port, whether every
        # port is wired, and (port index, edge, source) of each wired port
        self.one = srcs[0] if len(srcs) == 1 else None
        self.full = all(s is not None for s in srcs)
        self.wired = tuple((i, e, s) for i, (e, s) in enumerate(zip(edges, srcs)) if s is not None)
        # the executor's call cache of this step, one per direction (Ctx.repeat, Replay)
        self.frep: Replay | None = None
        self.brep: Replay | None = None
        self.replayable = not (spec.mode_dependent or spec.updates_state)
        # graphcore.inputgrads: the (port, edge, source) fed by a data input (None: none), those the rule
        # was seen to fill, and need_grad for an eager and for a lazy pass
        self.lazy: tuple | None = None
        self.live: tuple = ()
        self.need_eager: tuple = ()
        self.need_lazy: tuple = ()


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient back over the axes that broadcasting added or stretched."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)
