"""Numerical gradient checking: every backward rule against finite differences of the forward pass.

The check follows the CS231n notes ("Gradient checks"), with each of their pitfalls handled:

* **Relative error.** Per element, ``|a - n| / max(|a|, |n|)`` (a: the analytic gradient from the
  backward pass, n: the numerical one), and the maximum over the checked elements is reported per
  array. Before dividing, the rounding error of the finite difference itself (``noise``, below) is
  taken off ``|a - n|``: a difference that float64 cannot resolve is not held against the rule.
* **Double precision.** The check runs on a float64 copy of the graph (a float32 graph too): the
  caller's graph, its weights and its batchnorm running statistics are never changed. The backward
  rules are the same code in float32 and float64; float32 only adds rounding noise (~1e-7 relative)
  that would swamp the comparison.
* **Step and rounding.** Centred differences ``D(h) = (f(x+h) - f(x-h)) / 2h`` with
  ``h = DEFAULT_STEP`` (1e-5, the notes' choice), refined by Richardson extrapolation
  ``(4 D(h) - D(2h)) / 3``: truncation error O(h^4) instead of O(h^2). That matters where the loss
  curves sharply on the scale of h: batchnorm after 0.01-scale weights divides by a batch standard
  deviation near 0.01, and plain D(h) was off by 3e-6 there with a correct rule. The rounding error
  of a loss value f computed in float64 is a few ulps, so the difference carries
  ``noise = ROUNDOFF * eps * (8 (|f(x+h)| + |f(x-h)|) + |f(x+2h)| + |f(x-2h)|) / 12h`` (~2e-10 for a
  loss near 1). A gradient element much smaller than that (a
  0.01-scale network's first-layer bias, say) cannot be checked to 1e-6 relative, only to that
  absolute level: that is what subtracting the noise does. A wrong rule whose error exceeds the noise
  still shows, at its full relative size.
* **Kinks.** ReLU, max, max pool, maxout, |x|, step, the SVM hinge and L1 have points where the
  derivative jumps. A centred difference across one is wrong even for a correct rule (the notes'
  "kinks in the objective"). After every evaluation the check records which side of each kink every
  unit is on (ReLU input > 0, which max-pool input wins, which SVM margins are positive, ...). When
  the pattern at x+h or x-h differs from the one at x, the centred difference straddles a kink, and
  that element is estimated instead by the one-sided second-order difference
  ``(-3 f(x) + 4 f(x+sh) - f(x+2sh)) / 2sh`` on the side s whose pattern matches x's (the branch
  the backward rule used; at a point exactly on a kink, such as a ReLU input of 0, that is the
  side its convention picks); a kink between h and 2h only drops the Richardson step. When both
  sides cross a kink within h, h is divided by 10, twice;
  an element still straddling then is skipped and counted in ``report.skipped``.
* **Randomness.** Every evaluation re-seeds each node's generator, so dropout draws the same mask
  for f(x+h), f(x-h) and the analytic pass: the check is of the network with that mask, in train
  mode (the default; ``mode="eval"`` checks the inference path). Batchnorm in train mode uses the
  batch's statistics, which are smooth in every input, so it needs nothing special.
* **Data.** In a graph that carries training settings (``meta.training``), the features and labels
  nodes hold data, not parameters: they are not checked (pass ``check_data=True`` to check the
  features too; labels, integer class indices or targets, never are). Training never computes the
  gradient of the data (``Executor.input_grads`` is off), every op's input-gradient rule is checked
  on its own by the registry-wide check (``tests/test_ops_gradcheck.py``), and inside a network each
  layer's input-gradient rule is exercised by the check of every weight upstream of it. The check
  runs on ``data_rows`` (8) evenly spaced rows of the data rather than the whole batch: the backward
  rules do not depend on the batch size, and fewer rows mean fewer kinks and faster checks (the
  notes' "use only few datapoints").
* **Sampling.** Arrays with more than ``max_elements`` elements are checked at that many elements
  drawn at random (seeded), as the notes' ``grad_check_sparse`` does.

``DEFAULT_TOLERANCE`` is 1e-6: the notes call a relative error below 1e-7 "happy", 1e-4 "usually
okay for objectives with kinks" and above 1e-2 "probably wrong". Kinks are handled here by
one-sided differences rather than by a looser tolerance, truncation is O(h^4) and rounding is
allowed for, so a correct rule scores 0 (every shipped example does; without the rounding allowance,
``report.raw``, spiral_2layer's fc1.b reaches 4e-3 on gradients of ~1e-8, which is pure rounding).
1e-6 then fails a rule that is off by more than a millionth wherever the gradient exceeds ~2e-4
(noise / 1e-6), and a rule off by any amount larger than the rounding level (~2e-10) anywhere:
a 1% error in a ReLU's backward gives 1e-2 on every weight upstream of it.
See docs/gradcheck.md.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .executor import Executor
from .graph import Graph
from .problems import GraphError

DEFAULT_TOLERANCE = 1e-6
"""Max relative error at which a gradient passes (see the module docstring and docs/gradcheck.md)."""

DEFAULT_STEP = 1e-5
"""The finite-difference step h."""

ROUNDOFF = 8.0
"""Rounding error of a computed loss value, in units of eps * |f|. Measured: |a - n| reached 0.6 eps
|f| / h on the shipped examples (8 rows) and ~4.5 on a 300-row batch; 8 covers both."""

DATA_ROWS = 8
"""Rows of a training graph's data the check runs on (None: all)."""

_EPS = float(np.finfo(np.float64).eps)


@dataclass
class GradReport:
    """The result of a gradient check. Keys are node ids (sources) or "node/weight" (layer weights).

    errors: max relative error per checked array (0.0 when no element could be compared).
    names: display name per key ("x", "fc1.W").
    checked: elements compared per key; one_sided: of those, how many straddled a kink and were
    compared with a one-sided difference; skipped: elements with a kink on both sides at every step
    tried, not compared; size: elements in the array.
    raw: the notes' relative error without the rounding allowance (what `errors` would be without it).
    unresolved: compared elements so small that an error of `tolerance` would hide in rounding
    (|a| * tolerance < noise): for them the check is absolute, to the rounding level (~1e-10).
    data: names of the nodes treated as data and not checked; rows: the rows of data the check ran
    on (None: the graph as it is).
    """

    errors: dict[str, float] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    tolerance: float = DEFAULT_TOLERANCE
    checked: dict[str, int] = field(default_factory=dict)
    one_sided: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)
    unresolved: dict[str, int] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)
    rows: int | None = None

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self) -> bool:
        return self.max_error < self.tolerance

    def worst(self, k: int = 5) -> list[tuple[str, float]]:
        return sorted(self.errors.items(), key=lambda kv: -kv[1])[:k]

    def summary(self) -> str:
        """One line: how many arrays and elements were compared, kinks met, data left out."""
        n = sum(self.checked.values())
        parts = [f"{len(self.errors)} arrays, {n} elements compared"]
        one, skip = sum(self.one_sided.values()), sum(self.skipped.values())
        if one or skip:
            parts.append(f"{one} across a kink compared one-sided, {skip} skipped (a kink on both sides)")
        unres = sum(self.unresolved.values())
        if unres:
            parts.append(f"{unres} too small for float64 to resolve to {self.tolerance:g} (compared to ~1e-10)")
        if self.data:
            rows = f" ({self.rows} rows)" if self.rows is not None else ""
            parts.append(f"data not checked: {', '.join(self.data)}{rows}")
        return "; ".join(parts)


def rel_error(a: np.ndarray, n: np.ndarray, noise: np.ndarray | float = 0.0, floor: float = 1e-300) -> float:
    """Max over elements of max(|a - n| - noise, 0) / max(|a|, |n|): the notes' relative error of
    what rounding cannot explain. Pairs with max(|a|, |n|) below `floor` count as equal."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    denom = np.maximum(np.abs(a), np.abs(n))
    diff = np.maximum(np.abs(a - n) - noise, 0.0)
    tiny = denom < floor
    rel = np.where(tiny, 0.0, diff / np.where(tiny, 1.0, denom))
    return float(rel.max()) if rel.size else 0.0


# ------------------------------------------------------------------ kinks
def _positive(ex, ins, nid):
    return ins[0] > 0


def _sign(ex, ins, nid):
    return np.sign(ins[0])


def _max_winner(ex, ins, nid):
    return np.greater_equal(ins[0], ins[1])


def _min_winner(ex, ins, nid):
    return np.less_equal(ins[0], ins[1])


def _saved(buf):
    def pattern(ex, ins, nid):
        return ex.ctx(nid).bufs[buf].copy()
    return pattern


def _weight_signs(ex, ins, nid):
    """L1 / elastic net: the sign of everything they may penalise (over-inclusive is harmless)."""
    parts = [np.sign(ins[0]).ravel()] if ins and ins[0] is not None else []
    for node in ex.graph.nodes.values():
        spec = node.spec
        if spec is None or spec.source:
            continue
        for w in spec.weights:
            arr = node.tensors.get(w.name)
            if w.trainable and arr is not None and arr.dtype.kind == "f":
                parts.append(np.sign(arr).ravel())
    return np.concatenate(parts) if parts else np.zeros(0)


KINK_PATTERNS = {
    "relu": _positive, "leaky_relu": _positive, "prelu": _positive, "elu": _positive, "selu": _positive,
    "step": _positive, "abs": _sign, "max": _max_winner, "min": _min_winner,
    "max_pool": _saved("idx"),  # the winning input of each window
    "maxout": _saved("arg"),  # the winning piece of each unit
    "svm_loss": _saved("dscores"),  # the hinge's gradient: which margins are positive
    "l1": _weight_signs, "elastic_net": _weight_signs,
}
"""op -> pattern(executor, input values, node id): an array that is the same for two points exactly
when they lie on the same side of every kink of that node. A new op with a kink adds itself here."""


def _kink_nodes(graph: Graph) -> list[tuple[str, list[str | None], object]]:
    out = []
    for nid, node in graph.nodes.items():
        fn = KINK_PATTERNS.get(node.op)
        if fn is not None:
            srcs = graph.inputs_of(nid)
            out.append((nid, [srcs.get(p.name) for p in node.spec.inputs], fn))
    return out


# ------------------------------------------------------------------ the check
def _data_nodes(graph: Graph) -> tuple[str | None, str | None]:
    """(features, labels) node ids named by meta.training, or None."""
    t = graph.meta.get("training")
    if not isinstance(t, dict):
        return None, None
    out = []
    for role in ("features", "labels"):
        name = t.get(role)
        nid = None
        if isinstance(name, str) and name:
            try:
                nid = graph.find(name)
            except GraphError:
                nid = None
        out.append(nid)
    return out[0], out[1]


def _float64_copy(graph: Graph) -> Graph:
    g = graph.copy()
    for node in g.nodes.values():
        for k, v in node.tensors.items():
            if v.dtype.kind == "f" and v.dtype != np.float64:
                node.tensors[k] = v.astype(np.float64)
    return g


def _take_rows(g: Graph, ids: list[str], rows: int) -> int | None:
    """Keep `rows` evenly spaced rows of the data nodes `ids` (which share their first axis);
    returns the number kept, or None when the data is already that small or cannot be cut."""
    arrays = [g.nodes[i].tensors.get("value") for i in ids]
    if any(a is None or a.ndim == 0 for a in arrays):
        return None
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays) or n <= rows:
        return None
    idx = np.unique(np.linspace(0, n - 1, rows).round().astype(np.int64))
    for i, a in zip(ids, arrays):
        g.nodes[i].tensors["value"] = np.ascontiguousarray(a[idx])
    return int(idx.size)


def gradcheck(graph: Graph, target: str | None = None, h: float = DEFAULT_STEP,
              tolerance: float = DEFAULT_TOLERANCE, nodes: list[str] | None = None, mode: str = "train",
              max_elements: int = 64, check_data: bool = False, data_rows: int | None = DATA_ROWS,
              kinks: bool = True) -> GradReport:
    """Compare analytic and numerical gradients of `target` w.r.t. every float source node and
    every trainable weight (or just those of `nodes`); see the module docstring for the method.

    `kinks=False` turns kink detection off (plain centred differences everywhere), to show what
    a kink does to them. The graph itself is not changed.
    """
    g = _float64_copy(graph)
    features, labels = _data_nodes(g)
    data = [i for i in (features, labels) if i is not None]
    report = GradReport(tolerance=tolerance)
    if data_rows is not None and data:
        report.rows = _take_rows(g, data, data_rows)
    ex = Executor(g, mode=mode, check="none")
    try:
        ex.forward()
    except GraphError:
        if report.rows is None:
            raise
        g = _float64_copy(graph)  # something else depends on the batch size: use all of it
        report.rows = None
        ex = Executor(g, mode=mode, check="none")
        ex.forward()
    target = ex._resolve_target(target)
    seed = None
    v = ex.values[target]
    if v.ndim > 0:  # a fixed random projection catches more than the plain sum
        seed = np.random.default_rng(0).standard_normal(v.shape)
    skip = set() if check_data else set(data)
    if labels is not None:
        skip.add(labels)
    report.data = [g.nodes[i].name for i in data if i in skip]

    wanted = set(g.find(n) for n in nodes) if nodes else None
    checks: list[tuple[str, str, str]] = []
    for nid, node in g.nodes.items():
        if (wanted is not None and nid not in wanted) or nid in skip:
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
            elif w.trainable:
                key = f"{nid}/{w.name}"
            else:
                continue
            checks.append((key, nid, w.name))
            report.names[key] = node.name if spec.source else f"{node.name}.{w.name}"

    _reset_rngs(ex)
    ex.forward()
    ex.backward(target, seed=seed)
    analytic = {key: np.array(ex.grad(nid) if g.nodes[nid].spec.source else ex.weight_grad(nid, w),
                              dtype=np.float64, copy=True) for key, nid, w in checks}
    kink_nodes = _kink_nodes(g) if kinks else []

    def evaluate() -> tuple[float, list[np.ndarray]]:
        _reset_rngs(ex)
        ex.forward()
        val = np.asarray(ex.values[target], dtype=np.float64)
        f = float(np.sum(val * seed)) if seed is not None else float(np.sum(val))
        pats = [fn(ex, [None if s is None else ex.values[s] for s in srcs], nid) for nid, srcs, fn in kink_nodes]
        return f, pats

    f0, p0 = evaluate()

    def same(p) -> bool:
        return all(np.array_equal(a, b) for a, b in zip(p, p0))

    for key, nid, wname in checks:
        arr = g.nodes[nid].tensors[wname]
        flat = arr.reshape(-1)
        if not np.shares_memory(flat, arr):  # pragma: no cover - tensors are contiguous
            raise AssertionError("gradcheck needs contiguous tensors")
        if flat.size > max_elements:
            rng = np.random.default_rng(zlib.crc32(key.encode()))
            idx = np.sort(rng.choice(flat.size, size=max_elements, replace=False))
        else:
            idx = np.arange(flat.size)
        a = analytic[key].reshape(-1)[idx]
        numeric = np.zeros(idx.size)
        noise = np.zeros(idx.size)
        ok = np.ones(idx.size, dtype=bool)
        n_one = 0
        for j, i in enumerate(idx):
            old = flat[i]

            def at(step: float) -> tuple[float, list[np.ndarray]]:
                flat[i] = old + step
                try:
                    return evaluate()
                finally:
                    flat[i] = old

            step = h
            for _ in range(3):
                fp, pp = at(step)
                fm, pm = at(-step)
                up, down = same(pp), same(pm)
                if up and down:
                    f2p, p2p = at(2 * step)
                    f2m, p2m = at(-2 * step)
                    if same(p2p) and same(p2m):  # Richardson: 4/3 D(h) - 1/3 D(2h), truncation O(h^4)
                        numeric[j] = (8 * (fp - fm) - (f2p - f2m)) / (12 * step)
                        noise[j] = ROUNDOFF * _EPS * (8 * (abs(fp) + abs(fm)) + abs(f2p) + abs(f2m)) / (12 * step)
                    else:  # a kink between h and 2h: the plain centred difference, truncation O(h^2)
                        numeric[j] = (fp - fm) / (2 * step)
                        noise[j] = ROUNDOFF * _EPS * (abs(fp) + abs(fm)) / (2 * step)
                    break
                sides = [s for s, good in ((1.0, up), (-1.0, down)) if good]
                done = False
                for s in sides:
                    f1 = fp if s > 0 else fm
                    f2, p2 = at(2 * s * step)
                    if same(p2):
                        numeric[j] = (-3 * f0 + 4 * f1 - f2) / (2 * s * step)
                        noise[j] = ROUNDOFF * _EPS * (3 * abs(f0) + 4 * abs(f1) + abs(f2)) / (2 * step)
                        n_one += 1
                        done = True
                        break
                if done:
                    break
                step /= 10
            else:
                ok[j] = False
        report.errors[key] = rel_error(a[ok], numeric[ok], noise[ok])
        report.raw[key] = rel_error(a[ok], numeric[ok])
        report.unresolved[key] = int(np.count_nonzero((a[ok] != 0) & (np.abs(a[ok]) * tolerance < noise[ok])))
        report.checked[key] = int(ok.sum())
        report.one_sided[key] = n_one
        report.skipped[key] = int((~ok).sum())
        report.size[key] = int(flat.size)
    return report


def _reset_rngs(ex: Executor) -> None:
    seed = ex.seed if ex.seed is not None else int(ex.graph.meta.get("seed", 0))
    for st in ex.plan():
        st.ctx.rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(st.nid.encode())])
