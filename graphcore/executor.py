"""Run a graph forward and backward, all at once or one event at a time.

The graph is compiled once into a plan (topological order, each node's input
slots, a context holding its reusable buffers) and the plan is reused until
the graph's structure changes: editing a value or a param does not recompile.

What is cached, and under which key:
- a step's shape check: its input shapes and the node's params_version;
- the whole forward pass, for backward(): the graph's data_version, the plan,
  the mode and the kernel backend; backward() re-runs forward when any of them
  changed (a set_value, an editing() block, a mark_updated);
- each step's call (Replay, declared by the op through Ctx.repeat): the identity,
  shape and dtype of every array the step reads, its params_version, the kernel
  backend; the call reads the arrays' contents live;
- a float32 executor's copies of a float64 document's layer arrays (the document
  is never changed by a cast): per node, refreshed in place whenever the node's
  version changes, rebuilt when the graph's config_version does;
- nothing else: a float source value is cast to a float32 executor's dtype on
  every pass, so an in-place edit is never missed.
Train-mode batchnorm updates its running statistics in the document's arrays and
says so through Graph.mark_updated (a version bump and node_changed/changed, or
with `state_events=False` a quiet bump announced later by Graph.commit_weights).
NaN/Inf: every pass checks the sinks (forward) and the gradients reaching sources
and weights (backward); only when one is not finite does it look node by node for
the first node that produced it (NumericError names it, in either pass).
Gradients into data inputs ("input", "const") wait until they are read (graphcore.inputgrads).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from . import kernels as _kernels
from . import inputgrads, numcheck
from .graph import Edge, Graph, readonly
from .executor_casts import Float32Casts
from .executor_results import Results
from .stepctx import Ctx, Replay, StepEvent, _loud, _quiet, _Step, unbroadcast  # noqa: F401  (re-exported)
from .problems import GraphError, Problem
from .registry import ShapeError

class Executor(Float32Casts, Results):
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
        self._f32 = self.dtype == np.float32
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
        self._grads: dict[str, np.ndarray] = {}  # what `grads` shows, once the deferred ones are in
        self._grads_view = inputgrads.Grads(self)
        # gradients into data inputs, computed when first read (graphcore.inputgrads)
        self._deferred: list[tuple] = []
        self._deferred_key: tuple | None = None  # the _forward_key of the pass they belong to
        self._deferred_args: tuple = (None, None)  # that pass's (target, seed), to run it again
        self._need_lazy: bool | None = False  # which need_grad tuples the steps hold (inputgrads.install)
        self._eager_next = False
        self._lazy_steps = False  # does a step of the plan take a data input's gradient (inputgrads.prepare)
        self._ones: np.ndarray | None = None  # the default seed, read-only (see _seed)
        self._leaf_check = numcheck.FiniteCheck()
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
        self._casts: list[_Step] = []  # float32: steps reading cast copies of the document's arrays
        self._cast_config = -1  # the graph's config_version when the casts were last rebuilt
        self.mode = mode

    @property
    def grads(self) -> inputgrads.Grads:
        """Node id -> d(target)/d(node output) of the last backward pass (a read-only mapping)."""
        return self._grads_view

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
        self._casts = []
        self._cast_config = -1
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
        inputgrads.prepare(self)

    @property
    def plan_version(self) -> int:
        """Changes whenever the plan is rebuilt (its steps, and their arrays' dicts, are new)."""
        return self.compiles

    def tensors_of(self, node: str) -> dict[str, np.ndarray]:
        """The node's weight and state arrays as this executor reads them (a float32 executor's cast
        copies of float64 arrays); the document's own dict when no cast is needed."""
        st = self._index.get(node)
        return st.tensors if st is not None else self.graph.nodes[node].tensors

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
        """Run the node's shape rule, and check its weight and state arrays against its layer
        (graphcore.tensorcheck), unless both passed for these input shapes, params and arrays
        (their shapes and dtypes: a replaced array is checked before any kernel sees it)."""
        tensors = st.tensors
        key = (tuple(None if a is None else a.shape for a in ins), st.node.params_version,
               tuple([(k, a.shape, a.dtype.str) for k, a in tensors.items()]) if st.spec.weights else ())
        if key == st.in_shapes:
            return
        try:
            st.spec.shape(st.params, list(key[0]))
        except ShapeError as exc:
            raise GraphError([Problem(st.nid, exc.port, str(exc), "shape")]) from None
        if st.spec.weights:
            from .tensorcheck import check_node
            check_node(st.node, list(key[0]))
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
            cast = st.tensors is not st.node.tensors
            if cast:
                self._write_back_state(st)
            g.mark_updated(st.nid, [w.name for w in st.spec.weights if not w.trainable], emit=emit)
            if cast:
                st.cast_version = st.node.version  # the copies already hold what was written back

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
        self._grads.clear()
        if self._deferred:
            self._deferred.clear()
        self._edge_grads.clear()  # _clear_edge_grads, inline (and the clears below only when needed)
        self._edge_pending.clear()
        if self.extra_wgrads:
            self.extra_wgrads.clear()
        if self._fused_wgrads:
            self._fused_wgrads.clear()
        values = self.values
        if emit:  # a stepped pass shows no value before its event
            values.clear()
        dtype = self.dtype
        seen = (self.graph.config_version, self._plan_version,
                tuple([st.tensors["value"].shape for st in self._sources]))
        check = seen != self._shapes_seen
        if self._f32 and (self._casts or self.graph.config_version != self._cast_config):
            self._refresh_casts()
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
                    if check:
                        self._check_shapes(st, ins)
                    r = st.frep
                    out = None
                    if r is not None and r.pv == st.node.params_version and r.gen == gen:
                        out = r.run(ins, None, None, st.tensors)  # repeat the call while its key holds
                    if out is None:
                        ctx = st.ctx
                        ctx.rep = None
                        out = st.fwd(ctx, ins, st.params, st.tensors)
                        r = ctx.rep
                        if r is not None and st.replayable:
                            st.frep = Replay(r, ins, st.tensors, out, st.node.params_version, gen)
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
        # the pass is complete: commit batchnorm's statistics, remember what the pass read (the
        # commit's own version bump included), then check for NaN/Inf
        if self._mode == "train" and self._stateful:
            self._commit_state()
        self._shapes_seen = seen
        # _forward_key(), inline
        self._fwd_key = (self.graph.data_version, self._plan_version, self._mode, _kernels.generation)
        if self.check != "none":
            numcheck.check_forward(self)

    def _check_forward(self) -> None:
        """Check the sinks; name the first NaN/Inf node when one is not finite (graphcore.numcheck)."""
        if self.check != "none":
            numcheck.check_forward(self)

    def _check_backward(self) -> None:
        """Check the delivered gradients; name the node whose backward made a NaN/Inf (numcheck)."""
        numcheck.check_backward(self)

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
        if seed is None:  # the same read-only ones every pass: no rule may write into its gradient
            ones = self._ones
            if ones is None or ones.shape != v.shape or (ones.dtype is not dtype and ones.dtype != dtype):
                ones = self._ones = readonly(np.ones(v.shape, dtype))
            return ones
        s = np.asarray(seed, dtype=dtype)
        if s.shape != v.shape:
            s = np.broadcast_to(s, v.shape).copy()
        return s

    def backward(self, target: str | None = None, seed=None) -> inputgrads.Grads:
        """Backpropagate from `target` (default: the only sink), seeded with ones.

        Runs forward first when the graph, a value, the mode or the kernel backend changed since
        the last forward pass (so the gradients always belong to the current graph)."""
        g = self.graph
        k = self._fwd_key  # _forward_key(), compared inline: called every training step
        if k is None or k[0] != g.data_version or k[1] != self._plan_version or k[2] != self._mode \
                or k[3] != _kernels.generation or self._plan_version != g.structure_version:
            self.forward()
        for _ in self._backward_pass(target, seed, False):
            pass
        return self._grads_view

    def _backward_pass(self, target: str | None, seed, emit: bool, i: int = 0,
                       total: int = 0) -> Iterator[StepEvent]:
        """The backward pass, the one implementation (see _forward_pass): from the target back to
        the first node; with `emit`, a "seed" event and then one event per wire's gradient."""
        target = self._resolve_target(target)
        self.target = target
        self._grads.clear()
        if self._deferred:
            self._deferred.clear()
        self._edge_grads.clear()
        self._edge_pending.clear()
        self._clear_wgrads()
        touched = self._wgrad_ctxs
        grads, values = self._grads, self.values
        pending = self._edge_pending
        # gradients into data inputs wait until read (graphcore.inputgrads); steps() makes them all
        lazy = False
        if self._lazy_steps:
            lazy = not emit and not self._eager_next
            self._eager_next = False
            if lazy is not self._need_lazy:
                inputgrads.install(self, lazy)
            if lazy:
                self._deferred_key = self._fwd_key  # backward() has just checked it is current
                self._deferred_args = (target, seed)
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
                gl = None
                # a recorded call holds while its key does, and while the rule is asked for the same
                # input gradients (graphcore.inputgrads switches need_grad between eager and lazy passes)
                if r is not None and r.pv == st.node.params_version and r.gen == gen and r.need == ctx.need_grad:
                    gl = r.run(ins, g, out, st.tensors)  # repeat the call while its key holds
                if gl is None:
                    ctx.rep = None
                    gl = st.bwd(ctx, g, ins, out, st.params, st.tensors)
                    r = ctx.rep
                    if r is not None and st.replayable:
                        st.brep = Replay(r, ins, st.tensors, gl, st.node.params_version, gen, g, out, True)
                        st.brep.need = ctx.need_grad
                        ctx.rep = None
                    else:
                        st.brep = None
                if ctx.wgrads and ctx.wpass != npass:
                    ctx.wpass = npass
                    touched.append(ctx)
                if len(gl) != len(srcs):
                    raise AssertionError(f"op {st.spec.name!r} backward returned {len(gl)} gradients "
                                         f"for {len(srcs)} inputs")
                if st.lazy is not None:
                    inputgrads.after_rule(self, lazy, st, g, ins, out, gl)
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


def _is_shape_problem(p: Problem) -> bool:
    return p.code == "shape"
