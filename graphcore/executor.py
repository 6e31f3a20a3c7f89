"""Run a graph forward and backward, all at once or one event at a time.

The graph is compiled once into a plan (topological order, each node's input
slots, a context holding its reusable buffers) and the plan is reused until
the graph's structure changes: editing a value or a param does not recompile.

What is cached, and under which key:
- a step's shape check: its input shapes and the node's params_version;
- the whole forward pass, for backward(): the graph's data_version, the plan,
  the mode and the kernel backend; backward() re-runs forward when any of them
  changed (a set_value, an editing() block, a mark_updated);
- nothing else: a float source value is cast to a float32 executor's dtype on
  every pass, so an in-place edit is never missed.
Train-mode batchnorm updates its running statistics in the document's arrays and
says so through Graph.mark_updated (a version bump and node_changed/changed, or
with `state_events=False` a quiet bump announced later by Graph.commit_weights).
NaN/Inf: every pass checks the sinks (forward) and the gradients reaching sources
and weights (backward); only when one is not finite does it look node by node for
the first node that produced it (NumericError names it, in either pass).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from . import kernels as _kernels
from . import registry
from .graph import Edge, Graph, readonly
from .problems import GraphError, NumericError, Problem
from .registry import ShapeError

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

    def repeat(self, fn, args: tuple) -> None:
        """Declare, from a forward or backward rule, that `fn(*args)` redoes the work just done,
        into the same output buffers, as long as the step is fed the very same arrays. The
        executor keeps it in the plan step under a key of everything the step reads (the input
        arrays, and going back the gradient and output, by identity; the node's params_version;
        the kernel backend) and calls it instead of the rule while the key holds, so ops keep no
        call cache of their own. Only ops without weights may use it, and `args` must be views
        of the live arrays (never a cast copy), so a changed content is always re-read."""
        self.rep = (fn, args)

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
                        fused[key] = (c[5], w, k)
                        return
        d = self.buf(f"scaled:{node_id}.{weight}", w.shape, w.dtype)
        np.multiply(w, k, out=d)
        self.add_weight_grad(node_id, weight, d)

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
    return (own, w, k, _kernels.quick("axpy_into", own.size), args, total)


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
                 "node", "one", "full", "wired", "frep", "brep", "replayable")

    def __init__(self, node, spec, srcs, edges, ctx) -> None:
        self.node = node
        self.nid = node.id
        self.spec = spec
        self.fwd = spec.forward
        self.bwd = spec.backward
        self.srcs = srcs  # source node id per input port (None for an unwired optional port)
        self.edges = edges
        self.params = node.params
        self.tensors = node.tensors
        self.ctx = ctx
        self.source = spec.source
        self.in_shapes: tuple | None = None
        # for the hot loops: the only source when the node has one wired input port, whether every
        # port is wired, and (port index, edge, source) of each wired port
        self.one = srcs[0] if len(srcs) == 1 else None
        self.full = all(s is not None for s in srcs)
        self.wired = tuple((i, e, s) for i, (e, s) in enumerate(zip(edges, srcs)) if s is not None)
        # the executor's call cache of this step (Ctx.repeat): (first input, second input or None,
        # [backward: gradient, output,] params_version, kernel generation, fn, args, result)
        self.frep: tuple | None = None
        self.brep: tuple | None = None
        self.replayable = not spec.weights and len(srcs) <= 2


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


class Executor:
    """Forward and backward passes over a Graph.

    `dtype` is float64 (default) or float32 for speed. `mode` is "train" or
    "eval" (dropout and batchnorm behave differently). `check` chooses where to
    look for NaN/Inf: "all" nodes (default), "sinks" only, or "none".
    A non-scalar sink is seeded with ones: the gradient of the sum of its elements.
    """

    def __init__(self, graph: Graph, dtype=np.float64, mode: str = "train", check: str = "all",
                 seed: int | None = None, state_events: bool = True) -> None:
        self.graph = graph
        # True: a train-mode forward announces batchnorm's new running statistics at once
        # (node_changed, changed); False: a quiet version bump, for Graph.commit_weights() later
        self.state_events = state_events
        self._fwd_key: tuple | None = None  # see _forward_key
        self._stateful: list[_Step] = []  # steps whose train-mode forward writes their state arrays
        self._sink_steps: list[_Step] = []
        self._views: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(array) -> (array, read-only view)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError("dtype must be float32 or float64")
        self._mode = "train"
        self.check = check
        self.seed = seed
        self._plan: list[_Step] = []
        self._index: dict[str, _Step] = {}
        self._pos: dict[str, int] = {}
        self._sources: list[_Step] = []
        # (config version, plan version, source shapes) of the last pass whose shapes were all checked:
        # while it holds, every node sees the input shapes it saw then, so the checks can be skipped
        self._shapes_seen: tuple | None = None
        self._plan_version = -1
        self.values: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._edge_grads: dict[Edge, np.ndarray] = {}
        # (edge, gradient) of the backward loop, put into _edge_grads when edge_grads is read: hashing
        # an Edge (a frozen dataclass, hashed in Python) costs ~0.4 us, appending a pair 0.05 us
        self._edge_pending: list[tuple[Edge, np.ndarray]] = []
        self.target: str | None = None
        self.compiles = 0
        self.extra_wgrads: dict[tuple[str, str], np.ndarray] = {}  # see Ctx.add_weight_grad
        self._wgrad_ctxs: list[Ctx] = []  # contexts holding weight gradients of the last pass
        self._pass = 0  # counts backward passes; Ctx.wpass says which pass a context's wgrads belong to
        # (node id, weight) -> (own + k * w, w, k): see Ctx.add_scaled_weight_grad
        self._fused_wgrads: dict[tuple[str, str], tuple] = {}
        self._bsteps: tuple = (None, None, [])  # (plan, target, its non-source steps from it backwards)
        self._input_grads = True
        self.mode = mode

    @property
    def input_grads(self) -> bool:
        """When False, gradients are not computed into data inputs ("input"/"const" nodes) or
        anything that depends only on them: training needs only weight gradients."""
        return self._input_grads

    @input_grads.setter
    def input_grads(self, value: bool) -> None:
        self._input_grads = bool(value)
        self._plan_version = -1  # recompile: need_grad depends on it

    # ---------------------------------------------------------------- mode
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in ("train", "eval"):
            raise ValueError("mode must be 'train' or 'eval'")
        self._mode = value
        for st in self._plan:
            st.ctx.train = value == "train"

    # ---------------------------------------------------------------- plan
    def plan(self) -> list[_Step]:
        if self._plan_version != self.graph.structure_version:
            self._compile()
        return self._plan

    def _compile(self) -> None:
        g = self.graph
        problems = [p for p in g.validate() if not _is_shape_problem(p)]
        order, cycle = g._topo()
        if problems or cycle:
            raise GraphError(problems or [g._cycle_problem(cycle)])
        from .tensorcheck import check_plan  # weights against their layers, memory budget (issue 8)
        check_plan(g, self.dtype)
        old = self._index
        plan = []
        seed = self.seed if self.seed is not None else int(g.meta.get("seed", 0))
        for k, nid in enumerate(order):
            node = g.nodes[nid]
            spec = node.spec
            edges = [g.input_edge(nid, p.name) for p in spec.inputs]
            srcs = [e.src if e else None for e in edges]
            prev = old.get(nid)
            ctx = prev.ctx if prev is not None and prev.spec is spec else Ctx(nid, self.dtype, self)
            ctx.train = self._mode == "train"
            if ctx.rng is None:
                import zlib
                ctx.rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(nid.encode())])
            plan.append(_Step(node, spec, srcs, edges, ctx))
            if self.dtype == np.float32:
                for w in spec.weights:
                    if w.shape is not None and w.name in node.tensors and node.tensors[w.name].dtype != np.float32:
                        node.tensors[w.name] = node.tensors[w.name].astype(np.float32)
        self._plan = plan
        self._index = {st.nid: st for st in plan}
        self._pos = {st.nid: k for k, st in enumerate(plan)}  # plan position, where backward starts
        self._sources = [st for st in plan if st.source]
        self._stateful = [st for st in plan if st.spec.updates_state]
        used = {e.src for e in g.edges}
        self._sink_steps = [st for st in plan if st.nid not in used]
        self._shapes_seen = None
        self._fwd_key = None
        self._views.clear()
        self._mark_need_grad()
        self._plan_version = g.structure_version
        self.compiles += 1
        self.values = {k: v for k, v in self.values.items() if k in self._index}
        self.grads.clear()
        self._clear_edge_grads()

    def _mark_need_grad(self) -> None:
        wants: dict[str, bool] = {}
        for st in self._plan:
            spec = st.spec
            if st.source:
                wants[st.nid] = self._input_grads or any(w.trainable for w in spec.weights)
            else:
                wants[st.nid] = any(w.trainable for w in spec.weights) or any(
                    s is not None and wants[s] for s in st.srcs)
            st.ctx.need_grad = tuple(s is not None and (self._input_grads or wants[s]) for s in st.srcs)

    # ---------------------------------------------------------------- forward
    def _source_value(self, st: _Step) -> np.ndarray:
        """The source's value in the executor's dtype: a float of the other width is cast into a
        buffer on every pass (no cache, so an in-place edit of the value is always seen)."""
        v = st.tensors["value"]
        if v.dtype.kind != "f" or v.dtype == self.dtype:
            return v
        out = st.ctx.buf("cast", v.shape, self.dtype)
        np.copyto(out, v, casting="unsafe")
        return out

    def _check_shapes(self, st: _Step, ins: list) -> None:
        """Run the node's shape rule unless it already passed for these input shapes and params."""
        key = (tuple(None if a is None else a.shape for a in ins), st.node.params_version)
        if key == st.in_shapes:
            return
        try:
            st.spec.shape(st.params, list(key[0]))
        except ShapeError as exc:
            raise GraphError([Problem(st.nid, exc.port, str(exc), "shape")]) from None
        st.in_shapes = key

    def _forward_key(self) -> tuple:
        """What a forward pass depends on besides array contents: every documented change of a value,
        param or array (set_value, editing, mark_updated...) bumps data_version."""
        return (self.graph.data_version, self._plan_version, self._mode, _kernels.generation)

    def _commit_state(self) -> None:
        """Train mode: batchnorm wrote new running statistics into the node's arrays; tell the graph."""
        g = self.graph
        emit = self.state_events
        for st in self._stateful:
            g.mark_updated(st.nid, [w.name for w in st.spec.weights if not w.trainable], emit=emit)

    def _shape_failed(self, st: _Step, exc: ShapeError) -> GraphError:
        return GraphError([Problem(st.nid, exc.port, f"{st.node.name}: {exc}", "shape")])

    def forward(self) -> dict[str, np.ndarray]:
        """Compute every node's value; raises NumericError naming the first NaN/Inf node."""
        for _ in self._forward_pass(False):
            pass
        return self.values

    def _forward_pass(self, emit: bool, total: int = 0) -> Iterator[StepEvent]:
        """The forward pass, the one implementation: forward() runs it with `emit` False (it never
        yields), steps() with `emit` True (one StepEvent per node, the caller's numpy error state
        restored around each yield)."""
        plan = self.plan()
        self.grads.clear()
        self._clear_edge_grads()
        self.extra_wgrads.clear()
        self._fused_wgrads.clear()
        values = self.values
        if emit:  # a stepped pass shows no value before its event
            values.clear()
        dtype = self.dtype
        seen = (self.graph.config_version, self._plan_version,
                tuple([st.tensors["value"].shape for st in self._sources]))
        check = seen != self._shapes_seen
        gen = _kernels.generation
        token = _quiet()
        i = 0
        try:
            # per-node dispatch cost matters for small nets: everything inline
            for st in plan:
                if st.source:
                    v = st.tensors["value"]
                    out = v if v.dtype.kind != "f" or v.dtype is dtype or v.dtype == dtype \
                        else self._source_value(st)
                else:
                    one = st.one
                    if one is not None:
                        ins = [values[one]]
                    elif st.full:
                        ins = [values[s] for s in st.srcs]
                    else:
                        ins = [None if s is None else values[s] for s in st.srcs]
                    if check and (tuple([None if a is None else a.shape for a in ins]),
                                  st.node.params_version) != st.in_shapes:
                        self._check_shapes(st, ins)
                    r = st.frep
                    if r is not None and r[0] is ins[0] and r[1] is (ins[1] if len(ins) > 1 else None) \
                            and r[2] == st.node.params_version and r[3] == gen:
                        r[4](*r[5])  # the step's key holds: repeat the recorded call
                        out = r[6]
                    else:
                        ctx = st.ctx
                        ctx.rep = None
                        out = st.fwd(ctx, ins, st.params, st.tensors)
                        r = ctx.rep
                        if r is not None and st.replayable:
                            st.frep = (ins[0], ins[1] if len(ins) > 1 else None, st.node.params_version, gen,
                                       r[0], r[1], out)
                            ctx.rep = None
                        else:
                            st.frep = None
                values[st.nid] = out
                if emit:
                    _loud(token)
                    token = None
                    yield StepEvent("forward", i, total, st.nid, value=out)
                    i += 1
                    token = _quiet()
        except ShapeError as exc:  # a shape rule let through what the forward cannot do
            raise self._shape_failed(st, exc) from None
        finally:
            if token is not None:
                _loud(token)
        self._finish_forward(seen)

    def _finish_forward(self, seen: tuple | None) -> None:
        """After a complete forward pass: commit batchnorm's statistics, remember what the pass
        read (the commit's own version bump included), then check for NaN/Inf."""
        if self._mode == "train" and self._stateful:
            self._commit_state()
        if seen is not None:
            self._shapes_seen = seen
        self._fwd_key = self._forward_key()
        self._check_forward()

    def _check_forward(self) -> None:
        """Check the sinks; only when one is not finite, find the first node that produced a NaN/Inf."""
        if self.check == "none":
            return
        values = self.values
        for st in self._sink_steps:
            if not _finite(values[st.nid]):
                break
        else:
            return
        self._locate_forward()

    def _locate_forward(self) -> None:
        for st in self._plan:
            v = self.values.get(st.nid)
            if v is not None and not _finite(v):
                what = "NaN" if np.isnan(v).any() else "Inf"
                raise NumericError(st.nid, st.node.name, "forward", what)

    def _sink_ids(self) -> list[str]:
        return self.graph.sinks()

    # ---------------------------------------------------------------- backward
    def _resolve_target(self, target: str | None) -> str:
        if target is None:
            sinks = self.graph.sinks()
            if len(sinks) != 1:
                names = ", ".join(self.graph.nodes[s].name for s in sinks)
                raise GraphError(f"backward() needs a target: the graph has {len(sinks)} sinks ({names})")
            return sinks[0]
        return self.graph.find(target)

    def _seed(self, target: str, seed) -> np.ndarray:
        v = self.values[target]
        dtype = v.dtype if v.dtype.kind == "f" else self.dtype
        if seed is None:
            return np.ones(v.shape, dtype)
        s = np.asarray(seed, dtype=dtype)
        if s.shape != v.shape:
            s = np.broadcast_to(s, v.shape).copy()
        return s

    def backward(self, target: str | None = None, seed=None) -> dict[str, np.ndarray]:
        """Backpropagate from `target` (default: the only sink), seeded with ones.

        Runs forward first when the graph, a value, the mode or the kernel backend changed since
        the last forward pass (so the gradients always belong to the current graph)."""
        if self._plan_version != self.graph.structure_version or self._fwd_key != self._forward_key():
            self.forward()
        for _ in self._backward_pass(target, seed, False):
            pass
        return self.grads

    def _backward_pass(self, target: str | None, seed, emit: bool, i: int = 0,
                       total: int = 0) -> Iterator[StepEvent]:
        """The backward pass, the one implementation (see _forward_pass): from the target back to
        the first node; with `emit`, a "seed" event and then one event per wire's gradient."""
        target = self._resolve_target(target)
        self.target = target
        self.grads.clear()
        self._clear_edge_grads()
        self._clear_wgrads()
        touched = self._wgrad_ctxs
        grads, values = self.grads, self.values
        pending = self._edge_pending
        grads[target] = self._seed(target, seed)
        if emit:
            yield StepEvent("seed", i, total, target, grad=grads[target])
            i += 1
        bsteps = self._bsteps
        if bsteps[0] is not self._plan or bsteps[1] != target:
            plan = self._plan
            bsteps = self._bsteps = (plan, target,
                                     [plan[k] for k in range(self._pos[target], -1, -1) if not plan[k].source])
        npass = self._pass
        gen = _kernels.generation
        token = _quiet()
        try:
            for st in bsteps[2]:
                g = grads.get(st.nid)
                if g is None:
                    continue
                srcs = st.srcs
                one = st.one
                if one is not None:
                    ins = [values[one]]
                elif st.full:
                    ins = [values[s] for s in srcs]
                else:
                    ins = [None if s is None else values[s] for s in srcs]
                ctx = st.ctx
                out = values[st.nid]
                r = st.brep
                if r is not None and r[0] is ins[0] and r[1] is (ins[1] if len(ins) > 1 else None) \
                        and r[2] is g and r[3] is out and r[4] == st.node.params_version and r[5] == gen:
                    r[6](*r[7])  # the step's key holds: repeat the recorded call
                    gl = r[8]
                else:
                    ctx.rep = None
                    gl = st.bwd(ctx, g, ins, out, st.params, st.tensors)
                    r = ctx.rep
                    if r is not None and st.replayable:
                        st.brep = (ins[0], ins[1] if len(ins) > 1 else None, g, out, st.node.params_version, gen,
                                   r[0], r[1], gl)
                        ctx.rep = None
                    else:
                        st.brep = None
                if ctx.wgrads and ctx.wpass != npass:
                    ctx.wpass = npass
                    touched.append(ctx)
                if len(gl) != len(srcs):
                    raise AssertionError(f"op {st.spec.name!r} backward returned {len(gl)} gradients "
                                         f"for {len(srcs)} inputs")
                for k, edge, src in st.wired:
                    gi = gl[k]
                    if gi is None:
                        continue
                    x = ins[k]
                    if gi.shape != x.shape:
                        gi = unbroadcast(gi, x.shape)
                    pending.append((edge, gi))
                    prev = grads.get(src)
                    grads[src] = gi if prev is None else prev + gi
                    if emit:
                        _loud(token)
                        token = None
                        yield StepEvent("backward", i, total, src, grad=gi, edge=edge)
                        i += 1
                        token = _quiet()
        finally:
            if token is not None:
                _loud(token)
        if self.check != "none":
            self._check_backward()

    def _check_backward(self) -> None:
        """Check what the pass delivers (the gradients reaching sources and weights); only when one
        is not finite, find the node whose backward rule produced the first NaN/Inf."""
        if self._leaves_finite():
            return
        self._locate_backward()

    def _leaves_finite(self) -> bool:
        """Are the gradients that reach sources and weights all finite? One sum of squares over all
        of them (~0.4 us an array); only when it is not finite, the exact test array by array."""
        grads = self.grads
        arrays = [g for st in self._sources if (g := grads.get(st.nid)) is not None]
        npass = self._pass
        fused = self._fused_wgrads
        for ctx in self._wgrad_ctxs:
            if ctx.wpass == npass:
                if fused:  # a fused total (own + k * w) is non-finite whenever its own part is: check it once
                    arrays += [a for w, a in ctx.wgrads.items() if (ctx.node_id, w) not in fused]
                else:
                    arrays += ctx.wgrads.values()
        arrays += self.extra_wgrads.values()
        arrays += [f[0] for f in fused.values()]
        # gradients are float arrays (an int one could not hold a NaN anyway); Python floats: a numpy
        # scalar sum costs more than the dot products
        total = sum([float(f.dot(f)) for f in [a.reshape(-1) for a in arrays]])
        return math.isfinite(total) or all(_finite(a) for a in arrays)

    def _locate_backward(self) -> None:
        """Raise NumericError at the first node, in backward order, whose backward produced a
        non-finite gradient (for an input wire or a weight) from finite ones."""
        g = self.graph
        target = self.target
        seed = self.grads.get(target) if target is not None else None
        if seed is not None and not _finite(seed):
            raise NumericError(target, g.nodes[target].name, "backward", _what(seed) + " seed gradient")
        produced: dict[str, list] = {}
        for edge, gi in self.edge_grads.items():
            produced.setdefault(edge.dst, []).append((f"gradient for input {edge.dst_port!r}", gi))
        start = self._pos.get(target, len(self._plan) - 1) if target is not None else len(self._plan) - 1
        order = [self._plan[k] for k in range(start, -1, -1)]
        for st in order:
            items = list(produced.get(st.nid, ()))
            if st.ctx.wpass == self._pass:
                items += [(f"gradient of its weight {w!r}", a) for w, a in st.ctx.wgrads.items()]
            for label, a in items:
                if not _finite(a):
                    raise NumericError(st.nid, st.node.name, "backward", f"{_what(a)} {label}")
        for (nid, w), a in list(self.extra_wgrads.items()) + [(k, f[0]) for k, f in self._fused_wgrads.items()]:
            if not _finite(a):
                raise NumericError(nid, g.nodes[nid].name, "backward", f"{_what(a)} gradient of its weight {w!r}")
        for st in order:  # a finite sum of finite gradients can still overflow
            a = self.grads.get(st.nid)
            if a is not None and not _finite(a):
                raise NumericError(st.nid, st.node.name, "backward", _what(a) + " gradient")

    def _clear_wgrads(self) -> None:
        """Forget the last pass' weight gradients, so a weight the new target does not
        reach reports zero rather than a stale gradient."""
        for ctx in self._wgrad_ctxs:
            ctx.wgrads.clear()
        self._wgrad_ctxs.clear()
        self.extra_wgrads.clear()
        self._fused_wgrads.clear()
        self._pass += 1

    # ---------------------------------------------------------------- stepping
    def steps(self, target: str | None = None, seed=None, backward: bool = True) -> Iterator[StepEvent]:
        """Yield the pass one event at a time: each node forward in topological order,
        then the seed, then each wire's gradient in reverse order. The same code as
        forward() and backward(), with events on."""
        plan = self.plan()
        self._clear_wgrads()
        n_edges = sum(1 for st in plan for s in st.srcs if s is not None)
        total = len(plan) + ((1 + n_edges) if backward else 0)
        yield from self._forward_pass(True, total)
        if backward:
            yield from self._backward_pass(target, seed, True, len(plan), total)

    # ---------------------------------------------------------------- results
    @property
    def edge_grads(self) -> dict[Edge, np.ndarray]:
        """Edge -> the gradient that flowed back along it in the last backward pass (read-only views)."""
        pending = self._edge_pending
        if pending:
            d = self._edge_grads
            ro = self._ro
            for edge, g in pending:
                d[edge] = ro(g)
            pending.clear()
        return self._edge_grads

    def _clear_edge_grads(self) -> None:
        self._edge_grads.clear()
        self._edge_pending.clear()

    def _ro(self, a: np.ndarray) -> np.ndarray:
        """A read-only view of a result (kept per buffer: buffers live across passes)."""
        hit = self._views.get(id(a))
        if hit is not None and hit[0] is a:
            return hit[1]
        if len(self._views) > 4096:
            self._views.clear()
        v = readonly(a)
        self._views[id(a)] = (a, v)
        return v

    def value(self, node: str) -> np.ndarray:
        """The node's output from the last forward pass, read-only (valid until the next pass)."""
        nid = self.graph.find(node)
        if nid not in self.values:
            raise GraphError(f"node {self.graph.nodes[nid].name!r} has no value yet: run forward() first")
        return self._ro(self.values[nid])

    def grad(self, node: str) -> np.ndarray:
        """d(target)/d(node output): the sum of the gradients on the node's outgoing wires.

        Zero for a node the target does not depend on."""
        nid = self.graph.find(node)
        g = self.grads.get(nid)
        if g is None:
            if nid not in self.values:
                raise GraphError(f"node {self.graph.nodes[nid].name!r} has no value yet: run forward() first")
            v = self.values[nid]
            return readonly(np.zeros(v.shape, v.dtype if v.dtype.kind == "f" else self.dtype))
        return self._ro(g)

    def has_grad(self, node: str) -> bool:
        return self.graph.find(node) in self.grads

    def edge_grad(self, edge: Edge | tuple[str, str]) -> np.ndarray | None:
        """The gradient that flowed back along one wire (None if none reached it).

        `edge` is an Edge or (dst node, port)."""
        if not isinstance(edge, Edge):
            dst, port = edge
            edge = self.graph.input_edge(self.graph.find(dst), port)
            if edge is None:
                raise GraphError(f"no wire into {dst!r} port {port!r}")
        return self.edge_grads.get(edge)

    def weight_grad(self, node: str, weight: str) -> np.ndarray:
        """d(target)/d(weight) of a layer's weight, same shape as the weight, read-only."""
        a = self._weight_grad(node, weight)
        hit = self._views.get(id(a))  # _ro, inline: a training step asks for every weight's gradient
        return hit[1] if hit is not None and hit[0] is a else self._ro(a)

    def _weight_grad(self, node: str, weight: str) -> np.ndarray:
        st = self._index.get(node)
        if st is None:  # given by name (ids are looked up first, as Graph.find does)
            nid = self.graph.find(node)
            st = self._index.get(nid)
            if st is None:
                raise GraphError(f"node {nid!r} has not been run")
        nid = st.nid
        if st.source:
            g = self.grads.get(nid)
            return self.grad(nid) if g is None else g
        if self._fused_wgrads:
            f = self._fused_wgrads.get((nid, weight))
            if f is not None:  # own gradient + a regularizer's, already summed
                return f[0]
        g = st.ctx.wgrads.get(weight)
        extra = self.extra_wgrads.get((nid, weight))
        if extra is not None:  # a regularizer's contribution
            if g is None:
                return extra
            total = st.ctx.buf(f"wgrad_total:{weight}", g.shape, np.result_type(g, extra))
            np.add(g, extra, out=total)
            return total
        if g is None:
            w = st.tensors.get(weight)
            if w is None:
                raise GraphError(f"node {st.node.name!r} has no weight {weight!r}")
            return np.zeros_like(w)
        return g

    def weight_grads(self) -> dict[tuple[str, str], np.ndarray]:
        """(node id, weight name) -> d(target)/d(weight) for every trainable weight of the graph."""
        return {(nid, w): self.weight_grad(nid, w) for nid, w in self.graph.trainable()}

    def ctx(self, node: str) -> Ctx:
        self.plan()
        return self._index[self.graph.find(node)].ctx


def _finite(a: np.ndarray) -> bool:
    if a.dtype.kind != "f":
        return True
    n = a.size
    if n == 1:  # scalar circuits: ~10x cheaper than a ufunc and a reduction
        return math.isfinite(a.item())
    if n <= 4096 and a.flags.c_contiguous:  # a compiled loop once numba is loaded: ~0.3 us
        return not _kernels.quick("nonfinite", n)(a.reshape(-1))
    f = a.reshape(-1)
    # large arrays: a finite dot product (BLAS) means no NaN/Inf; an overflow goes the slow way
    return math.isfinite(f.dot(f)) or bool(np.isfinite(a).all())


def _what(a: np.ndarray) -> str:
    return "NaN" if np.isnan(a).any() else "Inf"


def _is_shape_problem(p: Problem) -> bool:
    return p.code == "shape"
