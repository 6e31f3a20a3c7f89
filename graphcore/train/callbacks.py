"""What a training run reports: its result, and the callbacks that receive its progress as plain dicts."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainResult:
    status: str  # "finished", "stopped", "early_stopped", "diverged"
    epochs: int  # epochs completed
    steps: int
    history: list[dict] = field(default_factory=list)
    final: dict = field(default_factory=dict)  # eval-mode loss/accuracy on the train and val splits
    message: str = ""

    def meets(self, expect: dict) -> dict[str, bool]:
        """Each stated figure (accuracies at least, losses at most) and whether it was reached."""
        out = {}
        for k, v in expect.items():
            got = self.final.get(k)
            out[k] = got is not None and (got >= v if k.endswith("acc") else got <= v)
        return out


class Callback:
    """Subclass and override what you need; every argument is a plain dict."""

    def on_step(self, metrics: dict) -> None: ...

    def on_epoch(self, metrics: dict) -> None: ...

    def on_event(self, event: dict) -> None: ...


class _Fn(Callback):
    def __init__(self, on_step=None, on_epoch=None, on_event=None) -> None:
        self._s, self._e, self._v = on_step, on_epoch, on_event

    def on_step(self, m):
        if self._s:
            self._s(m)

    def on_epoch(self, m):
        if self._e:
            self._e(m)

    def on_event(self, e):
        if self._v:
            self._v(e)
