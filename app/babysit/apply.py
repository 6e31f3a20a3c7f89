"""Apply a search's best trial to the document as one undo step: every regulariser node's strength
(through SetParamCommand, the graph's own set_param) and the Train form's learning rate and λ."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand

from graphcore.graph import Graph

from ..commands import SetParamCommand


class ApplySearchResultCommand(QUndoCommand):
    """`set_form(lr, reg)` puts the numbers in the Train form (the settings a run reads); undo puts
    the old ones back in the form and the graph."""

    def __init__(self, graph: Graph, lr: float, reg: float | None, old_lr: float, old_reg: float,
                 set_form: Callable[[float, float | None], None]) -> None:
        text = f"Apply search result (lr {lr:.3g}" + (f", λ {reg:.3g})" if reg is not None else ")")
        super().__init__(text)
        regs = [nid for nid, n in graph.nodes.items() if n.spec is not None and n.spec.category == "regularizers"]
        self.params = [SetParamCommand(graph, nid, "strength", float(reg)) for nid in regs] if reg is not None else []
        self.lr, self.reg, self.old_lr, self.old_reg = lr, reg, old_lr, old_reg
        self.set_form = set_form
        self.error = None  # GraphUndoStack writes its refusal here (a training run holds the graph)

    def redo(self) -> None:  # noqa: D401 (Qt name)
        for cmd in self.params:
            cmd.redo()
        self.set_form(self.lr, self.reg)

    def undo(self) -> None:  # noqa: D401 (Qt name)
        for cmd in reversed(self.params):
            cmd.undo()
        self.set_form(self.old_lr, self.old_reg)
