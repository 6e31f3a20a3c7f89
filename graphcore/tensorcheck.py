"""Every array a kernel trusts is checked against what its layer declares, first.

A numba kernel indexes a layer's weights and state by the input's sizes: a batchnorm
whose running mean holds 1 element for 100,000 features makes it write past the array
(SIGSEGV), a linear bias of 1 element for 100,000 units makes it read whatever memory
follows. So on load (graphcore.fileformat) and again when a plan is built (the executor)
each weight and state tensor's shape, rank and dtype are compared with
`WeightSpec.shape(params, input_shapes)`, and a missing or undeclared tensor is refused,
naming the node and the tensor. The plan check also holds the plan to the memory budget
(graphcore.limits).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from . import limits
from .problems import GraphError, Problem

FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
VALUE_DTYPES = FLOAT_DTYPES + (np.dtype(np.int64), np.dtype(np.int32))


@dataclass(frozen=True)
class TensorProblem:
    node: str  # node id
    tensor: str
    who: str  # "linear node 'l'"
    text: str  # "tensor 'b' has shape (1,); ..."

    @property
    def message(self) -> str:
        return f"{self.who}: {self.text}"


def _shape(s) -> str:
    return str(tuple(int(d) for d in s))


def input_shapes(graph, nid: str, shapes: dict) -> list | None:
    """The node's input shapes from `shapes`, or None when a required one is unknown."""
    spec = graph.nodes[nid].spec
    out = []
    for p in spec.inputs:
        e = graph.input_edge(nid, p.name)
        s = shapes.get(e.src) if e is not None else None
        if s is None and not p.optional:
            return None
        out.append(s)
    return out


def node_problems(node, in_shapes: list | None) -> list[TensorProblem]:
    """What is wrong with one node's tensors for these input shapes (empty: nothing).

    With `in_shapes` None (an input not wired, or upstream shapes unknown) only what does not
    depend on them is checked: undeclared tensors, dtypes and a source's value."""
    spec = node.spec
    if spec is None:
        return []
    who = f"{spec.name} node {limits.excerpt(node.name)}"
    out: list[TensorProblem] = []
    declared = {w.name for w in spec.weights}
    for k in node.tensors:
        if k not in declared:
            have = ", ".join(sorted(declared)) or "none"
            out.append(TensorProblem(node.id, k, who, f"has no tensor {limits.excerpt(k)} (it has: {have})"))
    if spec.source:
        v = node.tensors.get("value")
        if v is None:
            out.append(TensorProblem(node.id, "value", who, "has no value"))
        elif not isinstance(v, np.ndarray) or v.dtype not in VALUE_DTYPES:
            out.append(TensorProblem(node.id, "value", who, f"value has dtype {getattr(v, 'dtype', type(v))}; "
                                                       "values must be float64, float32, int64 or int32"))
        return out
    for w in spec.weights:
        if w.shape is None:
            continue
        have = node.tensors.get(w.name)
        if have is not None and (not isinstance(have, np.ndarray) or have.dtype not in FLOAT_DTYPES):
            out.append(TensorProblem(node.id, w.name, who, f"tensor {w.name!r} has dtype "
                                                      f"{getattr(have, 'dtype', type(have).__name__)}; "
                                                      "layer weights and state must be float64 or float32"))
            continue
        if in_shapes is None:
            continue
        try:
            want = tuple(int(d) for d in w.shape(node.params, in_shapes))
        except Exception:  # noqa: BLE001 - the op's shape rule reports a bad input shape itself
            continue
        ins = " and ".join(_shape(s) for s in in_shapes if s is not None)
        if have is None:
            out.append(TensorProblem(node.id, w.name, who, f"tensor {w.name!r} is missing; for input {ins} "
                                                      f"it must have shape {_shape(want)}"))
        elif have.shape != want:
            what = "shape" if have.ndim == len(want) else \
                f"{have.ndim} dimension{'' if have.ndim == 1 else 's'}, shape"
            out.append(TensorProblem(node.id, w.name, who, f"tensor {w.name!r} has {what} {_shape(have.shape)}; "
                                                      f"for input {ins} it must have shape {_shape(want)}"))
    return out


def check_node(node, in_shapes: list) -> None:
    """GraphError naming the node and tensor when its tensors do not fit these input shapes: for a
    cache that re-checks one step when its arrays change (a set_param of a weight after the plan)."""
    bad = node_problems(node, in_shapes)
    if bad:
        raise GraphError([Problem(p.node, None, p.text, "tensor") for p in bad])


def graph_problems(graph, shapes: dict | None = None) -> list[TensorProblem]:
    """Every tensor problem of the graph; `shapes` are Graph.infer_shapes()'s (computed when None).

    A node whose own shape rule fails is not in `shapes`: its tensors are checked only for
    what does not depend on the input (the shape problem itself is reported by validate())."""
    if shapes is None:
        shapes, _ = graph.infer_shapes()
    out: list[TensorProblem] = []
    for nid, node in graph.nodes.items():
        if node.spec is None:
            continue
        ins = input_shapes(graph, nid, shapes) if nid in shapes or node.spec.source else None
        out.extend(node_problems(node, ins))
    return out


def empty_values(graph) -> list[TensorProblem]:
    """A source holding an empty array (an axis of length 0, which a file may declare): the ops
    have nothing to normalise, flatten or take the max of, so it is refused before they run."""
    out = []
    for nid, node in graph.nodes.items():
        spec = node.spec
        v = node.tensors.get("value") if spec is not None and spec.source else None
        if isinstance(v, np.ndarray) and v.size == 0:
            out.append(TensorProblem(nid, "value", f"{spec.name} node {limits.excerpt(node.name)}",
                                     f"value has shape {_shape(v.shape)}, an empty array; every axis needs "
                                     "at least one element"))
    return out


def check_plan(graph, dtype=np.float64, budget: int | None = None,
               rows: dict[str, int] | None = None) -> list[limits.NodeCost]:
    """At plan build, before any buffer exists: the tensors match their layers (GraphError naming
    the node and the tensor) and the plan fits the memory budget (GraphError naming the node,
    its shapes and the estimate). Returns each node's estimated cost.

    `rows` {source node id: n} sizes the plan for batches of n rows fed to those nodes
    (training) instead of the rows their values hold now."""
    if rows:
        with _batches(graph, rows):
            return check_plan(graph, dtype, budget)
    shapes, _ = graph.infer_shapes()
    bad = graph_problems(graph, shapes) + empty_values(graph)
    if bad:
        raise GraphError([Problem(p.node, None, p.text, "tensor") for p in bad])
    costs = limits.estimate(graph, shapes, dtype)
    limits.check_budget(costs, budget)
    return costs


@contextlib.contextmanager
def _batches(graph, rows: dict[str, int]):
    """Source values stand in as n-row arrays of zero strides (no memory) while shapes are worked out."""
    saved = {}
    try:
        for nid, n in rows.items():
            t = graph.nodes[nid].tensors
            v = t.get("value")
            if v is not None and v.ndim >= 1:
                saved[nid] = v
                t["value"] = np.broadcast_to(np.zeros((), v.dtype), (int(n),) + v.shape[1:])
        yield
    finally:
        for nid, v in saved.items():
            graph.nodes[nid].tensors["value"] = v
