"""Saved optimizer state (a graph file's `optimizer_state`) checked against the weights it is for.

The state is momentum-like history, not the model: an entry that no longer fits (its node was
deleted, a layer was resized, the file was edited by hand) is dropped with a warning and that
weight's history starts from zero, as it would for a new layer. Refusing to train would make a
user hand-edit JSON to recover; using a wrong-shaped or non-finite array would corrupt the run."""
from __future__ import annotations

import sys

import numpy as np

from ..limits import excerpt

KNOWN = ("velocity", "cache", "m", "v", "t")  # every optimizer's state array names (optim.STATE_NAMES)


def _cut(text, limit: int) -> str:
    """A key as the file spells it, or a short quoted excerpt of a long or odd one."""
    return text if isinstance(text, str) and len(text) <= limit and text.isprintable() else excerpt(text, limit)


def problem(key: str, entry, x: np.ndarray | None) -> str | None:
    """Why `entry` cannot be the state of weight `key` (array `x`, None when there is no such weight)."""
    where = f"optimizer_state.{_cut(key, 60)}"
    if x is None:
        return f"{where}: the graph has no weight {_cut(key, 60)}"
    if not isinstance(entry, dict):
        return f"{where}: must be an object of arrays"
    for name, a in entry.items():
        at = f"{where}.{_cut(name, 30)}"
        if name not in KNOWN:
            return f"{at}: no optimizer keeps a state array of this name (known: {', '.join(KNOWN)})"
        if not isinstance(a, np.ndarray) or a.dtype.kind not in ("iu" if name == "t" else "f"):
            return f"{at}: must be {'a whole-number step count' if name == 't' else 'a float array'}"
        want = () if name == "t" else x.shape
        if a.shape != want:
            return f"{at}: shape {a.shape} does not match the weight's {want}"
        if name != "t" and not np.isfinite(a).all():
            return f"{at}: holds NaN or Inf"
        if name == "t" and int(a) < 0:
            return f"{at}: a step count must be >= 0"
    return None


def check(state: dict, weights: dict[str, np.ndarray], warn=None) -> list[str]:
    """Drop (in place) every entry of `state` that does not fit `weights`; returns the reasons.

    A fitting float array of the other float type is cast to the weight's dtype (its values hold).
    `warn` (default: one `warning:` line on stderr) is told once, naming the first entry."""
    reasons = []
    for key in list(state):
        why = problem(key, state[key], weights.get(key))
        if why is not None:
            reasons.append(why)
            del state[key]
            continue
        x = weights[key]
        for name, a in state[key].items():
            if name != "t" and a.dtype != x.dtype:
                state[key][name] = a.astype(x.dtype)
    if reasons:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        text = (f"{reasons[0]}{more}; dropped, so {'these weights start' if more else 'this weight starts'} "
                "with fresh optimizer state")
        (warn or (lambda t: print(f"warning: {t}", file=sys.stderr)))(text)
    return reasons
