"""How an Executor turns a graph into a plan (the steps in topological order, each with its
context and input slots) and checks a step's shapes and arrays before its kernels see them, and
where a backward pass starts (its target and seed). A mixin of graphcore.executor.Executor, which
holds the state these methods read."""
from __future__ import annotations

import zlib

import numpy as np

from . import inputgrads, limits
from .graph import readonly
from .problems import GraphError, Problem
from .registry import ShapeError
from .stepctx import Ctx, _Step


class PlanSteps:
    """plan(), the compile it triggers, the per-step shape check, the backward order, its target and seed."""

    def plan(self) -> list[_Step]:
        if self._plan_version != self.graph.structure_version:
            try:
                self._compile()
            except GraphError as exc:
                raise exc.name_nodes(self.graph)
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
        self._values = {k: v for k, v in self._values.items() if k in self._index}
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

    def _shape_failed(self, st: _Step, exc: ShapeError) -> GraphError:
        return GraphError([Problem(st.nid, exc.port, f"{st.node.name}: {exc}", "shape")])

    def _backward_order(self, target: str) -> list[_Step]:
        """The non-source steps from the target back to the first node, with the steps that have no
        wired input (a regularizer reaching layer weights through `targets`) last: they deliver no
        gradient along a wire, only into weights, so running them after the layers lets
        Ctx.add_scaled_weight_grad write own + k * w in one kernel call (the same bits as adding
        k * w later). Their own gradient is complete before: it comes from steps later in the plan."""
        plan = self._plan
        steps = [plan[k] for k in range(self._pos[target], -1, -1) if not plan[k].source]
        return [st for st in steps if st.wired] + [st for st in steps if not st.wired]

    def _resolve_target(self, target: str | None) -> str:
        if target is None:
            sinks = self.graph.sinks()
            if len(sinks) != 1:
                names = ", ".join(self.graph.nodes[s].name for s in sinks)
                raise GraphError(f"backward() needs a target: the graph has {len(sinks)} sinks ({names})")
            return sinks[0]
        return self.graph.find(target)

    def _seed(self, target: str, seed) -> np.ndarray:
        v = self._values[target]
        if seed is None:  # the same read-only ones every pass: no rule may write into its gradient
            ones = self._ones
            if ones is not None and ones.dtype is v.dtype and ones.shape == v.shape:
                return ones
        dtype = v.dtype if v.dtype.kind == "f" else self.dtype
        if seed is None:
            ones = self._ones
            if ones is None or ones.shape != v.shape or (ones.dtype is not dtype and ones.dtype != dtype):
                ones = self._ones = readonly(np.ones(v.shape, dtype))
            return ones
        try:
            s = np.array(seed, dtype=dtype)  # a copy: the caller's array may change after the pass
            if s.shape != v.shape:
                s = np.broadcast_to(s, v.shape).copy()
        except (TypeError, ValueError):  # the caller's argument: say which target and shape it missed
            raise GraphError(f"the seed for {self.graph.nodes[target].name!r} must be a number or an array "
                             f"that broadcasts to its value's shape {v.shape}; got "
                             f"{limits.excerpt(seed)}") from None
        return s


def _is_shape_problem(p: Problem) -> bool:
    return p.code == "shape"
