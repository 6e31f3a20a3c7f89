"""Export a graph to ONNX (opset 17), each node by its op's own rule (OpSpec.onnx).

Input nodes become the model's inputs (the batch axis symbolic, "N", for the inputs that
meta.training feeds), param nodes and layer weights initializers, const nodes Constant nodes,
and every graph node keeps its name: its last ONNX node and that node's output are named after
it. Mode-dependent layers export their inference form (batchnorm's running statistics, dropout
as the identity). A node that cannot be exported is refused by name, before anything is written.
"""
from __future__ import annotations

import json
import os

import numpy as np

from ..problems import GraphError, Problem
from .onnx_build import NodeOnnx, simple
from .onnx_rules import GRAPH_INPUT, INITIALIZER
from .onnx_support import COMPOSITES_KEY, IR_VERSION, OPSET, PRODUCER, require_onnx

SYMBOLIC_BATCH = "N"


class Export:
    """The model being assembled: initializers, ONNX nodes, every tensor's element type."""

    def __init__(self, onnx, graph, dtype) -> None:
        self.onnx = onnx
        self.graph = graph
        self.dtype = np.dtype(dtype)
        self.shapes: dict[str, tuple] = {}
        self.initializers: dict[str, np.ndarray] = {}
        self.nodes: list = []
        self.types: dict[str, int] = {}  # tensor name -> ONNX element type
        self.owner: dict[str, str] = {}  # tensor name -> the graph node id that made it
        self.composites: list[dict] = []

    def elem(self, dtype) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def _claim(self, name: str, node: NodeOnnx | None) -> None:
        if name in self.types:
            other = self.owner.get(name)
            who = f"node {self.graph.nodes[other].name!r}" if other in self.graph.nodes else "another tensor"
            why = f"its ONNX tensor name {name!r} is also used by {who}; rename one of them"
            nid = node.id if node is not None else None
            raise GraphError.named(self.graph, [Problem(nid, None, f"cannot export to ONNX: {why}")])
        self.owner[name] = node.id if node is not None else None

    def add_initializer(self, name: str, arr: np.ndarray, node: NodeOnnx, owner: str | None = None) -> None:
        """`owner`: the node whose array it is (a regularizer names its targets' weights)."""
        owner = owner or node.id
        if name in self.initializers and self.owner.get(name) == owner:
            if np.array_equal(self.initializers[name], arr):
                return
        self._claim(name, node)
        self.owner[name] = owner
        arr = np.array(arr, order="C")  # (np.ascontiguousarray would make a scalar 1-d)
        self.initializers[name] = arr
        self.types[name] = self.elem(arr.dtype)

    def add_input(self, name: str, dtype, node: NodeOnnx) -> None:
        self._claim(name, node)
        self.types[name] = self.elem(dtype)

    def add_node(self, op_type: str, inputs: list[str], name: str, attrs: dict, node: NodeOnnx,
                 out_type: int) -> None:
        self._claim(name, node)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [name], name=name, **attrs))
        self.types[name] = out_type


def _batch_inputs(graph) -> set[str]:
    """Ids of the input nodes training feeds (features, labels); none when the settings do not say."""
    raw = graph.meta.get("training")
    if not isinstance(raw, dict):
        return set()
    from ..train.config import TrainConfig
    from ..train.roles import detect_roles

    try:
        roles = detect_roles(graph, TrainConfig.from_dict(raw))
    except (ValueError, GraphError):
        return set()
    return {roles[r] for r in ("features", "labels") if roles.get(r)}


def _int_source(graph, nid: str) -> bool:
    """A source holding class labels: integers feeding only integer ports (others become floats,
    as the executor makes them)."""
    node = graph.nodes[nid]
    if np.asarray(node.tensors.get("value")).dtype.kind not in "iu":
        return False
    outs = graph.out_edges(nid)
    return bool(outs) and all((sp := graph.nodes[e.dst].spec) is not None and sp.port(e.dst_port) is not None
                              and sp.port(e.dst_port).dtype == "int" for e in outs)


def _sources(ex: Export, nid: str, batch: set[str], inputs: list) -> None:
    onnx, graph = ex.onnx, ex.graph
    node = graph.nodes[nid]
    value = np.asarray(node.tensors["value"])
    dtype = np.int64 if _int_source(graph, nid) else ex.dtype
    if node.spec.onnx == GRAPH_INPUT:
        shape = list(value.shape)
        if nid in batch and shape:
            shape[0] = SYMBOLIC_BATCH
        ex.add_input(node.name, dtype, NodeOnnx(ex, nid))
        inputs.append(onnx.helper.make_tensor_value_info(node.name, ex.elem(dtype), shape))
    elif node.spec.onnx == INITIALIZER:
        ex.add_initializer(node.name, value.astype(dtype), NodeOnnx(ex, nid))
    else:  # CONSTANT: a Constant node, so import tells it from a trainable param
        b = NodeOnnx(ex, nid)
        b.emit("Constant", [], out_type=ex.elem(dtype),
               value=onnx.numpy_helper.from_array(value.astype(dtype), name=node.name))


def build_model(graph, dtype=np.float32):
    """The graph as an onnx.ModelProto (checked with onnx.checker); GraphError naming the node
    that cannot be exported."""
    onnx = require_onnx()
    problems = graph.validate()
    if problems:
        raise GraphError.named(graph, problems)
    if not graph.nodes:
        raise GraphError("the graph is empty: there is nothing to export")
    ex = Export(onnx, graph, dtype)
    if ex.dtype not in (np.float32, np.float64):
        raise ValueError("ONNX export writes float32 or float64")
    shapes, problems = graph.infer_shapes()
    if problems:
        raise GraphError.named(graph, problems)
    ex.shapes = shapes
    seen: dict[str, str] = {}
    for nid, node in graph.nodes.items():
        if node.name in seen:
            raise GraphError.named(graph, [Problem(nid, None, f"cannot export to ONNX: the node with id "
                                                              f"{seen[node.name]!r} has the same name, and ONNX "
                                                              f"names must be unique; rename one of them")])
        seen[node.name] = nid
    batch = _batch_inputs(graph)
    inputs: list = []
    for nid in graph.topo_order():
        node = graph.nodes[nid]
        spec = node.spec
        if spec.source:
            _sources(ex, nid, batch, inputs)
            continue
        b = NodeOnnx(ex, nid)
        rule = spec.onnx
        if rule is None:
            b.refuse(f"op {spec.name!r} declares no ONNX rule")
        if isinstance(rule, str):
            simple(b, rule)
        else:
            rule(b)
        if not b.final:
            b.refuse(f"the ONNX rule of {spec.name!r} gave no node named after it")
        if b.tagged or b.emitted > 1:
            ports = {p.name: b.input(p.name) for p in spec.inputs if b.input(p.name) is not None}
            ex.composites.append({"name": node.name, "op": spec.name, "params": dict(node.params),
                                  "inputs": ports, "weights": dict(b.weights_used), "onnx_nodes": b.onnx_nodes})
    inits = [onnx.numpy_helper.from_array(a, name=n) for n, a in ex.initializers.items()]
    model = _model(onnx, ex, inputs, inits, [graph.nodes[s].name for s in graph.sinks()])
    if ex.composites:
        onnx.helper.set_model_props(model, {COMPOSITES_KEY: json.dumps(ex.composites, sort_keys=True)})
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise GraphError(f"the ONNX model fails onnx.checker: {str(exc).splitlines()[0][:200]}") from None
    return model


def _model(onnx, ex: Export, inputs: list, inits: list, outputs: list[str]):
    """The model with its outputs typed by ONNX's own shape inference (the batch axis stays symbolic)."""
    def make(outs):
        gp = onnx.helper.make_graph(ex.nodes, _graph_name(ex.graph), inputs, outs, inits)
        return onnx.helper.make_model(gp, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                      producer_name=PRODUCER, ir_version=IR_VERSION)

    draft = make([onnx.helper.make_empty_tensor_value_info(o) for o in outputs])
    try:
        inferred = onnx.shape_inference.infer_shapes(draft, strict_mode=True)
    except onnx.shape_inference.InferenceError as exc:
        raise GraphError(f"ONNX shape inference fails on the export: {str(exc).splitlines()[0][:200]}") from None
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output) + inputs}
    known.update({t.name: onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits})
    typed = []
    for o in outputs:
        v = known.get(o)
        if v is not None and v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            typed.append(v)
        else:
            typed.append(onnx.helper.make_tensor_value_info(o, ex.types[o], None))
    return make(typed)


def _graph_name(graph) -> str:
    title = graph.meta.get("title")
    return title if isinstance(title, str) and title else "backprop_studio_graph"


def export_onnx(graph, path: str | os.PathLike | None = None, dtype=np.float32):
    """Build the model and, given `path`, write it atomically (never half-written); returns it."""
    model = build_model(graph, dtype)
    if path is not None:
        from .atomic import write_bytes

        write_bytes(path, model.SerializeToString())
    return model
