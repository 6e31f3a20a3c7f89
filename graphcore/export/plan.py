"""What every code exporter needs to know about a graph: order, target, shapes, names, arrays.

One forward pass in eval mode (the mode of `main.py run`) checks the graph and gives every node's
shape; names come from graphcore.export.names, so no node name reaches generated code raw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..executor import Executor
from ..problems import GraphError
from .coderule import CodeRule, render
from .names import Namer

SMALL = 12  # arrays up to this many elements are written into the code; larger ones go to the .npz


class ExportError(ValueError):
    """The graph cannot be exported; the message names the node and says why."""


def pick_target(graph, target: str | None = None) -> str:
    """The node to backpropagate from: `target`, else the only sink, else the one loss among the sinks."""
    if target is not None:
        return graph.find(target)
    sinks = graph.sinks()
    if len(sinks) == 1:
        return sinks[0]
    losses = [s for s in sinks if (sp := graph.nodes[s].spec) is not None and sp.category == "losses"]
    if len(losses) == 1:
        return losses[0]
    names = ", ".join(repr(graph.nodes[s].name) for s in sinks[:8])
    raise ExportError(f"the graph has {len(sinks)} outputs ({names}) and no single loss among them: "
                      "name the one to export with --target")


@dataclass
class ExportPlan:
    graph: object
    order: list[str]  # topological, the executor's plan order
    target: str
    values: dict[str, np.ndarray]  # eval-mode forward values, by node id
    var: dict[str, str] = field(default_factory=dict)  # node id -> variable of its value
    dvar: dict[str, str] = field(default_factory=dict)  # node id -> variable of its gradient
    wvar: dict[tuple[str, str], str] = field(default_factory=dict)  # (node id, weight) -> variable
    namer: Namer = field(default_factory=Namer)

    def spec(self, nid: str):
        return self.graph.nodes[nid].spec

    def rule(self, nid: str) -> CodeRule:
        spec = self.spec(nid)
        if not isinstance(spec.code, CodeRule):
            raise ExportError(f"node {self.graph.nodes[nid].name!r}: op {spec.name!r} declares no code rule")
        return spec.code

    def integer(self, nid: str) -> bool:
        return self.values[nid].dtype.kind in "iub"

    def weights(self, nid: str) -> list[str]:
        """The node's own arrays, in declaration order (sources: none, their value is the node)."""
        spec, node = self.spec(nid), self.graph.nodes[nid]
        return [] if spec.source else [w.name for w in spec.weights if w.name in node.tensors]

    def array(self, nid: str, weight: str) -> np.ndarray:
        return np.asarray(self.graph.nodes[nid].tensors[weight])

    def targets(self, nid: str) -> list[tuple[str, str]]:
        """(node id, weight) pairs a regularizer penalises (empty for every other op)."""
        spec = self.spec(nid)
        if spec.category != "regularizers":
            return []
        from ..ops.regularizers import resolve_targets

        wired = self.graph.input_edge(nid, "x") is not None
        return resolve_targets(self.graph, self.graph.nodes[nid].params, wired, nid)

    def mapping(self, nid: str, names: dict[str, str] | None = None) -> dict:
        """The names a code rule's templates use: ports, weights, out, g, params, _params, _targets."""
        names = names or {}
        node, spec = self.graph.nodes[nid], self.spec(nid)
        m: dict = {p.name: repr(v) for p, v in ((spec.param(k), v) for k, v in node.params.items()) if p is not None}
        for port in spec.inputs:
            e = self.graph.input_edge(nid, port.name)
            m[port.name] = names.get(e.src, self.var[e.src]) if e else None
        for w in self.weights(nid):
            m[w] = names.get((nid, w), self.wvar[(nid, w)])
        m["out"] = self.var[nid]
        m["g"] = self.dvar.get(nid, "")
        m["_params"] = dict(node.params)
        m["_targets"] = [names.get(t, self.wvar[t]) for t in self.targets(nid)]
        return m

    def forward_text(self, nid: str, torch: bool = False, names: dict | None = None) -> str:
        rule = self.rule(nid)
        template = rule.torch if torch and rule.torch is not None else rule.numpy
        return render(template, self.mapping(nid, names))


def build_plan(graph, target: str | None = None, grads: bool = True) -> ExportPlan:
    """Check the graph by running it once (eval mode) and name every value, gradient and weight."""
    try:
        ex = Executor(graph, mode="eval")
        ex.forward()
    except GraphError as exc:
        raise ExportError(f"the graph does not run, so it cannot be exported: {exc}") from None
    order = graph.topo_order()
    plan = ExportPlan(graph, order, pick_target(graph, target), {n: np.array(ex.values[n]) for n in order})
    for nid in order:
        plan.rule(nid)  # every op must have one: refuse before writing anything
        plan.var[nid] = plan.namer.new(graph.nodes[nid].name)
    for nid in order:
        for w in plan.weights(nid):
            plan.wvar[(nid, w)] = plan.namer.new(f"{plan.var[nid]}_{w}")
    if grads:
        for nid in order:
            if not plan.integer(nid):
                plan.dvar[nid] = plan.namer.new("d" + plan.var[nid])
        for key, v in list(plan.wvar.items()):
            plan.dvar[key] = plan.namer.new("d" + v)
    return plan


def literal(a: np.ndarray) -> str:
    """A small array as exact Python source (repr of each float round-trips)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return repr(a.item()) if a.dtype.kind != "f" else _float(float(a))
    dtype = ", dtype=np.int64" if a.dtype.kind in "iu" else (", dtype=bool" if a.dtype.kind == "b" else "")
    if a.dtype.kind == "f" and not np.isfinite(a).all():  # repr gives inf / nan: names, not numbers
        return f"np.array({_nested(a.tolist())}{dtype})"
    return f"np.array({a.tolist()!r}{dtype})"


def _float(x: float) -> str:
    """Python source for a float; inf and nan (whose repr is not source) spelled as float('inf')."""
    if x != x:
        return "float('nan')"
    if x in (float("inf"), float("-inf")):
        return "float('inf')" if x > 0 else "-float('inf')"
    return repr(x)


def _nested(v) -> str:
    return "[" + ", ".join(_nested(x) for x in v) + "]" if isinstance(v, list) else _float(v)
