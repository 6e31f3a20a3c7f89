"""What a loss curve's shape says, as the CS231n notes draw it ("babysitting the learning process").

A short run's per-step losses are read against four shapes:
- too high a learning rate: the loss rises or explodes (NaN/Inf), or drops fast and then sits on a
  plateau well above zero ("the loss gets stuck at worse values");
- too low a learning rate: an almost straight, slow descent;
- a bad initialisation: a flat stretch at the start, then the loss falls;
- good: a fast drop that keeps falling (roughly exponential decay).
Each rule names its numbers, so a verdict can be explained with the student's own figures. Qt-free.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

# the rules' thresholds, named so the rule text and the code cannot disagree
EXPLODE_FACTOR = 1.5  # the smoothed loss above 1.5x the first: the steps overshoot
MIN_DROP = 0.05  # less than 5% lower at the end than at the start: the run barely learned
EARLY = 0.2  # the first fifth of the run
STRAIGHT = 0.35  # a curve that made < 35% of its progress in the first fifth is nearly a straight line
FLAT_START = 0.05  # < 5% of the progress in the first fifth, with the rest still to come: a plateau at the start
PLATEAU_EARLY = 0.9  # >= 90% of the progress in the first fifth ...
PLATEAU_LATE = 0.03  # ... then < 3% of it in the second half ...
PLATEAU_LEVEL = 0.3  # ... while the loss is still above 30% of where it started


def _smooth(losses: np.ndarray) -> np.ndarray:
    """A running mean over ~5% of the run: mini-batch noise should not decide a shape."""
    k = max(1, len(losses) // 20)
    if k == 1:
        return losses
    pad = np.concatenate([np.full(k - 1, losses[0]), losses])
    c = np.cumsum(pad)
    return (c[k - 1:] - np.concatenate([[0.0], c[:-k]])) / k


def diagnose_curve(losses: Sequence[float]) -> dict:
    """The shape of a loss history: {"verdict": pass|warn|fail, "shape", "numbers", "rule", "explanation"}."""
    raw = np.asarray([float(v) for v in losses], dtype=np.float64)
    if len(raw) < 5:
        return {"verdict": "n/a", "shape": "too short", "numbers": {"points": int(len(raw))},
                "rule": "needs at least 5 losses", "explanation": "The run was too short to have a shape."}
    if not np.all(np.isfinite(raw)):
        at = int(np.argmax(~np.isfinite(raw)))
        return {"verdict": "fail", "shape": "lr too high", "numbers": {"first": raw[0], "non_finite_at_step": at + 1},
                "rule": "any NaN/Inf loss: the learning rate is far too high",
                "explanation": f"The loss became NaN/Inf at step {at + 1}: lower the learning rate (by 10x)."}
    first = float(raw[0])
    s = _smooth(raw)
    top = float(s.max())
    last = float(s[-1])
    n = len(s)
    numbers = {"first": first, "last": last, "max": top, "steps": n}
    if first > 0 and (top > EXPLODE_FACTOR * first or last > first * (1 + MIN_DROP)):
        return {"verdict": "fail", "shape": "lr too high", "numbers": numbers,
                "rule": f"the smoothed loss rose above {EXPLODE_FACTOR}x its start, or ended higher than it began",
                "explanation": f"The loss went from {first:.4g} up to {top:.4g}: the steps overshoot. "
                               "Lower the learning rate."}
    drop = first - last
    numbers["drop_fraction"] = drop / first if first > 0 else 0.0
    if first <= 0 or drop < MIN_DROP * first:
        return {"verdict": "fail", "shape": "lr too low", "numbers": numbers,
                "rule": f"the loss fell by less than {MIN_DROP:.0%} over the run",
                "explanation": f"The loss barely moved ({first:.4g} to {last:.4g}): the learning rate is too low "
                               "(or the gradients do not reach the weights)."}
    early = float(s[0] - s[max(1, int(EARLY * n)) - 1]) / drop
    late = float(s[n // 2] - s[-1]) / drop
    numbers.update(progress_first_fifth=early, progress_second_half=late)
    if early < FLAT_START:
        return {"verdict": "warn", "shape": "bad initialisation", "numbers": numbers,
                "rule": f"under {FLAT_START:.0%} of the progress in the first fifth of the run, then a fall",
                "explanation": f"The loss sat near {first:.4g} for a while before falling: the initialisation is "
                               "probably poor (weights too small or too large)."}
    if early < STRAIGHT:
        return {"verdict": "warn", "shape": "lr too low", "numbers": numbers,
                "rule": f"under {STRAIGHT:.0%} of the progress in the first fifth: an almost straight line",
                "explanation": f"The loss falls along an almost straight line ({early:.0%} of the progress in the "
                               "first fifth): the learning rate is probably too low."}
    if early >= PLATEAU_EARLY and late < PLATEAU_LATE and last > PLATEAU_LEVEL * first:
        return {"verdict": "warn", "shape": "lr too high", "numbers": numbers,
                "rule": f">= {PLATEAU_EARLY:.0%} of the progress in the first fifth, < {PLATEAU_LATE:.0%} in the "
                        f"second half, still above {PLATEAU_LEVEL:.0%} of the start",
                "explanation": f"The loss dropped fast, then got stuck at {last:.4g}: the learning rate is probably "
                               "too high (it bounces around a worse value)."}
    return {"verdict": "pass", "shape": "good", "numbers": numbers,
            "rule": "a fast early drop that keeps falling",
            "explanation": f"The loss fell from {first:.4g} to {last:.4g}, fast at first and still falling: "
                           "a good learning rate."}


__all__ = ["diagnose_curve"]
