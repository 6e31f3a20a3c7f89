"""A pass recorded as flat lists and run again while it reads the same arrays: the executor's
fast path for the next forward() and backward().

The generic loops (graphcore.executor) find each step's inputs in dicts, choose between the
step's recorded call (Replay) and its rule, and file its results. On a small net that
bookkeeping costs as much as the arithmetic (spiral 2-100-3, batch 32: ~8 of ~32 us). When a
pass has run, each step's inputs are objects known in advance: a source's value, or what the
step before it returned, which is the same buffer pass after pass. A trace keeps, per step,
the call and the argument list it was made with, and runs the calls in order, checking that
each returns the very object it returned when recorded; a step's call checks its own key
(Replay.run, or the rule itself). The first surprise (another object, a source of another
shape or dtype, a changed need_grad) abandons the trace and the generic pass runs from the
start, so a trace can only be slower, never different. Sources are read on every run (a
training loop feeds a new batch array each step: the recorded calls take it when their key
allows, as their Replay decides). A trace is keyed on the plan, the graph's config_version
(every params change), the kernel generation and the mode; a backward trace also on the
target and on the forward trace whose outputs it read.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import inputgrads

if TYPE_CHECKING:  # pragma: no cover
    from .executor import Executor
    from .stepctx import _Step

MAX_MISSES = 3  # traces abandoned in a row before the executor stops recording (until the key changes)
ENABLED = True  # False: every pass runs the generic loops (tests compare the two; benches measure them)


def _rule_call(st: "_Step", backward: bool):
    """The step's rule with the trace's calling convention (ins, g, out, tensors); a repeat the rule
    declares is dropped (the trace already repeats the call)."""
    ctx, params = st.ctx, st.params
    if backward:
        rule = st.bwd

        def call(ins, g, out, tensors):
            ctx.rep = None
            gl = rule(ctx, g, ins, out, params, tensors)
            ctx.rep = None
            return gl
    else:
        rule = st.fwd

        def call(ins, g, out, tensors):
            ctx.rep = None
            o = rule(ctx, ins, params, tensors)
            ctx.rep = None
            return o
    return call


def _outputs(ex: "Executor", st: "_Step") -> tuple[int, ...]:
    """The step's input ports fed by other steps' outputs: the trace checks those objects as the
    steps return them, so the step's recorded call need not check them again (Replay.trusted)."""
    return tuple(k for k, s in enumerate(st.srcs) if s is not None and not ex._index[s].source)


class ForwardTrace:
    """A forward pass as (call, argument list, arrays, expected output) per non-source step."""

    __slots__ = ("key", "sources", "steps", "outs")

    def __init__(self, ex: "Executor", key: tuple) -> None:
        values = ex.values
        self.key = key
        slots: dict[str, list] = {}  # source id -> (argument list, index) of each place it is read
        steps = []
        for st in ex._plan:
            if st.source:
                continue
            ins = [None if s is None else values[s] for s in st.srcs]
            for k, s in enumerate(st.srcs):
                if s is not None and ex._index[s].source:
                    slots.setdefault(s, []).append((ins, k))
            r = st.frep
            call = r.trusted(_outputs(ex, st)) if r is not None else _rule_call(st, False)
            steps.append((call, ins, st.tensors, values[st.nid]))
        self.sources = [(st, st.tensors, values[st.nid].shape, values[st.nid].dtype, tuple(slots.get(st.nid, ())))
                        for st in ex._sources]
        self.steps = steps
        self.outs = {st.nid: values[st.nid] for st in ex._plan if not st.source}

    def run(self, ex: "Executor") -> bool:
        """The pass, or False at the first difference (the caller then runs the generic pass)."""
        values = ex.values
        dtype = ex.dtype
        for st, tensors, shape, vdtype, slots in self.sources:
            v = tensors["value"]
            if v.dtype.kind == "f" and v.dtype is not dtype and v.dtype != dtype:
                v = ex._source_value(st)
            if v.shape != shape or v.dtype is not vdtype:
                return False  # new shapes: the generic pass checks them first
            values[st.nid] = v
            for ins, k in slots:
                ins[k] = v
        for call, ins, tensors, out in self.steps:
            if call(ins, None, None, tensors) is not out:
                return False
        values.update(self.outs)
        return True


class BackwardRecorder:
    """Collects, during a generic backward pass, what a BackwardTrace needs; `ok` turns False when
    the pass did something a trace does not repeat (a sum of gradients, a broadcast)."""

    __slots__ = ("steps", "ok")

    def __init__(self) -> None:
        self.steps: list = []
        self.ok = True


class BackwardTrace:
    """A backward pass from one target: per step that got a gradient, its call and arguments, the
    gradients it must return for its wired inputs, and the (edge, gradient) pairs it delivers."""

    __slots__ = ("key", "ftrace", "seed", "inject", "steps", "grads")

    def __init__(self, ex: "Executor", key: tuple, ftrace: ForwardTrace, rec: BackwardRecorder) -> None:
        self.key = key
        self.ftrace = ftrace
        grads = ex._grads
        self.seed = grads[ex.target]
        inject = []
        steps = []
        for st, g, ins, gl in rec.steps:
            ins = list(ins)
            for k, s in enumerate(st.srcs):
                if s is not None and ex._index[s].source:
                    inject.append((ins, k, s))
            r = st.brep
            call = r.trusted(_outputs(ex, st), g, ex.values[st.nid]) if r is not None else _rule_call(st, True)
            # a recorded call hands back the very list it returned; a rule, a new list of the same arrays
            expect = () if r is not None else tuple((k, gl[k]) for k, _, _ in st.wired)
            pairs = [(edge, gl[k]) for k, edge, _ in st.wired if gl[k] is not None]
            flags = (1 if st.ctx.wgrads else 0) | (2 if st.lazy is not None else 0)
            steps.append((call, ins, g, ex.values[st.nid], st.tensors, st.ctx, st.ctx.need_grad, gl, expect, pairs,
                          flags, st))
        self.inject = inject
        self.steps = steps
        self.grads = dict(grads)

    def run(self, ex: "Executor", lazy: bool, npass: int) -> bool:
        """The pass (after the executor's preamble), or False at the first difference."""
        if ex._grads.get(ex.target) is not self.seed:
            return False
        values = ex.values
        for ins, k, s in self.inject:
            ins[k] = values[s]
        pending = ex._edge_pending
        touched = ex._wgrad_ctxs
        for call, ins, g, out, tensors, ctx, need, gl0, expect, pairs, flags, st in self.steps:
            if ctx.need_grad is not need:
                return False
            gl = call(ins, g, out, tensors)
            if gl is not gl0:
                if gl is None or not expect:
                    return False
                for k, want in expect:
                    if gl[k] is not want:
                        return False
            if flags:
                if flags & 1 and ctx.wgrads and ctx.wpass != npass:  # weight gradients, filed as the loop does
                    ctx.wpass = npass
                    touched.append(ctx)
                if flags & 2:  # a data input's gradient, deferred (graphcore.inputgrads)
                    inputgrads.after_rule(ex, lazy, st, g, list(ins), out, gl)
            pending += pairs
        ex._grads.update(self.grads)
        return True
