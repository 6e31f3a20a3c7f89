"""Load-time checks of the params a lesson's show-me actions set, against the op registry.

A `set_param` of a param the node's op does not have (or a value it refuses) used to surface only
when a student pressed "Show me"; the lesson's graphs are known when the file loads, so it is
refused there, naming the file, the JSON path, the node and the param. A node's op is the one in
the lesson's graphs, or one a `set_op` in the lesson gives it (the param may belong to either).
`set_op`'s params are checked against the op it sets.
"""
from __future__ import annotations

from typing import Iterable

from .. import registry
from ..graph import Graph
from ..limits import excerpt
from .errors import LessonFormatError


def _ops_by_name(lesson, graphs: Iterable[Graph]) -> dict[str, set[str]]:
    ops: dict[str, set[str]] = {}
    for graph in graphs:
        for node in graph.nodes.values():
            ops.setdefault(node.name, set()).add(node.op)
    for step in lesson.steps:
        for kind, arg in step.show_me:
            if kind == "set_op":
                ops.setdefault(arg["node"], set()).add(arg["op"])
    return ops


def _refusal(spec: registry.OpSpec, name: str, value) -> str | None:
    """Why `spec` refuses `name` = `value`, or None when it takes it."""
    if spec.weight(name) is not None:
        return None  # an array by name: Graph.set_param sets it with set_tensor's checks
    pspec = spec.param(name)
    if pspec is None:
        known = [p.name for p in spec.params] + [w.name for w in spec.weights]
        return f"{spec.name} has no param {excerpt(name)} (it has: {', '.join(known) or 'none'})"
    try:
        pspec.validate(value)
    except ValueError as exc:
        return str(exc)
    return None


def check_action_params(lesson, graphs: list[Graph]) -> None:
    """Raise LessonFormatError for a set_param or set_op param no op of that node can take."""
    ops = _ops_by_name(lesson, graphs)
    for i, step in enumerate(lesson.steps):
        for j, (kind, arg) in enumerate(step.show_me):
            path = f"steps[{i}].show_me[{j}].{kind}"
            if kind == "set_param":
                node, param = arg["node"], arg["param"]
                specs = [s for s in (registry.get(op) for op in sorted(ops.get(node, ()))) if s is not None]
                reasons = [r for r in (_refusal(s, param, arg["value"]) for s in specs) if r is not None]
                if specs and len(reasons) == len(specs):
                    raise LessonFormatError(f"node {excerpt(node)}, param {excerpt(param)}: " + "; ".join(reasons),
                                            f"{path}.param", file=lesson.file)
            elif kind == "set_op":
                spec = registry.get(arg["op"])
                for name, value in arg["params"].items():
                    why = _refusal(spec, name, value) if spec is not None else None
                    if why is not None:
                        raise LessonFormatError(f"node {excerpt(arg['node'])}, param {excerpt(name)}: {why}",
                                                f"{path}.params.{name}", file=lesson.file)
