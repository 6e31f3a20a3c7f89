"""The graph file format: round trips, golden files per format version, version
refusal and migration, error paths, and atomic writes.

Golden files in tests/golden/v<N>/ were written by format version N and must keep
loading to exactly the graphs built below. Regenerate them only when adding a new
version folder: `python tests/test_fileformat.py --write-golden` writes
tests/golden/v<current>/ (never overwrite an old version's folder).
"""
from __future__ import annotations

import glob
import json
import os
import sys

import numpy as np
import pytest

import graphcore as gc
from graphcore import fileformat
from graphcore.graph import Node
from backprop_studio_resources import examples_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = examples_dir()
GOLDEN = os.path.join(ROOT, "tests", "golden")


def example_files() -> list[str]:
    return sorted(glob.glob(os.path.join(EXAMPLES, "*.json")))


# ---------------------------------------------------------------- golden graphs
def golden_circuit() -> gc.Graph:
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0, ui={"x": 0.0, "y": 0.0})
    y = g.add("input", name="y", value=-4.0, ui={"x": 0.0, "y": 90.0})
    z = g.add("input", name="z", value=2.0, ui={"x": 0.0, "y": 180.0})
    w = g.add("input", name="w", value=-1.0, ui={"x": 0.0, "y": 270.0})
    xy = g.add("mul", name="xy", inputs={"a": x, "b": y}, ui={"x": 180.0, "y": 45.0})
    m = g.add("max", name="m", inputs={"a": z, "b": w}, ui={"x": 180.0, "y": 225.0})
    s = g.add("add", name="s", inputs={"a": xy, "b": m}, ui={"x": 360.0, "y": 135.0})
    two = g.add("const", name="two", value=2.0, ui={"x": 360.0, "y": 270.0})
    g.add("mul", name="f", inputs={"a": s, "b": two}, ui={"x": 540.0, "y": 180.0})
    return g


def golden_tensors() -> gc.Graph:
    """Every dtype, inline and base64 storage, non-finite values, params, ui extras, meta, optimizer state."""
    g = gc.Graph()
    g.meta.update({"seed": 7, "title": "golden: tensors and params", "notes": {"tags": ["a", "b"], "n": 3}})
    a = g.add("input", name="scalar", value=0.1, ui={"x": -10.5, "y": 3.0, "collapsed": True, "color": "#ff8800"})
    b = g.add("input", name="matrix", value=np.arange(12.0).reshape(3, 4) / 7.0)
    c = g.add("param", name="big", value=np.linspace(-1.0, 1.0, 100).reshape(10, 10))  # > 64 elements: base64
    d = g.add("const", name="f32", value=np.array([[1.5, -2.25, 3.0], [0.1, 0.2, 0.3]], dtype=np.float32))
    e = g.add("const", name="f32_big", value=(np.arange(80, dtype=np.float32) / 3).astype(np.float32))
    g.add("input", name="labels", value=np.array([0, 2, 1, 1, 9], dtype=np.int64))
    l32 = g.add("input", name="labels32", value=0)
    g.nodes[l32].tensors["value"] = np.array([[3, -4]], dtype=np.int32)  # add() widens ints; files may hold int32
    g.add("const", name="odd", value=np.array([np.nan, np.inf, -np.inf, 0.0, -0.0]))  # non-finite: base64
    g.add("input", name="empty", value=np.zeros((0, 3)))
    m = g.add("mul", name="m", inputs={"a": b, "b": a})
    lr = g.add("leaky_relu", name="lr", alpha=0.2, inputs={"x": m})
    g.add("sum", name="colsum", axis=0, keepdims=True, inputs={"x": lr})
    g.add("pow", name="cube", p=3.0, inputs={"x": c})
    g.add("mean", name="avg", inputs={"x": d})
    g.add("elu", name="elu", inputs={"x": e})
    g.opt_state[f"{c}/value"] = {"m": np.full((10, 10), 0.5), "v": np.zeros((10, 10)), "t": np.array(3, np.int64)}
    return g


def golden_unknown_op() -> gc.Graph:
    """A node whose op this version does not know (a plugin, a newer app) loads as is; validate() flags it."""
    g = gc.Graph()
    x = g.add("input", name="x", value=1.0)
    g.insert_node(Node("plug1", "plugin.future_op", "future", {"gain": 2, "mode": "fast"}, {}, {"x": 200.0, "y": 0.0}))
    g._in_edges[("plug1", "x")] = gc.Edge(x, "plug1", "x")  # as loading does: the port cannot be checked
    return g


def golden_minimal() -> gc.Graph:
    """tests/golden/v1/minimal.json is hand-written: optional keys left out take their defaults."""
    g = gc.Graph()
    g.insert_node(Node("a", "input", "a", {}, {"value": np.array(2.0)}, {}))
    g.insert_node(Node("b", "input", "b", {}, {"value": np.array([1.0, 2.0])}, {}))
    g.insert_node(Node("p", "pow", "p", {"p": 2.0}, {}, {}))
    g.insert_node(Node("s", "sum", "total", {"axis": None, "keepdims": False}, {}, {}))
    g.insert_node(Node("m", "mul", "m", {}, {}, {}))
    g.insert_edge(gc.Edge("a", "m", "a"))
    g.insert_edge(gc.Edge("b", "m", "b"))
    g.insert_edge(gc.Edge("m", "p", "x"))
    g.insert_edge(gc.Edge("p", "s", "x"))
    return g


GOLDEN_GRAPHS = {"circuit.json": golden_circuit, "tensors.json": golden_tensors, "unknown_op.json": golden_unknown_op}
HAND_WRITTEN = {"minimal.json": golden_minimal}


def write_golden() -> None:
    folder = os.path.join(GOLDEN, f"v{gc.FORMAT_VERSION}")
    os.makedirs(folder, exist_ok=True)
    for name, build in GOLDEN_GRAPHS.items():
        gc.save(build(), os.path.join(folder, name))


def golden_cases():
    out = []
    for folder in sorted(glob.glob(os.path.join(GOLDEN, "v*"))):
        for name in sorted(os.listdir(folder)):
            out.append(pytest.param(folder, name, id=f"{os.path.basename(folder)}/{name}"))
    return out


@pytest.mark.parametrize("folder,name", golden_cases())
def test_golden_file_loads_identically(folder, name):
    build = {**GOLDEN_GRAPHS, **HAND_WRITTEN}.get(name)
    assert build is not None, f"golden file {name} has no expected graph in this test"
    g = gc.load(os.path.join(folder, name))
    want = build()
    assert g == want
    assert set(g.opt_state) == set(want.opt_state)
    for key, st in want.opt_state.items():
        for k, arr in st.items():
            got = g.opt_state[key][k]
            assert got.dtype == arr.dtype and got.shape == arr.shape and np.array_equal(got, arr), (key, k)


def test_golden_folders_exist_for_every_version():
    for v in range(1, gc.FORMAT_VERSION + 1):
        assert os.path.isdir(os.path.join(GOLDEN, f"v{v}")), f"add golden files for format version {v}"
    assert set(os.listdir(os.path.join(GOLDEN, "v1"))) == set(GOLDEN_GRAPHS) | set(HAND_WRITTEN)


@pytest.mark.parametrize("name", sorted(GOLDEN_GRAPHS))
def test_current_writer_reproduces_the_current_golden_files_byte_for_byte(name):
    """Stable key order and layout: saving an unchanged graph gives an unchanged file (clean diffs)."""
    path = os.path.join(GOLDEN, f"v{gc.FORMAT_VERSION}", name)
    text = open(path, encoding="utf-8").read()
    assert gc.dumps(gc.load(path)) == text
    assert gc.dumps(GOLDEN_GRAPHS[name]()) == text


def test_golden_values_survive_exactly():
    g = gc.load(os.path.join(GOLDEN, "v1", "tensors.json"))
    odd = g.nodes[g.find("odd")].tensors["value"]
    assert np.isnan(odd[0]) and odd[1] == np.inf and odd[2] == -np.inf and np.signbit(odd[4])
    assert g.nodes[g.find("f32_big")].tensors["value"].dtype == np.float32
    assert g.nodes[g.find("labels32")].tensors["value"].dtype == np.int32
    assert g.nodes[g.find("empty")].tensors["value"].shape == (0, 3)
    doc = json.load(open(os.path.join(GOLDEN, "v1", "tensors.json"), encoding="utf-8"))
    by_name = {n["name"]: n for n in doc["nodes"]}
    assert "data" in by_name["matrix"]["tensors"]["value"] and "b64" in by_name["big"]["tensors"]["value"]
    assert "b64" in by_name["odd"]["tensors"]["value"]
    problems = gc.load(os.path.join(GOLDEN, "v1", "unknown_op.json")).validate()
    assert [(p.node, p.code) for p in problems] == [("plug1", "unknown_op")]


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("path", example_files(), ids=os.path.basename)
def test_example_round_trip(path, tmp_path):
    g = gc.load(path)
    assert gc.loads(gc.dumps(g)) == g
    out = tmp_path / os.path.basename(path)
    gc.save(g, out)
    g2 = gc.load(out)
    assert g2 == g
    assert list(g2.nodes) == list(g.nodes) and set(g2.edges) == set(g.edges)
    for nid, n in g.nodes.items():
        assert g2.nodes[nid].ui == n.ui
    assert open(out, encoding="utf-8").read() == open(path, encoding="utf-8").read(), \
        "an example should be saved with gc.save (stable layout, so it round-trips byte for byte)"


def test_round_trip_keeps_ids_names_params_values_edges_positions_and_state(tmp_path):
    g = golden_tensors()
    gc.save(g, tmp_path / "t.json")
    h = gc.load(tmp_path / "t.json")
    assert h == g
    assert h.meta == g.meta and h.meta["seed"] == 7
    key = next(iter(g.opt_state))
    np.testing.assert_array_equal(h.opt_state[key]["m"], g.opt_state[key]["m"])
    # a loaded graph keeps working: new ids do not collide with loaded ones
    nid = h.add("input", value=1.0)
    assert nid not in g.nodes


def test_text_is_utf8_json_with_stable_key_order():
    g = golden_circuit()
    g.rename(g.find("x"), "x₀ — ünïcode")
    text = gc.dumps(g)
    assert "x₀ — ünïcode" in text  # written as UTF-8, not \u escapes
    doc = json.loads(text)
    assert list(doc) == ["format", "format_version", "meta", "nodes", "edges"]
    assert list(doc["nodes"][0]) == ["id", "op", "name", "params", "tensors", "ui"]
    assert doc["edges"][0] == {"src": "n1", "src_port": "out", "dst": "n5", "dst_port": "a"}
    assert gc.dumps(gc.loads(text)) == text


def test_partial_document_for_the_clipboard():
    g = golden_circuit()
    ids = [g.find(n) for n in ("x", "y", "xy", "s")]
    doc = fileformat.to_dict(g, ids)
    assert [n["id"] for n in doc["nodes"]] == ids
    assert {(e["src"], e["dst"]) for e in doc["edges"]} == {(ids[0], ids[2]), (ids[1], ids[2]), (ids[2], ids[3])}


# ---------------------------------------------------------------- versions
def test_newer_version_is_refused_naming_both_versions():
    doc = fileformat.to_dict(golden_circuit())
    doc["format_version"] = gc.FORMAT_VERSION + 1
    with pytest.raises(gc.GraphFormatError) as info:
        gc.loads(json.dumps(doc))
    msg = str(info.value)
    assert info.value.json_path == "format_version"
    assert f"version {gc.FORMAT_VERSION + 1}" in msg and f"up to {gc.FORMAT_VERSION}" in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [0, -1, "1", 1.0, None, True])
def test_bad_version_values(bad):
    doc = fileformat.to_dict(golden_circuit())
    doc["format_version"] = bad
    with pytest.raises(gc.GraphFormatError, match="format_version"):
        gc.loads(json.dumps(doc))


def test_older_versions_are_migrated_step_by_step(monkeypatch):
    """The migration mechanism: a v1 file read by a (pretend) v3 app goes through 1->2->3."""
    calls = []

    def v1_to_v2(doc):
        calls.append(1)
        doc = dict(doc, format_version=2)
        doc["meta"] = dict(doc.get("meta", {}), migrated="v2")
        return doc

    def v2_to_v3(doc):
        calls.append(2)
        return dict(doc, format_version=3)

    monkeypatch.setattr(fileformat, "FORMAT_VERSION", 3)
    monkeypatch.setitem(fileformat.MIGRATIONS, 1, v1_to_v2)
    monkeypatch.setitem(fileformat.MIGRATIONS, 2, v2_to_v3)
    g = gc.load(os.path.join(GOLDEN, "v1", "circuit.json"))
    assert calls == [1, 2] and g.meta["migrated"] == "v2"
    assert [n.name for n in g.nodes.values()] == [n.name for n in golden_circuit().nodes.values()]


def test_a_missing_or_failing_migration_is_a_format_error(monkeypatch):
    monkeypatch.setattr(fileformat, "FORMAT_VERSION", 2)
    with pytest.raises(gc.GraphFormatError, match="version 1"):
        gc.load(os.path.join(GOLDEN, "v1", "circuit.json"))
    monkeypatch.setitem(fileformat.MIGRATIONS, 1, lambda doc: doc["no such key"])
    with pytest.raises(gc.GraphFormatError, match="version 1"):
        gc.load(os.path.join(GOLDEN, "v1", "circuit.json"))


# ---------------------------------------------------------------- error paths
def _mutated(fn):
    doc = fileformat.to_dict(golden_tensors())
    fn(doc)
    return json.dumps(doc)


@pytest.mark.parametrize("mutate,path,words", [
    (lambda d: d["nodes"][10].update(params={"alpha": "big"}), "nodes[10].params.alpha", "must be a number"),
    (lambda d: d["nodes"][10].update(params={"beta": 1}), "nodes[10].params", "no parameter 'beta'"),
    (lambda d: d["nodes"][1]["tensors"]["value"].update(shape=[3, 5]), "nodes[1].tensors.value.data", "needs 15"),
    (lambda d: d["nodes"][1]["tensors"]["value"].update(dtype="complex128"), "nodes[1].tensors.value.dtype",
     "dtype must be"),
    (lambda d: d["nodes"][2]["tensors"]["value"].update(b64="!!!"), "nodes[2].tensors.value.b64", "base64"),
    (lambda d: d["nodes"][0]["ui"].update(x="left"), "nodes[0].ui.x", "must be a number"),
    (lambda d: d["nodes"][3].pop("op"), "nodes[3]", "missing key 'op'"),
    (lambda d: d["edges"][0].update(dst="ghost"), "edges[0].dst", "no node with id 'ghost'"),
    (lambda d: d["edges"][0].update(dst_port="q"), "edges[0].dst_port", "no input port 'q'"),
    (lambda d: d["edges"].append(dict(d["edges"][0])), "edges[7]", "wired twice"),
    (lambda d: d["nodes"].append(dict(d["nodes"][0])), "nodes[15].id", "duplicate node id"),
    (lambda d: d.update(extra=1), "$", "unknown key 'extra'"),
    (lambda d: d["meta"].update(seed="x"), "meta.seed", "integer"),
    (lambda d: d.update(format="something-else"), "format", "not a Backprop Studio graph"),
    (lambda d: d["nodes"][0]["tensors"].pop("value"), "nodes[0].tensors", "needs a value"),
    (lambda d: d["nodes"][1]["tensors"]["value"].update(shape=[10 ** 6, 10 ** 6]), "nodes[1].tensors.value.shape",
     "too large"),
])
def test_errors_name_the_json_path(mutate, path, words):
    with pytest.raises(gc.GraphFormatError) as info:
        gc.loads(_mutated(mutate), file="g.json")
    assert info.value.json_path == path, str(info.value)
    assert words in str(info.value)
    assert str(info.value).startswith(f"g.json: {path}: ")


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(gc.GraphFormatError, match="nope.json: cannot read"):
        gc.load(tmp_path / "nope.json")
    p = tmp_path / "bad.json"
    p.write_text('{"format": 1', encoding="utf-8")
    with pytest.raises(gc.GraphFormatError) as info:
        gc.load(p)
    assert info.value.file == str(p) and "not valid JSON" in str(info.value)


# ---------------------------------------------------------------- atomic writes
def _listing(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("fail_at", ["fsync", "replace", "write"])
def test_a_failing_save_leaves_the_old_file_and_no_temp_files(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "graph.json"
    old = golden_circuit()
    gc.save(old, path)
    before = path.read_bytes()
    new = golden_tensors()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    if fail_at == "fsync":
        monkeypatch.setattr(fileformat.os, "fsync", boom)
    elif fail_at == "replace":
        monkeypatch.setattr(fileformat.os, "replace", boom)
    else:
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, text):
                self.f.write(text[: len(text) // 2])  # half the file reaches the disk, then it fails
                self.f.flush()
                raise OSError(28, "No space left on device")

            def __getattr__(self, name):
                return getattr(self.f, name)

        monkeypatch.setattr(fileformat.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    with pytest.raises(OSError):
        gc.save(new, path)
    assert path.read_bytes() == before
    assert gc.load(path) == old
    assert _listing(tmp_path) == ["graph.json"], "temp files were left behind"


def test_an_unserialisable_graph_never_touches_the_file(tmp_path):
    path = tmp_path / "graph.json"
    gc.save(golden_circuit(), path)
    before = path.read_bytes()
    g = golden_circuit()
    g.meta["bad"] = object()
    with pytest.raises(TypeError):
        gc.save(g, path)
    assert path.read_bytes() == before and _listing(tmp_path) == ["graph.json"]


def test_save_replaces_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "graph.json"
    gc.save(golden_circuit(), path)
    gc.save(golden_tensors(), path)
    assert _listing(tmp_path) == ["graph.json"]
    assert gc.load(path) == golden_tensors()


def test_the_documented_example_loads():
    import re

    text = open(os.path.join(ROOT, "docs", "file-format.md"), encoding="utf-8").read()
    block = re.findall(r"```json\n(.*?)```", text, re.S)[-1]
    g = gc.loads(block)
    assert [n.name for n in g.nodes.values()] == ["x", "q"]
    assert [(p.node, p.port, p.code) for p in g.validate()] == [("n4", "b", "missing_input")]
    full = gc.load(os.path.join(EXAMPLES, "add_mul.json"))
    assert g.nodes["n1"] == full.nodes["n1"] and g.nodes["n4"] == full.nodes["n4"]


if __name__ == "__main__":
    if "--write-golden" in sys.argv:
        write_golden()
        print("wrote", os.path.join(GOLDEN, f"v{gc.FORMAT_VERSION}"))


# ---------------------------------------------------------------- what is read at all
@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_only_regular_files_are_read(kind, tmp_path, capsys):
    """/dev/zero used to be read until memory ran out; a FIFO blocked the open."""
    from graphcore import cli

    if kind == "device":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "pipe.json")
        os.mkfifo(path)
    else:
        path = str(tmp_path)
    with pytest.raises(gc.GraphFormatError, match="cannot read the file: (not a regular file|a folder)"):
        gc.load(path)
    assert cli.main(["run", path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: cannot read the file")


def test_a_file_larger_than_its_share_of_the_memory_budget_is_refused(tmp_path, monkeypatch):
    """Loading takes about 5x a file's size (JSON text, base64 bytes, arrays): 213 MB peaked at 1 GB."""
    from graphcore import limits

    g = gc.Graph()
    g.add("input", name="x", value=np.arange(200_000, dtype=np.float64))  # 2.1 MB of base64
    path = tmp_path / "big.json"
    gc.save(g, path)
    monkeypatch.setattr(limits, "_budget", 20 << 20)
    assert gc.fileformat.max_file_bytes() == 4 << 20
    assert gc.load(path) == g
    monkeypatch.setattr(limits, "_budget", 8 << 20)
    with pytest.raises(gc.GraphFormatError, match=r"too large \(2\.\d MB\); the limit is 1\.6 MB, a 5th of the memory"):
        gc.load(path)


@pytest.mark.parametrize("x", [1e15, 2_000_000, 10 ** 400])
def test_a_canvas_position_out_of_range_is_refused_on_load(tmp_path, x):
    """A position far off the canvas made render allocate gigabytes (or overflow): refused at load."""
    g = gc.Graph()
    a = g.add("input", name="a", value=1.0)
    g.set_ui(a, x=0.0, y=0.0)
    p = tmp_path / "far.json"
    gc.save(g, str(p))
    doc = json.loads(p.read_text())
    doc["nodes"][0]["ui"]["x"] = x
    p.write_text(json.dumps(doc))
    with pytest.raises(gc.GraphFormatError, match=r"nodes\[0\]\.ui\.x.*canvas position"):
        gc.load(str(p))
