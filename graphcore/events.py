"""Plain-Python events: the model emits, views subscribe (no Qt in graphcore)."""
from __future__ import annotations

from typing import Any, Callable


class Event:
    """A list of callbacks; `emit` calls each with the same arguments.

    Modelled on ryvencore's Event: subscribers are called in subscription order,
    and a subscriber may unsubscribe itself while the event is being emitted.
    """

    def __init__(self, *arg_names: str) -> None:
        self.arg_names = arg_names
        self._subs: list[Callable[..., Any]] = []

    def sub(self, callback: Callable[..., Any]) -> None:
        if callback not in self._subs:
            self._subs.append(callback)

    def unsub(self, callback: Callable[..., Any]) -> None:
        if callback in self._subs:
            self._subs.remove(callback)

    def emit(self, *args: Any) -> None:
        for cb in list(self._subs):
            cb(*args)

    def __len__(self) -> int:
        return len(self._subs)
