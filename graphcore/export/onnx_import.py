"""Open an ONNX model as a graph: inputs, weights, one graph node per ONNX node, laid out
left to right.

An ONNX file is data someone else wrote, so it gets the bounds of a data set
(graphcore.train.datapath): the file and every external data file it names are regular files
of at most the data limit, read whole before parsing; external data paths are relative to the
model's folder and may not leave it. Any op type without a counterpart is refused, listing
every such op type with its ONNX node names. Graph nodes that this app exported as several
ONNX nodes come back as one node, through the list the exporter writes in the model's metadata.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np

from ..fileformat import MAX_NODES
from ..graph import Graph
from ..limits import MAX_NAME, check_name, excerpt
from ..problems import GraphError
from ..tensorfile import MAX_DIMS, MAX_ELEMENTS
from ..train import datapath
from .onnx_import_ops import Unsupported, readers
from .onnx_support import COMPOSITES_KEY, IMPORT_OPSETS, require_onnx

MODEL_FOLDER = "the ONNX model's folder"
ALLOW_HINT = "move it beside the model, or allow it (import_onnx(path, DataPolicy().allowing(PATH)))"
COLUMN = 200.0  # canvas units between layers
ROW = 110.0


class OnnxImportError(ValueError):
    """An ONNX file that cannot become a graph; the message names the file and the ONNX node."""


class Importer:
    def __init__(self, onnx, model, shown: str, policy: datapath.DataPolicy) -> None:
        self.onnx = onnx
        self.model = model
        self.shown = shown
        self.policy = policy
        self.graph = Graph()
        self.inits = {t.name: t for t in model.graph.initializer}
        self.consts: dict[str, np.ndarray] = {}  # outputs of Constant nodes
        self.tensor_node: dict[str, str] = {}  # ONNX tensor -> graph node id
        self.bytes_read = 0
        self.given: dict[str, tuple[str, dict[str, tuple]]] = {}  # node id -> (where, weight -> shape)

    def fail(self, msg: str):
        raise OnnxImportError(f"{self.shown}: {msg}")

    # ------------------------------------------------------------ arrays
    def array(self, t, exact: bool = False) -> np.ndarray:
        """The tensor's values as float64 or int64 (with `exact`, in their own dtype)."""
        n = math.prod(int(d) for d in t.dims)
        if n > MAX_ELEMENTS:
            self.fail(f"tensor {excerpt(t.name)} has {n:,} elements; at most {MAX_ELEMENTS:,} are read")
        if len(t.dims) > MAX_DIMS:
            self.fail(f"tensor {excerpt(t.name)} has {len(t.dims)} dimensions; a graph holds at most {MAX_DIMS}")
        try:
            arr = self.onnx.numpy_helper.to_array(t)
        except Exception as exc:  # a malformed tensor: protobuf and onnx raise many kinds
            self.fail(f"tensor {excerpt(t.name)} cannot be read ({excerpt(str(exc))})")
        if arr.dtype.kind not in "fiub":
            self.fail(f"tensor {excerpt(t.name)} holds {arr.dtype} values; only numbers are read")
        if exact:
            return arr
        return arr.astype(np.float64) if arr.dtype.kind == "f" else arr.astype(np.int64)

    def constant(self, name: str, exact: bool = False) -> np.ndarray | None:
        """The value of an initializer or a Constant node's output, else None."""
        if name in self.consts:
            return self.consts[name]
        t = self.inits.get(name)
        return None if t is None else self.array(t, exact)

    def weight(self, name: str, what: str) -> np.ndarray:
        arr = self.constant(name)
        if arr is None:
            raise Unsupported(f"{what} ({excerpt(name)}) must be a weight (an initializer), not a computed tensor")
        return arr.astype(np.float64)

    # ------------------------------------------------------------ graph nodes
    def name_ok(self, name: str, where: str) -> str:
        why = check_name(name, "a node name") if isinstance(name, str) and name else "an empty name"
        if not why and len(name) > MAX_NAME:
            why = f"a node name is {len(name):,} characters long; the limit is {MAX_NAME}"
        if why:
            self.fail(f"{where}: {why}")
        return name

    def source(self, tensor: str, where: str) -> str:
        """The graph node giving `tensor`: made on first use for initializers and constants (a
        Reshape's shape or a Pow's exponent becomes a param, not a node)."""
        nid = self.tensor_node.get(tensor)
        if nid is not None:
            return nid
        value = self.constant(tensor)
        if value is None:
            self.fail(f"{where}: its input {excerpt(tensor)} is not produced by any node, input or initializer")
        op = "param" if tensor in self.inits and value.dtype.kind == "f" else "const"
        nid = self.graph.add(op, name=self.name_ok(tensor, f"tensor {excerpt(tensor)}"), value=value)
        self.tensor_node[tensor] = nid
        return nid

    def add(self, op: str, name: str, inputs: dict[str, str], params: dict, weights: dict, where: str) -> None:
        ids = {port: self.source(t, where) for port, t in inputs.items()}
        try:
            nid = self.graph.add(op, name=self.name_ok(name, where), inputs=ids, **params, **weights)
        except GraphError as exc:
            self.fail(f"{where} (as {op}): {exc}")
        self.tensor_node[name] = nid
        if weights:
            self.given[nid] = (where, {w: np.shape(a) for w, a in weights.items()})

    def check_weights_kept(self) -> None:
        """A weight whose shape does not fit the layer's input would be redrawn at random by the
        graph (right for an editor, wrong for a file): refuse it, naming the ONNX node."""
        for nid, (where, shapes) in self.given.items():
            node = self.graph.nodes[nid]
            for w, shape in shapes.items():
                have = node.tensors[w].shape
                if have != shape:
                    self.fail(f"{where}: weight {w} has shape {shape}, but its input makes the layer's {w} {have}")

    def inputs(self) -> None:
        """Each ONNX input becomes an input node holding zeros of its shape: all the shapes are read
        and their total bounded first (a file of a few hundred bytes could ask for gigabytes)."""
        made, declared = [], 0
        for v in self.model.graph.input:
            if v.name in self.inits:
                continue  # an initializer listed as an input (IR < 4): a weight
            where = f"input {excerpt(v.name)}"
            tt = v.type.tensor_type if v.type.HasField("tensor_type") else None
            if tt is None or not tt.HasField("shape"):
                self.fail(f"{where}: only tensor inputs with a known rank are supported")
            if len(tt.shape.dim) > MAX_DIMS:
                self.fail(f"{where}: {len(tt.shape.dim)} dimensions; a graph holds at most {MAX_DIMS}")
            np_type = self.onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type) if tt.elem_type else None
            if np_type is None or np.dtype(np_type).kind not in "fiu":
                self.fail(f"{where}: only number inputs are supported")
            shape = tuple(int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else 1
                          for d in tt.shape.dim)  # a symbolic (batch) axis gets 1
            if math.prod(shape) > MAX_ELEMENTS:
                self.fail(f"{where}: shape {shape} is too large")
            declared += math.prod(shape)
            if declared > MAX_ELEMENTS:
                self.fail(f"{where}: the inputs declare {declared:,} numbers in all; at most {MAX_ELEMENTS:,} "
                          "are made")
            made.append((v.name, where, shape, np.int64 if np.dtype(np_type).kind in "iu" else np.float64))
        for name, where, shape, dtype in made:
            nid = self.graph.add("input", name=self.name_ok(name, where), value=np.zeros(shape, dtype=dtype))
            self.tensor_node[name] = nid

    def composites(self) -> dict[str, dict]:
        """ONNX node name -> the exporter's record of the graph node it belongs to."""
        raw = next((p.value for p in self.model.metadata_props if p.key == COMPOSITES_KEY), None)
        if raw is None:
            return {}
        try:
            items = json.loads(raw)
            ok = isinstance(items, list) and all(
                isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("op"), str)
                and isinstance(c.get("params"), dict) and isinstance(c.get("inputs"), dict)
                and isinstance(c.get("weights"), dict) and isinstance(c.get("onnx_nodes"), list)
                and all(isinstance(k, str) and isinstance(x, str) for k, x in
                        list(c["inputs"].items()) + list(c["weights"].items()))
                and all(isinstance(x, str) for x in c["onnx_nodes"]) for c in items)
        except (ValueError, RecursionError):  # RecursionError: JSON nested beyond Python's stack
            ok = False
        if not ok:
            self.fail(f"metadata {COMPOSITES_KEY!r} is not the list this app writes")
        out = {}
        for c in items:
            if c["name"] not in c["onnx_nodes"]:
                self.fail(f"metadata {COMPOSITES_KEY!r}: graph node {excerpt(c['name'])} is not among its ONNX nodes")
            for n in c["onnx_nodes"]:
                out[n] = c
        return out

    def unsupported(self, table: dict, groups: dict) -> None:
        """Refuse, before building anything, every op type without a counterpart, with its nodes."""
        found: dict[str, list[str]] = {}
        for node in self.model.graph.node:
            label = node.name or (node.output[0] if node.output else "")
            if node.domain not in ("", "ai.onnx"):
                found.setdefault(f"{node.domain}.{node.op_type}", []).append(label)
            elif node.name not in groups and node.op_type != "Constant" and node.op_type not in table:
                found.setdefault(node.op_type, []).append(label)
        if found:
            listed = "; ".join(f"{excerpt(t, 40)[1:-1]} ({', '.join(excerpt(n, 40) for n in names[:5])}"
                               f"{f' and {len(names) - 5} more' if len(names) > 5 else ''})"
                               for t, names in sorted(found.items()))
            self.fail(f"unsupported ONNX op types: {listed}")

    def nodes(self) -> None:
        table = readers()
        groups = self.composites()
        self.unsupported(table, groups)
        for node in self.model.graph.node:
            label = node.name or (node.output[0] if node.output else "")
            where = f"ONNX node {excerpt(label)} ({excerpt(node.op_type)})"
            c = groups.get(node.name)
            if c is not None:
                if node.name == c["name"]:  # the group's last node: the graph node itself
                    try:
                        weights = {w: self.weight(t, f"weight {w}") for w, t in c["weights"].items()}
                    except Unsupported as exc:
                        self.fail(f"{where}: {exc}")
                    self.add(c["op"], c["name"], c["inputs"], c["params"], weights, where)
                continue
            if node.op_type == "Constant":
                self.constant_node(node, where)
                continue
            read = table[node.op_type]
            outs = [o for o in node.output if o]
            if not outs:
                self.fail(f"{where}: has no output")
            try:
                op, ins, params, weights = read(self, node)
            except (ValueError, TypeError, KeyError, IndexError) as exc:  # Unsupported, or a malformed node
                self.fail(f"{where}: {exc if isinstance(exc, Unsupported) else 'malformed: ' + excerpt(str(exc))}")
            self.add(op, outs[0], ins, params, weights, where)
        for v in self.model.graph.output:  # a constant or initializer that is itself an output
            if v.name not in self.tensor_node and self.constant(v.name) is not None:
                self.source(v.name, f"output {excerpt(v.name)}")

    def constant_node(self, node, where: str) -> None:
        from .onnx_import_ops import attributes

        a = attributes(self.onnx, node)
        if "value" in a:
            value = self.array(a["value"])
        elif "value_float" in a or "value_floats" in a:
            value = np.asarray(a.get("value_float", a.get("value_floats")), dtype=np.float64)
        elif "value_int" in a or "value_ints" in a:
            value = np.asarray(a.get("value_int", a.get("value_ints")), dtype=np.int64)
        else:
            self.fail(f"{where}: only number constants are supported")
        self.consts[node.output[0]] = value  # a const node once something reads it as an input


# ---------------------------------------------------------------- reading the file
def _external(imp: Importer, folder: str) -> None:
    """Load external tensor data under the data sets' path rules and size limit."""
    onnx = imp.onnx
    files: dict[str, bytes] = {}
    tensors = list(imp.model.graph.initializer)
    tensors += [a.t for n in imp.model.graph.node for a in n.attribute if a.HasField("t")]
    for t in tensors:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        key = f"tensor {excerpt(t.name)} location"
        try:
            path = datapath.resolve(info.get("location"), folder, imp.policy, key=key, where=MODEL_FOLDER)
            if path not in files:
                files[path] = datapath.read_bytes(path, info.get("location"), imp.policy)
                imp.bytes_read += len(files[path])
                if imp.bytes_read > imp.policy.max_bytes:
                    imp.fail(f"external data beyond the data limit of {datapath.fmt_size(imp.policy.max_bytes)}")
        except datapath.DatasetError as exc:
            imp.fail(str(exc))
        try:
            offset = int(info.get("offset", 0))
            data = files[path]
            length = int(info.get("length", len(data) - offset))
        except ValueError:
            imp.fail(f"{key}: offset and length must be whole numbers")
        if offset < 0 or length < 0 or offset + length > len(data):
            imp.fail(f"{key}: bytes {offset}..{offset + length} are outside the file ({len(data)} bytes)")
        t.raw_data = data[offset:offset + length]
        t.data_location = onnx.TensorProto.DEFAULT
        del t.external_data[:]


def _layout(graph: Graph) -> None:
    """Columns by the longest path from a source (a source just left of its first consumer)."""
    order = graph.topo_order()
    parents: dict[str, list[str]] = {n: [] for n in graph.nodes}
    children: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        parents[e.dst].append(e.src)
        children[e.src].append(e.dst)
    col: dict[str, int] = {}
    for n in order:
        col[n] = 1 + max((col[p] for p in parents[n]), default=-1)
    for n in reversed(order):
        if not parents[n] and children[n]:
            col[n] = max(0, min(col[c] for c in children[n]) - 1)
    rows: dict[int, int] = {}
    for n in order:
        r = rows[col[n]] = rows.get(col[n], -1) + 1
        graph.nodes[n].ui.update(x=min(col[n] * COLUMN, 9e5), y=min(r * ROW, 9e5))


def import_onnx(path: str | os.PathLike, policy: datapath.DataPolicy | None = None) -> Graph:
    """The graph an ONNX file describes; OnnxImportError naming the file (and node) otherwise."""
    onnx = require_onnx("ONNX import")
    policy = dataclasses.replace(policy or datapath.DataPolicy(), hint=ALLOW_HINT)
    path = os.fspath(path)
    shown = datapath.short_path(path)
    try:
        data = datapath.read_bytes(path, shown, policy)
    except datapath.DatasetError as exc:
        raise OnnxImportError(str(exc)) from None
    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # protobuf's DecodeError and friends: not an ONNX file
        raise OnnxImportError(f"{shown}: not an ONNX model (the file does not parse as one)") from None
    versions = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    if versions.get("ai.onnx", versions.get("")) not in IMPORT_OPSETS:
        raise OnnxImportError(f"{shown}: ONNX opset {versions.get('ai.onnx')} is not supported (opsets "
                              f"{IMPORT_OPSETS.start} to {IMPORT_OPSETS.stop - 1} are)")
    if len(model.graph.node) > 4 * MAX_NODES:
        raise OnnxImportError(f"{shown}: {len(model.graph.node):,} ONNX nodes; at most {4 * MAX_NODES:,} are read")
    imp = Importer(onnx, model, shown, policy)
    _external(imp, os.path.dirname(os.path.abspath(path)))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        imp.fail(f"not a valid ONNX model: {excerpt(str(exc).strip().splitlines()[0], 200)}")
    try:
        with imp.graph.weights_deferred():
            imp.inputs()
            imp.nodes()
        imp.check_weights_kept()
    except GraphError as exc:  # a value the graph refuses (a name, a shape)
        imp.fail(str(exc))
    if len(imp.graph.nodes) > MAX_NODES:
        imp.fail(f"{len(imp.graph.nodes):,} graph nodes; a graph may have at most {MAX_NODES:,}")
    problems = imp.graph.validate()
    if problems:
        imp.fail("the graph it gives is not valid: " + "; ".join(p.describe(imp.graph) for p in problems[:3]))
    _layout(imp.graph)
    return imp.graph
