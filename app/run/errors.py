"""RunErrors: every way a pass can fail is said, with node names, in the status bar and the Problems
dock (a mixin of RunController); _Tracking places an error the executor did not foresee.
"""
from __future__ import annotations

import graphcore as gc
from graphcore import NumericError


class RunErrors:
    def _report_end(self, backward_wanted: bool = True) -> None:
        """At the last event: say why the pass stopped there (NaN/Inf, no single output)."""
        if self.rec is None or self._reported:
            return
        err = self.rec.error or (self._no_target if backward_wanted else None)
        if err is not None:
            self._reported = True
            self._report_error(err)

    def _report_error(self, exc: Exception | None) -> None:
        """Status bar and Problems dock, nodes named by their names (ids mean nothing to a user)."""
        if exc is None:
            return
        self.last_error = exc
        if isinstance(exc, NumericError):
            self.select_node.emit(exc.node)
            self.status_message.emit(f"{exc} — the node is selected")
            self.problems_found.emit([gc.Problem(exc.node, None, str(exc), "numeric")])
            return
        problems = list(getattr(exc, "problems", None) or [gc.Problem(None, None, str(exc))])
        nodes = [p.node for p in problems if p.node is not None]
        if nodes:
            self.select_node.emit(nodes[0])
        self.status_message.emit(f"Cannot run: {'; '.join(p.describe(self.graph) for p in problems)}")
        self.problems_found.emit(problems)

    def _report_unexpected(self, exc: Exception, tracked: "_Tracking") -> None:
        """An error the executor did not foresee (a kernel's ValueError, MemoryError...): said in full, with
        the node it happened at."""
        self.last_error = exc
        nid, where = tracked.where()
        name = self.graph.nodes[nid].name if nid in self.graph.nodes else None
        first = (str(exc).splitlines() or [""])[0]
        text = f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__
        if name is not None:
            text += f" ({where} {name!r})"
            self.select_node.emit(nid)
        self.status_message.emit(f"Cannot run: {text}")
        self.problems_found.emit([gc.Problem(nid if name is not None else None, None, text)])


class _Tracking:
    """The executor as record() sees it, counting its events so that an unexpected error can be placed."""

    def __init__(self, ex) -> None:
        self._ex = ex
        self.forward = 0
        self.last = None

    def __getattr__(self, name):
        return getattr(self._ex, name)

    def steps(self, *args, **kwargs):
        for ev in self._ex.steps(*args, **kwargs):
            self.last = ev
            if ev.phase == "forward":
                self.forward += 1
            yield ev

    def where(self) -> tuple[str | None, str]:
        """(node id, how to say it): the node whose forward was under way, or the last one the
        backward pass reached."""
        ev = self.last
        if ev is None or ev.phase == "forward":
            try:
                plan = self._ex.plan()
                return (plan[self.forward].nid if self.forward < len(plan) else None), "in the forward pass at node"
            except Exception:  # noqa: BLE001 - placing the error must not raise another
                return None, ""
        if ev.phase == "seed":
            return ev.node, "in the backward pass, from node"
        return ev.edge.src, "in the backward pass, after the gradient reached node"
