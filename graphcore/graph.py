"""The graph model: nodes, wires, and the structural edits that keep them consistent.

Every mutation validates first, then changes state, then emits an event, so a
view that mirrors the model (the Qt editor) never sees a half-applied edit.

Graph is put together from what it mixes: this module holds its state, its events and
the structural edits (add, remove, connect, rename, params); graph_queries the read-only
questions about structure (lookups, topological order, shapes, validation); graph_arrays
the versioned array API (values, weights, state, in-place edits, weight drawing);
graph_parts the plain Edge and Node. Every name is importable from here as before.

Versions: every change to a node's params or arrays gives the node a new
`version` (from one graph-wide counter, so a number is never reused); a param
change also a new `params_version`. Caches (the executor's) key on them.
"""
from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import numpy as np

from . import registry
from .events import Event
from .graph_arrays import GraphArrays
from .graph_parts import Edge, Node, as_tensor, readonly  # as_tensor, readonly: imported from here too
from .graph_queries import GraphQueries
from .limits import check_name
from .problems import GraphError, Problem


class Graph(GraphQueries, GraphArrays):
    """A computational graph. Node ids are stable strings; wires name their ports."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._in_edges: dict[tuple[str, str], Edge] = {}  # (dst, port) -> edge
        self.meta: dict = {"seed": 0}
        self.opt_state: dict[str, dict[str, np.ndarray]] = {}  # "node/weight" -> optimizer arrays
        # the file gc.load read this graph from (None when built in code): its folder is where the
        # graph's data paths start and may not leave (a file may come from someone else)
        self.file: str | None = None
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
            raise GraphError.named(self, [Problem(id, None, f"unknown op {op!r}")])
        if id is not None and id in self.nodes:
            raise GraphError.named(self, [Problem(id, None, f"a node with id {id!r} already exists")])
        for what, text in (("a node id", id), ("a node name", name)):
            why = check_name(text, what) if isinstance(text, str) else None
            if why:
                raise GraphError.named(self, [Problem(None, None, why)])
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
                raise GraphError.named(self, [Problem(nid, None, f"{op} has no parameter {key!r} (it has: {known})")])
            try:
                node.params[key] = pspec.validate(value)
            except ValueError as exc:
                raise GraphError.named(self, [Problem(nid, None, str(exc))]) from None
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
            self.materialize()
        except GraphError:
            self.remove(nid)
            raise
        return nid

    def insert_node(self, node: Node, position: int | None = None) -> None:
        """Insert a ready-made node (file loading, undo); the op may be unknown.

        `position` puts it at that index of the node order, so undoing a delete restores
        the exact order (node order decides topological ties and graph equality).
        """
        if node.id in self.nodes:
            raise GraphError.named(self, [Problem(node.id, None, f"a node with id {node.id!r} already exists")])
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
            raise GraphError.named(self, [Problem(dst, port, f"source node {src!r} does not exist")])
        if not adding and dst not in self.nodes:
            raise GraphError.named(self, [Problem(dst, port, f"target node {dst!r} does not exist")])
        spec = spec or self.nodes[dst].spec
        if spec is None:
            raise GraphError.named(self, [Problem(dst, port, f"unknown op {self.nodes[dst].op!r}")])
        if spec.port(port) is None:
            names = ", ".join(spec.input_names) or "no inputs"
            raise GraphError.named(self, [Problem(dst, port, f"{spec.name} has no input port {port!r} (it has {names})")])
        if adding:
            return
        if src == dst:
            raise GraphError.named(self, [Problem(dst, port, "a node cannot feed itself")])
        if (dst, port) in self._in_edges:
            raise GraphError.named(self, [Problem(dst, port, f"input {port!r} of {self.nodes[dst].name!r} is already wired; "
                                                 "an input port accepts one wire")])
        if self._reaches(dst, src):
            raise GraphError.named(self, [Problem(dst, port, f"wiring {self.nodes[src].name!r} into {self.nodes[dst].name!r} "
                                                 "would make a cycle")])

    def connect(self, src: str, dst: str, port: str, src_port: str = "out", check_shapes: bool = True) -> Edge:
        """Wire src's output into dst's input `port`; refuses cycles, occupied and unknown ports."""
        self._check_connect(src, dst, port)
        if check_shapes:
            _, problems = self.infer_shapes(extra_edge=Edge(src, dst, port))
            bad = [p for p in problems if p.node == dst and p.code in ("shape", "cycle")]
            if bad:
                raise GraphError.named(self, bad)
        edge = Edge(src, dst, port, src_port)
        self._in_edges[(dst, port)] = edge
        self.structure_version += 1
        self._touch()
        self.edge_added.emit(edge)
        try:
            self.materialize()
        except GraphError:  # the weights it sizes would not fit the memory budget
            self.disconnect(dst, port)
            raise
        return edge

    def disconnect(self, dst: str, port: str) -> Edge:
        """Remove the wire into dst's `port`; returns it."""
        edge = self._in_edges.pop((dst, port), None)
        if edge is None:
            raise GraphError.named(self, [Problem(dst, port, "no wire is connected there")])
        self.structure_version += 1
        self._touch()
        self.edge_removed.emit(edge)
        return edge

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if not isinstance(name, str) or not name.strip():
            raise GraphError.named(self, [Problem(node_id, None, "a name cannot be empty")])
        why = check_name(name.strip(), "a node name")
        if why:
            raise GraphError.named(self, [Problem(node_id, None, why)])
        node.name = name.strip()
        self._touch()
        self.node_changed.emit(node_id, "name")

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Validate and store one param; a tensor-valued name sets that array instead."""
        node = self.node(node_id)
        spec = node.spec
        if spec is None:
            raise GraphError.named(self, [Problem(node_id, None, f"unknown op {node.op!r}")])
        if spec.weight(name) is not None:
            self.set_tensor(node_id, name, value)
            return
        pspec = spec.param(name)
        if pspec is None:
            raise GraphError.named(self, [Problem(node_id, None, f"{node.op} has no parameter {name!r}")])
        missing = object()
        old = node.params.get(name, missing)
        try:
            node.params[name] = pspec.validate(value)
        except ValueError as exc:
            raise GraphError.named(self, [Problem(node_id, None, str(exc))]) from None
        self._bump(node, params=True)
        self._touch()
        self.node_changed.emit(node_id, f"param:{name}")
        try:
            self.materialize()
        except GraphError:  # the weights it sizes would not fit the memory budget: the old value stays
            if old is missing:
                node.params.pop(name, None)
            else:
                node.params[name] = old
            self._bump(node, params=True)
            self._touch()
            self.node_changed.emit(node_id, f"param:{name}")
            raise

    def set_op(self, node_id: str, op: str, params: dict | None = None) -> None:
        """Swap a node's op for a compatible one (relu -> leaky_relu or elu), keeping its wires.

        Compatible: the new op has every input port the node's wires enter and every output port its
        wires leave from, and neither op has weights (a swap never has to guess arrays). Params the
        new op shares keep their values, `params` overrides them, the rest take defaults."""
        node = self.node(node_id)
        spec, old_spec = registry.get(op), node.spec
        why = None
        if spec is None:
            why = f"unknown op {op!r}"
        elif old_spec is None or old_spec.weights or spec.weights or spec.source or old_spec.source:
            why = f"{node.op} cannot be swapped for {op}: only ops without weights or values swap"
        else:
            wired = [p for (dst, p) in self._in_edges if dst == node_id]
            outs = {e.src_port for e in self.out_edges(node_id)}
            missing = [p for p in wired if p not in spec.input_names] + [p for p in outs if p not in spec.outputs]
            if missing:
                why = f"{op} has no port {missing[0]!r}, which a wire of {node.name!r} uses"
        if why is not None:
            raise GraphError.named(self, [Problem(node_id, None, why)])
        new_params = {}
        try:
            for p in spec.params:
                given = (params or {}).get(p.name, node.params.get(p.name, p.default))
                new_params[p.name] = p.validate(given)
        except ValueError as exc:
            raise GraphError.named(self, [Problem(node_id, None, str(exc))]) from None
        unknown = sorted(set(params or {}) - {p.name for p in spec.params})
        if unknown:
            raise GraphError.named(self, [Problem(node_id, None, f"{op} has no parameter {unknown[0]!r}")])
        node.op, node.params = op, new_params
        self._bump(node, params=True)
        self.structure_version += 1  # the plan runs another op here
        self._touch()
        self.node_changed.emit(node_id, "op")

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

    # ------------------------------------------------------------ copying
    def copy(self) -> "Graph":
        g = Graph()
        g.meta = copy.deepcopy(self.meta)
        g.opt_state = {k: {n: a.copy() for n, a in st.items()} for k, st in self.opt_state.items()}
        g.file = self.file
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


__all__ = ["Edge", "Graph", "Node", "as_tensor", "readonly"]
