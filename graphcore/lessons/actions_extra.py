"""Show-me actions the lessons on training need beyond actions.py: fresh weights, another op.

Lessons that compare runs (batch sizes, initialisations, learning rates from a search) must
start each run from freshly drawn weights, as the Train dock's "Fresh weights from the seed"
does; `train` alone continues from the current ones. `set_op` swaps an activation for a
compatible one (relu -> leaky_relu, elu) with its wires kept (Graph.set_op). Declared through
actions.register, like every action kind.
"""
from __future__ import annotations

from .actions import ActionError, ActionKind, _name, _num, _obj, node_of, register
from .world import World


def _parse_reinitialize(raw, path):
    raw = _obj(raw, path, (), ("seed",))
    if "seed" not in raw:
        return None
    seed = _num(raw["seed"], f"{path}.seed", 0, 2**31 - 1)
    if seed != int(seed):
        raise ActionError("a whole number", f"{path}.seed")
    return int(seed)


def _reinitialize(seed, world: World) -> None:
    """A world that knows how (the GUI's, through its undo stack) does it itself; otherwise draw
    the weights afresh on the graph, drop the optimizer state and the run's metrics, and make
    the next `train` a new run."""
    own = getattr(world, "reinitialize", None)
    if callable(own):
        own(seed)
        return
    g = world.graph
    g.opt_state.clear()
    g.reinitialize(seed)
    metrics = getattr(world, "metrics", None)
    if isinstance(metrics, dict):
        metrics.clear()
    world.set_training({})  # settings unchanged; the headless world starts a new trainer
    world.reset()


register("reinitialize", ActionKind(_parse_reinitialize, _reinitialize,
                                    "draw every layer's weights afresh and start a new run: {} | {seed: N}"))


SWAPPABLE_OPS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid")


def _parse_set_op(raw, path):
    raw = _obj(raw, path, ("node", "op"), ("params",))
    if raw["op"] not in SWAPPABLE_OPS:
        raise ActionError("one of " + ", ".join(SWAPPABLE_OPS), f"{path}.op")
    params = raw.get("params", {})
    if not isinstance(params, dict) or len(params) > 8:
        raise ActionError("an object of at most 8 numeric params, e.g. {\"alpha\": 0.1}", f"{path}.params")
    for k, v in params.items():
        _name(k, f"{path}.params")
        _num(v, f"{path}.params.{k}")
    return {"node": _name(raw["node"], f"{path}.node"), "op": raw["op"], "params": dict(params)}


def _set_op(arg, world: World) -> None:
    world.set_op(node_of(world, arg["node"]), arg["op"], dict(arg["params"]))


register("set_op", ActionKind(_parse_set_op, _set_op,
                              "swap a node's activation for a compatible one, wires kept: {node, op, params?}",
                              lambda a: [a["node"]]))
