"""What the training plots draw, and how a long series is reduced for display.

The names of the series the worker writes, which of them each plot shows, and the two
display-only reductions applied before a curve's setData: a trailing moving average (the
loss's smoothing) and a min/max envelope that keeps a long run's spikes in a few hundred
points. Plain numpy; no Qt.
"""
from __future__ import annotations

import numpy as np

from .series import GrowingSeries

# series names written by the worker (see worker.py: "step." per iteration, "epoch." per epoch)
STEP_LOSS = "step.loss"
EPOCH_TRAIN_LOSS = "epoch.train_loss"
EPOCH_VAL_LOSS = "epoch.val_loss"
EPOCH_TRAIN_ACC = "epoch.train_acc"
EPOCH_VAL_ACC = "epoch.val_acc"
STEP_LR = "step.lr"
STEP_REG_LOSS = "step.reg_loss"
GRAD_NORM = "step.grad_norm"
UPDATE_RATIO = "step.update_ratio"
DEAD_RELU = "step.dead_relu"
SATURATED = "step.saturated"

# the series each plot draws (prefixes of the history's names); the accuracy plot also follows the
# epochs' train loss, which tells a regression run (no accuracy to draw: it says so) once an epoch ends
PLOT_SERIES = {"loss": (STEP_LOSS, EPOCH_VAL_LOSS, STEP_REG_LOSS),
               "acc": (EPOCH_TRAIN_ACC, EPOCH_VAL_ACC, EPOCH_TRAIN_LOSS),
               "lr": (STEP_LR,), "grad": (GRAD_NORM + "/",), "ratio": (UPDATE_RATIO + "/",),
               "units": (DEAD_RELU + "/", SATURATED + "/")}

PALETTE = ["#4e9be6", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
           "#9c755f", "#bab0ac"]
MAX_POINTS = 1200  # points handed to a curve; longer series keep their min/max envelope


def moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` points (display smoothing only; shorter at the start).

    Differences of one cumulative sum, without index arrays: it runs on the whole series at
    every redraw of the loss plot."""
    n = y.shape[0]
    if window <= 1 or n == 0:
        return y
    cs = np.cumsum(y, dtype=np.float64)
    out = np.empty(n, np.float64)
    w = min(window, n)
    out[:w] = cs[:w] / np.arange(1, w + 1)
    if n > w:
        np.subtract(cs[w:], cs[:-w], out=out[w:])
        out[w:] /= w
    return out


def _block_extremes(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each whole block of k points as its lowest and highest point, in x order."""
    m = (y.shape[0] // k) * k
    yb = y[:m].reshape(-1, k)
    xb = x[:m].reshape(-1, k)
    lo = np.argmin(yb, axis=1)
    hi = np.argmax(yb, axis=1)
    first = np.minimum(lo, hi)
    second = np.maximum(lo, hi)
    rows = np.arange(yb.shape[0])
    xs = np.empty(2 * rows.shape[0])
    ys = np.empty_like(xs)
    xs[0::2] = xb[rows, first]
    xs[1::2] = xb[rows, second]
    ys[0::2] = yb[rows, first]
    ys[1::2] = yb[rows, second]
    return xs, ys


def envelope(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ~max_points points that keep each block's lowest and highest value (display only),
    so a long run redraws as fast as a short one and its spikes stay visible."""
    n = y.shape[0]
    if n <= max_points:
        return x, y
    k = int(np.ceil(2 * n / max_points))
    m = (n // k) * k
    xs, ys = _block_extremes(x, y, k)
    return np.concatenate((xs, x[m:])), np.concatenate((ys, y[m:]))


class Smoother:
    """moving_average of an append-only series, computing only the points added since the last call
    (a redraw of a long run's loss costs the new steps, not the whole run)."""

    def __init__(self) -> None:
        self.source = None
        self.window = 0
        self.csum = GrowingSeries()  # x: unused; y: running sum, csum.y[i] = y[0] + ... + y[i]
        self.out = GrowingSeries()

    def update(self, source, y: np.ndarray, window: int) -> np.ndarray:
        n = y.shape[0]
        if source is not self.source or window != self.window or n < len(self.out):
            self.source, self.window = source, window
            self.csum, self.out = GrowingSeries(), GrowingSeries()
        done = len(self.out)
        if n > done:
            new = y[done:]
            base = self.csum.y[done - 1] if done else 0.0
            cs_new = base + np.cumsum(new, dtype=np.float64)
            self.csum.extend(np.zeros(n - done), cs_new)
            cs = self.csum.y
            idx = np.arange(done, n)
            lo = idx - window  # the sum of y[lo+1 .. i]
            prev = np.where(lo >= 0, cs[np.maximum(lo, 0)], 0.0)
            counts = np.minimum(idx + 1, window)
            self.out.extend(np.zeros(n - done), (cs[done:n] - prev) / counts)
        return self.out.y[:n]


class Envelope:
    """envelope() of an append-only series, reducing only the blocks completed since the last call.

    Blocks hold a power of two of points, so the block size changes (and the cache is rebuilt)
    only each time the run doubles in length."""

    def __init__(self) -> None:
        self.source = None
        self.k = 0
        self.done = 0
        self.reduced = GrowingSeries()

    def update(self, source, x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS):
        n = y.shape[0]
        if n <= max_points:
            return x, y
        k = 1 << int(np.ceil(np.log2(np.ceil(2 * n / max_points))))
        if source is not self.source or k != self.k or n < self.done:
            self.source, self.k, self.done = source, k, 0
            self.reduced = GrowingSeries()
        m = (n // k) * k
        if m > self.done:
            xs, ys = _block_extremes(x[self.done:m], y[self.done:m], k)
            self.reduced.extend(xs, ys)
            self.done = m
        rx, ry = self.reduced.view()
        if m == n:
            return rx.copy(), ry.copy()
        tx, ty = x[m:], y[m:]  # the block still filling: its extremes, or its points when few
        if tx.shape[0] > 2:
            tx, ty = _block_extremes(tx, ty, tx.shape[0])
        return np.concatenate((rx, tx)), np.concatenate((ry, ty))
