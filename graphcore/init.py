"""Weight initializers, with the formulas of the CS231n notes.

Each takes the shape, a seeded generator and (fan_in, fan_out); the default
fans treat the first axis as inputs and the last as outputs, which is right
for a (D_in, D_out) linear weight. Conv weights pass their own fans.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Initializer = Callable[..., np.ndarray]


def default_fan(shape: tuple) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    return int(shape[0]), int(shape[-1])


def zeros(shape, rng, fan, **_):
    return np.zeros(shape)


def ones(shape, rng, fan, **_):
    return np.ones(shape)


def constant(shape, rng, fan, value=0.01, **_):
    return np.full(shape, float(value))


def uniform(shape, rng, fan, scale=0.05, **_):
    """W = uniform(-scale, scale)."""
    return rng.uniform(-scale, scale, size=shape)


def small_normal(shape, rng, fan, scale=0.01, **_):
    """W = scale * randn: the notes' 0.01 * randn, fine for small nets."""
    return scale * rng.standard_normal(shape)


def xavier_uniform(shape, rng, fan, **_):
    """Glorot: uniform(+-sqrt(6 / (fan_in + fan_out)))."""
    limit = np.sqrt(6.0 / (fan[0] + fan[1]))
    return rng.uniform(-limit, limit, size=shape)


def xavier_normal(shape, rng, fan, **_):
    """randn / sqrt(fan_in): keeps the variance of a linear unit's output."""
    return rng.standard_normal(shape) / np.sqrt(fan[0])


def he(shape, rng, fan, **_):
    """He/Kaiming: randn * sqrt(2 / fan_in), for ReLU nets."""
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan[0])


def orthogonal(shape, rng, fan, gain=1.0, **_):
    """An orthogonal matrix from the SVD of a Gaussian one (Saxe et al.); `scale` is ignored."""
    if len(shape) < 2:
        return small_normal(shape, rng, fan)
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = rng.standard_normal((rows, cols))
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    q = u if u.shape == (rows, cols) else vt
    return gain * q.reshape(shape)


INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "ones": ones,
    "constant": constant,
    "uniform": uniform,
    "normal": small_normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he": he,
    "orthogonal": orthogonal,
}

DOCS = {name: (fn.__doc__ or name).strip().splitlines()[0] for name, fn in INITIALIZERS.items()}


def initialize(name: str, shape: tuple, rng: np.random.Generator, fan: tuple[int, int] | None = None,
               **kwargs) -> np.ndarray:
    try:
        fn = INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown initializer {name!r} (known: {', '.join(INITIALIZERS)})") from None
    fan = fan or default_fan(tuple(shape))
    return np.asarray(fn(tuple(shape), rng, fan, **kwargs), dtype=np.float64)
