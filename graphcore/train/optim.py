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

Settings are fixed per optimizer: `hyper` is read-only, and `configure(...)`
changes them by rebuilding everything derived from them (the scalars converted
to each dtype, the kernels, the cached call arguments). The learning rate of a
step is an argument of `update`/`step` (the trainer's schedule decides it); the
`lr` setting is its default. The settings and their checks live in
graphcore.train.optsettings, the update loops in graphcore.kernels.optim.

A hand-written loop updates a graph's weights through its versioned path:

    for nid, w in g.trainable():
        with g.editing(nid, quiet=True) as arrays:   # a new version, no event per step
            opt.step([(f"{nid}/{w}", arrays[w], ex.weight_grad(nid, w))])
    g.commit_weights()                               # one weights_changed when done
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .. import kernels
from ..kernels import optim as K
from .optsettings import (DEFAULTS, DOCS, KINDS, STATE_NAMES, OptimizerError, base_lr,  # noqa: F401  (re-exported)
                          check_item, fits, validated)

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
        self._kind, self._hyper = validated(kind, hyper)
        self.state: dict[str, dict[str, np.ndarray]] = state if state is not None else {}
        self._rebuild()

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def hyper(self) -> MappingProxyType:
        """The settings, read-only: change them with configure()."""
        return MappingProxyType(self._hyper)

    @property
    def lr(self) -> float:
        return self._hyper["lr"]

    def settings(self) -> dict:
        """Plain data for the graph file's meta.training.optimizer."""
        return {"kind": self._kind, **{k: v for k, v in self._hyper.items() if v is not None}}

    def configure(self, kind: str | None = None, **changes) -> None:
        """Change settings (all checked first, nothing changes on an error) and rebuild the compiled path.
        A new kind keeps the state arrays it shares with the old one (none, unless both use "velocity"
        or "cache") and starts the rest from zeros."""
        self._kind, self._hyper = validated(kind or self._kind, {**self._hyper, **changes})
        self._rebuild()

    def _rebuild(self) -> None:
        """Everything derived from the settings and the kernel backend, from scratch."""
        self._gen = kernels.generation
        numba = kernels.backend() == "numba"
        self._fn = K.UPDATE[self._kind].get()
        self._sumsq = K.SUMSQ.get()
        group = K.GROUP.get(self._kind)
        self._fn4 = group.get() if numba and group else None
        self._names = tuple(n for n in STATE_NAMES[self._kind] if n != "t")
        self._scal: dict[tuple, tuple] = {}  # (dtype, lr, scale) -> the scalars in that dtype
        self._prep: dict[str, tuple] = {}
        self._fast: tuple | None = None  # (lr, kernels generation, [(key, x, dx, state, arrays, args, tail)])
        self._groups: tuple | None = None  # (4-param loop, [its call args], n params) for self._fast

    # ------------------------------------------------------------ state
    def param_state(self, key: str, x: np.ndarray) -> dict[str, np.ndarray]:
        """The state arrays of one param, created (zeros) or adopted if they fit."""
        st = self.state.get(key)
        names = STATE_NAMES[self._kind]
        if isinstance(st, dict) and all(fits(st.get(n), n, x) for n in names):
            for n in names:  # the loops write through flat views: they must be the arrays' own memory
                if not (st[n].flags.c_contiguous and st[n].flags.writeable):
                    st[n] = np.array(st[n], order="C")
            return st
        st = {n: (np.zeros((), np.int64) if n == "t" else np.zeros(x.shape, x.dtype)) for n in names}
        self.state[key] = st
        return st

    def adopt_state(self, keys_shapes: dict[str, np.ndarray]) -> None:
        """Keep saved state that fits the current params and optimizer; drop the rest, saying so."""
        from .optstate import check

        check(self.state, keys_shapes)
        for key in list(self.state):
            if key not in keys_shapes:
                continue
            self.param_state(key, keys_shapes[key])

    def reset(self) -> None:
        for key in list(self.state):
            del self.state[key]
        self._prep.clear()
        self._fast = None
        self._groups = None

    # ------------------------------------------------------------ update
    def _prepared(self, key: str, x: np.ndarray) -> tuple:
        """(x, flat x or None, flat state arrays, state dict, state arrays), reused while x and every
        state array stay the same objects."""
        p = self._prep.get(key)
        if p is not None and p[0] is x and (p[3] is None or self._same_state(key, p[3], p[4])):
            return p
        st = self.param_state(key, x) if self._names else None
        arrays = tuple((n, st[n]) for n in self._names) if st is not None else ()
        xf = x.reshape(-1) if x.flags.c_contiguous else None
        p = (x, xf, tuple(a.reshape(-1) for _, a in arrays), st, arrays)
        self._prep[key] = p
        return p

    def _same_state(self, key: str, st0: dict, arrays: tuple) -> bool:
        if self.state.get(key) is not st0:
            return False
        for n, a in arrays:
            if st0.get(n) is not a:
                return False
        return True

    def _scalars(self, dtype: np.dtype, lr: float, scale: float) -> tuple[tuple, tuple]:
        """(rule scalars, (scale, clip, wd)) in the array's float type. Derived ones (1 + mu, 1 - beta...)
        are computed in float64 from the exact settings and rounded once: float32 stays float32."""
        key = (dtype, lr, scale)
        c = self._scal.get(key)
        if c is not None:
            return c
        if len(self._scal) > 64:
            self._scal.clear()
        T = dtype.type
        h, kind = self._hyper, self._kind
        clip = h["clip_value"] if h["clip_value"] is not None else math.inf
        mu, eps, decay, b1, b2 = h["momentum"], h["eps"], h["decay_rate"], h["beta1"], h["beta2"]
        head = {"sgd": (lr,), "momentum": (lr, mu), "nesterov": (lr, mu, 1.0 + mu), "adagrad": (lr, eps),
                "rmsprop": (lr, decay, 1.0 - decay, eps),
                "adam": (lr, b1, 1.0 - b1, b2, 1.0 - b2, eps)}[kind]
        c = self._scal[key] = (tuple(T(v) for v in head), (T(scale), T(clip), T(h["weight_decay"])))
        return c

    def update(self, items: list[tuple[str, np.ndarray, np.ndarray]], lr: float | None = None
               ) -> list[tuple[float, float, float]]:
        """Apply one update in place; per param (sum dx^2, sum update^2, sum x^2)."""
        lr = self._hyper["lr"] if lr is None else float(lr)
        fast = self._fast
        if fast is not None and fast[0] == lr and fast[1] == kernels.generation and len(fast[2]) == len(items):
            # the same arrays as last step (params, gradients, every state array): reuse its call arguments
            state = self.state
            for (key, x, dx), (key0, x0, dx0, st0, arrays, _, _) in zip(items, fast[2]):
                if x is not x0 or dx is not dx0 or key is not key0 and key != key0:
                    break
                if st0 is not None:
                    if state.get(key) is not st0:
                        break
                    for n, a in arrays:
                        if st0.get(n) is not a:
                            break
                    else:
                        continue
                    break
            else:
                groups = self._groups  # never for Adam
                if groups is not None:
                    fn4, calls, n = groups
                    if len(calls) == 1:
                        out = list(fn4(*calls[0]))
                    else:
                        out = []
                        for args in calls:
                            out.extend(fn4(*args))
                    del out[n:]
                    return out
                if self._kind == "adam":
                    return self._adam_again(fast[2])
                fn = self._fn
                return [fn(*e[5]) for e in fast[2]]
        if self._gen != kernels.generation:
            self._rebuild()
        h = self._hyper
        scale = 1.0
        prepped = []
        for key, x, dx in items:
            check_item(key, x, dx)
            if dx.flags.c_contiguous and dx.dtype == x.dtype:
                dxf, view = dx.reshape(-1), dx  # a view: the same memory next step too
            else:
                dxf, view = np.ascontiguousarray(dx, dtype=x.dtype).reshape(-1), None
            prepped.append((key, self._prepared(key, x), dxf, view))
        if h["clip_norm"] is not None:
            total = math.sqrt(sum(self._sumsq(dxf) for _, _, dxf, _ in prepped))
            if total > h["clip_norm"]:
                scale = h["clip_norm"] / total
        out = []
        fn, kind = self._fn, self._kind
        max_norm = h["max_norm"]
        # steps reuse the same weight and gradient arrays, so the call arguments can be reused too
        # (Adam's without its bias corrections, which change every step; none with clipping or max-norm)
        cacheable = h["clip_norm"] is None and max_norm is None
        entries: list[tuple] = []
        self._fast = None
        self._groups = None
        for key, (x, xf, flats, st, arrays), dxf, view in prepped:
            target = xf if xf is not None else np.ascontiguousarray(x).reshape(-1)
            head, tail = self._scalars(x.dtype, lr, scale)
            if kind == "adam":
                args = (target, dxf, *flats, *head)
                r = self._adam_call(args, tail, st, x.dtype.type)
            else:
                args = (target, dxf, *flats, *head, *tail)
                r = fn(*args)
            if cacheable and xf is not None and view is not None:
                entries.append((key, x, view, st, arrays, args, tail))
            else:
                cacheable = False
            if xf is None:
                np.copyto(x, target.reshape(x.shape))
            if max_norm is not None and x.ndim >= 2:
                r = (r[0], r[1], max_norm_(x, max_norm))
            out.append(r)
        if cacheable and len(entries) == len(items):
            self._fast = (lr, self._gen, entries)
            self._groups = self._grouped([e[5] for e in entries]) if kind != "adam" else None
        return out

    def _adam_call(self, args: tuple, tail: tuple, st: dict, T) -> tuple:
        """One Adam update: t += 1, and the bias corrections 1 - beta**t in float64, rounded once."""
        t = int(st["t"]) + 1
        st["t"][...] = t
        h = self._hyper
        return self._fn(*args, T(1.0 - h["beta1"] ** t), T(1.0 - h["beta2"] ** t), *tail)

    def _adam_again(self, entries: list[tuple]) -> list:
        call = self._adam_call
        return [call(e[5], e[6], e[3], e[1].dtype.type) for e in entries]

    def step(self, items: list[tuple[str, np.ndarray, np.ndarray]], lr: float | None = None) -> StepStats:
        """Apply one update in place and return the per-param norms."""
        return stats_from(items, self.update(items, lr))

    def _grouped(self, calls: list[tuple]) -> tuple | None:
        """The per-param calls as calls of the 4-param loop (numba only; every array of one dtype and
        the same scalars for all): (loop, [args], number of params). None when they cannot be grouped."""
        fn4 = self._fn4
        if fn4 is None or not calls:
            return None
        na = K.N_ARRAYS[f"{self._kind}_update"]
        tail = calls[0][na:]
        dtype = calls[0][0].dtype
        for args in calls:
            if len(args) != na + len(tail) or any(type(a) is not type(b) or a != b for a, b in zip(args[na:], tail)):
                return None
            if any(a.dtype != dtype or a.ndim != 1 or not a.flags.c_contiguous for a in args[:na]):
                return None
        empty = np.zeros(0, dtype)
        grouped = []
        for i in range(0, len(calls), 4):
            arrays = [a for args in calls[i:i + 4] for a in args[:na]]
            arrays += [empty] * (4 * na - len(arrays))
            grouped.append((*arrays, *tail))
        return fn4, grouped, len(calls)


def _sqrt(v: float) -> float:
    return math.sqrt(v) if v >= 0 else math.nan


def stats_from(items: list, sums: list[tuple[float, float, float]]) -> StepStats:
    gn, un, wn = {}, {}, {}
    for (key, _, _), (g2, u2, w2) in zip(items, sums):
        gn[key], un[key], wn[key] = _sqrt(g2), _sqrt(u2), _sqrt(w2)
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
