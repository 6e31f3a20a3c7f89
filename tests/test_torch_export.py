"""PyTorch export (graphcore.export.torch_code) without torch: the generated file is valid Python with
the promised structure and weights. tools/verify_torch_export.py runs it against the executor where
torch is installed."""
from __future__ import annotations

import ast
import os

import numpy as np
import pytest

import graphcore as gc
from graphcore.cli import main as cli_main
from graphcore.export.plan import build_plan
from graphcore.export.torch_code import export_torch, torch_source
from graphcore.fileformat import load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "resources", "examples")
ALL = sorted(f[:-5] for f in os.listdir(EXAMPLES) if f.endswith(".json"))


def _defs(tree) -> dict[str, ast.AST]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def _literal(tree, name: str):
    for n in tree.body:
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            return ast.literal_eval(n.value)
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple) and name in [
                e.id for e in n.targets[0].elts]:
            return ast.literal_eval(n.value)[[e.id for e in n.targets[0].elts].index(name)]
    raise KeyError(name)


@pytest.mark.parametrize("name", ALL)
def test_example_exports_valid_structured_torch_code(name, tmp_path):
    graph = load(os.path.join(EXAMPLES, name + ".json"))
    py, npz = export_torch(graph, tmp_path / f"{name}.py")
    text = py.read_text()
    tree = ast.parse(text)
    compile(tree, str(py), "exec")
    defs = _defs(tree)
    assert {"Model", "build_model"} <= set(defs)
    imports = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert not any(i.startswith(("graphcore", "app")) for i in imports)  # standalone
    # forward() takes every input node, by the identifier INPUTS gives its name
    inputs = _literal(tree, "INPUTS")
    forward = next(f for f in defs["Model"].body if isinstance(f, ast.FunctionDef) and f.name == "forward")
    assert [a.arg for a in forward.args.args[1:]] == list(inputs.values())
    assert set(inputs) == {n.name for n in graph.nodes.values() if n.op == "input"}
    # the .npz holds every weight and source value at its shape
    plan = build_plan(graph, grads=False)
    with np.load(npz) as arrays:
        for (nid, w), var in plan.wvar.items():
            np.testing.assert_array_equal(arrays[var], graph.nodes[nid].tensors[w])
        for nid in plan.order:
            if plan.spec(nid).source:
                np.testing.assert_array_equal(arrays[plan.var[nid]], graph.nodes[nid].tensors["value"])
        training = graph.meta.get("training")
        if training:
            assert {"NotesOptimizer", "train", "learning_rate", "load_data"} <= set(defs)
            settings = _literal(tree, "SETTINGS")
            assert settings["optimizer"]["kind"] == training["optimizer"]["kind"]
            assert settings["optimizer"]["lr"] == training["optimizer"]["lr"]
            assert settings["epochs"] == training["epochs"] and settings["batch_size"] == training["batch_size"]
            assert _literal(tree, "FEATURES") in inputs.values() and _literal(tree, "LABELS") in inputs.values()
            assert arrays["data_X_train"].dtype == np.float64 and len(arrays["data_X_train"]) == len(
                arrays["data_y_train"])
            assert "DistributedDataParallel" in text and 'device="cuda"' in text
    assert 'if __name__ == "__main__":' in text


def test_every_node_is_one_line_of_forward():
    graph = load(os.path.join(EXAMPLES, "spiral_2layer.json"))
    text, _ = torch_source(graph)
    assert "fc1 = x @ self.fc1_W + self.fc1_b  # linear" in text
    assert "data_loss = F.cross_entropy(fc2, y)  # softmax_cross_entropy" in text
    assert "reg = 0.5 * 0.001 * (torch.sum(self.fc1_W ** 2) + torch.sum(self.fc2_W ** 2))  # l2" in text


def test_hostile_names_stay_in_strings(tmp_path):
    g = gc.Graph()
    a = g.add("input", name="__import__('os').system('x')", value=2.0)
    p = g.add("param", name="training", value=3.0)  # an nn.Module attribute
    m = g.add("mul", name="self", inputs={"a": a, "b": p})
    g.add("exp", name="forward", inputs={"x": m})
    text, arrays = torch_source(g)
    tree = ast.parse(text)
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not {"__import__", "system", "os"} & (attrs | names)
    assert "training_" in attrs and "training_" in arrays  # not Module.training
    assert _literal(tree, "INPUTS") == {"__import__('os').system('x')": "import_os_system_x"}


def test_cli_export_torch(tmp_path, capsys):
    src = os.path.join(EXAMPLES, "xor_mlp.json")
    out = tmp_path / "xor.py"
    assert cli_main(["export", src, "--to", "torch", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and f"wrote {tmp_path / 'xor.npz'}" in printed
    ast.parse(out.read_text())
