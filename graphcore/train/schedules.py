"""Learning-rate schedules from the notes: constant, step, exponential and 1/t decay.

`t` counts epochs by default (`per: "step"` counts optimizer steps instead):
    constant     lr = lr0
    step         lr = lr0 * factor ** floor(t / every)        (e.g. halve every 5 epochs)
    exponential  lr = lr0 * exp(-k * t)
    inverse      lr = lr0 / (1 + k * t)                       (the notes' 1/t decay)

The learning rate flows one way: the trainer takes lr0 from the optimizer settings
once, asks the schedule for each step's rate and hands it to the optimizer's update.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("constant", "step", "exponential", "inverse")
ALIASES = {"1/t": "inverse", "exp": "exponential", "none": "constant"}


class ScheduleError(ValueError):
    """Bad schedule settings; the message names the setting."""


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    every: float = 1.0  # step decay: period in epochs (or steps)
    factor: float = 0.5  # step decay: multiplier per period
    k: float = 0.0  # exponential and 1/t decay rate
    per: str = "epoch"  # what t counts: "epoch" or "step"

    def lr(self, lr0: float, t: float) -> float:
        if self.kind == "constant":
            return lr0
        if self.kind == "step":
            return lr0 * self.factor ** math.floor(t / self.every)
        if self.kind == "exponential":
            return lr0 * math.exp(-self.k * t)
        return lr0 / (1.0 + self.k * t)

    def at(self, lr0: float, epoch: int, step: int) -> float:
        """The rate for a step in `epoch` after `step` steps: t counts whichever `per` says."""
        return self.lr(lr0, epoch if self.per == "epoch" else step)

    def settings(self) -> dict:
        out: dict = {"kind": self.kind, "per": self.per}
        if self.kind == "step":
            out.update(every=self.every, factor=self.factor)
        elif self.kind in ("exponential", "inverse"):
            out["k"] = self.k
        return out


def from_settings(settings: dict | str | None) -> Schedule:
    """Build from plain data: {"kind": "step", "every": 5, "factor": 0.5} or just "constant"."""
    if settings is None:
        return Schedule()
    if isinstance(settings, str):
        settings = {"kind": settings}
    if not isinstance(settings, dict):
        raise ScheduleError(f"schedule must be an object like {{'kind': 'step'}}, got {settings!r}")
    s = dict(settings)
    kind = ALIASES.get(s.pop("kind", "constant"), settings.get("kind", "constant"))
    if kind not in KINDS:
        raise ScheduleError(f"unknown schedule {settings.get('kind')!r} (known: {', '.join(KINDS)}, 1/t)")
    allowed = {"step": {"every", "factor", "per"}, "exponential": {"k", "per"}, "inverse": {"k", "per"},
               "constant": {"per"}}[kind]
    unknown = set(s) - allowed
    if unknown:
        raise ScheduleError(f"{kind} schedule has no setting {sorted(unknown)[0]!r}"
                            f" (it has: {', '.join(sorted(allowed))})")
    per = s.pop("per", "epoch")
    if per not in ("epoch", "step"):
        raise ScheduleError(f"schedule per must be 'epoch' or 'step', got {per!r}")
    for name, value in s.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ScheduleError(f"schedule setting {name} must be a finite number, got {value!r}")
    if kind == "step":
        if s.get("every", 1.0) <= 0:
            raise ScheduleError("step schedule: every must be > 0")
        if not 0 < s.get("factor", 0.5) <= 1:
            raise ScheduleError("step schedule: factor must be in (0, 1]")
    if s.get("k", 0.0) < 0:
        raise ScheduleError(f"{kind} schedule: k must be >= 0")
    return Schedule(kind=kind, per=per, **{k: float(v) for k, v in s.items()})
