"""The headless world: graphcore's Graph, Executor and Trainer, no Qt (the CLI and tests play here)."""
from __future__ import annotations

from typing import Any

from ..executor import Executor
from ..graph import Graph
from ..passrecord import record
from .world import RecordedState, World, absorb_eval, absorb_step, merged_training


class HeadlessWorld(RecordedState, World):
    def __init__(self, graph: Graph | None = None) -> None:
        self.graph = graph if graph is not None else Graph()
        self.record = None
        self.cursor = -1
        self.metrics: dict = {}
        self.selection = None
        self._ex: Executor | None = None
        self._trainer = None
        self.title = ""

    def _executor(self) -> Executor:
        if self._ex is None or self._ex.graph is not self.graph:
            self._ex = Executor(self.graph, mode="eval")
        return self._ex

    def _changed(self) -> None:
        """An edit: the shown pass no longer describes the graph (the GUI clears its labels too)."""
        self.record, self.cursor = None, -1

    # ---------------------------------------------------------------- actions
    def open_graph(self, graph: Graph, title: str) -> None:
        self.graph, self.title = graph, title
        self._ex = self._trainer = None
        self.metrics, self.selection = {}, None
        self._changed()

    def set_value(self, node: str, value) -> None:
        self.graph.set_value(node, value)
        self._trainer = None
        self._changed()

    def set_param(self, node: str, name: str, value: Any) -> None:
        self.graph.set_param(node, name, value)
        self._trainer = None
        self._changed()

    def set_op(self, node: str, op: str, params: dict) -> None:
        self.graph.set_op(node, op, params)
        self._trainer = None
        self._changed()

    def set_training(self, settings: dict) -> None:
        self.graph.meta["training"] = merged_training(self.graph.meta, settings)
        self._trainer = None

    def _record(self) -> None:
        self.record = record(self._executor(), None)
        if self.record.error is not None:
            raise self.record.error

    def forward(self) -> None:
        self._record()
        self.cursor = self.record.forward_end

    def backward(self) -> None:
        self._record()
        self.cursor = self.record.total - 1

    def step_to(self, index: int | None) -> None:
        if self.record is None:
            self._record()
        last = self.record.total - 1
        self.cursor = last if index is None else max(-1, min(int(index), last))

    def reset(self) -> None:
        self._changed()

    def train(self, epochs: int) -> None:
        from ..train.trainer import Trainer

        # one run per train action, from the current weights, like each Train click in the app:
        # metrics (steps, initial_loss...) describe this run
        self.metrics = {}
        self._trainer = Trainer(self.graph, on_step=lambda m: absorb_step(self.metrics, m),
                                on_epoch=lambda m: absorb_eval(self.metrics, m))
        result = self._trainer.run(epochs)
        absorb_eval(self.metrics, result.final)
        self.metrics["steps"] = self._trainer.steps_done
        self.metrics["epochs"] = self._trainer.epochs_done
        self._changed()

    def select(self, kind: str, node: str, port: str | None = None) -> None:
        self.selection = (kind, node if kind == "node" else f"{node}.{port}")
