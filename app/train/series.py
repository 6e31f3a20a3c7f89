"""Growing, preallocated metric buffers that the plots draw from.

The worker packs the metrics of many steps into one chunk of arrays; the GUI
appends each chunk here (vectorised, no per-point Python work) and the plot
timer hands views of these buffers to setData. Capacity doubles when full, as
in pyqtgraph's examples/scrollingPlots.py.
"""
from __future__ import annotations

import numpy as np

from graphcore.train.session import pack_records  # noqa: F401  (the session packs in its process)


class GrowingSeries:
    """x/y float buffers with amortised O(1) appends; `view()` is copy-free."""

    __slots__ = ("x", "y", "n")

    def __init__(self, capacity: int = 256) -> None:
        self.x = np.empty(capacity, np.float64)
        self.y = np.empty(capacity, np.float64)
        self.n = 0

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        cap = self.x.shape[0]
        if need <= cap:
            return
        while cap < need:
            cap *= 2
        for attr in ("x", "y"):
            old = getattr(self, attr)
            new = np.empty(cap, np.float64)
            new[: self.n] = old[: self.n]
            setattr(self, attr, new)

    def extend(self, xs, ys) -> None:
        xs = np.asarray(xs, np.float64).ravel()
        ys = np.asarray(ys, np.float64).ravel()
        k = xs.shape[0]
        if k != ys.shape[0]:
            raise ValueError(f"x and y lengths differ: {k} and {ys.shape[0]}")
        self._reserve(k)
        self.x[self.n: self.n + k] = xs
        self.y[self.n: self.n + k] = ys
        self.n += k

    def append(self, x: float, y: float) -> None:
        self._reserve(1)
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]

    def last(self) -> float | None:
        return float(self.y[self.n - 1]) if self.n else None

    def __len__(self) -> int:
        return self.n


class RunHistory:
    """Every metric series of one training run, by name ("loss", "grad_norm/linear1.W", ...).

    `version` bumps on each change so the plot timer redraws only when needed."""

    def __init__(self, label: str = "") -> None:
        self.label = label
        self.series: dict[str, GrowingSeries] = {}
        self.version = 0
        self.steps_per_epoch = 0

    def add_chunk(self, chunk: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        for name, (xs, ys) in chunk.items():
            s = self.series.get(name)
            if s is None:
                s = self.series[name] = GrowingSeries()
            s.extend(xs, ys)
        if chunk:
            self.version += 1

    def get(self, name: str) -> GrowingSeries | None:
        return self.series.get(name)

    def group(self, prefix: str) -> dict[str, GrowingSeries]:
        """Series named "<prefix>/<key>", keyed by <key> (one per layer or parameter)."""
        p = prefix + "/"
        return {k[len(p):]: s for k, s in self.series.items() if k.startswith(p)}
