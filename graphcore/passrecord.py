"""A recorded pass: every StepEvent of graphcore's Executor.steps(), copied, so stepping can go back.

Qt-free, so the GUI's run controller and the headless lesson player record a pass the same way
(app.run.record re-exports it).

The executor reuses its buffers between passes, so each event's array is copied when it
is recorded; the GUI then moves a cursor over the list and never recomputes anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .executor import Executor
from .graph import Edge, Graph
from .problems import GraphError, NumericError


@dataclass
class Event:
    """One recorded step. `upstream` is the gate's output gradient when a backward event leaves it."""

    phase: str  # "forward", "seed", "backward"
    index: int
    node: str  # forward/seed: the node; backward: the wire's source (the node receiving the gradient)
    edge: Edge | None = None
    value: np.ndarray | None = None
    grad: np.ndarray | None = None
    upstream: np.ndarray | None = None

    def describe(self, graph: Graph) -> str:
        def name(nid: str) -> str:
            node = graph.nodes.get(nid)
            return node.name if node is not None else nid

        if self.phase == "forward":
            return f"forward: {name(self.node)}"
        if self.phase == "seed":
            return f"seed: d{name(self.node)}/d{name(self.node)} = 1"
        e = self.edge
        return f"backward: {name(e.dst)}.{e.dst_port} → {name(e.src)}"


@dataclass
class PassRecord:
    events: list[Event] = field(default_factory=list)
    target: str | None = None
    error: Exception | None = None  # NumericError / GraphError raised during the pass
    forward_end: int = -1  # index of the last forward event
    # where each thing becomes visible
    value_at: dict[str, int] = field(default_factory=dict)  # node id -> its forward event
    grad_at: dict[Edge, int] = field(default_factory=dict)  # wire -> its backward event
    seed_at: int | None = None
    upstream_at: dict[str, int] = field(default_factory=dict)  # gate id -> first backward event leaving it

    @property
    def total(self) -> int:
        return len(self.events)

    def value(self, nid: str, cursor: int) -> np.ndarray | None:
        k = self.value_at.get(nid)
        return self.events[k].value if k is not None and k <= cursor else None

    def edge_grad(self, edge: Edge, cursor: int) -> np.ndarray | None:
        k = self.grad_at.get(edge)
        return self.events[k].grad if k is not None and k <= cursor else None

    def seed_grad(self, cursor: int) -> np.ndarray | None:
        if self.seed_at is None or self.seed_at > cursor:
            return None
        return self.events[self.seed_at].grad

    def upstream(self, nid: str, cursor: int) -> np.ndarray | None:
        """The node's output gradient once the backward pass has left it (or the seed)."""
        if nid == self.target and self.seed_at is not None and self.seed_at <= cursor:
            return self.events[self.seed_at].grad
        k = self.upstream_at.get(nid)
        return self.events[k].upstream if k is not None and k <= cursor else None


def _copy(a) -> np.ndarray | None:
    return None if a is None else np.array(a, copy=True)


def record(ex: Executor, target: str | None, backward: bool = True) -> PassRecord:
    """Run a whole pass through ex.steps(), keeping a copy of every event.

    A NumericError or GraphError ends the record early and is kept in `.error` so the GUI
    can step up to the failure and then point at the node."""
    rec = PassRecord(target=target)
    try:
        for ev in ex.steps(target, backward=backward):
            e = Event(ev.phase, len(rec.events), ev.node, ev.edge, _copy(ev.value), _copy(ev.grad))
            if ev.phase == "forward":
                rec.value_at[ev.node] = e.index
                rec.forward_end = e.index
            elif ev.phase == "seed":
                rec.seed_at = e.index
                rec.target = ev.node
            else:
                e.upstream = _copy(ex.grads.get(ev.edge.dst))
                rec.grad_at[ev.edge] = e.index
                rec.upstream_at.setdefault(ev.edge.dst, e.index)
            rec.events.append(e)
    except (NumericError, GraphError) as exc:
        rec.error = exc
    return rec
