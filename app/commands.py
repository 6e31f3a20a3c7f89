"""Undo commands: every edit of the graph is one QUndoCommand calling a graphcore mutation.

Commands take the Graph and plain data (ids, names, numbers, JSON text), never
scene items, so they work without a canvas. Their base, GraphCommand (app/command_base.py),
turns a refused mutation into `error` (`push_command` returns it) and restores the
arrays graphcore re-created, so undo/redo restores the exact graph.
"""
from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtGui import QUndoCommand

from graphcore import fileformat
from graphcore.graph import Edge, Graph, Node
from graphcore.problems import GraphError

from .command_base import GraphCommand, _xy, merge_diffs, push_command

MERGE_SET_PARAM = 4101
MERGE_SET_VALUE = 4102


# ---------------------------------------------------------------- commands
class AddNodeCommand(GraphCommand):
    """Add one node at `pos` (its top-left in scene coordinates); redo re-inserts the same id."""

    def __init__(self, graph: Graph, op: str, pos, params: dict | None = None, name: str | None = None) -> None:
        super().__init__(graph, f"Add {op}")
        self.op = op
        self.pos = _xy(pos)
        self.params = dict(params or {})
        self.name = name
        self.node_id: str | None = None
        self._node: Node | None = None

    def _do(self) -> None:
        if self._node is None:
            x, y = self.pos
            self.node_id = self.graph.add(self.op, name=self.name, ui={"x": x, "y": y}, **self.params)
            self._node = self.graph.nodes[self.node_id]
        else:
            self.graph.insert_node(self._node)

    def _undo(self) -> None:
        self._node = self.graph.remove(self.node_id)


class RemoveNodesCommand(GraphCommand):
    """Delete nodes (with their wires) and optionally extra wires; undo restores all exactly."""

    def __init__(self, graph: Graph, ids: Iterable[str], edges: Iterable[Edge] = (), text: str | None = None) -> None:
        self.ids = [i for i in dict.fromkeys(ids)]
        self.extra_edges = list(edges)
        n, e = len(self.ids), len(self.extra_edges)
        if text is None:
            parts = ([f"{n} node" + ("s" if n != 1 else "")] if n else []) + \
                    ([f"{e} wire" + ("s" if e != 1 else "")] if e else [])
            text = "Delete " + " and ".join(parts or ["nothing"])
        super().__init__(graph, text)
        self._removed: list[tuple[int, Node]] = []
        self._edges: list[Edge] = []

    def _do(self) -> None:
        g = self.graph
        missing = [i for i in self.ids if i not in g.nodes]
        if missing:
            raise GraphError(f"no node with id {missing[0]!r}")
        doomed = set(self.ids)
        wires = [e for e in g.edges if e.src in doomed or e.dst in doomed]
        wires += [e for e in self.extra_edges if e not in wires and g.input_edge(e.dst, e.dst_port) == e]
        order = list(g.nodes)
        self._removed = sorted(((order.index(i), g.nodes[i]) for i in self.ids), key=lambda t: t[0])
        self._edges = wires
        for e in wires:
            g.disconnect(e.dst, e.dst_port)
        for i in self.ids:
            g.remove(i)

    def _undo(self) -> None:
        for position, node in self._removed:
            self.graph.insert_node(node, position=position)
        for e in self._edges:
            self.graph.insert_edge(e)


class ConnectCommand(GraphCommand):
    """Wire src's output into dst.port; an existing wire there is replaced and restored on undo."""

    def __init__(self, graph: Graph, src: str, dst: str, port: str, text: str = "Connect") -> None:
        super().__init__(graph, text)
        self.src, self.dst, self.port = src, dst, port
        self._old: Edge | None = None

    def _do(self) -> None:
        g = self.graph
        self._old = g.input_edge(self.dst, self.port)
        if self._old is not None:
            g.disconnect(self.dst, self.port)
        try:
            g.connect(self.src, self.dst, self.port)
        except GraphError:
            if self._old is not None:
                g.insert_edge(self._old)
            raise

    def _undo(self) -> None:
        self.graph.disconnect(self.dst, self.port)
        if self._old is not None:
            self.graph.insert_edge(self._old)


class DisconnectCommand(GraphCommand):
    """Remove the wire into dst.port."""

    def __init__(self, graph: Graph, dst: str, port: str, text: str = "Disconnect") -> None:
        super().__init__(graph, text)
        self.dst, self.port = dst, port
        self._edge: Edge | None = None

    def _do(self) -> None:
        self._edge = self.graph.disconnect(self.dst, self.port)

    def _undo(self) -> None:
        self.graph.insert_edge(self._edge)


class MoveNodesCommand(GraphCommand):
    """Move nodes: {id: (old_xy, new_xy)}; an old_xy of None means the node had no position yet."""

    allowed_while_locked = True  # positions are not what a training run reads

    def __init__(self, graph: Graph, moves: dict, text: str | None = None) -> None:
        n = len(moves)
        super().__init__(graph, text or (f"Move {n} nodes" if n != 1 else "Move node"))
        self.moves = {nid: (None if old is None else _xy(old), _xy(new)) for nid, (old, new) in moves.items()}

    def _set(self, nid: str, xy) -> None:
        if xy is None:
            node = self.graph.node(nid)
            node.ui.pop("x", None)
            node.ui.pop("y", None)
            self.graph.set_ui(nid)
        else:
            self.graph.set_ui(nid, x=xy[0], y=xy[1])

    def _do(self) -> None:
        for nid, (_, new) in self.moves.items():
            self._set(nid, new)

    def _undo(self) -> None:
        for nid, (old, _) in self.moves.items():
            self._set(nid, old)


class SetParamCommand(GraphCommand):
    """Set one param; consecutive edits of the same node and param merge into one undo step."""

    def __init__(self, graph: Graph, node_id: str, name: str, new_value: Any) -> None:
        node = graph.node(node_id)
        super().__init__(graph, f"Set {node.name}.{name}")
        self.node_id, self.name, self.new = node_id, name, new_value
        self.old = node.params.get(name)
        spec = node.spec
        self._tensor = spec is not None and spec.weight(name) is not None  # set_param then sets an array

    def id(self) -> int:
        return MERGE_SET_PARAM

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or (other.node_id, other.name) != (self.node_id, self.name):
            return False
        if other.error is not None:
            return False
        self.new = other.new
        self._diff = merge_diffs(self._diff or {}, other._diff or {})
        return True

    def _do(self) -> None:
        self.graph.set_param(self.node_id, self.name, self.new)

    def _undo(self) -> None:
        if not self._tensor:  # an array is put back by GraphCommand.undo from the recorded diff
            self.graph.set_param(self.node_id, self.name, self.old)


class SetValueCommand(GraphCommand):
    """Set the value of an input, const or param node; consecutive edits of one node merge."""

    def __init__(self, graph: Graph, node_id: str, value: Any) -> None:
        node = graph.node(node_id)
        super().__init__(graph, f"Set {node.name} value")
        self.node_id = node_id
        self.new = value
        self.old = node.tensors.get("value")

    def id(self) -> int:
        return MERGE_SET_VALUE

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetValueCommand) or other.node_id != self.node_id or other.error is not None:
            return False
        self.new = other.new
        self._diff = merge_diffs(self._diff or {}, other._diff or {})
        return True

    def _do(self) -> None:
        self.graph.set_value(self.node_id, self.new)

    def _undo(self) -> None:
        pass  # the recorded arrays (the old value included) are put back by GraphCommand.undo


class RenameCommand(GraphCommand):
    allowed_while_locked = True  # runs refer to nodes by id

    def __init__(self, graph: Graph, node_id: str, name: str) -> None:
        node = graph.node(node_id)
        super().__init__(graph, f"Rename {node.name} to {name}")
        self.node_id, self.new, self.old = node_id, name, node.name

    def _do(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def _undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


def _fresh_ids(graph: Graph, count: int) -> list[str]:
    out: list[str] = []
    k = len(graph.nodes)
    while len(out) < count:
        k += 1
        nid = f"n{k}"
        if nid not in graph.nodes:
            out.append(nid)
    return out


def _fresh_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem = name.rstrip("0123456789")
    digits = name[len(stem):]
    k = int(digits) + 1 if digits else 2
    stem = stem or name
    while f"{stem}{k}" in taken:
        k += 1
    return f"{stem}{k}"


class PasteCommand(GraphCommand):
    """Insert the nodes of a graph document (the clipboard's JSON) with fresh ids and names.

    Wires among the pasted nodes come along; positions move by `offset`. Raises
    GraphFormatError in the constructor when the text is not a graph, before anything changes.
    """

    def __init__(self, graph: Graph, json_text: str, offset=(30.0, 30.0), text: str = "Paste") -> None:
        super().__init__(graph, text)
        sub = fileformat.loads(json_text)
        dx, dy = _xy(offset)
        ids = _fresh_ids(graph, len(sub.nodes))
        mapping = dict(zip(sub.nodes, ids))
        taken = {n.name for n in graph.nodes.values()}
        self.nodes: list[Node] = []
        for old_id, node in sub.nodes.items():
            name = _fresh_name(node.name, taken)
            taken.add(name)
            ui = dict(node.ui)
            ui["x"] = float(ui.get("x", 0.0)) + dx
            ui["y"] = float(ui.get("y", 0.0)) + dy
            self.nodes.append(Node(mapping[old_id], node.op, name, node.params, node.tensors, ui))
        self.edges = [Edge(mapping[e.src], mapping[e.dst], e.dst_port, e.src_port) for e in sub.edges]
        self.new_ids = ids
        self.setText(f"{text} {len(ids)} node" + ("s" if len(ids) != 1 else ""))

    def _do(self) -> None:
        """All nodes and wires, or none: a wire graphcore refuses takes back what went in before it."""
        done_nodes: list[str] = []
        done_edges: list[Edge] = []
        try:
            for node in self.nodes:
                self.graph.insert_node(node)
                done_nodes.append(node.id)
            for e in self.edges:
                self.graph.insert_edge(e)
                done_edges.append(e)
        except GraphError as exc:
            for e in reversed(done_edges):
                self.graph.disconnect(e.dst, e.dst_port)
            for nid in reversed(done_nodes):
                self.graph.remove(nid)
            raise GraphError(self._why(exc)) from None

    def _why(self, exc: GraphError) -> str:
        """The refusal in node names (an unknown op first: its wires are what fails)."""
        for node in self.nodes:
            if node.spec is None:
                return f"node {node.name!r} has an unknown op {node.op[:40]!r}, so it and its wires cannot be pasted"
        return str(exc)

    def _undo(self) -> None:
        for e in self.edges:
            self.graph.disconnect(e.dst, e.dst_port)
        for nid in reversed(self.new_ids):
            self.graph.remove(nid)


__all__ = ["AddNodeCommand", "ConnectCommand", "DisconnectCommand", "GraphCommand", "MoveNodesCommand",
           "PasteCommand", "RemoveNodesCommand", "RenameCommand", "SetParamCommand", "SetValueCommand",
           "push_command"]


class ReinitializeCommand(GraphCommand):
    """Draw every layer's weights afresh from a seed (a lesson's `reinitialize`); undo puts the old
    weights (through the tensor diff), the optimizer state and the seed back."""

    def __init__(self, graph: Graph, seed: int | None, text: str = "Fresh weights") -> None:
        super().__init__(graph, text)
        self.seed = seed
        self._old_seed = graph.meta.get("seed")
        self._old_state = {k: dict(v) for k, v in graph.opt_state.items()}

    def _do(self) -> None:
        self.graph.opt_state.clear()
        self.graph.reinitialize(self.seed)

    def _undo(self) -> None:
        self.graph.meta["seed"] = self._old_seed
        self.graph.opt_state.clear()
        self.graph.opt_state.update({k: dict(v) for k, v in self._old_state.items()})


class SetOpCommand(GraphCommand):
    """Swap a node's op for a compatible one (Graph.set_op: wires kept); undo swaps it back."""

    def __init__(self, graph: Graph, node_id: str, op: str, params: dict | None = None) -> None:
        node = graph.node(node_id)
        super().__init__(graph, f"Make {node.name} {op}")
        self.node_id, self.op, self.params = node_id, op, dict(params or {})
        self._old = (node.op, dict(node.params))

    def _do(self) -> None:
        self.graph.set_op(self.node_id, self.op, self.params)

    def _undo(self) -> None:
        self.graph.set_op(self.node_id, *self._old)
