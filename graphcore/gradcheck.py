"""Numerical gradient checking: centred differences against every backward rule.

Relative error is CS231n's |a - n| / max(|a|, |n|), taken per element and
reported as the maximum per node (and per weight).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .executor import Executor
from .graph import Graph


@dataclass
class GradReport:
    """Max relative error per checked array: keys are node ids or "node/weight"."""

    errors: dict[str, float] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    tolerance: float = 1e-6

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self) -> bool:
        return self.max_error < self.tolerance

    def worst(self, k: int = 5) -> list[tuple[str, float]]:
        return sorted(self.errors.items(), key=lambda kv: -kv[1])[:k]


def rel_error(a: np.ndarray, n: np.ndarray, floor: float = 1e-12) -> float:
    """Max over elements of |a - n| / max(|a|, |n|); pairs both below `floor` count as equal."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    denom = np.maximum(np.abs(a), np.abs(n))
    diff = np.abs(a - n)
    tiny = denom < floor
    rel = np.where(tiny, 0.0, diff / np.where(tiny, 1.0, denom))
    return float(rel.max()) if rel.size else 0.0


def _objective(ex: Executor, target: str, seed: np.ndarray | None) -> float:
    ex.forward()
    v = np.asarray(ex.values[target], dtype=np.float64)
    return float(np.sum(v * seed)) if seed is not None else float(np.sum(v))


def gradcheck(graph: Graph, target: str | None = None, h: float = 1e-6, tolerance: float = 1e-6,
              nodes: list[str] | None = None, mode: str = "train", max_elements: int = 64) -> GradReport:
    """Compare analytic and numerical gradients of `target` w.r.t. every float
    source node and every trainable weight (or just `nodes`).

    Only the first `max_elements` elements of each array are perturbed, which
    keeps big layers cheap. Randomness (dropout) is re-seeded so each forward
    pass sees the same masks.
    """
    ex = Executor(graph, mode=mode, check="none")
    ex.forward()
    target = ex._resolve_target(target)
    seed = None
    v = ex.values[target]
    if v.ndim > 0:  # a fixed random projection catches more than the plain sum
        seed = np.random.default_rng(0).standard_normal(v.shape)
    _reset_rngs(ex)
    ex.forward()
    ex.backward(target, seed=seed)
    report = GradReport(tolerance=tolerance)
    wanted = set(graph.find(n) for n in nodes) if nodes else None
    checks: list[tuple[str, str, np.ndarray]] = []
    for nid, node in graph.nodes.items():
        if wanted is not None and nid not in wanted:
            continue
        spec = node.spec
        if spec is None:
            continue
        for w in spec.weights:
            arr = node.tensors.get(w.name)
            if arr is None or arr.dtype.kind != "f":
                continue
            if spec.source:
                key = nid
                analytic = np.array(ex.grad(nid), dtype=np.float64, copy=True)
            elif w.trainable:
                key = f"{nid}/{w.name}"
                analytic = np.array(ex.weight_grad(nid, w.name), dtype=np.float64, copy=True)
            else:
                continue
            checks.append((key, w.name, analytic))
            report.names[key] = node.name if spec.source else f"{node.name}.{w.name}"
    for key, wname, analytic in checks:
        nid = key.split("/")[0]
        arr = graph.nodes[nid].tensors[wname]
        flat = arr.reshape(-1)
        numeric = np.zeros(min(flat.size, max_elements))
        for i in range(numeric.size):
            old = flat[i]
            flat[i] = old + h
            _reset_rngs(ex)
            fp = _objective(ex, target, seed)
            flat[i] = old - h
            _reset_rngs(ex)
            fm = _objective(ex, target, seed)
            flat[i] = old
            numeric[i] = (fp - fm) / (2 * h)
        report.errors[key] = rel_error(analytic.reshape(-1)[: numeric.size], numeric)
    _reset_rngs(ex)
    ex.forward()
    return report


def _reset_rngs(ex: Executor) -> None:
    import zlib

    seed = ex.seed if ex.seed is not None else int(ex.graph.meta.get("seed", 0))
    for st in ex.plan():
        st.ctx.rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(st.nid.encode())])
