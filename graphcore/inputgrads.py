"""Gradients into data inputs ("input" and "const" nodes), computed when first asked for.

No weight depends on them, and next to a wide first layer they cost as much as the
layer's own weight gradient (the 784-256 MLP's dx = g W^T is a third of its pass).
So forward()/backward() ask a rule for no gradient at a data input's port
(ctx.need_grad False) once an eager pass has shown that the rule produces one there,
and remember the call. The first read of anything that could hold such a gradient
(`ex.grads`, `grad`, `has_grad`, `edge_grads`, `edge_grad`) repeats the call with every
gradient wanted, from the pass's own arrays, and sums each input's wires in the eager
pass's order: the results are the eager pass's, bit for bit. That holds after the graph
changed too, as long as nothing the deferred calls read did: a rename, a wire, another
layer's weights change nothing (the call reads the pass's arrays). Only when the deferred
step's own node, any source (its input may be a view of a source's value), the kernel
backend or (for a mode-dependent rule) the mode changed since the pass, is the pass run
again first, eagerly (as backward() re-runs a stale forward). steps() is always eager.

A backward rule may therefore be called a second time with the same arguments: it must
compute from its arguments, its params and weights and what its forward saved, into its
own buffers (tests/test_input_grads.py checks this for every registered op).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Iterator

import numpy as np

from . import kernels as _kernels
from . import numcheck
from .problems import NumericError
from .stepctx import _loud, _quiet, unbroadcast

if TYPE_CHECKING:  # pragma: no cover
    from .executor import Executor
    from .stepctx import _Step


def prepare(ex: "Executor") -> None:
    """After need_grad is set (plan compiled): each step's ports fed by a data input. Nothing is
    deferred until an eager pass shows the rule delivers a gradient there (_Step.live)."""
    leaves = {st.nid for st in ex._plan if st.source and not any(w.trainable for w in st.spec.weights)}
    for st in ex._plan:
        need = st.ctx.need_grad
        st.need_eager = st.need_lazy = need
        st.live = ()
        ports = tuple((k, e, s) for k, e, s in st.wired if s in leaves and need[k])
        st.lazy = ports or None
    ex._lazy_steps = any(st.lazy is not None for st in ex._plan)
    ex._need_lazy = False
    ex._deferred.clear()


def install(ex: "Executor", lazy: bool) -> None:
    """Give every step the need_grad of a lazy (True) or an eager pass. A step whose tuple changes
    forgets its repeatable backward call (Ctx.repeat: recorded under the other tuple)."""
    for st in ex._plan:
        if st.lazy is not None:
            need = st.need_lazy if lazy else st.need_eager
            if st.ctx.need_grad != need:
                st.ctx.need_grad = need
                st.brep = None
    ex._need_lazy = lazy


def after_rule(ex: "Executor", lazy: bool, st: "_Step", g, ins, out, gl) -> None:
    """From the backward loop, for a step with data-input ports: a lazy pass records the call when
    it skipped a port; any pass learns which of the ports it asked for the rule fills (those are
    skipped from the next lazy pass on)."""
    live = st.live
    if lazy and live:
        pending = ex._edge_pending
        miss, slots = [], []
        for p in live:  # (a loop, not a generator: this runs on every lazy pass)
            if gl[p[0]] is None:
                miss.append(p)
                slots.append(len(pending))
                pending.append((p[1], None))  # a placeholder keeps the wire's place in the eager order
        if miss:
            ex._deferred.append((st, g, ins, out, miss, slots))
    if len(live) < len(st.lazy):
        asked = [p for p in st.lazy if p not in live]
        new = tuple(p for p in asked if gl[p[0]] is not None)
        if len(new) < len(asked):  # asked and not given (integer labels): never deferred, never asked again
            st.lazy = live + new or None
        if new:
            st.live = live + new
            skip = {k for k, _, _ in st.live}
            st.need_lazy = tuple(n and k not in skip for k, n in enumerate(st.need_eager))
            ex._need_lazy = None  # install() again before the next lazy pass


def complete(ex: "Executor") -> None:
    """Compute the deferred gradients now (see the module docstring)."""
    deferred = ex._deferred
    if not deferred:
        return
    if (ex._deferred_key != ex._forward_key() or ex._plan_version != ex.graph.structure_version) \
            and not _reads_unchanged(ex, deferred):
        target, seed = ex._deferred_args
        deferred.clear()
        ex._eager_next = True
        ex.forward()
        ex.backward(target, seed)
        return
    items = list(deferred)
    deferred.clear()
    pending = ex._edge_pending
    grads = ex._grads
    extra, fused = dict(ex.extra_wgrads), dict(ex._fused_wgrads)
    token = _quiet()
    made = []
    try:
        for st, g, ins, out, miss, slots in items:
            ctx = st.ctx
            ctx.need_grad = st.need_eager
            try:
                gl = st.bwd(ctx, g, ins, out, st.params, st.tensors)
            finally:
                ctx.need_grad = st.need_lazy
            for (k, edge, src), slot in zip(miss, slots):
                gi = gl[k]
                if gi is not None and gi.shape != ins[k].shape:
                    gi = unbroadcast(gi, ins[k].shape)
                pending[slot] = (edge, gi)
                if gi is not None:
                    made.append((st, edge, gi))
    finally:
        _loud(token)
        # a rule that also reaches other nodes' weights (add_weight_grad) has just added its share again
        ex.extra_wgrads.clear()
        ex.extra_wgrads.update(extra)
        ex._fused_wgrads.clear()
        ex._fused_wgrads.update(fused)
    srcs = {e.src for _, e, _ in made}
    for src in srcs:  # each input's sum, over its wires in the eager pass's order
        grads.pop(src, None)
    kept = []
    for edge, gi in pending:
        if gi is None:
            continue
        kept.append((edge, gi))
        if edge.src in srcs:
            prev = grads.get(edge.src)
            grads[edge.src] = gi if prev is None else prev + gi
    pending[:] = kept
    if ex.check != "none":
        for st, edge, gi in made:
            if not numcheck.finite(gi):
                raise NumericError(st.nid, st.node.name, "backward",
                                   f"{numcheck.what(gi)} gradient for input {edge.dst_port!r}")


def _reads_unchanged(ex: "Executor", deferred: list) -> bool:
    """The graph changed since the pass: can the deferred calls still run from the pass's arrays?
    (Running the pass again instead drew new dropout masks and moved batchnorm's statistics in the
    document a second time, merely because a gradient was read after a rename.) Node versions come
    from one counter, so a node changed since the pass has a version above the pass's stamp."""
    key = ex._deferred_key
    if key is None or key[3] != _kernels.generation:
        return False
    stamp = ex._deferred_stamp
    for st in ex._sources:
        if st.node.version > stamp:
            return False
    for item in deferred:
        st = item[0]
        if st.node.version > stamp or (st.spec.mode_dependent and key[2] != ex._mode):
            return False
    return True


class Grads(Mapping):
    """Executor.grads: node id -> d(target)/d(node output), read-only, the deferred ones computed on
    first read."""

    __slots__ = ("_ex",)

    def __init__(self, ex: "Executor") -> None:
        self._ex = ex

    def _d(self) -> dict[str, np.ndarray]:
        ex = self._ex
        if ex._deferred:
            complete(ex)
        return ex._grads

    def __getitem__(self, key: str) -> np.ndarray:
        return self._ex._ro(self._d()[key])

    def get(self, key, default=None):
        g = self._d().get(key)
        return default if g is None else self._ex._ro(g)

    def __contains__(self, key) -> bool:
        return key in self._d()

    def __iter__(self) -> Iterator[str]:
        return iter(self._d())

    def __len__(self) -> int:
        return len(self._d())

    def clear(self) -> None:
        """Forget the last pass's gradients (the executor does, when it compiles a new plan)."""
        self._ex._deferred.clear()
        self._ex._grads.clear()

    def copy(self) -> dict[str, np.ndarray]:
        return {k: self._ex._ro(g) for k, g in self._d().items()}

    def __repr__(self) -> str:
        return f"Grads({self.copy()!r})"


class Values(Mapping):
    """What Executor.forward() returns: node id -> the node's output from the last forward pass,
    read-only (a source's value is the document's array: only the graph's methods change it)."""

    __slots__ = ("_ex",)

    def __init__(self, ex: "Executor") -> None:
        self._ex = ex

    def __getitem__(self, key: str) -> np.ndarray:
        return self._ex._ro(self._ex._values[key])

    def __contains__(self, key) -> bool:
        return key in self._ex._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._ex._values)

    def __len__(self) -> int:
        return len(self._ex._values)

    def copy(self) -> dict[str, np.ndarray]:
        return {k: self._ex._ro(v) for k, v in self._ex._values.items()}

    def __repr__(self) -> str:
        return f"Values({self.copy()!r})"
