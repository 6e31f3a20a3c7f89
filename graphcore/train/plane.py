"""A plane through weight space: the current weights (the origin) and two directions.

The loss landscape (graphcore.train.landscape) draws the loss over such a plane, and a run's
weights are projected onto it. Two kinds:

- `weight_plane(graph, ("fc1", "W", 3), ("fc1", "W", 7))`: the axes are two single weights
  (node name or id, weight name, flat index); a point (a, b) adds a and b to them.
- `random_plane(graph, seed=0)`: two seeded Gaussian directions over every trainable array,
  filter-normalised as in Li et al. 2018 ("Visualizing the loss landscape of neural nets"):
  each unit's (filter's) direction is scaled to the norm of that unit's weights, so a step of 1
  along an axis is "as large as the weights", whatever each layer's scale. A 0-d or 1-d array
  (a bias, a param) is one filter; where the weights are all zero the direction is zero there.

A point's coordinates are the least-squares solution over the two directions (exact for weight
axes; random directions in many dimensions are nearly orthogonal). A Plane is plain data (numpy
arrays, strings): it pickles to the training process, which projects its weights with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..graph import Graph
from .optim import unit_axes

Key = tuple[str, str]  # (node id, weight name)
PARALLEL_COS = 0.999  # two directions closer than this span no plane


class LandscapeError(ValueError):
    """A landscape request that cannot be met; the message names the node, weight or limit."""


@dataclass
class Plane:
    kind: str  # "weights" or "random"
    keys: tuple[Key, ...]  # the arrays the plane moves
    origin: dict[Key, np.ndarray]  # float64 copies of the weights at (0, 0)
    d1: dict[Key, np.ndarray]
    d2: dict[Key, np.ndarray]
    labels: tuple[str, str]  # axis titles ("fc1.W[3]" or "direction 1")
    seed: int | None = None
    _gram_inv: np.ndarray = field(default=None, repr=False)

    def __post_init__(self) -> None:
        g11 = sum(float(np.vdot(self.d1[k], self.d1[k])) for k in self.keys)
        g22 = sum(float(np.vdot(self.d2[k], self.d2[k])) for k in self.keys)
        g12 = sum(float(np.vdot(self.d1[k], self.d2[k])) for k in self.keys)
        if not all(math.isfinite(v) for v in (g11, g22, g12)):  # filter-normalised to weights near 1e200
            raise LandscapeError("the plane's directions are too long to measure (their squared length "
                                 "overflows): the weights are too large; choose two weights instead")
        if g11 <= 0 or g22 <= 0:
            raise LandscapeError("a direction of the plane is zero (every weight it covers is zero): "
                                 "choose two weights instead, or initialise the net first")
        if abs(g12) / np.sqrt(g11 * g22) > PARALLEL_COS:
            raise LandscapeError("the two directions are parallel and span no plane: choose two different "
                                 "weights, or another seed")
        self._gram_inv = np.linalg.inv(np.array([[g11, g12], [g12, g22]]))

    def point(self, a: float, b: float) -> dict[Key, np.ndarray]:
        """The weights at (a, b): origin + a d1 + b d2 (float64)."""
        return {k: self.origin[k] + a * self.d1[k] + b * self.d2[k] for k in self.keys}

    def coords(self, arrays: Mapping[Key, np.ndarray]) -> tuple[float, float]:
        """Project weights (at least every array of `keys`) onto the plane: (a, b)."""
        r1 = r2 = 0.0
        for k in self.keys:
            delta = np.asarray(arrays[k], np.float64) - self.origin[k]
            r1 += float(np.vdot(self.d1[k], delta))
            r2 += float(np.vdot(self.d2[k], delta))
        a, b = self._gram_inv @ np.array([r1, r2])
        return float(a), float(b)

    def coords_of(self, graph: Graph) -> tuple[float, float]:
        """Where a graph's current weights lie on the plane."""
        return self.coords({k: graph.nodes[k[0]].tensors[k[1]] for k in self.keys})

    def project(self, snapshots: list[Mapping[Key, np.ndarray]]) -> np.ndarray:
        """A trajectory of weight snapshots as an (n, 2) array of plane coordinates."""
        out = np.empty((len(snapshots), 2))
        for i, snap in enumerate(snapshots):
            out[i] = self.coords(snap)
        return out

    def fits(self, graph: Graph) -> bool:
        """Whether the graph still has every array of the plane with the same shape."""
        for nid, w in self.keys:
            node = graph.nodes.get(nid)
            a = node.tensors.get(w) if node is not None else None
            if a is None or a.shape != self.origin[(nid, w)].shape:
                return False
        return True


def _trainable(graph: Graph) -> list[Key]:
    keys = graph.trainable()
    if not keys:
        raise LandscapeError("the graph has no trainable weights (add a linear layer or a param node)")
    return keys


def resolve_axis(graph: Graph, axis, which: str) -> tuple[Key, int, str]:
    """((node id, weight), flat index, label) for an axis (node name or id, weight name, flat index)."""
    if not isinstance(axis, (tuple, list)) or len(axis) != 3:
        raise LandscapeError(f"{which}: expected (node, weight, index), got {axis!r:.80}")
    node_ref, weight, index = axis
    if not isinstance(node_ref, str) or not isinstance(weight, str):
        raise LandscapeError(f"{which}: node and weight must be names, got {node_ref!r:.40} and {weight!r:.40}")
    nid = node_ref if node_ref in graph.nodes else None
    if nid is None:
        hits = [i for i, n in graph.nodes.items() if n.name == node_ref]
        if len(hits) != 1:
            raise LandscapeError(f"{which}: {'no' if not hits else 'more than one'} node named {node_ref!r:.60}")
        nid = hits[0]
    name = graph.nodes[nid].name
    if (nid, weight) not in graph.trainable():
        have = [w for n, w in graph.trainable() if n == nid]
        raise LandscapeError(f"{which}: node {name!r} has no trainable weight {weight!r:.40}"
                             f" (it has: {', '.join(have) or 'none'})")
    size = graph.nodes[nid].tensors[weight].size
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < size:
        raise LandscapeError(f"{which}: index {index!r:.20} is out of range for {name}.{weight} "
                             f"({size} numbers: 0 to {size - 1})")
    return (nid, weight), int(index), f"{name}.{weight}[{int(index)}]"


def _finite_origin(graph: Graph, keys) -> dict[Key, np.ndarray]:
    """float64 copies of the plane's arrays; NaN or Inf in one (a run that diverged, a file's values)
    would make every cell NaN and every projected point NaN, so it is refused by name."""
    origin = {}
    for k in keys:
        a = np.array(graph.nodes[k[0]].tensors[k[1]], np.float64)
        if not np.isfinite(a).all():
            raise LandscapeError(f"{graph.nodes[k[0]].name}.{k[1]} holds NaN or Inf: a landscape needs finite "
                                 "weights (initialise the net again, or undo the run that diverged)")
        origin[k] = a
    return origin


def weight_plane(graph: Graph, first, second) -> Plane:
    """The plane of two single weights, each (node name or id, weight name, flat index)."""
    _trainable(graph)
    k1, i1, lab1 = resolve_axis(graph, first, "first axis")
    k2, i2, lab2 = resolve_axis(graph, second, "second axis")
    if (k1, i1) == (k2, i2):
        raise LandscapeError(f"both axes are {lab1}: choose two different weights")
    keys = tuple(dict.fromkeys((k1, k2)))
    origin = _finite_origin(graph, keys)
    d1 = {k: np.zeros_like(origin[k]) for k in keys}
    d2 = {k: np.zeros_like(origin[k]) for k in keys}
    d1[k1].reshape(-1)[i1] = 1.0
    d2[k2].reshape(-1)[i2] = 1.0
    return Plane("weights", keys, origin, d1, d2, (lab1, lab2))


def filter_normalized(direction: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Scale each unit's part of `direction` to the norm of that unit's weights (Li et al. 2018)."""
    d = np.array(direction, np.float64)
    w = np.asarray(weights, np.float64)
    if w.ndim <= 1:
        nd, nw = np.linalg.norm(d), np.linalg.norm(w)
        return d * (nw / nd) if nd > 0 else d
    axes = unit_axes(w.ndim)
    nd = np.sqrt(np.sum(d * d, axis=axes, keepdims=True))
    nw = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))
    return d * np.divide(nw, nd, out=np.zeros_like(nd), where=nd > 0)


def random_plane(graph: Graph, seed: int = 0, normalize: bool = True) -> Plane:
    """Two seeded Gaussian directions over every trainable array (filter-normalised unless told not)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
        raise LandscapeError(f"seed must be an integer >= 0, got {seed!r:.40}")
    keys = tuple(_trainable(graph))
    origin = _finite_origin(graph, keys)
    rng = np.random.default_rng([int(seed), 11])
    dirs = []
    for _ in range(2):
        d = {k: rng.standard_normal(origin[k].shape) for k in keys}
        if normalize:
            d = {k: filter_normalized(d[k], origin[k]) for k in keys}
        dirs.append(d)
    return Plane("random", keys, origin, dirs[0], dirs[1], ("direction 1", "direction 2"), seed=int(seed))


TRACK_ALL_BELOW = 200_000  # numbers in the plane: below this every reported step is projected
TRACK_SECONDS = 1 / 30  # above it, at most this often


class PlaneTracker:
    """A training run's path on a plane, projected where the weights are (the training process):
    two floats per reported step go to the GUI, never the weights. `track(step)` after a step,
    `take()` for the points since the last take ({"steps": (n,), "xy": (n, 2)}, or None)."""

    def __init__(self, plane: Plane, graph: Graph) -> None:
        import time

        self._clock = time.perf_counter
        self.plane = plane
        self.arrays = {k: graph.nodes[k[0]].tensors[k[1]] for k in plane.keys}
        self.every_step = sum(a.size for a in self.arrays.values()) < TRACK_ALL_BELOW
        self._last = -1.0
        self._steps: list[int] = []
        self._xy: list[tuple[float, float]] = []

    def track(self, step: int, force: bool = False) -> None:
        if self._steps and self._steps[-1] == step:
            return
        now = self._clock()
        if not (force or self.every_step or now - self._last >= TRACK_SECONDS):
            return
        self._last = now
        with np.errstate(all="ignore"):
            self._xy.append(self.plane.coords(self.arrays))
        self._steps.append(step)

    def take(self) -> dict | None:
        if not self._steps:
            return None
        out = {"steps": np.array(self._steps, np.int64), "xy": np.array(self._xy, np.float64).reshape(-1, 2)}
        self._steps, self._xy = [], []
        return out
