"""The world a lesson acts on and reads: a graph, its recorded pass, a training run, a selection.

`World` declares what a show-me action may do; `RecordedState` answers what a check may read
from the parts every world has (graph, recorded pass and cursor, executor, metrics, selection).
HeadlessWorld (headless.py) implements the actions with graphcore alone; the GUI's world
(app/lessons) through the app's controllers and undo stack.
"""
from __future__ import annotations

import abc
from typing import Any

import numpy as np

from ..graph import Graph
from ..passrecord import PassRecord


class World(abc.ABC):
    """What show-me actions call. Node arguments are ids (the player resolves names). Every world
    implements every action: a world missing one cannot be made (abc refuses it)."""

    graph: Graph

    @abc.abstractmethod
    def open_graph(self, graph: Graph, title: str) -> None:
        ...

    @abc.abstractmethod
    def set_value(self, node: str, value: np.ndarray) -> None:
        ...

    @abc.abstractmethod
    def set_param(self, node: str, name: str, value: Any) -> None:
        ...

    @abc.abstractmethod
    def set_op(self, node: str, op: str, params: dict) -> None:
        """Swap the node's op for a compatible one, its wires kept (Graph.set_op)."""
        ...

    @abc.abstractmethod
    def set_training(self, settings: dict) -> None:
        """Merge settings into graph.meta["training"]: lr, optimizer, batch_size, epochs, seed."""
        ...

    @abc.abstractmethod
    def forward(self) -> None:
        ...

    @abc.abstractmethod
    def backward(self) -> None:
        ...

    @abc.abstractmethod
    def step_to(self, index: int | None) -> None:
        """Show the pass up to event `index` (None: its last event)."""
        ...

    @abc.abstractmethod
    def reset(self) -> None:
        ...

    @abc.abstractmethod
    def train(self, epochs: int) -> None:
        ...

    @abc.abstractmethod
    def select(self, kind: str, node: str, port: str | None = None) -> None:
        ...


def merged_training(meta: dict, settings: dict) -> dict:
    """graph.meta["training"] with a lesson's flat settings applied (a new dict)."""
    t = dict(meta.get("training") or {})
    opt = dict(t.get("optimizer") or {"kind": "sgd", "lr": 1e-2})
    for k, v in settings.items():
        if k == "optimizer":
            opt["kind"] = v
        elif k in ("lr", "momentum", "beta1", "beta2"):
            opt[k] = v
        elif k == "patience":  # early stopping on the validation loss (restores the best weights)
            t["early_stopping"] = {"patience": int(v)}
        else:
            t[k] = v
    t["optimizer"] = opt
    return t


class RecordedState:
    """checks.State from graph + recorded pass + cursor + executor + metrics + selection."""

    graph: Graph
    record: PassRecord | None
    cursor: int
    metrics: dict
    selection: tuple[str, str] | None  # ("node", id) | ("wire", "id.port")

    @abc.abstractmethod
    def _executor(self):
        """The executor whose last pass the checks read (the headless one, or the GUI's run controller's)."""

    def node_id(self, name: str) -> str | None:
        for nid, n in self.graph.nodes.items():
            if n.name == name:
                return nid
        return name if name in self.graph.nodes else None

    def value(self, node: str):
        """A source's (input, const) value is the graph's own, shown or not; any other node's is
        the shown pass's (None before the pass reaches it)."""
        n = self.graph.nodes.get(node)
        if n is not None and n.spec is not None and n.spec.source and "value" in n.tensors:
            return n.tensors["value"]
        rec = self.record
        return None if rec is None else rec.value(node, self.cursor)

    def wire_grad(self, node: str, port: str):
        rec, edge = self.record, self.graph.input_edge(node, port)
        return None if rec is None or edge is None else rec.edge_grad(edge, self.cursor)

    def grad(self, node: str):
        """The node's output gradient once every wire leaving it has carried its share back."""
        rec = self.record
        if rec is None:
            return None
        if node == rec.target:
            return rec.seed_grad(self.cursor)
        parts = [rec.edge_grad(e, self.cursor) for e in self.graph.out_edges(node) if e in rec.grad_at]
        if not parts or any(p is None for p in parts):
            return None
        return sum(parts[1:], np.array(parts[0], dtype=np.float64))

    def weight(self, node: str, weight: str, grad: bool):
        n = self.graph.nodes.get(node)
        if n is None or weight not in n.tensors:
            return None
        if not grad:
            return n.tensors[weight]
        if not self.has("grads"):
            return None
        try:
            return self._executor().weight_grad(node, weight)
        except (KeyError, ValueError, RuntimeError):
            return None

    def param(self, node: str, name: str):
        n = self.graph.nodes.get(node)
        v = None if n is None else n.params.get(name)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def metric(self, name: str):
        group, _, layer = name.partition(".")
        if layer:
            return (self.metrics.get(group) or {}).get(layer)
        return self.metrics.get(name)

    def position(self) -> tuple[str, int, int, int]:
        rec = self.record
        if rec is None or self.cursor < 0:
            return ("none", -1, 0 if rec is None else rec.total, 0 if rec is None else rec.forward_end + 1)
        if self.cursor >= rec.total - 1 and rec.seed_at is not None:
            phase = "done"
        else:
            phase = "forward" if self.cursor <= rec.forward_end else "backward"
        return (phase, self.cursor, rec.total, rec.forward_end + 1)

    def selected(self):
        sel = self.selection
        if sel is None:
            return None
        kind, ref = sel
        nid, _, port = ref.partition(".") if kind == "wire" else (ref, "", "")
        n = self.graph.nodes.get(nid)
        if n is None:
            return None
        return (kind, n.name if kind == "node" else f"{n.name}.{port}")

    def has(self, what: str) -> bool:
        rec = self.record
        if what == "training":
            return bool(self.metrics.get("steps"))
        if rec is None or self.cursor < 0:
            return False
        if what == "values":
            return self.cursor >= rec.forward_end
        return rec.seed_at is not None and self.cursor >= rec.total - 1


def absorb_step(metrics: dict, m: dict) -> None:
    """Fold a trainer's per-step metrics dict into a lesson's metrics (the GUI relays the same dicts)."""
    for k in ("loss", "data_loss", "reg_loss", "acc", "lr"):
        if m.get(k) is not None:
            metrics[k] = float(m[k])
    if "initial_loss" not in metrics and m.get("loss") is not None:
        metrics["initial_loss"] = float(m["loss"])
    metrics["steps"] = metrics.get("steps", 0) + 1 if m.get("step") is None else int(m["step"])
    for k in ("dead_relu", "saturated", "update_ratio", "grad_norm"):
        if isinstance(m.get(k), dict):
            metrics[k] = {str(a): float(b) for a, b in m[k].items() if b is not None}


def absorb_eval(metrics: dict, m: dict) -> None:
    """Fold an epoch's or a run's final evaluation (train/val loss and accuracy) in; gap = train - val acc."""
    for k in ("train_loss", "train_acc", "val_loss", "val_acc"):
        if m.get(k) is not None:
            metrics[k] = float(m[k])
    if m.get("epoch") is not None:
        metrics["epochs"] = int(m["epoch"])
    if metrics.get("train_acc") is not None and metrics.get("val_acc") is not None:
        metrics["gap"] = metrics["train_acc"] - metrics["val_acc"]


def absorb_chunk(metrics: dict, chunk: dict) -> None:
    """Fold a training session's metric chunk ({"step.loss": (xs, ys), "step.dead_relu/relu1": ...,
    "epoch.val_acc": ...}, what the GUI's child process sends) in: the last point of each series."""
    step: dict = {}
    epoch: dict = {}
    last_x = None
    for name, (xs, ys) in chunk.items():
        if not len(ys):
            continue
        group, _, key = name.partition(".")
        y = float(ys[-1])
        target = step if group == "step" else epoch if group == "epoch" else None
        if target is None:
            continue
        if "/" in key:
            k, _, sub = key.partition("/")
            target.setdefault(k, {})[sub] = y
        else:
            target[key] = y
        if group == "step":
            last_x = float(xs[-1]) if last_x is None else max(last_x, float(xs[-1]))
    if step:
        if last_x is not None:
            step["step"] = int(last_x)
        if "initial_loss" not in metrics and chunk.get("step.loss") is not None and len(chunk["step.loss"][1]):
            metrics["initial_loss"] = float(chunk["step.loss"][1][0])
        absorb_step(metrics, step)
    if epoch:
        if "epoch" in epoch:
            epoch["epoch"] = int(epoch["epoch"])
        absorb_eval(metrics, epoch)
