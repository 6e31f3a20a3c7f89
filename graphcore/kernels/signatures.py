"""Small example arguments per kernel, used to compile ahead of time (warm-up)."""
from __future__ import annotations

import numpy as np

from . import elementwise

_EXTRA: dict = {}  # name -> callable returning args (layer kernels add theirs)


def register(name: str, make_args) -> None:
    _EXTRA[name] = make_args


def example_args(name: str, dtype=np.float64):
    base, _, kind = name.rpartition("_")
    x = np.linspace(0.5, 1.5, 4).astype(dtype)
    if base in elementwise.UNARY:
        if kind == "fwd":
            return (x, np.empty_like(x), 1.0)
        return (x, x.copy(), x.copy(), np.empty_like(x), 1.0)
    if base in elementwise.BINARY:
        if kind == "fwd":
            return (x, x.copy(), np.empty_like(x))
        return (x, x.copy(), x.copy(), np.empty_like(x), np.empty_like(x))
    make = _EXTRA.get(name)
    return make(dtype) if make else None
