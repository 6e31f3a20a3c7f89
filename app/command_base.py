"""The base of every undo command: run a graphcore mutation, and keep the arrays it re-created.

Some mutations make graphcore re-create layer weights (wiring a new input shape, changing `units`).
`GraphCommand` records which arrays its first redo replaced and puts the old ones back on undo, so
undo/redo restores the exact graph. A mutation that graphcore refuses does not raise out of
`QUndoStack.push`: the command records `error` and marks itself obsolete, so the stack drops it
(`push_command` returns the message). The commands themselves are in app/commands.py.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack

from graphcore.graph import Graph
from graphcore.problems import GraphError


def _xy(pos: Any) -> tuple[float, float]:
    """(x, y) floats from a tuple, list or QPointF."""
    if hasattr(pos, "x") and callable(pos.x):
        return float(pos.x()), float(pos.y())
    x, y = pos
    return float(x), float(y)


def push_command(stack: QUndoStack, cmd: "GraphCommand") -> str | None:
    """Push and return None, or the reason graphcore refused the edit (nothing is pushed then)."""
    stack.push(cmd)
    return cmd.error


# ---------------------------------------------------------------- tensor bookkeeping
def _tensor_refs(graph: Graph) -> dict[str, dict[str, np.ndarray]]:
    return {nid: dict(n.tensors) for nid, n in graph.nodes.items()}


def _tensor_diff(before: dict, graph: Graph) -> dict[tuple[str, str], tuple]:
    """(node, name) -> (old array or None, new array or None) for arrays a mutation replaced."""
    diff = {}
    for nid, node in graph.nodes.items():
        old = before.get(nid)
        if old is None:
            continue
        for name in set(old) | set(node.tensors):
            a, b = old.get(name), node.tensors.get(name)
            if a is not b:
                diff[(nid, name)] = (a, b)
    return diff


def _apply_tensors(graph: Graph, diff: dict, index: int) -> None:
    """Put back side (0: before, 1: after) of a diff; source values first (they re-derive weights)."""
    def is_source(nid: str) -> bool:
        spec = graph.nodes[nid].spec
        return bool(spec and spec.source)

    items = [(k, v) for k, v in diff.items() if k[0] in graph.nodes]
    items.sort(key=lambda kv: not is_source(kv[0][0]))
    for (nid, name), pair in items:
        target = pair[index]
        node = graph.nodes[nid]
        if target is None:
            if name in node.tensors:
                del node.tensors[name]
                graph.node_changed.emit(nid, f"tensor:{name}")
                graph.changed.emit()
        elif node.tensors.get(name) is not target:
            graph.set_tensor(nid, name, target)
            node.tensors[name] = target  # the very array, so later diffs compare by identity


def merge_diffs(first: dict, second: dict) -> dict:
    """The diff of two edits merged into one undo step: each array's first old side, last new side."""
    out = dict(first)
    for k, (a, b) in second.items():
        out[k] = (first[k][0], b) if k in first else (a, b)
    return out


class GraphCommand(QUndoCommand):
    """Base: runs `_do`/`_undo` and keeps the arrays graphcore re-created in between. A subclass
    without both is refused when it is defined (QUndoCommand's metaclass rules out abc.ABC)."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in ("_do", "_undo") if not callable(getattr(cls, name, None))]
        if missing:
            raise TypeError(f"{cls.__name__} must define {' and '.join(missing)}")

    def __init__(self, graph: Graph, text: str) -> None:
        super().__init__(text)
        self.graph = graph
        self.error: str | None = None
        self._diff: dict | None = None

    def redo(self) -> None:
        before = _tensor_refs(self.graph) if self._diff is None else None
        try:
            self._do()
        except (GraphError, ValueError, KeyError) as exc:
            self.error = str(exc)
            self.setObsolete(True)
            return
        if self._diff is None:
            self._diff = _tensor_diff(before, self.graph)
        else:
            _apply_tensors(self.graph, self._diff, 1)

    def undo(self) -> None:
        if self.error is not None:
            return
        self._undo()
        if self._diff:
            _apply_tensors(self.graph, self._diff, 0)

