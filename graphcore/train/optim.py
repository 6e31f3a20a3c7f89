"""Optimizers with the CS231n notes' update rules, applied in place.

    sgd       x += -lr * dx
    momentum  v = mu * v - lr * dx;  x += v
    nesterov  v_prev = v;  v = mu * v - lr * dx;  x += -mu * v_prev + (1 + mu) * v
    adagrad   cache += dx**2;  x += -lr * dx / (sqrt(cache) + eps)
    rmsprop   cache = decay * cache + (1 - decay) * dx**2;  x += -lr * dx / (sqrt(cache) + eps)
    adam      t += 1;  m = b1*m + (1-b1)*dx;  v = b2*v + (1-b2)*dx**2
              x += -lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)

Around the rule, in this order: gradient clipping (by global norm over all
params, and/or per element by value), weight decay (dx + wd * x), the update,
then the max-norm constraint (each unit's incoming weight vector clamped to
L2 norm c: the columns of a (D, units) weight, each filter of a conv weight).

State lives in a dict keyed "node_id/weight" -> {"velocity" | "cache" | "m",
"v", "t": arrays}; pass the graph's `opt_state` so it is saved with the graph.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _update_kernels as K

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


_kernels: dict[str, object] = {}


def kernel(name: str):
    """The update loop `name`, numba-compiled unless graphcore.kernels uses numpy."""
    from .. import kernels

    backend = kernels.backend()
    key = f"{backend}:{name}"
    fn = _kernels.get(key)
    if fn is None:
        fn = kernels.jit(K.LOOPS[name]) if backend == "numba" else K.TWINS[name]
        _kernels[key] = fn
    return fn


@dataclass
class StepStats:
    """Per-param figures of one update: raw gradient norm, update norm, weight norm."""

    grad_norm: dict[str, float]
    update_norm: dict[str, float]
    weight_norm: dict[str, float]

    def update_ratio(self) -> dict[str, float]:
        """|update| / |weights| per param: the notes' rule of thumb is about 1e-3."""
        return {k: (u / w if w > 0 else math.inf if u > 0 else 0.0)
                for (k, u), w in zip(self.update_norm.items(), self.weight_norm.values())}

    def finite(self) -> bool:
        return all(math.isfinite(v) for v in self.grad_norm.values()) and \
            all(math.isfinite(v) for v in self.weight_norm.values())


class Optimizer:
    """One optimizer for every trainable array of a graph.

    `step(items, lr)` takes [(key, x, dx)] with x updated in place and returns StepStats.
    """

    def __init__(self, kind: str = "sgd", state: dict | None = None, **hyper) -> None:
        if kind not in KINDS:
            raise OptimizerError(f"unknown optimizer {kind!r} (known: {', '.join(KINDS)})")
        unknown = set(hyper) - set(DEFAULTS)
        if unknown:
            raise OptimizerError(f"{kind} has no setting {sorted(unknown)[0]!r} (it has: {', '.join(DEFAULTS)})")
        self.kind = kind
        h = dict(DEFAULTS)
        h.update(hyper)
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
        self.hyper = {k: (None if v is None else float(v)) for k, v in h.items()}
        self.state: dict[str, dict[str, np.ndarray]] = state if state is not None else {}
        self._fn = kernel(f"{kind}_update")
        self._sumsq = kernel("sumsq")

    @property
    def lr(self) -> float:
        return self.hyper["lr"]

    def settings(self) -> dict:
        """Plain data for the graph file's meta.training.optimizer."""
        return {"kind": self.kind, **{k: v for k, v in self.hyper.items() if v is not None}}

    # ------------------------------------------------------------ state
    def param_state(self, key: str, x: np.ndarray) -> dict[str, np.ndarray]:
        """The state arrays of one param, created (zeros) or adopted if they fit."""
        st = self.state.get(key)
        names = STATE_NAMES[self.kind]
        ok = st is not None and set(names) <= set(st) and all(
            st[n].shape == (() if n == "t" else x.shape) and (n == "t" or st[n].dtype == x.dtype) for n in names)
        if not ok:
            st = {n: (np.zeros((), np.int64) if n == "t" else np.zeros(x.shape, x.dtype)) for n in names}
            self.state[key] = st
        return st

    def adopt_state(self, keys_shapes: dict[str, np.ndarray]) -> None:
        """Keep saved state that fits the current params and optimizer; drop the rest."""
        for key in list(self.state):
            if key not in keys_shapes:
                continue
            self.param_state(key, keys_shapes[key])

    def reset(self) -> None:
        for key in list(self.state):
            del self.state[key]

    # ------------------------------------------------------------ update
    def step(self, items: list[tuple[str, np.ndarray, np.ndarray]], lr: float | None = None) -> StepStats:
        h = self.hyper
        lr = h["lr"] if lr is None else float(lr)
        wd = h["weight_decay"]
        clip = h["clip_value"] if h["clip_value"] is not None else math.inf
        scale = 1.0
        flats = []
        for key, x, dx in items:
            xf = x.reshape(-1) if x.flags.c_contiguous else None
            dxf = dx.reshape(-1) if dx.flags.c_contiguous and dx.dtype == x.dtype else \
                np.ascontiguousarray(dx, dtype=x.dtype).reshape(-1)
            flats.append((key, x, xf, dxf))
        if h["clip_norm"] is not None:
            total = math.sqrt(sum(self._sumsq(dxf) for _, _, _, dxf in flats))
            if total > h["clip_norm"]:
                scale = h["clip_norm"] / total
        gn, un, wn = {}, {}, {}
        fn, kind = self._fn, self.kind
        for key, x, xf, dxf in flats:
            target = xf if xf is not None else np.ascontiguousarray(x).reshape(-1)
            if kind == "sgd":
                g2, u2, w2 = fn(target, dxf, lr, scale, clip, wd)
            else:
                st = self.param_state(key, x)
                if kind == "momentum" or kind == "nesterov":
                    g2, u2, w2 = fn(target, dxf, st["velocity"].reshape(-1), lr, h["momentum"], scale, clip, wd)
                elif kind == "adagrad":
                    g2, u2, w2 = fn(target, dxf, st["cache"].reshape(-1), lr, h["eps"], scale, clip, wd)
                elif kind == "rmsprop":
                    g2, u2, w2 = fn(target, dxf, st["cache"].reshape(-1), lr, h["decay_rate"], h["eps"],
                                    scale, clip, wd)
                else:  # adam
                    t = int(st["t"]) + 1
                    st["t"][...] = t
                    b1, b2 = h["beta1"], h["beta2"]
                    g2, u2, w2 = fn(target, dxf, st["m"].reshape(-1), st["v"].reshape(-1), lr, b1, b2, h["eps"],
                                    1.0 - b1 ** t, 1.0 - b2 ** t, scale, clip, wd)
            if xf is None:
                np.copyto(x, target.reshape(x.shape))
            if h["max_norm"] is not None and x.ndim >= 2:
                w2 = max_norm_(x, h["max_norm"])
            gn[key] = math.sqrt(g2) if g2 >= 0 else math.nan
            un[key] = math.sqrt(u2) if u2 >= 0 else math.nan
            wn[key] = math.sqrt(w2) if w2 >= 0 else math.nan
        return StepStats(gn, un, wn)


def unit_axes(ndim: int) -> tuple[int, ...]:
    """Axes that make up one unit's incoming weight vector.

    A (D, units) linear weight: axis 0 (each column is a unit). A conv weight
    (F, C, k, k): axes 1.. (each filter is a unit).
    """
    return (0,) if ndim == 2 else tuple(range(1, ndim))


def max_norm_(w: np.ndarray, c: float) -> float:
    """Clamp each unit's incoming weight vector to L2 norm <= c, in place; returns sum w^2."""
    axes = unit_axes(w.ndim)
    norms = np.sqrt(np.sum(w * w, axis=axes, keepdims=True, dtype=np.float64))
    factor = np.minimum(1.0, c / np.maximum(norms, 1e-300))
    if (factor < 1.0).any():
        w *= factor.astype(w.dtype)
    return float(np.sum(w * w, dtype=np.float64))


def from_settings(settings: dict | None, state: dict | None = None) -> Optimizer:
    """Build from plain data {"kind": "adam", "lr": 1e-3, ...} (meta.training.optimizer)."""
    settings = dict(settings or {})
    kind = settings.pop("kind", "sgd")
    if not isinstance(kind, str):
        raise OptimizerError(f"optimizer kind must be text, got {kind!r}")
    return Optimizer(kind, state=state, **settings)
