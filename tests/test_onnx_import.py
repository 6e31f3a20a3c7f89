"""ONNX import: export -> import gives back the same ops computing the same values (every example,
every op's sample cases); models written by other tools (onnx.helper) import and agree with
onnxruntime; unsupported op types and attributes are refused by name; files and external data
follow the data sets' path rules and size limits; the CLI's exit codes."""
from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_helpers import (example_files, executor_values, one_op_cases, one_op_graph, random_gate_graph, rel_error,
                          session)

import graphcore as gc
from graphcore import cli
from graphcore.export.onnx_export import export_onnx
from graphcore.export.onnx_import import OnnxImportError, import_onnx
from graphcore.train.datapath import DataPolicy


def _round_trip(g, tmp_path, dtype=np.float64):
    path = tmp_path / "m.onnx"
    export_onnx(g, path, dtype)
    h = import_onnx(path)
    for node in g.nodes.values():  # ONNX inputs carry no values: feed the same ones
        if node.op == "input":
            h.set_value(h.find(node.name), node.tensors["value"])
    return h


def _same_graph_same_values(g, h, dtype=np.float64, tol=1e-12):
    assert sorted((n.name, n.op) for n in g.nodes.values()) == sorted((n.name, n.op) for n in h.nodes.values())
    for node in g.nodes.values():  # (init and init_scale say how to draw new weights: the weights travel)
        drawn = {k: v for k, v in node.params.items() if k not in ("init", "init_scale")}
        assert {k: v for k, v in h.nodes[h.find(node.name)].params.items() if k in drawn} == drawn, node.name
    names = [g.nodes[s].name for s in g.sinks()]
    a, b = executor_values(g, dtype, names), executor_values(h, dtype, names)
    for n in names:
        assert rel_error(b[n], a[n], np.float64) <= tol, n


@pytest.mark.parametrize("path", example_files(), ids=os.path.basename)
def test_examples_come_back_as_the_same_graph(path, tmp_path):
    g = gc.load(path)
    _same_graph_same_values(g, _round_trip(g, tmp_path))


@pytest.mark.parametrize("name,index,label", one_op_cases(), ids=[f"{n}[{lab}]" for n, _, lab in one_op_cases()])
def test_every_op_case_comes_back(name, index, label, tmp_path):
    g, _ = one_op_graph(name, index)
    _same_graph_same_values(g, _round_trip(g, tmp_path))


@pytest.mark.parametrize("seed", range(12))
def test_random_gate_graphs_come_back(seed, tmp_path):
    g = random_gate_graph(seed)
    _same_graph_same_values(g, _round_trip(g, tmp_path))


def test_a_float32_export_comes_back_to_float32_precision(tmp_path):
    g = gc.load(next(p for p in example_files() if p.endswith("xor_mlp.json")))
    _same_graph_same_values(g, _round_trip(g, tmp_path, np.float32), tol=1e-6)


def test_imported_graphs_run_left_to_right(tmp_path):
    g = gc.load(next(p for p in example_files() if p.endswith("digits_cnn.json")))
    h = _round_trip(g, tmp_path)
    for e in h.edges:
        assert h.nodes[e.src].ui["x"] < h.nodes[e.dst].ui["x"]
    spots = [(n.ui["x"], n.ui["y"]) for n in h.nodes.values()]
    assert len(set(spots)) == len(spots)


# ---------------------------------------------------------------- models from elsewhere
def _model(nodes, inputs, outputs, inits=(), opset=17, path=None):
    g = helper.make_graph(nodes, "foreign", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    if path is not None:
        onnx.save(m, path)
    return m


def _f(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_a_foreign_mlp_imports_and_agrees_with_onnxruntime(tmp_path):
    rng = np.random.default_rng(3)
    W1, b1 = rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    W2 = rng.standard_normal((5, 3)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["input", "W1", "b1"], ["h"], name="fc1", transB=1),
             helper.make_node("LeakyRelu", ["h"], ["a"], name="act", alpha=0.25),
             helper.make_node("MatMul", ["a", "W2"], ["s"], name="mm"),
             helper.make_node("Softmax", ["s"], ["p"], name="sm", axis=-1)]
    inits = [numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(W2, "W2")]
    m = _model(nodes, [_f("input", ["batch", 4])], [_f("p", ["batch", 3])], inits, path=tmp_path / "f.onnx")
    h = import_onnx(tmp_path / "f.onnx")
    assert {n.name: n.op for n in h.nodes.values()} == {"input": "input", "h": "linear", "a": "leaky_relu",
                                                       "W2": "param", "s": "matmul", "p": "softmax"}
    np.testing.assert_array_equal(h.nodes[h.find("h")].tensors["W"], W1.T.astype(np.float64))
    x = rng.standard_normal((6, 4)).astype(np.float32)
    h.set_value(h.find("input"), x)
    sess = session(m)
    ref = sess.run(None, {"input": x})[0]
    got = executor_values(h, np.float32, ["p"])["p"]
    assert rel_error(got, ref, np.float32) <= 1e-6


def test_unsupported_op_types_are_listed_with_their_nodes(tmp_path):
    nodes = [helper.make_node("Identity", ["x"], ["a"], name="copy1"),
             helper.make_node("Relu", ["a"], ["b"], name="r"),
             helper.make_node("Identity", ["b"], ["c"], name="copy2"),
             helper.make_node("Erf", ["c"], ["d"], name="erf")]
    _model(nodes, [_f("x", [2])], [_f("d", [2])], path=tmp_path / "u.onnx")
    with pytest.raises(OnnxImportError, match=r"u\.onnx: unsupported ONNX op types: Erf \('erf'\); "
                                              r"Identity \('copy1', 'copy2'\)"):
        import_onnx(tmp_path / "u.onnx")


@pytest.mark.parametrize("node,why", [
    (helper.make_node("Conv", ["x", "W"], ["y"], name="c", dilations=[2, 2]), "dilations and groups"),
    (helper.make_node("Conv", ["x", "W"], ["y"], name="c", pads=[1, 0, 1, 0]), "only the same padding"),
    (helper.make_node("Gemm", ["x2", "W2"], ["y"], name="c", alpha=2.0), "only alpha = beta = 1"),
    (helper.make_node("Softmax", ["x"], ["y"], name="c", axis=1), "along the last axis"),
    (helper.make_node("Selu", ["x"], ["y"], name="c", alpha=2.0), "self-normalising constant"),
])
def test_attributes_the_graph_cannot_express_are_refused_naming_the_node(node, why, tmp_path):
    inits = [numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "W"),
             numpy_helper.from_array(np.ones((3, 2), np.float32), "W2")]
    rank = 2 if node.op_type == "Gemm" else 4
    _model([node], [_f("x", [1, 1, 5, 5]), _f("x2", [2, 3])], [_f("y", [None] * rank)], inits,
           path=tmp_path / "a.onnx")
    with pytest.raises(OnnxImportError, match=rf"a\.onnx: ONNX node 'c' \('{node.op_type}'\): .*{why}"):
        import_onnx(tmp_path / "a.onnx")


def test_old_opsets_and_non_onnx_files_are_refused(tmp_path):
    _model([helper.make_node("Relu", ["x"], ["y"], name="r")], [_f("x", [2])], [_f("y", [2])], opset=11,
           path=tmp_path / "old.onnx")
    with pytest.raises(OnnxImportError, match="opset 11 is not supported"):
        import_onnx(tmp_path / "old.onnx")
    _model([helper.make_node("Relu", ["nowhere"], ["y"], name="r")], [_f("x", [2])], [_f("y", [2])],
           path=tmp_path / "broken.onnx")
    with pytest.raises(OnnxImportError, match=r"broken\.onnx: not a valid ONNX model: .*nowhere"):
        import_onnx(tmp_path / "broken.onnx")
    (tmp_path / "text.onnx").write_text("this is not protobuf at all \x00\xff")
    with pytest.raises(OnnxImportError, match="text.onnx: "):
        import_onnx(tmp_path / "text.onnx")


def test_tampered_composite_metadata_is_refused(tmp_path):
    g = gc.load(next(p for p in example_files() if p.endswith("xor_mlp.json")))
    m = export_onnx(g)
    helper.set_model_props(m, {"backprop_studio.composites": json.dumps({"not": "a list"})})
    onnx.save(m, tmp_path / "t.onnx")
    with pytest.raises(OnnxImportError, match="is not the list this app writes"):
        import_onnx(tmp_path / "t.onnx")


# ---------------------------------------------------------------- files and external data
def _external_model(tmp_path, location: str):
    W = np.arange(800, dtype=np.float32).reshape(4, 200)
    m = _model([helper.make_node("Gemm", ["x", "W"], ["y"], name="fc")], [_f("x", ["N", 4])], [_f("y", ["N", 200])],
               [numpy_helper.from_array(W, "W")])
    onnx.external_data_helper.convert_model_to_external_data(m, all_tensors_to_one_file=True, location="w.bin",
                                                             size_threshold=0)
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    onnx.save_model(m, data_dir / "m.onnx")  # writes data/w.bin beside it
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = location
    (data_dir / "m.onnx").write_bytes(m.SerializeToString())
    return data_dir / "m.onnx", W


def test_external_data_beside_the_model_is_read(tmp_path):
    path, W = _external_model(tmp_path, "w.bin")
    h = import_onnx(path)
    np.testing.assert_array_equal(h.nodes[h.find("y")].tensors["W"], W)


@pytest.mark.parametrize("where,why", [("../w.bin", "leads out of the ONNX model's folder"),
                                       ("/etc/passwd", "is an absolute path")])
def test_external_data_may_not_leave_the_models_folder(tmp_path, where, why):
    path, _ = _external_model(tmp_path, where)
    (tmp_path / "w.bin").write_bytes((path.parent / "w.bin").read_bytes())
    with pytest.raises(OnnxImportError, match=rf"tensor 'W' location '{where}' {why}"):
        import_onnx(path)


def test_files_over_the_data_limit_are_refused_before_reading(tmp_path):
    path, _ = _external_model(tmp_path, "w.bin")
    with pytest.raises(OnnxImportError, match="larger than the data limit of 16 B"):
        import_onnx(path, DataPolicy(max_bytes=16))
    size = os.path.getsize(path)
    with pytest.raises(OnnxImportError, match=r"w\.bin: the file is .*larger than the data limit"):
        import_onnx(path, DataPolicy(max_bytes=size))  # the model fits, its 3200-byte data file does not
    assert size < 3200


# ---------------------------------------------------------------- the command line
def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_cli_export_then_import(tmp_path, capsys):
    src = next(p for p in example_files() if p.endswith("cs231n_circuit.json"))
    out, back = tmp_path / "c.onnx", tmp_path / "c.json"
    assert cli.main(["export", src, "--to", "onnx", "--out", str(out)]) == 0
    onnx.checker.check_model(onnx.load(out), full_check=True)
    assert cli.main(["import", str(out), "--out", str(back)]) == 0
    assert "wrote" in capsys.readouterr().out
    g, h = gc.load(src), gc.load(back)
    for node in g.nodes.values():
        if node.op == "input":
            h.set_value(h.find(node.name), node.tensors["value"])
    _same_graph_same_values(g, h, np.float64, tol=1e-6)  # the CLI writes float32


def test_cli_import_exits_2_on_bad_and_unsupported_files(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x96\x01garbage")
    assert cli.main(["import", str(tmp_path / "bad.onnx"), "--out", str(tmp_path / "g.json")]) == 2
    assert "bad.onnx" in _one_error_line(capsys)
    _model([helper.make_node("Erf", ["x"], ["y"], name="e")], [_f("x", [2])], [_f("y", [2])],
           path=tmp_path / "u.onnx")
    assert cli.main(["import", str(tmp_path / "u.onnx"), "--out", str(tmp_path / "g.json")]) == 2
    assert "unsupported ONNX op types: Erf ('e')" in _one_error_line(capsys)
    assert cli.main(["import", str(tmp_path / "missing.onnx"), "--out", str(tmp_path / "g.json")]) == 2
    assert "cannot read the file" in _one_error_line(capsys)
    assert not (tmp_path / "g.json").exists()


def test_cli_export_exits_2_naming_the_node_it_cannot_export(tmp_path, capsys, monkeypatch):
    from graphcore import registry

    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((2, 3)))
    g.add("linear", name="fc", inputs={"x": x}, units=2)
    gc.save(g, tmp_path / "g.json")
    monkeypatch.setattr(registry.get("linear"), "onnx", None)
    assert cli.main(["export", str(tmp_path / "g.json"), "--to", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "node 'fc': cannot export to ONNX" in _one_error_line(capsys)
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["export", str(tmp_path / "g.json"), "--to", "nope", "--out", str(tmp_path / "m.onnx")])
    assert exit_.value.code == 2
    assert "invalid choice: 'nope' (choose from 'numpy', 'onnx', 'torch')" in _one_error_line(capsys)


def test_a_float32_export_gives_back_the_params_as_written(tmp_path):
    """float32 attributes and constants come back as the decimals they were (1e-5, not 9.99999975e-06)."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.linspace(0.5, 2.0, 12).reshape(3, 4))
    p = g.add("pow", name="p", inputs={"x": x}, p=2.2)
    a = g.add("leaky_relu", name="a", inputs={"x": p}, alpha=0.01)
    d = g.add("dropout", name="d", inputs={"x": a}, p=0.8)
    g.add("batchnorm", name="bn", inputs={"x": d}, eps=1e-5, momentum=0.95)
    h = _round_trip(g, tmp_path, np.float32)
    assert {n.name: n.params for n in h.nodes.values()} == {n.name: n.params for n in g.nodes.values()}


@pytest.mark.parametrize("op", ["input", "param", "const"])
def test_a_lone_source_comes_back(op, tmp_path):
    g = gc.Graph()
    g.add(op, name="v", value=np.array([1.5, -2.0]))
    h = _round_trip(g, tmp_path)
    assert [(n.name, n.op) for n in h.nodes.values()] == [("v", op)]
    np.testing.assert_array_equal(h.value(h.find("v")), [1.5, -2.0])  # (an input: fed by _round_trip)


def test_constants_read_as_settings_leave_no_dangling_nodes(tmp_path):
    shape = helper.make_node("Constant", [], ["shape"], name="shape_c",
                             value=numpy_helper.from_array(np.array([-1, 6], np.int64)))
    reshape = helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")
    _model([shape, reshape], [_f("x", ["N", 2, 3])], [_f("y", ["N", 6])], path=tmp_path / "c.onnx")
    h = import_onnx(tmp_path / "c.onnx")
    assert sorted((n.name, n.op) for n in h.nodes.values()) == [("x", "input"), ("y", "reshape")]
    assert h.nodes[h.find("y")].params["shape"] == "-1, 6"


def test_external_data_through_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    path, _ = _external_model(tmp_path, "link.bin")
    outside = tmp_path / "w_outside.bin"
    outside.write_bytes((path.parent / "w.bin").read_bytes())
    os.symlink(outside, path.parent / "link.bin")
    with pytest.raises(OnnxImportError, match=r"'link.bin' leads out of the ONNX model's folder through a symbolic "
                                              r"link; .* To use this file, move it beside the model"):
        import_onnx(path)
    h = import_onnx(path, DataPolicy().allowing(str(outside)))  # the user named it: allowed
    assert h.nodes[h.find("y")].tensors["W"].shape == (4, 200)
