"""The toolbox an op's ONNX rule (OpSpec.onnx) writes one graph node with.

A rule sees one node through a `NodeOnnx`: its inputs as ONNX tensor names, its params and
shapes, its weights as initializers, and `emit` to add ONNX nodes. The node's last ONNX node
is named after the graph node and so is its output; helper nodes and constants are named
"<node>/<what>". Nothing here imports onnx: the exporter hands in the few makers it needs.
"""
from __future__ import annotations

import numpy as np

from ..problems import GraphError, Problem


class NodeOnnx:
    """One graph node being exported; `emit` and friends append to the shared `Export` state."""

    def __init__(self, export, nid: str) -> None:
        self.export = export
        self.graph = export.graph
        self.id = nid
        self.node = self.graph.nodes[nid]
        self.spec = self.node.spec
        self.name = self.node.name
        self.params = dict(self.node.params)
        self.dtype = export.dtype
        self.emitted = 0
        self.final = False
        self.tagged = False
        self.weights_used: dict[str, str] = {}
        self.onnx_nodes: list[str] = []  # the ONNX nodes emitted for this node, in order

    # ------------------------------------------------------------ what the node sees
    def input(self, port: str) -> str | None:
        """The ONNX tensor wired into `port` (its source node's name), None when unwired."""
        e = self.graph.input_edge(self.id, port)
        return None if e is None else self.graph.nodes[e.src].name

    def in_shape(self, port: str) -> tuple | None:
        e = self.graph.input_edge(self.id, port)
        return None if e is None else tuple(self.export.shapes[e.src])

    @property
    def out_shape(self) -> tuple:
        return tuple(self.export.shapes[self.id])

    @property
    def float_type(self) -> int:
        return self.export.elem(self.dtype)

    def refuse(self, why: str):
        raise GraphError.named(self.graph, [Problem(self.id, None, f"cannot export to ONNX: {why}")])

    # ------------------------------------------------------------ constants and weights
    def weight(self, w: str, node_id: str | None = None) -> str:
        """The initializer holding weight `w` of this node (or of `node_id`), named '<node>.<w>'."""
        nid = node_id or self.id
        node = self.graph.nodes[nid]
        name = f"{node.name}.{w}"
        arr = np.asarray(node.tensors[w])  # added once; a name another node took is refused
        self.export.add_initializer(name, arr.astype(self.dtype) if arr.dtype.kind == "f" else arr, self, nid)
        if nid == self.id:
            self.weights_used[w] = name
        return name

    def const(self, what: str, value, dtype=None) -> str:
        """An initializer '<node>/<what>': floats in the export's dtype unless `dtype` says otherwise."""
        arr = np.asarray(value, dtype=dtype or self.dtype)
        name = f"{self.name}/{what}"
        self.export.add_initializer(name, arr, self)
        return name

    def ints(self, what: str, values) -> str:
        return self.const(what, np.asarray(values, dtype=np.int64).reshape(-1), np.int64)

    def as_int64(self, tensor: str) -> str:
        """`tensor` as int64 (class labels): a Cast unless it already is."""
        if self.export.types.get(tensor) == self.export.elem(np.int64):
            return tensor
        return self.emit("Cast", [tensor], f"{tensor}_as_int64", to=self.export.elem(np.int64))

    # ------------------------------------------------------------ ONNX nodes
    def emit(self, op_type: str, inputs: list, what: str | None = None, out_type: int | None = None,
             **attrs) -> str:
        """Add an ONNX node; `what` None makes it the node's final one (named after the graph node)."""
        name = self.name if what is None else f"{self.name}/{what}"
        self.export.add_node(op_type, [i or "" for i in inputs], name, attrs, self,
                             out_type if out_type is not None else self.float_type)
        self.emitted += 1
        self.onnx_nodes.append(name)
        if what is None:
            self.final = True
        return name

    def tag(self) -> None:
        """Record the node in the model's metadata so import gives it back as one node."""
        self.tagged = True


# ---------------------------------------------------------------- rule helpers
def simple(node: NodeOnnx, op_type: str, **attrs) -> str:
    """The node as one ONNX op over its wired inputs in port order."""
    ins = [node.input(p.name) for p in node.spec.inputs]
    while ins and ins[-1] is None:
        ins.pop()
    return node.emit(op_type, ins, **attrs)


def float32_exact(value: float) -> bool:
    """Can an ONNX float attribute (float32) carry `value` without rounding?"""
    return float(np.float32(value)) == float(value)
