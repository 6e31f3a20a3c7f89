"""Splits, preprocessing fitted on the training split only, mini-batches, augmentation.

The notes' rule: compute any statistic (mean, std) on the training data only,
then apply the same transform to validation data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np


class PreprocessError(ValueError):
    """Bad preprocessing settings."""


def split(X: np.ndarray, y: np.ndarray, val_fraction: float, rng: np.random.Generator,
          stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_val, y_val): a seeded split; per class when y holds class labels."""
    if not 0.0 <= val_fraction < 1.0:
        raise PreprocessError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    n = len(X)
    if val_fraction == 0.0:
        return X, y, X[:0], y[:0]
    if stratify and y.ndim == 1 and y.dtype.kind in "iu":
        val_idx = []
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            idx = idx[rng.permutation(len(idx))]
            val_idx.append(idx[:int(round(val_fraction * len(idx)))])
        val = np.sort(np.concatenate(val_idx))
    else:
        val = np.sort(rng.permutation(n)[:int(round(val_fraction * n))])
    mask = np.ones(n, bool)
    mask[val] = False
    return X[mask], y[mask], X[val], y[val]


@dataclass
class Standardizer:
    """Zero-centre and/or scale to unit std, with statistics from the training split.

    `per` is "feature" (one mean per feature or pixel: the notes' mean image) or
    "channel" (one mean and std per image channel, over samples and pixels).
    A feature with zero spread is left unscaled.
    """

    center: bool = True
    standardize: bool = False
    per: str = "feature"
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.per not in ("feature", "channel"):
            raise PreprocessError(f"preprocess per must be 'feature' or 'channel', got {self.per!r}")

    def _axes(self, X: np.ndarray) -> tuple[int, ...]:
        if self.per == "channel" and X.ndim == 4:
            return (0, 2, 3)
        return (0,)

    def fit(self, X: np.ndarray) -> "Standardizer":
        if len(X) == 0:
            raise PreprocessError("cannot fit preprocessing on an empty training split")
        axes = self._axes(X)
        self.mean = X.mean(axis=axes, keepdims=True) if self.center else None
        if self.standardize:
            std = X.std(axis=axes, keepdims=True)
            self.std = np.where(std > 1e-8, std, 1.0)
        else:
            self.std = None
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = X
        if self.mean is not None:
            out = out - self.mean
        if self.std is not None:
            out = out / self.std
        return out

    def settings(self) -> dict:
        return {"center": self.center, "standardize": self.standardize, "per": self.per}


def batch_indices(n: int, batch_size: int, rng: np.random.Generator | None, shuffle: bool = True
                  ) -> Iterator[np.ndarray]:
    """Index arrays of one epoch: a fresh seeded permutation each call when shuffling."""
    order = rng.permutation(n) if shuffle and rng is not None else np.arange(n)
    bs = n if batch_size <= 0 else batch_size
    for start in range(0, n, bs):
        yield order[start:start + bs]


def augment(xb: np.ndarray, rng: np.random.Generator, shift: int = 0, flip: bool = False) -> np.ndarray:
    """Random shifts by up to `shift` pixels (zero fill) and random horizontal flips, per image.

    `xb` is (N, C, H, W); returns a new array, vectorised (no per-image Python loop).
    """
    if xb.ndim != 4 or (shift <= 0 and not flip):
        return xb
    n, c, h, w = xb.shape
    out = xb
    if shift > 0:
        # gathered from the batch itself (no padded copy: its size would grow with the shift);
        # rows and columns shifted in from outside the image are zero
        oy = rng.integers(0, 2 * shift + 1, n) - shift
        ox = rng.integers(0, 2 * shift + 1, n) - shift
        rows = oy[:, None] + np.arange(h)[None, :]  # (N, H) source rows
        cols = ox[:, None] + np.arange(w)[None, :]  # (N, W) source columns
        inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[:, None, None, :]
        out = xb[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                 np.clip(rows, 0, h - 1)[:, None, :, None], np.clip(cols, 0, w - 1)[:, None, None, :]]
        np.copyto(out, 0, where=~inside)
    if flip:
        mask = rng.random(n) < 0.5
        if out is xb:
            out = xb.copy()
        out[mask] = out[mask][..., ::-1]
    return out
