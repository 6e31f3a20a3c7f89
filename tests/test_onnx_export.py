"""ONNX export: every op declares its rule; every example and every one-op sample case exports,
passes onnx.checker and runs in onnxruntime to the executor's forward values (1e-6 in float32,
1e-12 in float64 where onnxruntime has the op in float64); names and the batch axis; refusals
name the node and write nothing; the app runs without the onnx package."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx_helpers import (TOL, example_files, executor_values, feeds, one_op_cases, one_op_graph,
                          random_gate_graph, rel_error, session)

import graphcore as gc
from graphcore import registry
from graphcore.export import onnx_rules
from graphcore.export.onnx_export import export_onnx
from graphcore.export.onnx_support import ORT_NO_FLOAT64, OnnxUnavailable

DTYPES = (np.float32, np.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", sorted(registry.ops()))
def test_every_op_declares_its_onnx_rule(name):
    rule = registry.get(name).onnx
    assert rule is not None, f"op {name!r} declares no ONNX rule (OpSpec.onnx)"
    assert isinstance(rule, str) or callable(rule)
    if registry.get(name).source:
        assert rule in (onnx_rules.GRAPH_INPUT, onnx_rules.INITIALIZER, onnx_rules.CONSTANT)


def _run(model, graph, dtype, values=None):
    sess = session(model)
    outs = sess.run(None, feeds(sess, graph, dtype, values))
    return {o.name: v for o, v in zip(sess.get_outputs(), outs)}


def _check_against_executor(graph, dtype):
    model = export_onnx(graph, None, dtype)
    onnx.checker.check_model(model, full_check=True)
    used = {n.op_type for n in model.graph.node}
    if dtype == np.float64 and used & ORT_NO_FLOAT64:
        with pytest.raises(Exception, match="NOT_IMPLEMENTED"):
            session(model)
        return None
    got = _run(model, graph, dtype)
    ref = executor_values(graph, dtype, got)
    for name, value in got.items():
        assert value.shape == ref[name].shape, name
        assert rel_error(value, ref[name], dtype) <= TOL[dtype], (name, value, ref[name])
    return got


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("path", example_files(), ids=os.path.basename)
def test_examples_run_in_onnxruntime_like_the_executor(path, dtype):
    g = gc.load(path)
    got = _check_against_executor(g, dtype)
    if got is None:
        assert "digits" in path  # the one example with convolutions
    else:
        assert set(got) == {g.nodes[s].name for s in g.sinks()}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name,index,label", one_op_cases(), ids=[f"{n}[{lab}]" for n, _, lab in one_op_cases()])
def test_every_op_case_runs_in_onnxruntime_like_the_executor(name, index, label, dtype):
    g, op = one_op_graph(name, index)
    got = _check_against_executor(g, dtype)
    if got is None:
        assert dtype == np.float64
    else:
        assert g.nodes[op].name in got


def test_names_inputs_initializers_and_the_symbolic_batch(tmp_path):
    g = gc.load(next(p for p in example_files() if p.endswith("spiral_2layer.json")))
    model = export_onnx(g)
    names = {n.name for n in model.graph.node}
    for node in g.nodes.values():
        if not node.spec.source:
            assert node.name in names  # the graph node's own ONNX node, and its output
            assert node.name in {o for n in model.graph.node for o in n.output}
    inits = {t.name for t in model.graph.initializer}
    layers = [n for n in g.nodes.values() if n.op == "linear"]
    assert len(layers) == 2
    assert {f"{n.name}.{w}" for n in layers for w in ("W", "b")} <= inits
    ins = {v.name: v.type.tensor_type for v in model.graph.input}
    assert set(ins) == {g.nodes[n].name for n in g.nodes if g.nodes[n].op == "input"}
    for t in ins.values():  # features and labels: fed by meta.training, so the batch axis is symbolic
        assert t.shape.dim[0].dim_param == "N"
    x_name, y_name = (g.nodes[g.find(n)].name for n in (g.meta["training"]["features"], g.meta["training"]["labels"]))
    assert ins[y_name].elem_type == onnx.TensorProto.INT64 and ins[x_name].elem_type == onnx.TensorProto.FLOAT
    # a batch of another size runs, and agrees with the executor fed the same rows
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 2)), rng.integers(0, 3, 7)
    got = _run(model, g, np.float32, {x_name: x, y_name: y})
    g.set_value(g.find(x_name), x)
    g.set_value(g.find(y_name), y)
    ref = executor_values(g, np.float32, got)
    assert rel_error(got["loss"], ref["loss"], np.float32) <= 1e-6


def test_inputs_not_fed_by_training_keep_their_shapes():
    g = gc.load(next(p for p in example_files() if p.endswith("cs231n_circuit.json")))
    model = export_onnx(g)
    for v in model.graph.input:
        assert [d.dim_value for d in v.type.tensor_type.shape.dim] == list(g.value(g.find(v.name)).shape)
        assert not any(d.dim_param for d in v.type.tensor_type.shape.dim)


def test_writes_atomically_what_it_returns(tmp_path):
    g = gc.load(example_files()[0])
    out = tmp_path / "m.onnx"
    model = export_onnx(g, out)
    assert out.read_bytes() == model.SerializeToString()
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def _linear_graph():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((2, 3)))
    fc = g.add("linear", name="fc", inputs={"x": x}, units=2)
    return g, fc


def test_a_node_without_a_rule_is_refused_by_name_and_nothing_is_written(tmp_path, monkeypatch):
    g, fc = _linear_graph()
    monkeypatch.setattr(registry.get("linear"), "onnx", None)
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    with pytest.raises(gc.GraphError, match=r"node 'fc': cannot export to ONNX: op 'linear' declares no ONNX rule"):
        export_onnx(g, out)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_clashing_onnx_names_are_refused_naming_the_node():
    g, fc = _linear_graph()
    g.add("param", name="fc.W", value=np.ones(2))  # the name of fc's W initializer
    with pytest.raises(gc.GraphError, match=r"cannot export to ONNX: its ONNX tensor name 'fc.W' is also used"):
        export_onnx(g)


def test_repeated_node_names_are_refused():
    g, fc = _linear_graph()
    g.add("relu", name="act", inputs={"x": fc})
    g.add("tanh", name="fc2", inputs={"x": fc})
    g.rename(g.find("fc2"), "act")
    with pytest.raises(gc.GraphError, match=r"node 'act' \(id '.+'\): cannot export to ONNX: the node with id "
                                            r"'.+' has the same name, and ONNX names must be unique"):
        export_onnx(g)


def test_an_invalid_graph_is_refused_with_its_problems():
    g = gc.Graph()
    g.add("relu", name="lonely")
    with pytest.raises(gc.GraphError, match="lonely"):
        export_onnx(g)


def test_without_the_onnx_package_the_error_says_how_to_install(monkeypatch):
    g, _ = _linear_graph()
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(OnnxUnavailable,
                       match=r"ONNX export needs the onnx package: pip install 'backprop-studio\[onnx\]'"):
        export_onnx(g)


def test_the_app_imports_and_runs_without_onnx():
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None\n"
            "import main, graphcore.cli, graphcore.export_cli, graphcore.export.onnx_export, "
            "graphcore.export.onnx_import\n"
            "import graphcore as gc; from graphcore import registry; assert len(registry.ops()) > 30\n"
            "sys.exit(graphcore.cli.main(['export', sys.argv[1], '--to', 'onnx', '--out', sys.argv[2]]))\n")
    r = subprocess.run([sys.executable, "-c", code, example_files()[0], os.path.join(ROOT, "never.onnx")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == ("error: ONNX export needs the onnx package: pip install 'backprop-studio[onnx]'")
    assert not os.path.exists(os.path.join(ROOT, "never.onnx"))


def test_docs_onnx_md_is_generated_and_up_to_date():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_onnx_doc", os.path.join(ROOT, "tools", "gen_onnx_doc.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with open(os.path.join(ROOT, "docs", "onnx.md"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == gen.render(), "docs/onnx.md is out of date: run python tools/gen_onnx_doc.py"
    for name in registry.ops():
        assert f"| `{name}` |" in committed


def test_integer_params_and_consts_feeding_float_ports_export_as_floats():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([0.5, 1.5]))
    k = g.add("param", name="k", value=np.array([2, 3]))
    c = g.add("const", name="c", value=np.array(4))
    s = g.add("mul", name="s", inputs={"a": x, "b": k})
    g.add("add", name="t", inputs={"a": s, "b": c})
    got = _check_against_executor(g, np.float64)
    np.testing.assert_array_equal(got["t"], [5.0, 8.5])


@pytest.mark.parametrize("op", ["input", "param", "const"])
def test_a_lone_source_is_an_output_that_runs(op):
    g = gc.Graph()
    g.add(op, name="v", value=np.array([1.5, -2.0]))
    got = _check_against_executor(g, np.float64)
    np.testing.assert_array_equal(got["v"], [1.5, -2.0])


@pytest.mark.parametrize("seed", range(12))
def test_random_gate_graphs_run_in_onnxruntime_like_the_executor(seed):
    g = random_gate_graph(seed)
    for dtype in DTYPES:
        assert _check_against_executor(g, dtype) is not None
