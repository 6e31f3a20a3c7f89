"""What a pass leaves to read: values, gradients per node, per wire and per weight (read-only views).

Mixed into Executor; a deferred input gradient (graphcore.inputgrads) is computed when first read."""
from __future__ import annotations

import numpy as np

from . import inputgrads
from .graph import Edge, readonly
from .problems import GraphError
from .stepctx import Ctx


class Results:
    # ---------------------------------------------------------------- results
    @property
    def edge_grads(self) -> dict[Edge, np.ndarray]:
        """Edge -> the gradient that flowed back along it in the last backward pass (read-only views)."""
        if self._deferred:
            inputgrads.complete(self)
        pending = self._edge_pending
        if pending:
            d = self._edge_grads
            ro = self._ro
            for edge, g in pending:
                d[edge] = ro(g)
            pending.clear()
        return self._edge_grads

    def _clear_edge_grads(self) -> None:
        self._edge_grads.clear()
        self._edge_pending.clear()

    def _ro(self, a: np.ndarray) -> np.ndarray:
        """A read-only view of a result (kept per buffer: buffers live across passes)."""
        hit = self._views.get(id(a))
        if hit is not None and hit[0] is a:
            return hit[1]
        if len(self._views) > 4096:
            self._views.clear()
        v = readonly(a)
        self._views[id(a)] = (a, v)
        return v

    def value(self, node: str) -> np.ndarray:
        """The node's output from the last forward pass, read-only (valid until the next pass)."""
        nid = self.graph.find(node)
        if nid not in self._values:
            raise GraphError(f"node {self.graph.nodes[nid].name!r} has no value yet: run forward() first")
        return self._ro(self._values[nid])

    def grad(self, node: str) -> np.ndarray:
        """d(target)/d(node output): the sum of the gradients on the node's outgoing wires.

        Zero for a node the target does not depend on."""
        nid = self.graph.find(node)
        g = self.grads.get(nid)  # computes a deferred input gradient
        if g is None:
            if nid not in self._values:
                raise GraphError(f"node {self.graph.nodes[nid].name!r} has no value yet: run forward() first")
            v = self._values[nid]
            return readonly(np.zeros(v.shape, v.dtype if v.dtype.kind == "f" else self.dtype))
        return g  # (grads hands out read-only views)

    def has_grad(self, node: str) -> bool:
        return self.graph.find(node) in self.grads  # computes a deferred input gradient

    def edge_grad(self, edge: Edge | tuple[str, str]) -> np.ndarray | None:
        """The gradient that flowed back along one wire (None if none reached it).

        `edge` is an Edge or (dst node, port)."""
        if not isinstance(edge, Edge):
            dst, port = edge
            edge = self.graph.input_edge(self.graph.find(dst), port)
            if edge is None:
                raise GraphError(f"no wire into {dst!r} port {port!r}")
        return self.edge_grads.get(edge)

    def weight_grad(self, node: str, weight: str) -> np.ndarray:
        """d(target)/d(weight) of a layer's weight, same shape as the weight, read-only."""
        a = self._weight_grad(node, weight)
        hit = self._views.get(id(a))  # _ro, inline: a training step asks for every weight's gradient
        return hit[1] if hit is not None and hit[0] is a else self._ro(a)

    def _weight_grad(self, node: str, weight: str) -> np.ndarray:
        st = self._index.get(node)
        if st is None:  # given by name (ids are looked up first, as Graph.find does)
            nid = self.graph.find(node)
            st = self._index.get(nid)
            if st is None:
                raise GraphError(f"node {nid!r} has not been run")
        nid = st.nid
        if st.source:
            g = self.grads.get(nid)
            return self.grad(nid) if g is None else g
        if self._fused_wgrads:
            f = self._fused_wgrads.get((nid, weight))
            if f is not None:  # own gradient + a regularizer's, already summed
                return f[0]
        g = st.ctx.wgrads.get(weight)
        extra = self.extra_wgrads.get((nid, weight))
        if extra is not None:  # a regularizer's contribution
            if g is None:
                return extra
            total = st.ctx.buf(f"wgrad_total:{weight}", g.shape, np.result_type(g, extra))
            np.add(g, extra, out=total)
            return total
        if g is None:
            w = st.tensors.get(weight)
            if w is None:
                raise GraphError(f"node {st.node.name!r} has no weight {weight!r}")
            return np.zeros_like(w)
        return g

    def weight_grads(self) -> dict[tuple[str, str], np.ndarray]:
        """(node id, weight name) -> d(target)/d(weight) for every trainable weight of the graph."""
        return {(nid, w): self.weight_grad(nid, w) for nid, w in self.graph.trainable()}

    def ctx(self, node: str) -> Ctx:
        self.plan()
        return self._index[self.graph.find(node)].ctx
