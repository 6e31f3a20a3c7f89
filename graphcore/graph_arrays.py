"""A graph's arrays, versioned: values, weights and state, read-only views out, edits in.

A mixin of Graph (graphcore.graph). Every change to a node's arrays gives the node a new
`version` from one graph-wide counter (so a number is never reused); caches key on it.
Arrays handed out (`value`, `weights`, `state`) are read-only views; in-place edits go
through `editing()`, and a training loop's per-step updates through `mark_updated(emit=False)`
and one `commit_weights()` when it pauses or ends. Layer weights are drawn, seeded per node
and weight, once their shapes are known (`materialize`).
"""
from __future__ import annotations

import math
import zlib
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import numpy as np

from . import limits, registry
from .graph_parts import Node, as_tensor, readonly
from .problems import GraphError, Problem


def _seed_for(seed: int, node_id: str, weight: str) -> np.random.Generator:
    """A per-weight generator: the same seed and node id always give the same weights."""
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(f"{node_id}/{weight}".encode())])


class GraphArrays:
    """The versioned array API of Graph; Graph holds the nodes, the counter and the events."""

    nodes: dict[str, Node]
    meta: dict
    _pending: dict[str, None]  # nodes updated quietly since the last commit_weights()

    def value(self, node: str) -> np.ndarray:
        """The value of an input, const or param node (by id or name), read-only."""
        nid = self.find(node)
        v = self.nodes[nid].tensors.get("value")
        if v is None:
            raise GraphError.named(self, [Problem(nid, None, f"node {self.nodes[nid].name!r} has no value")])
        return readonly(v)

    def weights(self, node_id: str) -> dict[str, np.ndarray]:
        """The node's trainable arrays, as read-only views (change them through set_weights or editing)."""
        node = self.node(node_id)
        spec = node.spec
        if spec is None:
            return {}
        return {w.name: readonly(node.tensors[w.name]) for w in spec.weights
                if w.trainable and w.name in node.tensors}

    def state(self, node_id: str) -> dict[str, np.ndarray]:
        """The node's non-trainable arrays (running means and the like), read-only views."""
        node = self.node(node_id)
        spec = node.spec
        if spec is None:
            return {}
        return {w.name: readonly(node.tensors[w.name]) for w in spec.weights
                if not w.trainable and w.name in node.tensors}

    def trainable(self) -> list[tuple[str, str]]:
        """(node id, weight name) of every trainable array, in node order."""
        out = []
        for node in self.nodes.values():
            spec = node.spec
            if spec is None:
                continue
            for w in spec.weights:
                if w.trainable and w.name in node.tensors:
                    out.append((node.id, w.name))
        return out

    def set_tensor(self, node_id: str, name: str, value: Any, check_shape: bool = False) -> None:
        node = self.node(node_id)
        arr = as_tensor(value, f"node {node.name!r} {name}")
        if check_shape and name in node.tensors and node.tensors[name].shape != arr.shape:
            raise GraphError.named(self, [Problem(node_id, None, f"{name} must have shape {node.tensors[name].shape}, "
                                                     f"got {arr.shape}")])
        old = node.tensors.get(name)
        node.tensors[name] = arr
        self._bump(node)
        # a new shape or dtype is a change that checks depend on (shapes, tensors against layers)
        self._touch(content=old is not None and old.shape == arr.shape and old.dtype == arr.dtype)
        self.node_changed.emit(node_id, f"tensor:{name}")
        if node.spec is not None and node.spec.source:
            try:
                self.materialize()
            except GraphError:  # the layers it feeds would not fit: the value is not taken
                if old is None:
                    node.tensors.pop(name, None)
                else:
                    node.tensors[name] = old
                self._bump(node)
                self._touch()
                self.node_changed.emit(node_id, f"tensor:{name}")
                raise

    def set_value(self, node_id: str, value: Any) -> None:
        """Set the value of an input, const or param node."""
        self.set_tensor(node_id, "value", value)

    def set_weights(self, node_id: str, **arrays: Any) -> None:
        """Replace weights of a layer; each shape must match the current one."""
        node = self.node(node_id)
        spec = node.spec
        for name, value in arrays.items():
            if spec is None or spec.weight(name) is None:
                raise GraphError.named(self, [Problem(node_id, None, f"{node.op} has no weight {name!r}")])
            if name in node.tensors:
                self.set_tensor(node_id, name, value, check_shape=True)
            else:
                self.set_tensor(node_id, name, value)

    def version_stamp(self) -> int:
        """A number above every node version given so far: a node whose version is above it has
        changed since (versions come from one counter and are never reused)."""
        return next(self._versions)

    def _bump(self, node: Node, params: bool = False) -> None:
        v = next(self._versions)
        node.version = v
        if params:
            node.params_version = v

    # ------------------------------------------------------- in-place edits
    @contextmanager
    def editing(self, node_id: str, quiet: bool = False) -> Iterator[dict[str, np.ndarray]]:
        """Edit a node's arrays in place: `with g.editing(nid) as arrays: arrays["W"] *= 0.5`.

        `arrays` maps each tensor name to a writable view of the node's own array: writes to its
        elements reach the node, while a change of the view's `shape` or `dtype` (which would make
        a kernel index past the buffer) cannot touch the node's array and is refused on exit
        (GraphError naming the node and the tensor). Binding a name to a new array
        (`arrays["W"] = ...`) is applied through set_value/set_weights' checks. On exit, even after
        an exception (part of the edit may have happened), the node gets a new version and
        node_changed("tensor:<name>") and changed are emitted; `quiet` bumps the version only and
        leaves the event to commit_weights() (a training loop edits every step)."""
        node = self.node(node_id)
        views = {k: _writable_view(a) for k, a in node.tensors.items()}
        arrays = dict(views)
        before = {k: _layout(v) for k, v in views.items()}
        try:
            yield arrays
        finally:
            self.mark_updated(node_id, None, emit=not quiet)
        self._apply_edits(node, views, before, arrays)

    def _apply_edits(self, node: Node, views: dict, before: dict, arrays: dict) -> None:
        """After an editing() block: refuse in-place layout changes and added or removed names,
        then apply the names bound to new arrays with set_value/set_weights' checks."""
        if arrays.keys() == views.keys() and all(_layout(v) == before[k] and arrays[k] is v
                                                 for k, v in views.items()):
            return  # the common case: only elements were written
        bad = []
        for k, v in views.items():
            now = _layout(v)
            if now != before[k]:
                what = ("its strides or flags" if now[:2] == before[k][:2] else
                        f"from shape {before[k][0]} {before[k][1]} to shape {now[0]} {now[1]}")
                bad.append(f"tensor {limits.excerpt(k)} was changed in place ({what}); assign a new "
                           "array instead (the node keeps its previous arrays)")
            if k not in arrays:
                bad.append(f"tensor {limits.excerpt(k)} was removed from the arrays of editing(); "
                           "a node's tensors cannot be deleted there")
        for k in arrays:
            if k not in views:
                bad.append(f"editing() cannot add tensor {limits.excerpt(k)}; "
                           "the node has " + (", ".join(sorted(views)) or "no tensors"))
        if bad:
            raise GraphError.named(self, [Problem(node.id, None, t, "tensor") for t in bad])
        rebound = {k: a for k, a in arrays.items() if a is not views[k]}
        if not rebound:
            return
        if node.spec is not None and node.spec.source:
            for k, a in rebound.items():
                self.set_tensor(node.id, k, a)
        else:
            self.set_weights(node.id, **rebound)

    def mark_updated(self, node_id: str, names: Iterable[str] | None = None, emit: bool = True) -> None:
        """Record that arrays of the node were changed in place by their owner (an optimizer step, an
        executor's batchnorm statistics): a new version, and node_changed("tensor:<name>") for each
        name (all the node's tensors when None) and changed; with emit=False only the version, and the
        node waits for commit_weights()."""
        node = self.nodes.get(node_id) or self.node(node_id)
        node.version = next(self._versions)  # _bump, inline: a training loop calls this every step
        self.data_version += 1
        if not emit:
            self._pending[node_id] = None
            return
        for name in (list(node.tensors) if names is None else names):
            self.node_changed.emit(node_id, f"tensor:{name}")
        self.changed.emit()

    def mark_updated_quiet(self, node_ids: tuple[str, ...]) -> None:
        """mark_updated(nid, emit=False) for each of the nodes at once: a training loop's per-step call."""
        nodes, versions, pending = self.nodes, self._versions, self._pending
        for nid in node_ids:
            (nodes.get(nid) or self.node(nid)).version = next(versions)
            pending[nid] = None
        self.data_version += 1

    def commit_weights(self, node_ids: Iterable[str] | None = None) -> tuple[str, ...]:
        """Announce a batch of in-place updates once: weights_changed(node ids) and changed.

        `node_ids` default to the nodes marked quietly (mark_updated(emit=False), editing(quiet=True))
        since the last commit. Returns the ids announced (nothing is emitted when there are none)."""
        if node_ids is None:
            ids = tuple(n for n in self._pending if n in self.nodes)
        else:
            ids = tuple(node_ids)
            for nid in ids:
                self._bump(self.node(nid))
        self._pending.clear()
        if not ids:
            return ids
        self.data_version += 1
        self.weights_changed.emit(ids)
        self.changed.emit()
        return ids

    # ------------------------------------------------------------ weights
    @contextmanager
    def weights_deferred(self) -> Iterator[None]:
        """Add many nodes at once (an ONNX import): weights are sized once at the end instead of
        after every add, which re-infers every shape and made a 3,000-node import take 15 s."""
        self._weights_deferred = True
        try:
            yield
        finally:
            self._weights_deferred = False
        self.materialize()

    def materialize(self) -> None:
        """Create or re-create layer weights whose shapes are now known (seeded).

        The bytes to draw are summed from the weight shapes first: over the memory budget
        (graphcore.limits) nothing is allocated and GraphError names the largest tensor."""
        if getattr(self, "_weights_deferred", False):
            return
        draws = self._pending_draws()
        if not draws:
            return
        self._check_draws(draws)
        for nid, w, want in draws:
            node = self.nodes[nid]
            try:
                node.tensors[w.name] = self._initial_weight(node, w, want)
            except MemoryError:
                raise GraphError.named(self, [Problem(nid, None, f"not enough memory for tensor {w.name!r} of "
                                                     f"{limits.excerpt(node.name)}, shape {want}", "memory")]) from None
            self._bump(node)
            self.node_changed.emit(nid, f"tensor:{w.name}")

    def _pending_draws(self) -> list[tuple[str, registry.WeightSpec, tuple]]:
        """(node id, weight, shape) of every layer weight that is missing or has the wrong shape."""
        shapes, _ = self.infer_shapes()
        out = []
        for nid, node in self.nodes.items():
            spec = node.spec
            if spec is None or not spec.weights:
                continue
            in_shapes = [shapes.get(e.src) if (e := self._in_edges.get((nid, p.name))) else None for p in spec.inputs]
            if any(s is None for s, p in zip(in_shapes, spec.inputs) if not p.optional):
                continue
            for w in spec.weights:
                if w.shape is None:
                    continue
                try:
                    want = tuple(int(d) for d in w.shape(node.params, in_shapes))
                except Exception:
                    continue
                have = node.tensors.get(w.name)
                if have is None or have.shape != want:
                    out.append((nid, w, want))
        return out

    def _check_draws(self, draws: list) -> None:
        """GraphError naming the largest tensor when the weights to draw (float64) exceed the budget."""
        sizes = [(math.prod(want) * 8, nid, w.name, want) for nid, w, want in draws]
        total = sum(n for n, *_ in sizes)
        budget = limits.memory_limit()
        if total <= budget:
            return
        n, nid, name, want = max(sizes)
        node = self.nodes[nid]
        raise GraphError.named(self, [Problem(nid, None, f"{node.op} {limits.excerpt(node.name)}: its tensor {name!r} of shape "
                                             f"{want} needs {limits.fmt_bytes(n)}"
                                             + (f" (all new weights {limits.fmt_bytes(total)})"
                                                if limits.fmt_bytes(total) != limits.fmt_bytes(n) else "")
                                             + f", over the memory budget of {limits.fmt_bytes(budget)} "
                                             "(--memory-limit, or Run > Memory limit in the app)", "memory")])

    def _initial_weight(self, node: Node, w: registry.WeightSpec, shape: tuple) -> np.ndarray:
        from .init import initialize

        init = node.params.get(f"init_{w.name}", node.params.get("init") if w.init not in ("zeros", "ones") else None)
        init = init or w.init
        fan = w.fan(shape) if w.fan else None
        rng = _seed_for(int(self.meta.get("seed", 0)), node.id, w.name)
        return initialize(init, shape, rng, fan=fan, **_init_kwargs(node.params))

    def reinitialize(self, seed: int | None = None) -> None:
        """Draw every layer weight afresh (seeded) and clear learned state."""
        if seed is not None:
            self.meta["seed"] = int(seed)
        for node in self.nodes.values():
            spec = node.spec
            if spec is None:
                continue
            for w in spec.weights:
                if w.shape is not None:
                    node.tensors.pop(w.name, None)
            self._bump(node)
        self.materialize()
        self._touch()


def _writable_view(a):
    """A view of the node's array for editing(): its elements are the node's, its shape and dtype its own."""
    return a.view() if isinstance(a, np.ndarray) else a


def _layout(a) -> tuple:
    """What a kernel trusts about an array, without copying it: shape, dtype, strides, writability.
    (Its buffer cannot be swapped in place; and the node's own array is not the view handed out.)"""
    if not isinstance(a, np.ndarray):
        return (None, type(a))
    return (a.shape, a.dtype, a.strides, a.flags.writeable)


def _init_kwargs(params: dict) -> dict:
    out = {}
    for key in ("init_scale", "init_value"):
        if params.get(key) is not None:
            out[key[5:]] = params[key]
    return out
