"""The GUI's lesson world: reads the open document, its run controller and scene; acts through
the same controllers and the undo stack the student uses, so every Show me edit is undoable and
emits the graph's events like a hand-made one."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QGraphicsItem

from graphcore.train.session import graph_reg_strength
from graphcore.lessons.world import RecordedState, World, absorb_chunk, absorb_eval, merged_training

from .. import commands as cmds
from ..canvas.nodes import NodeItem
from ..canvas.wires import EdgeItem


class GuiWorld(RecordedState, World):
    def __init__(self, window) -> None:
        self.window = window
        self.metrics: dict = {}
        self._stale = None  # the recorded pass the graph has changed under (a value edit keeps it shown)
        self.last_opened = None  # the document the lesson opened last (its graph the checks read)

    # ---------------------------------------------------------------- what the window shows
    @property
    def graph(self):
        return self.window.document.graph

    @property
    def controller(self):
        return self.window.run_view.controller

    def graph_changed(self) -> None:
        """Called on every graph change: the shown pass no longer describes the graph."""
        self._stale = self.controller.rec

    @property
    def record(self):
        rec = self.controller.rec
        return None if rec is None or rec is self._stale else rec

    @property
    def cursor(self) -> int:
        return self.controller.cursor

    def _executor(self):
        return self.controller.executor

    @property
    def selection(self):
        scene = self.window.scene
        if scene is None:
            return None
        items = scene.selectedItems()
        if len(items) != 1:
            return None
        it = items[0]
        if isinstance(it, NodeItem):
            return ("node", it.node_id)
        if isinstance(it, EdgeItem):
            return ("wire", f"{it.edge.dst}.{it.edge.dst_port}")
        return None

    # ---------------------------------------------------------------- actions
    def open_graph(self, graph, title: str) -> None:
        from ..document import Document

        doc = Document(graph, None, parent=self.window)
        doc.title_hint = title
        self.window.set_document(doc)
        self.last_opened = doc
        self.metrics = {}

    def _push(self, cmd) -> None:
        err = cmds.push_command(self.window.document.undo_stack, cmd)
        if err:
            raise ValueError(err)

    def set_value(self, node: str, value) -> None:
        self._push(cmds.SetValueCommand(self.graph, node, np.asarray(value, dtype=np.float64)))

    def set_param(self, node: str, name: str, value) -> None:
        self._push(cmds.SetParamCommand(self.graph, node, name, value))

    def set_op(self, node: str, op: str, params: dict) -> None:
        self._push(cmds.SetOpCommand(self.graph, node, op, params))

    def set_training(self, settings: dict) -> None:
        t = merged_training(self.graph.meta, settings)
        self.graph.meta["training"] = t
        ctrl = getattr(self.window, "train_controller", None)
        if ctrl is not None:
            self._load_dock(ctrl, t)

    def _load_dock(self, ctrl, training: dict) -> None:
        """The Train dock shows the settings the lesson trains with (λ is the graph's regulariser's)."""
        ctrl.dock.load_settings(training, reg_strength=graph_reg_strength(self.graph))

    def forward(self) -> None:
        self.controller.forward()

    def backward(self) -> None:
        self.controller.backward()

    def step_to(self, index: int | None) -> None:
        c = self.controller
        if index is None:
            c.backward()
            return
        if c.rec is None or c.rec is self._stale or c.cursor > index:
            c.reset()
        while c.cursor < index and c.step():
            pass

    def reset(self) -> None:
        self.controller.reset()

    def train(self, epochs: int) -> None:
        """A new run as the headless player makes it: the lesson's settings (graph.meta["training"],
        which set_training keeps) and the current weights (fresh weights are a `reinitialize`
        action). Waits, with the events flowing, until the run ends, so the next action of a
        Show me (a Forward after training) sees the trained weights."""
        ctrl = getattr(self.window, "train_controller", None)
        if ctrl is None:
            raise ValueError("the Train panel is not ready yet")
        if ctrl.is_running():
            raise ValueError("a training run is going on: Stop it first")
        self._load_dock(ctrl, merged_training(self.graph.meta, {"epochs": int(epochs)}))
        loop = QEventLoop()
        ctrl.running_changed.connect(loop.quit)
        try:
            if not ctrl.train(fresh=False, lesson=True):
                raise ValueError("training could not start (see the status bar)")
            while ctrl.is_running():
                loop.exec()
        finally:
            ctrl.running_changed.disconnect(loop.quit)

    def reinitialize(self, seed: int | None) -> None:
        """Fresh weights as one undoable edit; the next run starts afresh (its metrics too)."""
        self._push(cmds.ReinitializeCommand(self.graph, seed))
        self.metrics = {}
        self.controller.reset()

    def training_started(self) -> None:
        """A new run (the student's Train click or Show me): metrics describe this run."""
        self.metrics = {}
        ctrl = getattr(self.window, "train_controller", None)
        thread = getattr(ctrl, "thread", None)
        if thread is not None:
            thread.chunk.connect(self.training_chunk)

    def training_chunk(self, chunk: dict) -> None:
        absorb_chunk(self.metrics, chunk)

    def training_finished(self, result: dict) -> None:
        absorb_eval(self.metrics, result.get("final") or {})
        for k in ("steps", "epochs"):
            if isinstance(result.get(k), int):
                self.metrics[k] = result[k]

    def select(self, kind: str, node: str, port: str | None = None) -> None:
        scene = self.window.scene
        if kind == "node":
            self.window.select_and_centre(node)
            return
        item = scene.edge_item((node, port))
        scene.clearSelection()
        if item is not None:
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
            item.setSelected(True)
