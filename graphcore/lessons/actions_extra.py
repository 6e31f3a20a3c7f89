"""Show-me actions the lessons on training need beyond actions.py: fresh weights.

Lessons that compare runs (batch sizes, initialisations, learning rates from a search) must
start each run from freshly drawn weights, as the Train dock's "Fresh weights from the seed"
does; `train` alone continues from the current ones. Declared through actions.register, like
every action kind.
"""
from __future__ import annotations

from .actions import ActionError, ActionKind, _num, _obj, register
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
