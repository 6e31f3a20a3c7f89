"""Structured problems: what is wrong and where, so the GUI can point at it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    node: str | None  # node id, or None for graph-wide problems
    port: str | None
    message: str
    code: str = "error"  # unknown_op, missing_input, bad_port, cycle, shape, no_value, numeric, error

    def __str__(self) -> str:
        return self.describe()

    def describe(self, graph=None) -> str:
        """"node 'fc1' port 'x': ..." naming the node as a person knows it (by its name, given the
        graph); the one wording the status bar, the Problems dock and the command line share."""
        where = ""
        if self.node is not None:
            where = f"node {node_label(graph, self.node)}"
            if self.port is not None:
                where += f" port {self.port!r}"
            where += ": "
        return where + self.message


def node_label(graph, nid: str | None) -> str:
    """A node by its name; the id is added only when the name is not unique (or the node unknown)."""
    node = graph.nodes.get(nid) if graph is not None and nid is not None else None
    if node is None:
        return repr(nid)
    same = sum(1 for n in graph.nodes.values() if n.name == node.name)
    return repr(node.name) if same == 1 else f"{node.name!r} (id {nid!r})"


class GraphError(ValueError):
    """An invalid graph or edit; carries the list of problems found."""

    def __init__(self, problems: list[Problem] | str, graph=None) -> None:
        """With `graph`, the message names each node by its name (ids only where names repeat)."""
        if isinstance(problems, str):
            problems = [Problem(None, None, problems)]
        self.problems = list(problems)
        self.graph = graph
        super().__init__("; ".join(p.describe(graph) for p in self.problems))

    def name_nodes(self, graph) -> "GraphError":
        """Word the message again with the nodes' names, when it was raised without the graph (by
        code that knows only ids: an op's rule, a shape check); returns self, to re-raise."""
        if self.graph is None and graph is not None and any(p.node is not None for p in self.problems):
            self.graph = graph
            self.args = ("; ".join(p.describe(graph) for p in self.problems),)
        return self

    @classmethod
    def named(cls, graph, problems: list[Problem]) -> "GraphError":
        return cls(problems, graph)


class NumericError(ArithmeticError):
    """A NaN or Inf appeared; names the first node that produced it."""

    def __init__(self, node: str, name: str, phase: str, what: str) -> None:
        self.node = node
        self.name = name
        self.phase = phase
        super().__init__(f"{what} in the {phase} pass at node {name!r} (id {node!r})")
