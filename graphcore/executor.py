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
- the last forward and backward pass as traces (graphcore.passtrace): the plan, the
  graph's config_version, the kernel backend, the mode (and for backward the target
  and the forward trace it read); a trace runs each step's call again and gives up,
  for the generic loops (graphcore.executor_loops), at the first object that differs;
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
from . import inputgrads, numcheck, passtrace
from .graph import Edge, Graph
from .executor_casts import Float32Casts
from .executor_loops import GenericLoops
from .executor_plan import PlanSteps
from .executor_results import Results
from .stepctx import Ctx, Replay, StepEvent, _loud, _quiet, _Step, unbroadcast  # noqa: F401  (re-exported)
from .problems import GraphError, NumericError
from .registry import ShapeError

class Executor(PlanSteps, GenericLoops, Float32Casts, Results):
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
        if check not in ("all", "sinks", "none"):
            raise ValueError("check must be 'all', 'sinks' or 'none'")
        self._check = check
        self.seed = seed
        self._plan: list[_Step] = []
        self._index: dict[str, _Step] = {}
        self._pos: dict[str, int] = {}
        self._sources: list[_Step] = []
        # (config version, plan version, source shapes) of the last pass whose shapes were all checked:
        # while it holds, every node sees the input shapes it saw then, so the checks can be skipped
        self._shapes_seen: tuple | None = None
        self._plan_version = -1
        self._values: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}  # what `grads` shows, once the deferred ones are in
        self._grads_view = inputgrads.Grads(self)
        self._values_view = inputgrads.Values(self)  # what forward() returns: `values`, read-only
        # gradients into data inputs, computed when first read (graphcore.inputgrads)
        self._deferred: list[tuple] = []
        self._deferred_key: tuple | None = None  # the _forward_key of the pass they belong to
        self._deferred_args: tuple = (None, None)  # that pass's (target, seed), to run it again
        self._deferred_stamp = 0  # Graph.version_stamp() at that pass (inputgrads._reads_unchanged)
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
        # (node id, weight) -> (own + k * w, w, k, own): see Ctx.add_scaled_weight_grad
        self._fused_wgrads: dict[tuple[str, str], tuple] = {}
        self._bsteps: tuple = (None, None, [])  # (plan, target, its non-source steps from it backwards)
        self._input_grads = True
        self._casts: list[_Step] = []  # float32: steps reading cast copies of the document's arrays
        self._cast_config = -1  # the graph's config_version when the casts were last rebuilt
        # graphcore.passtrace: the last passes recorded, the forward trace whose outputs `values`
        # holds (None after a generic or stepped pass), and traces abandoned in a row
        self._ftrace: passtrace.ForwardTrace | None = None
        self._btrace: passtrace.BackwardTrace | None = None
        self._values_trace: passtrace.ForwardTrace | None = None
        self._trace_misses = self._btrace_misses = 0  # forward and backward traces abandoned in a row
        self._trace_last_key: tuple | None = None
        self.traced_passes = 0  # forward and backward passes run from a trace (tests, benches)
        self._serial = 0  # counts passes begun, forward and backward (see _owned)
        self.mode = mode

    @property
    def check(self) -> str:
        """Where a pass looks for NaN/Inf: "all", "sinks" or "none" (see the class docstring)."""
        return self._check

    @check.setter
    def check(self, value: str) -> None:
        if value not in ("all", "sinks", "none"):
            raise ValueError("check must be 'all', 'sinks' or 'none'")
        if self._check == "none" and value != "none":
            self._fwd_key = None  # the last pass went unchecked: backward() runs (and checks) it again
        self._check = value

    @property
    def values(self) -> inputgrads.Values:
        """Node id -> the node's output from the last forward pass (a read-only mapping of read-only
        arrays: what forward() returns)."""
        return self._values_view

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

    def forward(self) -> inputgrads.Values:
        """Compute every node's value (returned as a read-only mapping of read-only arrays); raises
        NumericError naming the first NaN/Inf node. The trace of the last pass runs when it applies
        (graphcore.passtrace), else the generic loop."""
        try:
            tkey = self._begin_forward(False)
            if self._ftrace is not None and passtrace.ENABLED and self._run_forward_trace(tkey):
                self._end_forward(self._shapes_seen)  # the trace ran only on shapes the last pass checked
            else:
                for _ in self._generic_forward(False, 0, tkey):
                    pass
        except GraphError as exc:  # (a try costs nothing until it catches)
            raise exc.name_nodes(self.graph)
        return self._values_view

    def _forward_pass(self, emit: bool, total: int = 0) -> Iterator[StepEvent]:
        """The forward pass as steps() runs it: one StepEvent per node (see _forward_loop)."""
        tkey = self._begin_forward(emit)
        yield from self._generic_forward(emit, total, tkey)

    def _begin_forward(self, emit: bool) -> tuple:
        """Forget the last pass's gradients; returns the key a forward trace must hold."""
        self.plan()
        self._serial += 1  # a suspended stepped pass may not resume after this one began (_owned)
        # until this pass ends (a stepped pass may be dropped half-way), no values are current
        self._fwd_key = self._values_trace = None
        self._grads.clear()
        if self._deferred:
            self._deferred.clear()
        self._edge_grads.clear()  # _clear_edge_grads, inline (and the clears below only when needed)
        self._edge_pending.clear()
        if self.extra_wgrads:
            self.extra_wgrads.clear()
        if self._fused_wgrads:
            self._fused_wgrads.clear()
        if emit:  # a stepped pass shows no value before its event
            self._values.clear()
        if self._f32 and (self._casts or self.graph.config_version != self._cast_config):
            self._refresh_casts()
        tkey = (self.compiles, self.graph.config_version, _kernels.generation, self._mode)
        if tkey != self._trace_last_key:  # a new plan, params, backend or mode: traces may hold again
            self._trace_last_key = tkey
            self._trace_misses = self._btrace_misses = 0
        return tkey

    def _generic_forward(self, emit: bool, total: int, tkey: tuple) -> Iterator[StepEvent]:
        plan = self._plan
        seen = (self.graph.config_version, self._plan_version,
                tuple([st.tensors["value"].shape for st in self._sources]))
        start = (self.graph.data_version, self._mode, _kernels.generation) if emit else None
        yield from self._forward_loop(plan, emit, total, seen != self._shapes_seen, tkey[2])
        if emit and start != (self.graph.data_version, self._mode, _kernels.generation):
            # edited (a value, the mode, the backend) while the stepped pass was suspended: its values
            # mix two states, and backward() must run forward again
            self._end_forward(None, start[1] == "train")
            return
        self._values_trace = None
        if not emit and self._trace_misses < passtrace.MAX_MISSES and passtrace.ENABLED \
                and len(plan) <= passtrace.MAX_STEPS \
                and all(st.source or st.frep is not None or st.replayable for st in plan):
            self._ftrace = self._values_trace = passtrace.ForwardTrace(self, tkey)
        self._end_forward(seen)

    def _end_forward(self, seen: tuple | None, began_in_train: bool = False) -> None:
        """The pass is complete: commit batchnorm's statistics, remember what the pass read (the
        commit's own version bump included), then check for NaN/Inf. `seen` None: a stepped pass
        the graph changed under, which is not current (its shapes were not all checked either);
        `began_in_train`: its first steps ran in train mode (and may have written statistics)."""
        if (self._mode == "train" or began_in_train) and self._stateful:
            self._commit_state()
        self._shapes_seen = seen
        # _forward_key(), inline
        self._fwd_key = None if seen is None else \
            (self.graph.data_version, self._plan_version, self._mode, _kernels.generation)
        if self._check != "none":
            try:
                numcheck.check_forward(self)
            except NumericError:  # not a pass backward() may start from: it runs (and raises) again
                self._fwd_key = None
                raise

    def _run_forward_trace(self, tkey: tuple) -> bool:
        tr = self._ftrace
        ok = False
        if tr.key == tkey:
            token = _quiet()
            try:
                ok = tr.run(self)
            except ShapeError:  # the generic pass runs it again and names the node
                ok = False
            finally:
                _loud(token)
        if ok:
            self._trace_misses = 0
            self._values_trace = tr
            self.traced_passes += 1
        else:
            self._trace_misses += 1
            self._ftrace = self._btrace = None
        return ok

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
    def backward(self, target: str | None = None, seed=None) -> inputgrads.Grads:
        """Backpropagate from `target` (default: the only sink), seeded with ones.

        Runs forward first when the graph, a value, the mode or the kernel backend changed since
        the last forward pass (so the gradients always belong to the current graph)."""
        g = self.graph
        k = self._fwd_key  # _forward_key(), compared inline: called every training step
        if k is None or k[0] != g.data_version or k[1] != self._plan_version or k[2] != self._mode \
                or k[3] != _kernels.generation or self._plan_version != g.structure_version:
            self.forward()
        try:
            target, lazy = self._begin_backward(target, seed, False)
            if seed is not None or not self._run_backward_trace(target, lazy):
                for _ in self._generic_backward(target, seed, False, lazy):
                    pass
        except GraphError as exc:
            raise exc.name_nodes(self.graph)
        return self._grads_view

    def _backward_pass(self, target: str | None, seed, emit: bool, i: int = 0,
                       total: int = 0) -> Iterator[StepEvent]:
        """The backward pass as steps() runs it: a "seed" event, then one per wire's gradient."""
        target, lazy = self._begin_backward(target, seed, emit)
        yield from self._generic_backward(target, seed, emit, lazy, i, total)

    def _begin_backward(self, target: str | None, seed, emit: bool) -> tuple[str, bool]:
        """Resolve the target, choose lazy or eager input gradients, forget the last pass, seed."""
        target = self._resolve_target(target)
        self._serial += 1
        self.target = target
        # gradients into data inputs wait until read (graphcore.inputgrads); steps() makes them all
        lazy = False
        if self._lazy_steps:
            lazy = not emit and not self._eager_next
            self._eager_next = False
            if lazy is not self._need_lazy:
                inputgrads.install(self, lazy)
        self._reset_backward(target, seed, lazy)
        bsteps = self._bsteps
        if bsteps[0] is not self._plan or bsteps[1] != target:
            self._bsteps = (self._plan, target, self._backward_order(target))
        return target, lazy

    def _reset_backward(self, target: str, seed, lazy: bool) -> None:
        """Forget the last backward pass (gradients, wires, weight gradients) and seed the target."""
        self._grads.clear()
        if self._deferred:
            self._deferred.clear()
        self._edge_grads.clear()
        self._edge_pending.clear()
        self._clear_wgrads()
        s = self._grads[target] = self._seed(target, seed)
        if lazy:
            self._deferred_key = self._fwd_key  # backward() has just checked it is current
            self._deferred_stamp = self.graph.version_stamp()  # above every node version the pass read
            self._deferred_args = (target, None if seed is None else s)  # (the seed's copy)

    def _run_backward_trace(self, target: str, lazy: bool) -> bool:
        """The trace of the last backward pass, when it read the outputs `values` holds now."""
        tr = self._btrace
        ftr = self._values_trace
        if tr is None or ftr is None or tr.key != (ftr, target, lazy) or not passtrace.ENABLED:
            return False
        token = _quiet()
        try:
            ok = tr.run(self, lazy, self._pass)
        finally:
            _loud(token)
        if not ok:
            self._btrace = None
            self._btrace_misses += 1
            self._reset_backward(target, None, lazy)  # forget what the abandoned trace did
            return False
        self._btrace_misses = 0
        self.traced_passes += 1
        if self._check != "none" and not numcheck.leaves_finite(self):  # _check_backward, inline
            numcheck.locate_backward(self)
        return True

    def _generic_backward(self, target: str, seed, emit: bool, lazy: bool, i: int = 0,
                          total: int = 0) -> Iterator[StepEvent]:
        rec = None
        if not emit and seed is None and self._values_trace is not None \
                and self._btrace_misses < passtrace.MAX_MISSES and passtrace.ENABLED:
            rec = passtrace.BackwardRecorder()
        if emit:
            yield StepEvent("seed", i, total, target, grad=self._grads[target])
            i += 1
        yield from self._backward_loop(self._bsteps[2], emit, i, total, lazy, rec)
        if rec is not None and rec.ok:
            self._btrace = passtrace.BackwardTrace(self, (self._values_trace, target, lazy),
                                                   self._values_trace, rec)
        if self._check != "none":
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
