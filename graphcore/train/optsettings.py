"""Optimizer settings and what the update loops trust, checked before anything runs.

The settings (kind, learning rate, momentum, betas, weight decay, clipping, max-norm) are
validated once, when an optimizer is built or reconfigured, and a step's arrays are checked
before a compiled loop sees them; graphcore.train.optim keeps the update itself.
"""
from __future__ import annotations

import math

import numpy as np

KINDS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
STATE_NAMES = {"sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",), "adagrad": ("cache",),
               "rmsprop": ("cache",), "adam": ("m", "v", "t")}
DEFAULTS = {"lr": 1e-2, "momentum": 0.9, "decay_rate": 0.99, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
            "weight_decay": 0.0, "max_norm": None, "clip_norm": None, "clip_value": None}
DOCS = {
    "sgd": "vanilla SGD: x += -lr * dx",
    "momentum": "momentum: v = mu * v - lr * dx; x += v",
    "nesterov": "Nesterov momentum: x += -mu * v_prev + (1 + mu) * v",
    "adagrad": "Adagrad: per-weight rate shrinks with the sum of squared gradients",
    "rmsprop": "RMSProp: per-weight rate from a moving average of squared gradients",
    "adam": "Adam: momentum on the gradient and its square, with bias correction",
}


class OptimizerError(ValueError):
    """Bad optimizer settings; the message names the setting."""


def validated(kind: str, settings: dict) -> tuple[str, dict]:
    """(kind, every setting as a float or None), or OptimizerError naming the bad one."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise OptimizerError(f"unknown optimizer {kind!r} (known: {', '.join(KINDS)})")
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise OptimizerError(f"{kind} has no setting {sorted(unknown)[0]!r} (it has: {', '.join(DEFAULTS)})")
    h = dict(DEFAULTS)
    h.update(settings)
    for name, value in h.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise OptimizerError(f"optimizer setting {name} must be a finite number, got {value!r}")
        if value < 0:
            raise OptimizerError(f"optimizer setting {name} must be >= 0, got {value!r}")
    for name in ("momentum", "decay_rate", "beta1", "beta2"):
        if not 0.0 <= h[name] < 1.0:
            raise OptimizerError(f"optimizer setting {name} must be in [0, 1), got {h[name]!r}")
    for name in ("max_norm", "clip_norm", "clip_value"):
        if h[name] is not None and h[name] <= 0:
            raise OptimizerError(f"optimizer setting {name} must be > 0 (or null for none), got {h[name]!r}")
    return kind, {k: (None if v is None else float(v)) for k, v in h.items()}


def base_lr(settings: dict | None) -> float:
    """The learning rate that optimizer settings {"kind": ..., "lr": ...} state (validated)."""
    settings = dict(settings or {})
    return validated(settings.pop("kind", "sgd"), settings)[1]["lr"]


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_item(key: str, x, dx) -> None:
    """What the update loops trust: a writable float array x and a gradient of its shape."""
    if type(x) is np.ndarray and type(dx) is np.ndarray and dx.shape == x.shape and x.dtype in _FLOATS \
            and x.flags.writeable and dx.dtype.kind in "fiu":
        return
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        raise OptimizerError(f"{key}: weights must be a float32 or float64 array, got "
                             f"{getattr(x, 'dtype', type(x).__name__)}")
    if not x.flags.writeable:
        raise OptimizerError(f"{key}: the weights are a read-only array; update a graph's arrays inside "
                             "`with g.editing(node) as arrays:` (the Trainer does)")
    if not isinstance(dx, np.ndarray) or dx.shape != x.shape or dx.dtype.kind not in "fiu":
        raise OptimizerError(f"{key}: the gradient must be a numeric array of the weights' shape {x.shape}, got "
                             f"{getattr(dx, 'shape', type(dx).__name__)}")


def fits(a, name: str, x: np.ndarray) -> bool:
    """Can saved state array `a` (state name `name`) serve weights `x`?"""
    if not isinstance(a, np.ndarray):
        return False
    if name == "t":
        return a.shape == ()
    return a.shape == x.shape and a.dtype == x.dtype
