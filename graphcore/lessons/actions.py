"""Show-me actions: what "Show me" does for the student, as declarative data.

An action is a JSON object with exactly one key, its kind, declared once in ACTIONS (parser and
performer); `register` adds more. Performers call the World interface only, so the same action
is a plain graphcore call headlessly and an undoable, event-emitting edit in the GUI.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..tensorfile import MAX_DIMS

from .errors import LessonRuntimeError
from .world import World


class ActionError(ValueError):
    """Why an action is refused: args = (message, JSON path)."""


@dataclass(frozen=True)
class ActionKind:
    parse: Callable[[Any, str], Any]
    perform: Callable[[Any, World], None]
    doc: str
    nodes: Callable[[Any], list] = lambda arg: []  # node names it refers to (checked on load)


ACTIONS: dict[str, ActionKind] = {}


def register(name: str, kind: ActionKind) -> None:
    if name in ACTIONS:
        raise ValueError(f"the action kind {name!r} is declared twice")
    ACTIONS[name] = kind


def parse(raw: Any, path: str) -> tuple:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ActionError("an action is an object with exactly one key, its kind: " + ", ".join(ACTIONS), path)
    (name, arg), = raw.items()
    if name not in ACTIONS:
        raise ActionError(f"unknown action {name[:40]!r}; one of: " + ", ".join(ACTIONS), path)
    return (name, ACTIONS[name].parse(arg, f"{path}.{name}"))


def perform(action: tuple, world: World) -> None:
    name, arg = action
    ACTIONS[name].perform(arg, world)


def node_names(action: tuple) -> list[str]:
    name, arg = action
    return ACTIONS[name].nodes(arg)


def _obj(raw, path, required: tuple, optional: tuple = ()) -> dict:
    if not isinstance(raw, dict):
        raise ActionError("an object with " + ", ".join(repr(k) for k in required + optional), path)
    for k in required:
        if k not in raw:
            raise ActionError(f"the key {k!r} is missing", path)
    for k in raw:
        if k not in required + optional:
            raise ActionError(f"unknown key {k[:40]!r}; allowed: " + ", ".join(required + optional), path)
    return raw


def _num(v, path, lo=-1e12, hi=1e12) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise ActionError(f"a number from {lo:g} to {hi:g}", path)
    return float(v)


def _name(v, path) -> str:
    if not isinstance(v, str) or not v or len(v) > 200:
        raise ActionError("a node name", path)
    return v


def node_of(world: World, name: str) -> str:
    nid = world.node_id(name)  # type: ignore[attr-defined]
    if nid is None:
        raise LessonRuntimeError(f"the graph has no node named {name!r} (was it renamed or deleted?)")
    return nid


def _nothing(raw, path):
    if raw != {}:
        raise ActionError("{} (this action takes no settings)", path)
    return None


# ---------------------------------------------------------------- set_value
MAX_VALUE_ITEMS = 4096


def _parse_set_value(raw, path):
    raw = _obj(raw, path, ("node",), ("value", "times", "add"))
    how = [k for k in ("value", "times", "add") if k in raw]
    if len(how) != 1:
        raise ActionError("exactly one of 'value', 'times', 'add'", path)
    k = how[0]
    if k == "value":
        try:
            arr = np.asarray(raw["value"], dtype=np.float64)
        except (TypeError, ValueError):
            raise ActionError("a number or a nested list of numbers", f"{path}.value") from None
        if arr.size > MAX_VALUE_ITEMS or not np.all(np.isfinite(arr)):
            raise ActionError(f"at most {MAX_VALUE_ITEMS} finite numbers", f"{path}.value")
        if arr.ndim > MAX_DIMS:  # numpy's broadcasting stops at 32; a graph file holds 8
            raise ActionError(f"at most {MAX_DIMS} dimensions, got {arr.ndim}", f"{path}.value")
        return {"node": _name(raw["node"], f"{path}.node"), "value": arr}
    return {"node": _name(raw["node"], f"{path}.node"), k: _num(raw[k], f"{path}.{k}")}


def _set_value(arg, world: World) -> None:
    nid = node_of(world, arg["node"])
    if "value" in arg:
        new = arg["value"].copy()
    else:
        old = np.asarray(world.graph.value(nid), dtype=np.float64)
        new = old * arg["times"] if "times" in arg else old + arg["add"]
    world.set_value(nid, new)


# ---------------------------------------------------------------- set_param, set_training
def _parse_set_param(raw, path):
    raw = _obj(raw, path, ("node", "param", "value"))
    v = raw["value"]
    if not isinstance(v, (bool, int, float, str)) or (isinstance(v, float) and not math.isfinite(v)) \
            or (isinstance(v, str) and len(v) > 200):
        raise ActionError("a number, true/false or a short string", f"{path}.value")
    return {"node": _name(raw["node"], f"{path}.node"), "param": _name(raw["param"], f"{path}.param"), "value": v}


TRAINING = {"lr": (1e-12, 1e4), "momentum": (0.0, 1.0), "batch_size": (0, 1 << 20), "epochs": (0, 100_000),
            "seed": (0, 2**31 - 1), "patience": (0, 10_000)}
WHOLE = ("batch_size", "epochs", "seed", "patience")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def _parse_set_training(raw, path):
    raw = _obj(raw, path, (), tuple(TRAINING) + ("optimizer",))
    out: dict = {}
    for k, v in raw.items():
        if k == "optimizer":
            if v not in OPTIMIZERS:
                raise ActionError("one of " + ", ".join(OPTIMIZERS), f"{path}.optimizer")
            out[k] = v
        else:
            x = _num(v, f"{path}.{k}", *TRAINING[k])
            out[k] = int(x) if k in WHOLE else x
            if k in WHOLE and x != int(x):
                raise ActionError("a whole number", f"{path}.{k}")
    return out


# ---------------------------------------------------------------- passes, training, selection
def _parse_step_to(raw, path):
    raw = _obj(raw, path, (), ("index", "end"))
    if ("index" in raw) == ("end" in raw):
        raise ActionError("either {\"index\": N} or {\"end\": true}", path)
    if "end" in raw:
        if raw["end"] is not True:
            raise ActionError("true", f"{path}.end")
        return None
    return int(_num(raw["index"], f"{path}.index", -1, 1e6))


MAX_TRAIN_EPOCHS = 500  # a Show me trains while the student waits; the shipped lessons use at most 200


def _parse_train(raw, path):
    raw = _obj(raw, path, ("epochs",), tuple(k for k in TRAINING if k != "epochs") + ("optimizer",))
    n = raw["epochs"]
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n != n or not 1 <= n <= MAX_TRAIN_EPOCHS \
            or n != int(n):
        raise ActionError(f"a whole number of epochs from 1 to {MAX_TRAIN_EPOCHS} (a Show me trains while the "
                          f"student waits), not {str(n)[:40]}", f"{path}.epochs")
    settings = _parse_set_training({k: v for k, v in raw.items() if k != "epochs"}, path)
    return {"epochs": int(n), "settings": settings}


def _train(arg, world: World) -> None:
    if arg["settings"]:
        world.set_training(dict(arg["settings"]))
    world.train(arg["epochs"])


def _parse_open_graph(raw, path):
    from .format import check_graph_source

    return check_graph_source(raw, path, ActionError)


def _open_graph(arg, world: World) -> None:
    from .format import load_graph_source

    g = load_graph_source(arg)
    world.open_graph(g, str(g.meta.get("title") or arg.get("example") or "lesson graph"))


def _parse_select(raw, path):
    raw = _obj(raw, path, (), ("node", "wire"))
    if len(raw) != 1:
        raise ActionError("either {\"node\": NAME} or {\"wire\": \"NODE.PORT\"}", path)
    (k, v), = raw.items()
    v = _name(v, f"{path}.{k}")
    if k == "wire" and "." not in v.strip("."):
        raise ActionError("a wire is named NODE.PORT: the node it enters and the input port", f"{path}.wire")
    return (k, v)


def _select(arg, world: World) -> None:
    kind, ref = arg
    if kind == "node":
        world.select("node", node_of(world, ref))
    else:
        name, _, port = ref.rpartition(".")
        world.select("wire", node_of(world, name), port)


def _wire_node(arg) -> list:
    kind, ref = arg
    return [ref if kind == "node" else ref.rpartition(".")[0]]


register("set_value", ActionKind(_parse_set_value, _set_value,
                                 "set an input/const's value: {node, value} | {node, times} | {node, add}",
                                 lambda a: [a["node"]]))
register("set_param", ActionKind(_parse_set_param,
                                 lambda a, w: w.set_param(node_of(w, a["node"]), a["param"], a["value"]),
                                 "set a node's parameter: {node, param, value}", lambda a: [a["node"]]))
register("set_training", ActionKind(_parse_set_training, lambda a, w: w.set_training(dict(a)),
                                    "training settings: lr, optimizer, momentum, batch_size, epochs, seed, patience (early stopping)"))
register("forward", ActionKind(_nothing, lambda a, w: w.forward(), "run the forward pass: {}"))
register("backward", ActionKind(_nothing, lambda a, w: w.backward(), "run forward and backward: {}"))
register("step_to", ActionKind(_parse_step_to, lambda a, w: w.step_to(a),
                               "show the pass up to event N: {index: N} | {end: true}"))
register("reset", ActionKind(_nothing, lambda a, w: w.reset(), "clear the shown pass: {}"))
register("train", ActionKind(_parse_train, _train,
                             "train N epochs, a new run from the current weights: {epochs: N, lr?, optimizer?, ...}"))
register("open_graph", ActionKind(_parse_open_graph, _open_graph,
                                  "open another graph as the lesson's document: {example: FILE} | {inline: GRAPH}"))
register("select", ActionKind(_parse_select, _select, "select {node: NAME} or {wire: \"NODE.PORT\"}", _wire_node))
