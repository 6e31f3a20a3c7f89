"""The Train dock's GUI-only choices applied to the graph a run trains (initializer, fresh weights, the
regularisation strength), before the Trainer sees it; the babysitting tools apply them the same way."""
from __future__ import annotations

from ..graph import Graph


def prepare_graph(graph: Graph, gui: dict, seed: int) -> None:
    """Apply the dock's GUI-only choices to the worker's copy: initializer, fresh weights, L2 strength."""
    init = gui.get("init")
    if init:
        for node in graph.nodes.values():
            spec = node.spec
            if spec is not None and spec.param("init") is not None:
                graph.set_param(node.id, "init", init)
    if gui.get("fresh", True) or init:
        graph.opt_state.clear()
        graph.reinitialize(None if graph.meta.get("seed") == seed else seed)


def graph_reg_strength(graph: Graph) -> float | None:
    """The strength of the graph's first regulariser node (None when it has none)."""
    for n in graph.nodes.values():
        if n.spec is not None and n.spec.category == "regularizers":
            return float(n.params.get("strength", 0.0))
    return None


def apply_reg_strength(graph: Graph, training: dict, strength: float) -> dict:
    """Set the strength of every regulariser node; with none in the graph it becomes weight decay."""
    regs = [n for n in graph.nodes.values() if n.spec is not None and n.spec.category == "regularizers"]
    training = dict(training)
    if regs:
        for n in regs:
            graph.set_param(n.id, "strength", float(strength))
    else:
        opt = dict(training.get("optimizer") or {})
        opt["weight_decay"] = float(strength)
        training["optimizer"] = opt
    return training
