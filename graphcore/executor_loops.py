"""The generic forward and backward loops of an Executor: every step's inputs found in the
values and gradients, its recorded call (Replay) or its rule, events when stepping. forward()
and backward() run them when no trace applies (graphcore.passtrace), steps() always.
A mixin of graphcore.executor.Executor."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from . import inputgrads
from . import kernels as _kernels
from .problems import GraphError
from .registry import ShapeError
from .stepctx import Replay, StepEvent, _loud, _quiet, _Step, unbroadcast

if TYPE_CHECKING:  # pragma: no cover
    from . import passtrace


class GenericLoops:
    """steps(), and _forward_loop and _backward_loop (generators: they yield only when stepping)."""

    def steps(self, target: str | None = None, seed=None, backward: bool = True) -> Iterator[StepEvent]:
        """Yield the pass one event at a time: each node forward in topological order,
        then the seed, then each wire's gradient in reverse order. The same code as
        forward() and backward(), with events on."""
        try:
            plan = self.plan()
            self._clear_wgrads()
            n_edges = sum(1 for st in plan for s in st.srcs if s is not None)
            total = len(plan) + ((1 + n_edges) if backward else 0)
            yield from self._owned(self._forward_pass(True, total))
            if backward:
                yield from self._owned(self._backward_pass(target, seed, True, len(plan), total))
        except GraphError as exc:  # named as the person named the nodes (an op's rule knows only ids)
            raise exc.name_nodes(self.graph)

    def _owned(self, events: Iterator[StepEvent]) -> Iterator[StepEvent]:
        """A stepped phase that refuses to go on once another pass has begun (it would write its
        values and gradients over that pass's) or the graph's configuration changed while it was
        suspended: its structure (its plan is gone), a param or an array's shape or dtype (its
        shapes were checked for the old ones: a kernel would index past a buffer)."""
        serial = config = None
        for ev in events:
            if serial is None:  # the phase has begun (and counted itself)
                serial, config = self._serial, self.graph.config_version
            yield ev
            if self._serial != serial or self.graph.config_version != config:
                events.close()
                raise GraphError("this stepped pass was left behind: another pass ran, or the graph's "
                                 "wires, params, names or array shapes changed since its last event; "
                                 "start a new one with steps()")

    def _forward_loop(self, plan: list[_Step], emit: bool, total: int, check: bool, gen: int) -> Iterator[StepEvent]:
        values = self._values
        dtype = self.dtype
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

    def _backward_loop(self, bsteps: list[_Step], emit: bool, i: int, total: int, lazy: bool,
                       rec: "passtrace.BackwardRecorder | None") -> Iterator[StepEvent]:
        touched = self._wgrad_ctxs
        grads, values = self._grads, self._values
        pending = self._edge_pending
        npass = self._pass
        gen = _kernels.generation
        token = _quiet()
        try:
            for st in bsteps:
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
                if rec is not None:
                    rec.steps.append((st, g, ins, gl))
                if st.lazy is not None:
                    inputgrads.after_rule(self, lazy, st, g, ins, out, gl)
                for k, edge, src in st.wired:
                    gi = gl[k]
                    if gi is None:
                        continue
                    x = ins[k]
                    if gi.shape != x.shape:
                        gi = unbroadcast(gi, x.shape)
                        if rec is not None:
                            rec.ok = False
                    pending.append((edge, gi))
                    prev = grads.get(src)
                    if prev is None:
                        grads[src] = gi
                    else:
                        grads[src] = prev + gi
                        if rec is not None:
                            rec.ok = False
                    if emit:
                        _loud(token)
                        token = None
                        yield StepEvent("backward", i, total, src, grad=gi, edge=edge)
                        i += 1
                        token = _quiet()
        finally:
            if token is not None:
                _loud(token)
