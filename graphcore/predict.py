"""Look inside a net while it trains: predictions on a grid, sample predictions,
first-layer filters, weight/activation histograms and per-wire gradient flow.

The GUI draws these; every number is computed here. A Predictor evaluates only
the part of the graph that feeds the output node, in eval mode, on a private
copy whose arrays are refreshed from the training graph at each call, so it
never disturbs the trainer's executor and never emits graph events.
"""
from __future__ import annotations

import math

import numpy as np

from .executor import Executor
from .graph import Edge, Graph, Node
from .problems import GraphError


def ancestors(graph: Graph, node_id: str) -> list[str]:
    """`node_id` and every node it depends on, in the graph's node order."""
    seen = {node_id}
    stack = [node_id]
    while stack:
        cur = stack.pop()
        for src in graph.inputs_of(cur).values():
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return [nid for nid in graph.nodes if nid in seen]


class Predictor:
    """Evaluate `output` for new rows fed into the `data` input node (eval mode)."""

    def __init__(self, graph: Graph, data: str, output: str, dtype=np.float64) -> None:
        self.graph = graph
        self.data = graph.find(data)
        self.output = graph.find(output)
        keep = ancestors(graph, self.output)
        if self.data not in keep:
            raise GraphError(f"output {graph.nodes[self.output].name!r} does not depend on input "
                             f"{graph.nodes[self.data].name!r}")
        sub = Graph()
        sub.meta = dict(graph.meta)
        for nid in keep:
            n = graph.nodes[nid]
            sub.nodes[nid] = Node(nid, n.op, n.name, n.params, dict(n.tensors), n.ui)
        for e in graph.edges:
            if e.dst in sub.nodes and e.src in sub.nodes:
                sub._in_edges[(e.dst, e.dst_port)] = e
        sub.structure_version = 1
        self.sub = sub
        self.executor = Executor(sub, dtype=dtype, mode="eval", check="none")
        self.executor.input_grads = False

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The output node's value for the rows X (a fresh array)."""
        graph = self.graph
        for nid, node in self.sub.nodes.items():
            # follow the trainer's current arrays; update in place: the compiled plan holds these dicts
            node.tensors.clear()
            src = graph.nodes[nid]
            node.tensors.update(src.tensors)
            node.version = src.version  # a float32 executor refreshes its cast copies by version
        self.sub.config_version = graph.config_version
        self.sub.nodes[self.data].tensors["value"] = np.asarray(X, dtype=self.executor.dtype)
        self.executor.forward()
        return np.array(self.executor.values[self.output], copy=True)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise probabilities, numerically stable."""
    z = scores - scores.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def grid_bounds(X: np.ndarray, margin: float = 0.1) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) around the first two feature columns, padded and made square."""
    lo = X[:, :2].min(axis=0)
    hi = X[:, :2].max(axis=0)
    centre = (lo + hi) / 2
    half = float(max(hi - lo)) / 2 * (1 + 2 * margin) or 1.0
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def grid_points(bounds: tuple[float, float, float, float], res: int) -> np.ndarray:
    """res*res points covering bounds, row-major with y varying slowest: (res*res, 2)."""
    x0, x1, y0, y1 = bounds
    xs = np.linspace(x0, x1, res)
    ys = np.linspace(y0, y1, res)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def decision_grid(predict: Predictor, bounds: tuple[float, float, float, float], res: int = 96) -> dict:
    """The net's answer over a res x res grid of 2-D inputs.

    Returns {"bounds", "classes": (res, res) int argmax, "confidence": (res, res) max probability,
    "value": (res, res) raw output for single-output (regression) nets, else None}. Row i of each
    array is y = linspace(ymin, ymax)[i]."""
    out = predict(grid_points(bounds, res))
    if out.ndim == 1 or out.shape[-1] == 1:
        v = out.reshape(res, res)
        return {"bounds": bounds, "classes": None, "confidence": None, "value": v}
    p = softmax(out.reshape(res * res, -1).astype(np.float64))
    return {"bounds": bounds, "classes": p.argmax(axis=1).reshape(res, res),
            "confidence": p.max(axis=1).reshape(res, res), "value": None}


def curve(predict: Predictor, lo: float, hi: float, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(xs, the first output at each x) for a net with one input feature, xs = linspace(lo, hi, n)."""
    xs = np.linspace(lo, hi, n)
    out = predict(xs[:, None]).reshape(n, -1)
    return xs, np.array(out[:, 0], dtype=np.float64)


def sample_predictions(predict: Predictor, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, its probability) for each row of X."""
    p = softmax(predict(X).reshape(X.shape[0], -1).astype(np.float64))
    return p.argmax(axis=1), p.max(axis=1)


def first_layer(graph: Graph, data: str) -> str | None:
    """The first weighted layer fed (directly or through weightless ops) by the data input."""
    data = graph.find(data)
    frontier = [data]
    seen = {data}
    while frontier:
        nxt = []
        for nid in frontier:
            for e in graph.out_edges(nid):
                node = graph.nodes[e.dst]
                if node.spec is not None and "W" in node.tensors:
                    return e.dst
                if e.dst not in seen:
                    seen.add(e.dst)
                    nxt.append(e.dst)
        frontier = nxt
    return None


def filters(graph: Graph, layer: str, image_shape: tuple | None = None, limit: int = 32) -> np.ndarray | None:
    """The layer's filters as (k, h, w) images scaled to [0, 1] each.

    conv2d weights (F, C, k, k) give F filters (channels averaged); a linear layer on
    flattened images of `image_shape` (C, H, W) gives one image per unit."""
    W = graph.nodes[layer].tensors.get("W")
    if W is None:
        return None
    W = np.asarray(W, np.float64)
    if W.ndim == 4:
        imgs = W.mean(axis=1)
    elif W.ndim == 2 and image_shape is not None and int(np.prod(image_shape)) == W.shape[0]:
        c, h, w = image_shape if len(image_shape) == 3 else (1, *image_shape)
        imgs = W.T.reshape(-1, c, h, w).mean(axis=1)
    else:
        return None
    imgs = imgs[:limit]
    lo = imgs.min(axis=(1, 2), keepdims=True)
    hi = imgs.max(axis=(1, 2), keepdims=True)
    return (imgs - lo) / np.where(hi - lo > 0, hi - lo, 1.0)


def histogram(a: np.ndarray, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(edges (bins+1,), counts (bins,)) of the finite entries of a."""
    a = np.asarray(a, np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return np.linspace(-1, 1, bins + 1), np.zeros(bins)
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(a, bins=bins, range=(lo, hi))
    return edges, counts.astype(np.float64)


ACTIVATION_OPS = ("relu", "leaky_relu", "tanh", "sigmoid", "elu", "maxout")


def histograms(graph: Graph, values: dict[str, np.ndarray] | None = None, bins: int = 40) -> dict:
    """{"weights": {"layer.W": (edges, counts)}, "activations": {"relu1": (edges, counts)}}.

    Activations are read from `values` (an executor's last forward pass) for nodes whose op
    is an activation."""
    out: dict = {"weights": {}, "activations": {}}
    for nid, w in graph.trainable():
        node = graph.nodes[nid]
        if w == "W" or node.tensors[w].size > 1 and w not in ("b", "beta"):
            out["weights"][f"{node.name}.{w}"] = histogram(node.tensors[w], bins)
    for nid, node in graph.nodes.items():
        if node.op in ACTIVATION_OPS and values is not None and nid in values:
            out["activations"][node.name] = histogram(values[nid], bins)
    return out


def edge_flow(edge_grads: dict[Edge, np.ndarray]) -> dict[Edge, tuple[float, int, bool]]:
    """Per wire: (mean |gradient|, sign of the sum, exactly zero) from an executor's last backward."""
    out = {}
    for e, g in edge_grads.items():
        a = np.asarray(g)
        if a.size == 0:
            out[e] = (0.0, 0, True)
            continue
        mag = float(np.mean(np.abs(a)))
        total = float(np.sum(a))
        zero = mag == 0.0
        sign = 0 if zero or not math.isfinite(total) else (1 if total > 0 else -1 if total < 0 else 0)
        out[e] = (mag, sign, zero)
    return out
