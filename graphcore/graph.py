"""The graph model: nodes, wires, and the mutations that keep them consistent.

Every mutation validates first, then changes state, then emits an event, so a
view that mirrors the model (the Qt editor) never sees a half-applied edit.

Versions: every change to a node's params or arrays gives the node a new
`version` (from one graph-wide counter, so a number is never reused); a param
change also a new `params_version`. Caches (the executor's) key on them.
Arrays handed out (`value`, `weights`, `state`) are read-only views; edit in
place with `with g.editing(nid) as arrays: arrays["W"] -= ...`, which bumps the
version on exit. Batched in-place updates (a training loop) call
`mark_updated(nid, emit=False)` once per step (a version bump, no event) and
`commit_weights()` once when they pause or end: one `weights_changed` event.
"""
from __future__ import annotations

import math

import copy
import itertools
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from . import registry
from .events import Event
from .limits import check_name
from .problems import GraphError, Problem
from .registry import ShapeError


@dataclass(frozen=True)
class Edge:
    """A wire from `src`'s output port to `dst`'s input port, by name, never index."""

    src: str
    dst: str
    dst_port: str
    src_port: str = "out"

    @property
    def key(self) -> str:
        return f"{self.src}.{self.src_port}->{self.dst}.{self.dst_port}"

    def __str__(self) -> str:
        return self.key


@dataclass
class Node:
    id: str
    op: str
    name: str
    params: dict = field(default_factory=dict)
    tensors: dict = field(default_factory=dict)  # value / weights / state arrays
    ui: dict = field(default_factory=dict)
    # bumped (from Graph's counter) by every change of params or tensors; params_version by params only
    version: int = field(default=0, compare=False, repr=False)
    params_version: int = field(default=0, compare=False, repr=False)

    @property
    def spec(self) -> registry.OpSpec | None:
        return registry.get(self.op)


def as_tensor(value: Any, what: str = "value") -> np.ndarray:
    """Turn a user value into an ndarray: floats stay float64, ints stay int64."""
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise GraphError(f"{what} is not a rectangular array of numbers: {exc}") from None
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind == "f":
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
    else:
        raise GraphError(f"{what} must be numbers, got dtype {arr.dtype}")
    return np.array(arr, copy=True)


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view: the public API hands these out, so no edit bypasses the versions."""
    if not isinstance(a, np.ndarray):  # a numpy scalar (0-d sums) is immutable already
        return a
    v = a.view()
    v.flags.writeable = False
    return v


def _seed_for(seed: int, node_id: str, weight: str) -> np.random.Generator:
    """A per-weight generator: the same seed and node id always give the same weights."""
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(f"{node_id}/{weight}".encode())])


class Graph:
    """A computational graph. Node ids are stable strings; wires name their ports."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._in_edges: dict[tuple[str, str], Edge] = {}  # (dst, port) -> edge
        self.meta: dict = {"seed": 0}
        self.opt_state: dict[str, dict[str, np.ndarray]] = {}  # "node/weight" -> optimizer arrays
        self._counter = 0
        self.structure_version = 0  # bumps when the topology changes
        self.data_version = 0  # bumps on any change (values, params, names)
        # bumps on every change except to array contents (params, names, nodes, wires): what shape rules
        # and name lookups depend on; a training loop's per-step weight updates leave it alone
        self.config_version = 0
        self._versions = itertools.count(1)  # node versions: never reused, even across remove/insert
        self._pending: dict[str, None] = {}  # nodes updated quietly since the last commit_weights()
        # events
        self.node_added = Event("node_id")
        self.node_removed = Event("node_id")
        self.edge_added = Event("edge")
        self.edge_removed = Event("edge")
        self.node_changed = Event("node_id", "what")  # what: "name", "param:<p>", "tensor:<t>", "ui"
        self.changed = Event()  # anything changed (for autosave, dirty flags)
        self.weights_changed = Event("node_ids")  # a batch of in-place array updates (commit_weights)

    # ------------------------------------------------------------------ queries
    @property
    def edges(self) -> list[Edge]:
        return list(self._in_edges.values())

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node with id {node_id!r}") from None

    def find(self, name: str) -> str:
        """The id of the node called `name` (ids work too)."""
        if name in self.nodes:
            return name
        hits = [n.id for n in self.nodes.values() if n.name == name]
        if not hits:
            raise GraphError(f"no node named {name!r}")
        if len(hits) > 1:
            raise GraphError(f"several nodes are named {name!r}: {', '.join(hits)}")
        return hits[0]

    def input_edge(self, node_id: str, port: str) -> Edge | None:
        return self._in_edges.get((node_id, port))

    def inputs_of(self, node_id: str) -> dict[str, str]:
        """port -> source node id for the node's connected inputs."""
        return {p: e.src for (n, p), e in self._in_edges.items() if n == node_id}

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self._in_edges.values() if e.src == node_id]

    def sinks(self) -> list[str]:
        used = {e.src for e in self._in_edges.values()}
        return [nid for nid in self.nodes if nid not in used]

    def value(self, node: str) -> np.ndarray:
        """The value of an input, const or param node (by id or name), read-only."""
        nid = self.find(node)
        v = self.nodes[nid].tensors.get("value")
        if v is None:
            raise GraphError([Problem(nid, None, f"node {self.nodes[nid].name!r} has no value")])
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

    # ------------------------------------------------------------ topology
    def topo_order(self) -> list[str]:
        """Kahn's algorithm, stable in insertion order; raises GraphError on a cycle."""
        order, cycle = self._topo()
        if cycle:
            raise GraphError([self._cycle_problem(cycle)])
        return order

    def _topo(self) -> tuple[list[str], list[str]]:
        indeg = {nid: 0 for nid in self.nodes}
        children: dict[str, list[str]] = {nid: [] for nid in self.nodes}
        for (dst, _), e in self._in_edges.items():
            if e.src in indeg and dst in indeg:
                indeg[dst] += 1
                children[e.src].append(dst)
        ready = [nid for nid, d in indeg.items() if d == 0]
        order: list[str] = []
        i = 0
        position = {nid: k for k, nid in enumerate(self.nodes)}
        while i < len(ready):
            nid = ready[i]
            i += 1
            order.append(nid)
            newly = []
            for c in children[nid]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    newly.append(c)
            newly.sort(key=position.__getitem__)
            ready.extend(newly)
        if len(order) == len(self.nodes):
            return order, []
        left = [nid for nid in self.nodes if nid not in set(order)]
        return order, self._find_cycle(left)

    def _find_cycle(self, candidates: list[str]) -> list[str]:
        cand = set(candidates)
        parents = {nid: [e.src for (d, _), e in self._in_edges.items() if d == nid and e.src in cand] for nid in cand}
        # walk backwards until a node repeats: the repeated stretch is a cycle
        start = candidates[0]
        seen: dict[str, int] = {}
        path: list[str] = []
        cur = start
        while cur not in seen:
            seen[cur] = len(path)
            path.append(cur)
            nxt = parents[cur]
            if not nxt:
                break
            cur = nxt[0]
        cycle = path[seen.get(cur, 0):]
        cycle.reverse()
        return cycle

    def _cycle_problem(self, cycle: list[str]) -> Problem:
        names = " -> ".join(self.nodes[n].name for n in cycle + cycle[:1])
        return Problem(cycle[0], None, f"the graph has a cycle: {names}", "cycle")

    def _reaches(self, src: str, dst: str) -> bool:
        """True if a path of wires leads from src to dst."""
        stack, seen = [src], set()
        while stack:
            cur = stack.pop()
            if cur == dst:
                return True
            if cur in seen:
                continue
            seen.add(cur)
            stack.extend(e.dst for e in self._in_edges.values() if e.src == cur)
        return False

    # ------------------------------------------------------------ mutations
    def _new_id(self, op: str) -> str:
        while True:
            self._counter += 1
            nid = f"n{self._counter}"
            if nid not in self.nodes:
                return nid

    def _default_name(self, op: str) -> str:
        taken = {n.name for n in self.nodes.values()}
        k = 1
        while f"{op}{k}" in taken:
            k += 1
        return f"{op}{k}"

    def add(self, op: str, name: str | None = None, inputs: dict[str, str] | None = None,
            id: str | None = None, ui: dict | None = None, **params: Any) -> str:
        """Add a node; keyword arguments are the op's params (and `value` for sources)."""
        spec = registry.get(op)
        if spec is None:
            raise GraphError([Problem(id, None, f"unknown op {op!r}")])
        if id is not None and id in self.nodes:
            raise GraphError([Problem(id, None, f"a node with id {id!r} already exists")])
        for what, text in (("a node id", id), ("a node name", name)):
            why = check_name(text, what) if isinstance(text, str) else None
            if why:
                raise GraphError([Problem(None, None, why)])
        nid = id or self._new_id(op)
        node = Node(nid, op, name or self._default_name(op), spec.default_params(), {}, dict(ui or {}))
        self._bump(node, params=True)
        tensors: dict[str, np.ndarray] = {}
        for key, value in params.items():
            if spec.weight(key) is not None:
                tensors[key] = as_tensor(value, f"node {node.name!r} {key}")
                continue
            pspec = spec.param(key)
            if pspec is None:
                known = ", ".join([p.name for p in spec.params] + [w.name for w in spec.weights]) or "none"
                raise GraphError([Problem(nid, None, f"{op} has no parameter {key!r} (it has: {known})")])
            try:
                node.params[key] = pspec.validate(value)
            except ValueError as exc:
                raise GraphError([Problem(nid, None, str(exc))]) from None
        if spec.source and "value" not in tensors:
            default = spec.param("value").default if spec.param("value") else 0.0
            tensors["value"] = as_tensor(0.0 if default is None else default)
        node.tensors.update(tensors)
        for port, src in (inputs or {}).items():
            self._check_connect(src, nid, port, spec=spec, adding=True)
        self.nodes[nid] = node
        self.structure_version += 1
        self._touch()
        self.node_added.emit(nid)
        try:
            for port, src in (inputs or {}).items():
                self.connect(src, nid, port, check_shapes=False)
        except GraphError:
            self.remove(nid)
            raise
        self.materialize()
        return nid

    def insert_node(self, node: Node, position: int | None = None) -> None:
        """Insert a ready-made node (file loading, undo); the op may be unknown.

        `position` puts it at that index of the node order, so undoing a delete restores
        the exact order (node order decides topological ties and graph equality).
        """
        if node.id in self.nodes:
            raise GraphError([Problem(node.id, None, f"a node with id {node.id!r} already exists")])
        self._bump(node, params=True)
        self.nodes[node.id] = node
        if position is not None and 0 <= position < len(self.nodes) - 1:
            items = list(self.nodes.items())
            items.insert(position, items.pop())
            self.nodes.clear()
            self.nodes.update(items)
        self.structure_version += 1
        self._touch()
        self.node_added.emit(node.id)

    def remove(self, node_id: str) -> Node:
        """Remove a node and its wires; returns the node (undo keeps it)."""
        node = self.node(node_id)
        for e in [e for e in self._in_edges.values() if e.src == node_id or e.dst == node_id]:
            self.disconnect(e.dst, e.dst_port)
        del self.nodes[node_id]
        self.structure_version += 1
        self._touch()
        self.node_removed.emit(node_id)
        return node

    def connection_problem(self, src: str, dst: str, port: str, check_shapes: bool = True) -> str | None:
        """Why src -> dst.port would be refused, or None if it is fine."""
        try:
            self._check_connect(src, dst, port)
        except GraphError as exc:
            return str(exc.problems[0].message)
        if check_shapes:
            shapes, problems = self.infer_shapes(extra_edge=Edge(src, dst, port))
            for p in problems:
                if p.node == dst:
                    return p.message
        return None

    def _check_connect(self, src: str, dst: str, port: str, spec=None, adding=False) -> None:
        if src not in self.nodes:
            raise GraphError([Problem(dst, port, f"source node {src!r} does not exist")])
        if not adding and dst not in self.nodes:
            raise GraphError([Problem(dst, port, f"target node {dst!r} does not exist")])
        spec = spec or self.nodes[dst].spec
        if spec is None:
            raise GraphError([Problem(dst, port, f"unknown op {self.nodes[dst].op!r}")])
        if spec.port(port) is None:
            names = ", ".join(spec.input_names) or "no inputs"
            raise GraphError([Problem(dst, port, f"{spec.name} has no input port {port!r} (it has {names})")])
        if adding:
            return
        if src == dst:
            raise GraphError([Problem(dst, port, "a node cannot feed itself")])
        if (dst, port) in self._in_edges:
            raise GraphError([Problem(dst, port, f"input {port!r} of {self.nodes[dst].name!r} is already wired; "
                                                 "an input port accepts one wire")])
        if self._reaches(dst, src):
            raise GraphError([Problem(dst, port, f"wiring {self.nodes[src].name!r} into {self.nodes[dst].name!r} "
                                                 "would make a cycle")])

    def connect(self, src: str, dst: str, port: str, src_port: str = "out", check_shapes: bool = True) -> Edge:
        """Wire src's output into dst's input `port`; refuses cycles, occupied and unknown ports."""
        self._check_connect(src, dst, port)
        if check_shapes:
            _, problems = self.infer_shapes(extra_edge=Edge(src, dst, port))
            bad = [p for p in problems if p.node == dst and p.code in ("shape", "cycle")]
            if bad:
                raise GraphError(bad)
        edge = Edge(src, dst, port, src_port)
        self._in_edges[(dst, port)] = edge
        self.structure_version += 1
        self._touch()
        self.edge_added.emit(edge)
        self.materialize()
        return edge

    def disconnect(self, dst: str, port: str) -> Edge:
        """Remove the wire into dst's `port`; returns it."""
        edge = self._in_edges.pop((dst, port), None)
        if edge is None:
            raise GraphError([Problem(dst, port, "no wire is connected there")])
        self.structure_version += 1
        self._touch()
        self.edge_removed.emit(edge)
        return edge

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if not isinstance(name, str) or not name.strip():
            raise GraphError([Problem(node_id, None, "a name cannot be empty")])
        why = check_name(name.strip(), "a node name")
        if why:
            raise GraphError([Problem(node_id, None, why)])
        node.name = name.strip()
        self._touch()
        self.node_changed.emit(node_id, "name")

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Validate and store one param; a tensor-valued name sets that array instead."""
        node = self.node(node_id)
        spec = node.spec
        if spec is None:
            raise GraphError([Problem(node_id, None, f"unknown op {node.op!r}")])
        if spec.weight(name) is not None:
            self.set_tensor(node_id, name, value)
            return
        pspec = spec.param(name)
        if pspec is None:
            raise GraphError([Problem(node_id, None, f"{node.op} has no parameter {name!r}")])
        try:
            node.params[name] = pspec.validate(value)
        except ValueError as exc:
            raise GraphError([Problem(node_id, None, str(exc))]) from None
        self._bump(node, params=True)
        self._touch()
        self.node_changed.emit(node_id, f"param:{name}")
        self.materialize()

    def set_tensor(self, node_id: str, name: str, value: Any, check_shape: bool = False) -> None:
        node = self.node(node_id)
        arr = as_tensor(value, f"node {node.name!r} {name}")
        if check_shape and name in node.tensors and node.tensors[name].shape != arr.shape:
            raise GraphError([Problem(node_id, None, f"{name} must have shape {node.tensors[name].shape}, "
                                                     f"got {arr.shape}")])
        old = node.tensors.get(name)
        node.tensors[name] = arr
        self._bump(node)
        # a new shape or dtype is a change that checks depend on (shapes, tensors against layers)
        self._touch(content=old is not None and old.shape == arr.shape and old.dtype == arr.dtype)
        self.node_changed.emit(node_id, f"tensor:{name}")
        if node.spec is not None and node.spec.source:
            self.materialize()

    def set_value(self, node_id: str, value: Any) -> None:
        """Set the value of an input, const or param node."""
        self.set_tensor(node_id, "value", value)

    def set_weights(self, node_id: str, **arrays: Any) -> None:
        """Replace weights of a layer; each shape must match the current one."""
        node = self.node(node_id)
        spec = node.spec
        for name, value in arrays.items():
            if spec is None or spec.weight(name) is None:
                raise GraphError([Problem(node_id, None, f"{node.op} has no weight {name!r}")])
            if name in node.tensors:
                self.set_tensor(node_id, name, value, check_shape=True)
            else:
                self.set_tensor(node_id, name, value)

    def set_ui(self, node_id: str, **ui: Any) -> None:
        """Positions are kept on the canvas a file may hold (uilimits), so a saved graph always loads."""
        from .uilimits import MAX_COORD

        node = self.node(node_id)
        for k in ("x", "y"):
            v = ui.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not -MAX_COORD <= v <= MAX_COORD:
                ui[k] = 0.0 if v != v else math.copysign(MAX_COORD, v)  # NaN to 0, beyond the edge to the edge
        node.ui.update(ui)
        self._touch()
        self.node_changed.emit(node_id, "ui")

    def _touch(self, content: bool = False) -> None:
        self.data_version += 1
        if not content:
            self.config_version += 1
        self.changed.emit()

    def _bump(self, node: Node, params: bool = False) -> None:
        v = next(self._versions)
        node.version = v
        if params:
            node.params_version = v

    # ------------------------------------------------------- in-place edits
    @contextmanager
    def editing(self, node_id: str, quiet: bool = False) -> Iterator[dict[str, np.ndarray]]:
        """Edit a node's arrays in place: `with g.editing(nid) as arrays: arrays["W"] *= 0.5`.

        `arrays` maps each tensor name to the node's own (writable) array. On exit, even after an
        exception (part of the edit may have happened), the node gets a new version and
        node_changed("tensor:<name>") and changed are emitted; `quiet` bumps the version only and
        leaves the event to commit_weights() (a training loop edits every step)."""
        node = self.node(node_id)
        try:
            yield dict(node.tensors)
        finally:
            self.mark_updated(node_id, None, emit=not quiet)

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

    # ---------------------------------------------------------- shapes/weights
    def infer_shapes(self, extra_edge: Edge | None = None) -> tuple[dict[str, tuple], list[Problem]]:
        """Shapes of every node's output from the current values, and the problems found."""
        edges = dict(self._in_edges)
        if extra_edge is not None:
            edges[(extra_edge.dst, extra_edge.dst_port)] = extra_edge
        problems: list[Problem] = []
        saved = self._in_edges
        self._in_edges = edges
        try:
            order, cycle = self._topo()
            if cycle:
                problems.append(self._cycle_problem(cycle))
            shapes: dict[str, tuple] = {}
            for nid in order:
                node = self.nodes[nid]
                spec = node.spec
                if spec is None:
                    continue
                if spec.source:
                    if "value" in node.tensors:
                        shapes[nid] = node.tensors["value"].shape
                    continue
                in_shapes = []
                ok = True
                for port in spec.inputs:
                    e = edges.get((nid, port.name))
                    if e is None or e.src not in shapes:
                        if not port.optional:
                            ok = False
                        in_shapes.append(None)
                    else:
                        in_shapes.append(shapes[e.src])
                if not ok:
                    continue
                try:
                    shapes[nid] = tuple(spec.shape(node.params, in_shapes))
                except ShapeError as exc:
                    problems.append(Problem(nid, exc.port, str(exc), "shape"))
                except Exception as exc:  # a shape rule must never crash the editor
                    problems.append(Problem(nid, None, f"cannot work out the output shape: {exc}", "shape"))
            return shapes, problems
        finally:
            self._in_edges = saved

    def materialize(self) -> None:
        """Create or re-create layer weights whose shapes are now known (seeded)."""
        shapes, _ = self.infer_shapes()
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
                    want = tuple(w.shape(node.params, in_shapes))
                except Exception:
                    continue
                have = node.tensors.get(w.name)
                if have is not None and have.shape == want:
                    continue
                node.tensors[w.name] = self._initial_weight(node, w, want)
                self._bump(node)
                self.node_changed.emit(nid, f"tensor:{w.name}")

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

    # ------------------------------------------------------------ checking
    def validate(self) -> list[Problem]:
        """Every problem in the graph, each naming its node and port."""
        problems: list[Problem] = []
        for nid, node in self.nodes.items():
            spec = node.spec
            if spec is None:
                problems.append(Problem(nid, None, f"unknown op {node.op!r}", "unknown_op"))
                continue
            for port in spec.inputs:
                if not port.optional and (nid, port.name) not in self._in_edges:
                    problems.append(Problem(nid, port.name, f"missing required input {port.name!r}", "missing_input"))
            if spec.source and "value" not in node.tensors:
                problems.append(Problem(nid, None, "has no value", "no_value"))
        for (dst, port), e in self._in_edges.items():
            if e.src not in self.nodes:
                problems.append(Problem(dst, port, f"wired from missing node {e.src!r}", "bad_port"))
            if dst not in self.nodes:
                problems.append(Problem(dst, port, f"wire into missing node {dst!r}", "bad_port"))
                continue
            spec = self.nodes[dst].spec
            if spec is not None and spec.port(port) is None:
                problems.append(Problem(dst, port, f"{spec.name} has no input port {port!r}", "bad_port"))
        _, shape_problems = self.infer_shapes()
        problems.extend(shape_problems)
        return problems

    # ------------------------------------------------------------ copying
    def copy(self) -> "Graph":
        g = Graph()
        g.meta = copy.deepcopy(self.meta)
        g.opt_state = {k: {n: a.copy() for n, a in st.items()} for k, st in self.opt_state.items()}
        g._counter = self._counter
        for n in self.nodes.values():
            g.nodes[n.id] = Node(n.id, n.op, n.name, copy.deepcopy(n.params),
                                 {k: v.copy() for k, v in n.tensors.items()}, copy.deepcopy(n.ui))
        g._in_edges = dict(self._in_edges)
        return g

    def insert_edge(self, edge: Edge) -> None:
        """Re-insert a wire exactly (undo, file loading): no shape checks."""
        self._check_connect(edge.src, edge.dst, edge.dst_port)
        self._in_edges[(edge.dst, edge.dst_port)] = edge
        self.structure_version += 1
        self._touch()
        self.edge_added.emit(edge)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        if list(self.nodes) != list(other.nodes) or self.meta != other.meta:
            return False
        for nid, a in self.nodes.items():
            b = other.nodes[nid]
            if (a.op, a.name, a.params, a.ui) != (b.op, b.name, b.params, b.ui):
                return False
            if set(a.tensors) != set(b.tensors):
                return False
            for k, v in a.tensors.items():
                w = b.tensors[k]
                if v.dtype != w.dtype or v.shape != w.shape or not np.array_equal(v, w, equal_nan=True):
                    return False
        return set(self._in_edges.values()) == set(other._in_edges.values())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes, {len(self._in_edges)} wires>"


def _init_kwargs(params: dict) -> dict:
    out = {}
    for key in ("init_scale", "init_value"):
        if params.get(key) is not None:
            out[key[5:]] = params[key]
    return out
