"""The training dtype on a document's arrays: cast in when a run starts, given back when it returns.

Training updates the graph's arrays in place, in the training dtype, so the executor reads them
directly with no cast copy per step. The document owns float64 arrays, though: when `Trainer.run`
returns, each array it cast is a copy in its own dtype again. A float32 value widens exactly, so
the next run's cast gives it the same bits (a second run continues as one longer run would).
"""
from __future__ import annotations

import numpy as np

from ..graph import Graph

Home = dict[tuple[str, str], np.dtype]  # (node id, array name) -> its dtype before training


def adopt(graph: Graph, dtype: np.dtype, home: Home) -> None:
    """Cast every float layer array (weights, batchnorm statistics) and trainable param value of
    another float width to `dtype`, through the graph's versioned path (announced by
    commit_weights with the trained weights), remembering each one's own dtype in `home`."""
    trainable = set(graph.trainable())
    for nid, node in graph.nodes.items():
        spec = node.spec
        if spec is None:
            continue
        changed = []
        for w in spec.weights:
            a = node.tensors.get(w.name)
            if a is None or a.dtype.kind != "f" or a.dtype == dtype:
                continue
            if (nid, w.name) not in trainable and (spec.source or w.shape is None):
                continue
            home.setdefault((nid, w.name), a.dtype)
            node.tensors[w.name] = a.astype(dtype)
            changed.append(w.name)
        if changed:
            graph.mark_updated(nid, changed, emit=False)


def give_back(graph: Graph, home: Home) -> None:
    """Each array `adopt` cast, in its own dtype again (a new version, no event)."""
    back: dict[str, list[str]] = {}
    for (nid, w), dt in home.items():
        node = graph.nodes.get(nid)
        a = node.tensors.get(w) if node is not None else None
        if a is not None and a.dtype != dt:
            node.tensors[w] = a.astype(dt)
            back.setdefault(nid, []).append(w)
    for nid, names in back.items():
        graph.mark_updated(nid, names, emit=False)
