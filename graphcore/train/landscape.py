"""The loss landscape: the loss over a plane through weight space, and optimizers' paths on it.

A `Landscape` prepares one private copy of a graph that trains (its meta.training names the data
and the loss; see graphcore.train.trainer) once: the data, one executor, one fixed batch (the whole
training split when it is small, else a seeded sample of `points` examples). Every grid cell then
writes the plane's weights into that copy's arrays in place and runs one eval-mode forward pass:
no cell plans again. Costs are bounded and checked first, the model's size counted (cells x examples x
weights): LandscapeError names each factor and the limit.

    from graphcore.train.landscape import Landscape
    from graphcore.train.plane import random_plane, weight_plane

    land = Landscape(graph, points=256)                   # graph: a graphcore.Graph with meta.training
    plane = weight_plane(graph, ("w", "value", 0), ("w", "value", 1))   # or random_plane(graph, seed=0)
    grid = land.grid(plane, span=2.0, resolution=41)      # grid.loss[j, i] is the loss at (xs[i], ys[j])
    grid.center_loss                                      # the loss at the current weights
    race = land.race(plane, steps=60, settings={"sgd": {"lr": 0.1}, "adam": {"lr": 0.1}})
    race["adam"].xy, race["adam"].loss                    # (steps + 1, 2) plane coordinates, losses
    plane.coords_of(graph)                                # where a graph's weights lie on the plane

`race` starts every optimizer of graphcore.train.optim (sgd, momentum, nesterov, adagrad, rmsprop,
adam, or the `kinds` asked for) from the same point, the plane's origin, and takes full-batch steps
on the fixed batch; an optimizer without its own `settings` uses the graph's learning rate. A run
that produces NaN/Inf ends early with status "diverged". Neither call changes the caller's graph.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..graph import Graph
from ..problems import GraphError, NumericError
from . import optim
from .config import ConfigError, TrainConfig
from .optsettings import KINDS
from .plane import LandscapeError, Plane  # noqa: F401  (LandscapeError: this module's error too)
from .trainer import Trainer

MIN_RESOLUTION, MAX_RESOLUTION = 3, 101
MAX_POINTS = 4096  # examples in the fixed batch
MAX_WORK = 4_000_000  # grid cells x examples (or race steps x optimizers x examples): the per-pass overhead
# grid cells x examples x weights (a race step counts 3 passes: forward, backward, the loss): what a pass
# computes grows with the model; 101x101 cells of 256 examples of the largest shipped example
# (digits_cnn, 5,450 weights) is 1.4e10, while a 2-million-weight net stops at about 6x6 cells
MAX_COST = 20_000_000_000
MAX_RACE_STEPS = 2000
MAX_SPAN = 1e6


@dataclass
class Grid:
    """The loss over a plane: loss[j, i] at coordinates (xs[i], ys[j])."""

    xs: np.ndarray
    ys: np.ndarray
    loss: np.ndarray
    center_loss: float  # at the plane's origin (the weights the plane was made at)
    labels: tuple[str, str]


@dataclass
class Trajectory:
    """One optimizer's path: plane coordinates and the loss at each point (the start first)."""

    kind: str
    xy: np.ndarray  # (n, 2)
    loss: np.ndarray  # (n,)
    status: str = "ok"  # or "diverged"
    message: str = ""


def _number(value, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or not lo < value <= hi:
        raise LandscapeError(f"{what} must be a number in ({lo:g}, {hi:g}], got {value!r:.40}")
    return float(value)


def _check_cost(evals: int, n: int, weights: int, what: str, fix: str, passes: int = 1) -> None:
    """Refuse `evals` evaluations of `n` examples when evals x n is over MAX_WORK, or when
    evals x passes x n x weights is over MAX_COST, naming every factor."""
    work, cost = evals * n, evals * passes * n * max(weights, 1)
    if work > MAX_WORK:
        raise LandscapeError(f"{what} of {n} examples each is {work:,} evaluations, over the limit of "
                             f"{MAX_WORK:,}: {fix}")
    if cost > MAX_COST:
        each = f"{passes} passes x " if passes != 1 else ""
        raise LandscapeError(f"{what} of {n} examples each, with {weights:,} weights, is about {cost:.3g} "
                             f"multiply-adds ({each}examples x weights each), over the limit of {MAX_COST:.3g}: "
                             f"{fix}")


def _count(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise LandscapeError(f"{what} must be a whole number from {lo} to {hi}, got {value!r:.40}")
    return int(value)


class Landscape:
    """Loss evaluations of one graph at weights it is told; see the module docstring."""

    def __init__(self, graph: Graph, points: int = 256, *, base_dir: str | None = None, data=None,
                 dataset=None, policy=None, dtype: str | None = None, seed: int = 0) -> None:
        self.points = _count(points, "points", 1, MAX_POINTS)
        training = graph.meta.get("training") if isinstance(graph.meta, dict) else None
        if not isinstance(training, dict):
            raise LandscapeError("the graph has no training settings (meta.training): the landscape needs "
                                 "its data and its loss")
        cfg = TrainConfig.from_dict(training)
        if dtype is not None:
            cfg = cfg.merged(dtype=dtype)
        self.graph = graph.copy()  # private: cells write weights into its arrays
        self.trainer = Trainer(self.graph, cfg, base_dir=base_dir, data=data, dataset=dataset, policy=policy)
        try:
            self.trainer.prepare()
        except GraphError as exc:
            raise LandscapeError(f"the graph cannot run: {exc}") from None
        except ConfigError as exc:
            raise LandscapeError(str(exc)) from None
        t = self.trainer
        X, y = t.data.X_train, t.data.y_train
        if len(X) > self.points:
            idx = np.sort(np.random.default_rng([int(seed), 7]).choice(len(X), self.points, replace=False))
            X, y = X[idx], y[idx]
        self.X, self.y = np.ascontiguousarray(X), np.ascontiguousarray(y)
        self.loss_node = t.roles["loss"]
        # every array a pass reads besides the data (weights, batchnorm's running statistics): put back
        # after each race, so one Landscape's answers never depend on what it was asked before
        self._start = {k: np.array(a, copy=True) for k, a in {**t._snapshot(), **self._arrays()}.items()}
        self.weights = sum(int(a.size) for a in self._arrays().values())  # the model's size, for the cost

    @property
    def n(self) -> int:
        """Examples in the fixed batch."""
        return len(self.X)

    def _arrays(self) -> dict:
        return {(nid, w): self.graph.nodes[nid].tensors[w] for nid, w in self.graph.trainable()}

    def _check_plane(self, plane: Plane) -> None:
        if not isinstance(plane, Plane):
            raise LandscapeError(f"expected a Plane, got {type(plane).__name__}")
        for nid, w in plane.keys:
            node = self.graph.nodes.get(nid)
            a = node.tensors.get(w) if node is not None else None
            if a is None or a.shape != plane.origin[(nid, w)].shape:
                label = node.name if node is not None else nid
                raise LandscapeError(f"the plane's array {label}.{w} is not in the graph with shape "
                                     f"{plane.origin[(nid, w)].shape}: make the plane again")

    def _write(self, arrays: dict) -> None:
        """Put weights into the private graph in place, with a new version for their nodes."""
        g = self.graph
        for (nid, w), a in arrays.items():
            np.copyto(g.nodes[nid].tensors[w], a, casting="unsafe")
        g.mark_updated_quiet(tuple(dict.fromkeys(nid for nid, _ in arrays)))

    def _loss_here(self) -> float:
        t = self.trainer
        t._feat_t["value"], t._lab_t["value"] = self.X, self.y
        ex = t.ex
        ex.mode = "eval"
        try:
            ex.forward()
        finally:
            ex.mode = "train"
        return float(ex.values[self.loss_node])

    def loss_at(self, arrays: dict | None = None) -> float:
        """The eval-mode loss on the fixed batch at the given weights (the start weights elsewhere)."""
        self._write(self._start)
        if arrays:
            self._write(arrays)
        return self._loss_here()

    def grid(self, plane: Plane, span=1.0, resolution: int = 31, center=(0.0, 0.0), should_stop=None) -> Grid:
        """The loss at resolution x resolution points of [-span, span]^2 (span may be (sx, sy)) around
        `center` (plane coordinates; the origin by default). `should_stop()` is asked between rows:
        a true answer raises InterruptedError."""
        self._check_plane(plane)
        res = _count(resolution, "resolution", MIN_RESOLUTION, MAX_RESOLUTION)
        sx, sy = span if isinstance(span, (tuple, list)) and len(span) == 2 else (span, span)
        sx = _number(sx, "span", 0.0, MAX_SPAN)
        sy = _number(sy, "span", 0.0, MAX_SPAN)
        fit = math.isqrt(max(min(MAX_WORK // self.n, MAX_COST // (self.n * max(self.weights, 1))), 0))
        _check_cost(res * res, self.n, self.weights, f"{res}x{res} cells",
                    "lower the resolution or the points" + (f" (at {self.n} points: a grid of at most {fit}x{fit})"
                                                            if fit >= MIN_RESOLUTION else ""))
        if not isinstance(center, (tuple, list)) or len(center) != 2:
            raise LandscapeError(f"center must be two plane coordinates (a, b), got {center!r:.40}")
        cx = _number(center[0], "center", -MAX_SPAN - 1, MAX_SPAN)
        cy = _number(center[1], "center", -MAX_SPAN - 1, MAX_SPAN)
        xs, ys = np.linspace(cx - sx, cx + sx, res), np.linspace(cy - sy, cy + sy, res)
        out = np.empty((res, res))
        self._write(self._start)
        arrays = {k: self.graph.nodes[k[0]].tensors[k[1]] for k in plane.keys}
        o, d1, d2 = plane.origin, plane.d1, plane.d2
        nodes = tuple(dict.fromkeys(nid for nid, _ in plane.keys))
        mark = self.graph.mark_updated_quiet
        with np.errstate(all="ignore"):
            for j, b in enumerate(ys):
                if should_stop is not None and should_stop():
                    raise InterruptedError("the landscape was cancelled")
                for i, a in enumerate(xs):
                    for k, arr in arrays.items():
                        np.copyto(arr, o[k] + a * d1[k] + b * d2[k], casting="unsafe")
                    mark(nodes)
                    out[j, i] = self._loss_here()
            self._write(self._start)
            self._write({k: plane.origin[k] for k in plane.keys})
            at_origin = self._loss_here()
        self._write(self._start)
        return Grid(xs, ys, out, at_origin, plane.labels)

    def race(self, plane: Plane, steps: int = 50, kinds=None, settings: dict | None = None) -> dict[str, Trajectory]:
        """Each optimizer's path from the plane's origin: {kind: Trajectory}; see the module docstring."""
        self._check_plane(plane)
        steps = _count(steps, "steps", 1, MAX_RACE_STEPS)
        kinds = tuple(KINDS if kinds is None else kinds)
        settings = dict(settings or {})
        for k in kinds:
            if k not in KINDS:
                raise LandscapeError(f"unknown optimizer {k!r:.40} (known: {', '.join(KINDS)})")
        for k, s in settings.items():
            if k not in KINDS or not isinstance(s, dict):
                raise LandscapeError(f"settings: expected {{optimizer kind: {{setting: value}}}}, got {k!r:.40}")
        _check_cost(steps * len(kinds), self.n, self.weights, f"{len(kinds)} optimizers x {steps} steps",
                    "fewer steps or points", passes=3)  # a step: forward, backward, then the loss again
        t = self.trainer
        lr0 = optim.base_lr(t.config.optimizer)
        built = {}
        for k in kinds:
            try:
                built[k] = optim.Optimizer(k, state={}, **{"lr": lr0, **settings.get(k, {})})
            except optim.OptimizerError as exc:
                raise LandscapeError(f"settings for {k}: {exc}") from None
        keep = t.optimizer
        out = {}
        try:
            for k, opt in built.items():
                out[k] = self._one_race(plane, k, opt, steps)
        finally:
            t.optimizer = keep
            self._write(self._start)
        return out

    def _one_race(self, plane: Plane, kind: str, opt: optim.Optimizer, steps: int) -> Trajectory:
        t = self.trainer
        self._write(self._start)
        self._write({k: plane.origin[k] for k in plane.keys})
        t.optimizer = opt
        arrays = self._arrays()
        xy, losses = [plane.coords(arrays)], [self._loss_here()]
        status, message = "ok", ""
        lr = opt.lr
        with np.errstate(all="ignore"):
            for _ in range(steps):
                try:
                    t.train_step(self.X, self.y, lr, report=False)
                except NumericError as exc:
                    status, message = "diverged", str(exc)
                    break
                loss = self._loss_here()
                if not math.isfinite(loss):
                    status, message = "diverged", f"the loss became {loss} after {len(losses)} steps"
                    break
                xy.append(plane.coords(arrays))
                losses.append(loss)
        return Trajectory(kind, np.array(xy), np.array(losses), status, message)


def bowl_graph(scale: float = 0.2, start=(-2.0, -2.5), n: int = 64, seed: int = 0) -> Graph:
    """A tiny problem with exactly two weights, for a clean race picture: linear regression
    pred = (x * s) @ w with the second feature scaled by `scale`, so the MSE is a long narrow bowl
    (curvatures about 1 : scale^2) in which plain SGD zig-zags and momentum and Adam do not.
    The two weights are param node "w" (shape (2, 1)), starting at `start`."""
    g = Graph()
    g.meta["seed"] = seed
    x = g.add("input", name="x", value=np.zeros((n, 2)))
    y = g.add("input", name="y", value=np.zeros((n, 1)))
    s = g.add("const", name="scale", value=np.array([1.0, float(scale)]))
    xs = g.add("mul", name="scaled", inputs={"a": x, "b": s})
    w = g.add("param", name="w", value=np.array(start, np.float64).reshape(2, 1))
    p = g.add("matmul", name="pred", inputs={"a": xs, "b": w})
    g.add("mse", name="loss", inputs={"pred": p, "target": y})
    for k, nid in enumerate((x, s, xs, w, p)):
        g.set_ui(nid, x=40 + 170 * k, y=120 + (60 if k % 2 else 0))
    g.meta["training"] = {"dataset": {"name": "linear", "n": n, "dim": 2, "noise": 0.1, "seed": seed},
                          "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.0,
                          "optimizer": {"kind": "sgd", "lr": 0.1}, "batch_size": 0, "epochs": 50,
                          "seed": seed, "dtype": "float64"}
    return g
