"""A pass recorded as one generated function and run again while it reads the same arrays: the
executor's fast path for the next forward() and backward().

The generic loops (graphcore.executor_loops) find each step's inputs in dicts, choose between
the step's recorded call (Replay) and its rule, and file its results. On a small net that
bookkeeping costs as much as the arithmetic (spiral 2-100-3, batch 32: ~8 of ~32 us). When a
pass has run, each step's inputs are objects known in advance: a source's value, or what the
step before it returned, which is the same buffer pass after pass. A trace writes the pass out
as straight-line Python: per step, its recorded call's key checks inline (stepctx.replay_source,
the code Replay.run is made of) and the call, or its rule, then a check that it returned the very
object it returned when recorded. The first surprise (another object, a source of another shape
or dtype, a changed need_grad) abandons the trace and the generic pass runs from the start, so a
trace can only be slower, never different. Sources are read on every run (a training loop feeds
a new batch array each step: the recorded calls take it when their key allows, as their Replay
decides). A trace is keyed on the plan, the graph's config_version (every params change), the
kernel generation and the mode; a backward trace also on the target and on the forward trace
whose outputs it read. Its source holds names and indices only (stepctx.generated), so graphs of
one shape share one compile.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import inputgrads
from .stepctx import generated, replay_source

if TYPE_CHECKING:  # pragma: no cover
    from .executor import Executor
    from .stepctx import _Step

MAX_MISSES = 3  # traces abandoned in a row before the executor stops recording (until the key changes)
# plans longer than this are not traced: CPython's compile of one function grows faster than linearly
# with its length (a 3,000-step trace took 0.7 s to build, a 10,000-step one 6.5 s, where the generic
# forward pass takes 0.1 s and 0.7 s), while the bookkeeping a trace saves matters on small nets
MAX_STEPS = 1000
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


class _Source:
    """A trace's function being written: lines, and the namespace their names are bound in."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict = {}

    def name(self, prefix: str, value) -> str:
        n = f"{prefix}{len(self.ns)}"
        self.ns[n] = value
        return n

    def add(self, *lines: str) -> None:
        self.lines += [f"        {line}" for line in lines]

    def replay(self, rec: tuple, known: tuple, gout: bool) -> tuple[str, bool]:
        """The key checks of a recorded call inline (a failed one abandons the trace); returns its call."""
        lines, call, fed = replay_source(rec, known, gout, "return False", f"r{len(self.ns)}_", self.ns)
        self.lines += lines
        return call, fed


class ForwardTrace:
    """A forward pass as one generated function: per source, its value checked and put in the
    argument lists that read it; per non-source step, its recorded call's key checks and the call
    (Replay), or its rule, and a check that it returned the object it returned when recorded."""

    __slots__ = ("key", "outs", "_run")

    def __init__(self, ex: "Executor", key: tuple) -> None:
        values = ex._values
        self.key = key
        src = _Source()
        reads: dict[str, list] = {}  # source id -> (argument list, index) of each place it is read
        steps = []
        for st in ex._plan:
            if st.source:
                continue
            ins = [None if s is None else values[s] for s in st.srcs]
            for k, s in enumerate(st.srcs):
                if s is not None and ex._index[s].source:
                    reads.setdefault(s, []).append((ins, k))
            steps.append((st, ins))
        for st in ex._sources:
            v = values[st.nid]
            src.add(f"v = {src.name('tensors', st.tensors)}['value']",
                    "if v.dtype.kind == 'f' and v.dtype is not dtype and v.dtype != dtype:",
                    f"    v = ex._source_value({src.name('st', st)})",
                    f"if v.shape != {src.name('shape', v.shape)} or v.dtype is not {src.name('dtype', v.dtype)}:",
                    "    return False",  # new shapes: the generic pass checks them first
                    f"values[{src.name('nid', st.nid)}] = v")
            src.add(*[f"{src.name('ins', ins)}[{k}] = v" for ins, k in reads.get(st.nid, ())])
        for st, ins in steps:
            out = src.name("out", values[st.nid])
            src.add(f"ins = {src.name('ins', ins)}", f"tensors = {src.name('tensors', st.tensors)}")
            r = st.frep
            if r is None:
                src.add(f"if {src.name('rule', _rule_call(st, False))}(ins, None, None, tensors) is not {out}:",
                        "    return False")
                continue
            call, fed = src.replay(r._rec, _outputs(ex, st), False)
            if fed:
                src.add(f"if {call} is not {out}:", "    return False")
            else:  # the call returns what it returned when recorded
                src.add(call, "return False" if r._rec[3] is not values[st.nid] else "pass")
        self.outs = {st.nid: values[st.nid] for st, _ in steps}
        src.add(f"values.update({src.name('outs', self.outs)})", "return True")
        self._run = generated("def run(ex, values, dtype):", src.lines, src.ns)

    def run(self, ex: "Executor") -> bool:
        """The pass, or False at the first difference (the caller then runs the generic pass)."""
        return self._run(ex, ex._values, ex.dtype)


class BackwardRecorder:
    """Collects, during a generic backward pass, what a BackwardTrace needs; `ok` turns False when
    the pass did something a trace does not repeat (a sum of gradients, a broadcast)."""

    __slots__ = ("steps", "ok")

    def __init__(self) -> None:
        self.steps: list = []
        self.ok = True


class BackwardTrace:
    """A backward pass from one target as one generated function: per step that got a gradient,
    the need_grad it ran with, its recorded call (key checks inline) or its rule, a check of the
    gradients it returned for its wired inputs, its weight gradients and deferred data-input
    gradients filed as the generic loop files them, and the (edge, gradient) pairs it delivers."""

    __slots__ = ("key", "ftrace", "_run")

    def __init__(self, ex: "Executor", key: tuple, ftrace: ForwardTrace, rec: BackwardRecorder) -> None:
        self.key = key
        self.ftrace = ftrace
        grads = ex._grads
        src = _Source()
        src.add(f"if ex._grads.get(ex.target) is not {src.name('seed', grads[ex.target])}:", "    return False",
                "values = ex._values", "pending = ex._edge_pending", "touched = ex._wgrad_ctxs")
        body = _Source()
        body.ns = src.ns
        for st, g, ins, gl in rec.steps:
            ins = list(ins)
            name_ins = src.name("ins", ins)
            src.add(*[f"{name_ins}[{k}] = values[{src.name('nid', s)}]"
                      for k, s in enumerate(st.srcs) if s is not None and ex._index[s].source])
            ctx = src.name("ctx", st.ctx)
            out = ex._values[st.nid]
            gn, outn, tens, gl0 = src.name("g", g), src.name("out", out), src.name("tensors", st.tensors), \
                src.name("gl", gl)
            body.add(f"if {ctx}.need_grad is not {src.name('need', st.ctx.need_grad)}:", "    return False")
            r = st.brep
            if r is not None:
                body.add(f"ins = {name_ins}", f"tensors = {tens}", f"g = {gn}", f"out = {outn}")
                rec_ = r._rec
                call, fed = body.replay(rec_, _outputs(ex, st), rec_[4] is g and rec_[5] is out)
                if fed:  # a recorded call hands back the very list it returned
                    body.add(f"gl = {call}", f"if gl is not {gl0}:", "    return False")
                else:
                    body.add(call, "gl = " + (gl0 if rec_[3] is gl else "None"), "if gl is None:", "    return False")
            else:  # a rule: a new list of the same arrays will do
                body.add(f"gl = {src.name('rule', _rule_call(st, True))}({name_ins}, {gn}, {outn}, {tens})",
                         f"if gl is not {gl0}:")
                same = [f"gl[{k}] is not {src.name('grad', gl[k])}" for k, _, _ in st.wired]
                body.add("    if gl is None" + "".join(f" or {c}" for c in same) + ":" if same else "    if True:",
                         "        return False")
            if st.ctx.wgrads:  # weight gradients, filed as the loop does
                body.add(f"if {ctx}.wgrads and {ctx}.wpass != npass:", f"    {ctx}.wpass = npass",
                         f"    touched.append({ctx})")
            if st.lazy is not None:  # a data input's gradient, deferred (graphcore.inputgrads)
                body.add(f"after_rule(ex, lazy, {src.name('st', st)}, {gn}, list({name_ins}), {outn}, gl)")
            pairs = [(edge, gl[k]) for k, edge, _ in st.wired if gl[k] is not None]
            if pairs:
                body.add(f"pending += {src.name('pairs', pairs)}")
        src.ns["after_rule"] = inputgrads.after_rule
        src.lines += body.lines
        src.add(f"ex._grads.update({src.name('grads', dict(grads))})", "return True")
        self._run = generated("def run(ex, lazy, npass):", src.lines, src.ns)

    def run(self, ex: "Executor", lazy: bool, npass: int) -> bool:
        """The pass (after the executor's preamble), or False at the first difference."""
        return self._run(ex, lazy, npass)
