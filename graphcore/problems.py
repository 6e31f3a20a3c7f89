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
        where = ""
        if self.node is not None:
            where = f"node {self.node!r}"
            if self.port is not None:
                where += f" port {self.port!r}"
            where += ": "
        return where + self.message


class GraphError(ValueError):
    """An invalid graph or edit; carries the list of problems found."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, None, problems)]
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class NumericError(ArithmeticError):
    """A NaN or Inf appeared; names the first node that produced it."""

    def __init__(self, node: str, name: str, phase: str, what: str) -> None:
        self.node = node
        self.name = name
        self.phase = phase
        super().__init__(f"{what} in the {phase} pass at node {name!r} (id {node!r})")
