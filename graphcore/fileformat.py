"""The graph file format: versioned JSON, validated on load, written atomically.

Nothing in a file is ever pickled, evaluated or executed. Every problem found
on load raises GraphFormatError naming the JSON path, e.g. `nodes[3].params.alpha`.
The format is specified in docs/file-format.md; tensors are coded in graphcore.tensorfile.
"""
from __future__ import annotations

import json
import math
import os
import stat
import sys
from typing import Any

from . import jsonkeys, registry, tensorcheck
from .atomicfile import write_with
from .graph import Edge, Graph, Node
from .uilimits import check_position
from .limits import MAX_NAME, MAX_TEXT, check_name, check_text, clip_quotes, excerpt, fmt_bytes, memory_limit
from .tensorfile import (DTYPES, INLINE_LIMIT, MAX_ELEMENTS, GraphFormatError, _expect,  # noqa: F401  (re-exported)
                         decode_tensor, encode_tensor)

FORMAT = "backprop-studio-graph"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 1 << 30
MAX_NODES = 10_000  # the editor draws every node; the examples have 5 to 14
JSON_TYPES = (str, int, float, bool, type(None))

# version -> function turning a document of that version into the next version
MIGRATIONS: dict[int, Any] = {}


def _text(value: Any, path: str, limit: int = MAX_TEXT, what: str = "the text") -> None:
    """Refuse a string longer than `limit` (a 200 MB name must not reach the status bar)."""
    if isinstance(value, str):
        why = check_text(value, what, limit)
        if why:
            raise GraphFormatError(why, path)


def _name(value: Any, path: str, what: str) -> None:
    """A node id, name, op or port: short, and no control characters (a newline or an escape code
    would break the run table and colour the terminal)."""
    _text(value, path, MAX_NAME, what)
    if isinstance(value, str):
        why = check_name(value, what)
        if why:
            raise GraphFormatError(why, path)


def _plain(value: Any, path: str, depth: int = 0) -> Any:
    """Check that a free-form value is plain JSON data of reasonable depth and string length."""
    if depth > 32:
        raise GraphFormatError("nested too deeply", path)
    if isinstance(value, float) and not math.isfinite(value):
        raise GraphFormatError("must be finite", path)
    if isinstance(value, str):
        _text(value, path)
    if isinstance(value, JSON_TYPES):
        return value
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        for k in value:
            _text(k, path, MAX_NAME, "a key")
        return {str(k): _plain(v, f"{path}.{k}", depth + 1) for k, v in value.items()}
    raise GraphFormatError(f"must be plain data, got {type(value).__name__}", path)


# ---------------------------------------------------------------- to/from dict
def to_dict(graph: Graph, node_ids: list[str] | None = None) -> dict:
    """The document for a graph (or just the given nodes and the wires among them)."""
    ids = list(graph.nodes) if node_ids is None else [n for n in graph.nodes if n in set(node_ids)]
    keep = set(ids)
    nodes = []
    for nid in ids:
        n = graph.nodes[nid]
        nodes.append({
            "id": n.id,
            "op": n.op,
            "name": n.name,
            "params": {k: n.params[k] for k in sorted(n.params)},
            "tensors": {k: encode_tensor(n.tensors[k]) for k in sorted(n.tensors)},
            "ui": {k: n.ui[k] for k in sorted(n.ui)},
        })
    edges = [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
             for e in sorted(graph.edges, key=lambda e: (ids.index(e.dst) if e.dst in keep else 0, e.dst_port))
             if e.src in keep and e.dst in keep]
    doc: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "meta": graph.meta,
                           "nodes": nodes, "edges": edges}
    if node_ids is None and graph.opt_state:
        doc["optimizer_state"] = {key: {k: encode_tensor(v) for k, v in sorted(st.items())}
                                  for key, st in sorted(graph.opt_state.items())}
    return doc


def from_dict(doc: Any, file: str | None = None) -> Graph:
    try:
        return _from_dict(doc)
    except GraphFormatError as exc:
        if file and not exc.file:
            raise GraphFormatError(exc.message, exc.json_path, file=file) from None
        raise


def _from_dict(doc: Any) -> Graph:
    _expect(doc, dict, "$")
    if doc.get("format") != FORMAT:
        raise GraphFormatError(f"not a Backprop Studio graph (format is {excerpt(doc.get('format'))}, "
                               f"expected {FORMAT!r})", "format")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise GraphFormatError(f"must be a positive integer, got {excerpt(version)}", "format_version")
    if version > FORMAT_VERSION:
        raise GraphFormatError(f"this file uses format version {version}; this version of Backprop Studio reads "
                               f"versions up to {FORMAT_VERSION}; please update the app", "format_version")
    while version < FORMAT_VERSION:
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise GraphFormatError(f"no migration from format version {version} to {version + 1}", "format_version")
        try:  # a migration reads an unvalidated document: any slip is the file's fault, reported as such
            doc = migrate(doc)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise GraphFormatError(f"cannot migrate this file from format version {version}: {excerpt(exc)}",
                                   "format_version") from None
        version += 1
    unknown = set(doc) - {"format", "format_version", "meta", "nodes", "edges", "optimizer_state"}
    if unknown:
        raise GraphFormatError(f"unknown key {excerpt(sorted(unknown)[0])}", "$")
    g = Graph()
    meta = doc.get("meta", {})
    _expect(meta, dict, "meta")
    g.meta = {"seed": 0, **_plain(meta, "meta")}  # the same defaults as Graph()
    seed = g.meta.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise GraphFormatError(f"must be an integer, got {excerpt(seed)}", "meta.seed")
    nodes = doc.get("nodes")
    _expect(nodes, list, "nodes")
    if len(nodes) > MAX_NODES:
        raise GraphFormatError(f"{len(nodes):,} nodes; a graph may have at most {MAX_NODES:,}", "nodes")
    for i, raw in enumerate(nodes):
        node = _node(raw, f"nodes[{i}]")
        if node.id in g.nodes:
            raise GraphFormatError(f"duplicate node id {excerpt(node.id)}", f"nodes[{i}].id")
        g.nodes[node.id] = node
    edges = doc.get("edges", [])
    _expect(edges, list, "edges")
    if len(edges) > 4 * MAX_NODES:
        raise GraphFormatError(f"{len(edges):,} wires; a graph may have at most {4 * MAX_NODES:,}", "edges")
    for i, raw in enumerate(edges):
        path = f"edges[{i}]"
        _expect(raw, dict, path)
        unknown = set(raw) - {"src", "src_port", "dst", "dst_port"}
        if unknown:
            raise GraphFormatError(f"unknown key {excerpt(sorted(unknown)[0])}", path)
        for key in ("src", "dst", "dst_port"):
            if key not in raw:
                raise GraphFormatError(f"missing key {key!r}", path)
            _expect(raw[key], str, f"{path}.{key}")
            _name(raw[key], f"{path}.{key}", key)
        src_port = raw.get("src_port", "out")
        _expect(src_port, str, f"{path}.src_port")
        for key in ("src", "dst"):
            if raw[key] not in g.nodes:
                raise GraphFormatError(f"no node with id {excerpt(raw[key])}", f"{path}.{key}")
        if src_port != "out":
            raise GraphFormatError(f"unknown output port {excerpt(src_port)} (nodes have one output, 'out')",
                                   f"{path}.src_port")
        dst = g.nodes[raw["dst"]]
        spec = dst.spec
        if spec is not None and spec.port(raw["dst_port"]) is None:
            raise GraphFormatError(f"{spec.name} node {excerpt(dst.name)} has no input port "
                                   f"{excerpt(raw['dst_port'])}", f"{path}.dst_port")
        key = (raw["dst"], raw["dst_port"])
        if key in g._in_edges:
            raise GraphFormatError(f"input {excerpt(raw['dst_port'])} of node {excerpt(dst.name)} is wired twice",
                                   path)
        g._in_edges[key] = Edge(raw["src"], raw["dst"], raw["dst_port"], src_port)
    opt = doc.get("optimizer_state", {})
    _expect(opt, dict, "optimizer_state")
    for key, st in opt.items():
        _text(key, "optimizer_state", 2 * MAX_NAME + 1, "a key")
        _expect(st, dict, f"optimizer_state.{key}")
        for k in st:
            _text(k, f"optimizer_state.{key}", MAX_NAME, "a key")
        g.opt_state[key] = {k: decode_tensor(v, f"optimizer_state.{key}.{k}") for k, v in st.items()}
    _check_tensors(g)
    g._counter = len(g.nodes)
    g.structure_version += 1
    return g


def _node(raw: Any, path: str) -> Node:
    _expect(raw, dict, path)
    unknown = set(raw) - {"id", "op", "name", "params", "tensors", "ui"}
    if unknown:
        raise GraphFormatError(f"unknown key {excerpt(sorted(unknown)[0])}", path)
    for key in ("id", "op"):
        if key not in raw:
            raise GraphFormatError(f"missing key {key!r}", path)
        _expect(raw[key], str, f"{path}.{key}")
    nid, op = raw["id"], raw["op"]
    if not nid or len(nid) > MAX_NAME:
        raise GraphFormatError(f"a node id must be 1 to {MAX_NAME} characters, got {len(nid):,}", f"{path}.id")
    _name(nid, f"{path}.id", "a node id")
    _name(op, f"{path}.op", "an op name")
    name = raw.get("name", nid)
    _expect(name, str, f"{path}.name")
    _name(name, f"{path}.name", "a node name")
    params = raw.get("params", {})
    _expect(params, dict, f"{path}.params")
    tensors_raw = raw.get("tensors", {})
    _expect(tensors_raw, dict, f"{path}.tensors")
    ui = raw.get("ui", {})
    _expect(ui, dict, f"{path}.ui")
    ui = _plain(ui, f"{path}.ui")
    check_position(ui, path)  # finite and on a canvas that can be drawn
    spec = registry.get(op)
    for k in list(params) + list(tensors_raw):
        _text(k, f"{path}.params" if k in params else f"{path}.tensors", MAX_NAME, "a key")
    tensors = {k: decode_tensor(v, f"{path}.tensors.{k}") for k, v in tensors_raw.items()}
    if spec is None:  # kept as is: validate() reports the unknown op on the node
        return Node(nid, op, name, _plain(params, f"{path}.params"), tensors, ui)
    clean = spec.default_params()
    for k, v in params.items():
        pspec = spec.param(k)
        if pspec is None:
            raise GraphFormatError(f"{op} has no parameter {excerpt(k)}", f"{path}.params")
        _text(v, f"{path}.params.{k}")
        try:
            clean[k] = pspec.validate(v)
        except ValueError as exc:
            raise GraphFormatError(clip_quotes(str(exc), v), f"{path}.params.{k}") from None
    for k in tensors:
        if spec.weight(k) is None:
            raise GraphFormatError(f"{op} has no tensor {excerpt(k)}", f"{path}.tensors")
    if spec.source and "value" not in tensors:
        raise GraphFormatError(f"a {op} node needs a value", f"{path}.tensors")
    return Node(nid, op, name, clean, tensors, ui)


def _check_tensors(g: Graph) -> None:
    """Each layer's weights and state against what it declares for its input shapes
    (graphcore.tensorcheck): no array from a file reaches a kernel unchecked."""
    bad = tensorcheck.graph_problems(g)
    if bad:
        p = bad[0]
        index = list(g.nodes).index(p.node)
        where = f"nodes[{index}].tensors" + (f".{p.tensor}" if p.tensor in g.nodes[p.node].tensors else "")
        raise GraphFormatError(p.message, where)


# ---------------------------------------------------------------- text and files
def dumps(graph: Graph, node_ids: list[str] | None = None) -> str:
    return json.dumps(to_dict(graph, node_ids), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def loads(text: str | bytes, file: str | None = None) -> Graph:
    from_str = isinstance(text, str)  # a str may carry raw lone surrogates; UTF-8 bytes cannot
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        doc, repeat = jsonkeys.loads(text)
    except UnicodeDecodeError as exc:
        raise GraphFormatError(f"not UTF-8 text (byte {exc.start})", file=file) from None
    except json.JSONDecodeError as exc:
        raise GraphFormatError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                               file=file) from None
    except RecursionError:
        raise GraphFormatError("nested too deeply", file=file) from None
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        why = (f"holds an integer with more than {sys.get_int_max_str_digits():,} digits"
               if "digits" in str(exc) else f"not valid JSON: {excerpt(str(exc))}")
        raise GraphFormatError(why, file=file) from None
    if repeat is not None:
        where = "in this object" if repeat[0] else "at the top level"
        raise GraphFormatError(f"the key {excerpt(repeat[1])} appears more than once {where}; "
                               "each key may appear only once", repeat[0], file=file)
    if (from_str or "\\u" in text) and _lone_surrogate(doc):  # a \udcff escape decodes to text that cannot be saved again
        raise GraphFormatError("holds text that is not valid Unicode (a lone surrogate escape)", file=file)
    try:
        return from_dict(doc, file)
    except RecursionError:
        raise GraphFormatError("nested too deeply", file=file) from None


def _lone_surrogate(doc: Any) -> bool:
    stack = [doc]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
    return False


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Write atomically: a temp file in the same folder, flushed, then renamed over (atomicfile)."""
    data = dumps(graph).encode("utf-8")
    write_with(path, lambda f: f.write(data))


LOAD_FACTOR = 5  # peak memory of a load / file size (measured 4.8 on a 213 MB file of base64 tensors)


def max_file_bytes() -> int:
    """The largest graph file read: 1 GiB, or less when the memory budget could not hold its load."""
    return min(MAX_FILE_BYTES, memory_limit() // LOAD_FACTOR)


def load(path: str | os.PathLike) -> Graph:
    """Read a regular file of bounded size (never a device or a pipe) and validate it.

    The graph remembers the file (`g.file`, absolute): its training data paths are resolved from,
    and confined to, that file's folder."""
    path = os.fspath(path)
    limit = max_file_bytes()
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, pipe or socket)"
            raise GraphFormatError(f"cannot read the file: {what}", file=path)
        if st.st_size > limit:  # refused before a byte is read
            raise _too_large(path, st.st_size, limit)
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # bounded even if the file grows after the stat
    except OSError as exc:
        raise GraphFormatError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    if len(data) > limit:
        raise _too_large(path, max(len(data), st.st_size), limit)
    g = loads(data, file=path)
    g.file = os.path.abspath(path)
    return g


def _too_large(path: str, size: int, limit: int) -> GraphFormatError:
    return GraphFormatError(f"the file is too large ({fmt_bytes(size)}); the limit is {fmt_bytes(limit)}"
                            + ("" if limit == MAX_FILE_BYTES else
                               f", a {LOAD_FACTOR}th of the memory budget (--memory-limit, or Run > Memory limit in the app)"),
                            file=path)
