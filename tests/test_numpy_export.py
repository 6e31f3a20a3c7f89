"""Staged numpy export (graphcore.export.numpy_code): the generated file computes what the executor
computes, prints what `main.py run` prints, and never turns a node name into code."""
from __future__ import annotations

import ast
import contextlib
import io
import os
import runpy
import subprocess
import sys
import tokenize
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import graphcore as gc
from graphcore import registry
from graphcore.cli import main as cli_main
from graphcore.export.numpy_code import export_numpy, node_keys, staged_numpy
from graphcore.fileformat import load
from graphcore.problems import GraphError, NumericError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "resources", "examples")
ALL = sorted(f[:-5] for f in os.listdir(EXAMPLES) if f.endswith(".json"))
GATE_CATEGORIES = {"inputs", "gates", "activations", "reductions"}
GATE_LEVEL = [n for n in ALL if all(node.spec.category in GATE_CATEGORIES
                                    for node in load(os.path.join(EXAMPLES, n + ".json")).nodes.values())]
TOL = 1e-12


def _run_generated(path) -> tuple[dict, str]:
    """Run a generated file as a script (its own namespace); return its globals and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ns = runpy.run_path(str(path), run_name="__main__")
    return ns, out.getvalue()


def _cli_run(path: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["run", path]) == 0
    return out.getvalue()


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= TOL * np.maximum(1.0, np.abs(b))))


def _agrees(graph, ns, target=None) -> list[str]:
    """Names of the nodes (and weights) whose value or gradient differs from the executor's."""
    ex = gc.Executor(graph, mode="eval")
    ex.forward()
    ex.backward(target)
    keys = node_keys(graph, graph.topo_order())
    bad = []
    for nid in graph.topo_order():
        k = keys[nid]
        if not _close(ns["values"][k], ex.value(nid)):
            bad.append(f"value of {k}")
        g = ns["grads"][k]
        if g is None:
            assert ex.value(nid).dtype.kind in "iub"
        elif not _close(g, ex.grad(nid)):
            bad.append(f"gradient of {k}")
    for (name, w), g in ns["weight_grads"].items():
        if not _close(g, ex.weight_grad(graph.find(name), w)):
            bad.append(f"gradient of {name}.{w}")
    return bad


def test_gate_level_examples_are_found():
    assert {"add_mul", "cs231n_circuit", "sigmoid_neuron"} <= set(GATE_LEVEL)


@pytest.mark.parametrize("name", GATE_LEVEL)
def test_gate_example_prints_the_run_table_and_matches_the_executor(name, tmp_path):
    path = os.path.join(EXAMPLES, name + ".json")
    graph = load(path)
    (py,) = export_numpy(graph, tmp_path / f"{name}.py")  # scalars only: no .npz
    ns, printed = _run_generated(py)
    assert _agrees(graph, ns) == []
    assert printed == _cli_run(path)


@pytest.mark.parametrize("name", sorted(set(ALL) - set(GATE_LEVEL)))
def test_layer_example_matches_the_executor(name, tmp_path):
    graph = load(os.path.join(EXAMPLES, name + ".json"))
    paths = export_numpy(graph, tmp_path / f"{name}.py")
    assert [p.suffix for p in paths] == [".py", ".npz"]  # the data set is too large to write as code
    ns, printed = _run_generated(paths[0])
    assert _agrees(graph, ns) == []
    assert printed.splitlines()[0].split() == ["node", "op", "value", "gradient"]


def test_generated_file_runs_standalone(tmp_path):
    """A subprocess with nothing of graphcore on its path prints exactly the run table."""
    path = os.path.join(EXAMPLES, "cs231n_circuit.json")
    (py,) = export_numpy(load(path), tmp_path / "circuit.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-I", str(py)], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == _cli_run(path)
    assert "x     input  3.00    -8.00" in out.stdout


def _cases():
    out = []
    for name in sorted(n for n, s in registry.ops().items() if not s.source):
        cases = registry.get(name).examples(np.random.default_rng(zlib.crc32(name.encode())))
        out += [pytest.param(name, i, id=f"{name}[{c.get('label', i)}]") for i, c in enumerate(cases)]
    return out


@pytest.mark.parametrize("name,index", _cases())
def test_every_op_rule_matches_the_executor(name, index, tmp_path):
    """Every op's code rule on the gradient check's sample cases (in eval mode, the mode of the code)."""
    spec = registry.get(name)
    case = list(spec.examples(np.random.default_rng(zlib.crc32(name.encode()))))[index]
    g = gc.Graph()
    ids = {p: g.add("input", name=f"in_{p}", value=np.asarray(a)) for p, a in case["inputs"].items()}
    op = g.add(name, name="op", inputs=ids, **case.get("params", {}))
    for w, arr in case.get("weights", {}).items():
        g.set_tensor(op, w, np.asarray(arr, dtype=np.float64))
    paths = export_numpy(g, tmp_path / "op.py")
    ns, _ = _run_generated(paths[0])
    assert _agrees(g, ns) == []


GATES = ["add", "sub", "mul", "div", "max", "min", "neg", "abs", "exp", "pow", "sigmoid", "tanh", "relu",
         "leaky_relu", "elu", "selu", "prelu", "sum", "mean"]


@st.composite
def gate_graphs(draw):
    """A random circuit of gates over scalar and vector inputs (some used twice: gradients add up)."""
    g = gc.Graph()
    shape = draw(st.sampled_from([(), (3,)]))
    nodes = [g.add("input", name=f"x{i}", value=np.asarray(draw(st.lists(
        st.floats(-2, 2, allow_nan=False), min_size=3, max_size=3))[:max(1, len(shape) and 3)]).reshape(shape))
        for i in range(draw(st.integers(1, 3)))]
    for k in range(draw(st.integers(1, 7))):
        op = draw(st.sampled_from(GATES))
        spec = registry.get(op)
        ins = {p.name: draw(st.sampled_from(nodes)) for p in spec.inputs}
        nodes.append(g.add(op, name=draw(st.sampled_from(["n", "dn", "values", "for", "x0", "a b"])), inputs=ins))
    return g


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gate_graphs())
def test_random_gate_graphs_match_the_executor(graph):
    target = graph.topo_order()[-1]
    try:
        ex = gc.Executor(graph, mode="eval")
        ex.forward()
        ex.backward(target)
    except (NumericError, GraphError):
        return  # log of a negative, a division by zero: nothing to compare
    code = staged_numpy(graph, target)
    ns = {"__name__": "generated"}
    with np.errstate(all="ignore"):
        exec(compile(code.text, "<random>", "exec"), ns)  # noqa: S102 - our own generated code
    assert _agrees(graph, ns, target) == []


def _code_only(text: str) -> str:
    """The source without its string literals and comments: what would actually run."""
    toks = tokenize.generate_tokens(io.StringIO(text).readline)
    return " ".join(t.string for t in toks if t.type not in (tokenize.STRING, tokenize.COMMENT))


def test_hostile_names_never_become_code(tmp_path):
    g = gc.Graph()
    evil = "__import__('os').system('touch PWNED')"
    a = g.add("input", name=evil, value=2.0)
    b = g.add("input", name="x", value=3.0)
    c = g.add("input", name="dx", value=-1.0)  # 'dx' is also the gradient name x would get
    m = g.add("mul", name="print", inputs={"a": a, "b": b})
    s = g.add("add", name="for", inputs={"a": m, "b": c})
    g.add("mul", name='"""; import os #', inputs={"a": s, "b": s})
    path = tmp_path / "evil.py"
    export_numpy(g, path)
    text = path.read_text()
    compile(text, "evil.py", "exec")
    tree = ast.parse(text)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    imports = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert not {"__import__", "os", "system"} & (names | attrs) and imports == {"math", "re", "Path", "numpy"}
    assert "__import__(" not in _code_only(text).replace(" ", "")
    ns, printed = _run_generated(path)
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")
    assert _agrees(g, ns) == []
    assert evil in printed  # the table still shows the real names


def test_lines_of_each_event(tmp_path):
    """Every node's forward line names its variable; every wire's gradient line names its source's gradient."""
    graph = load(os.path.join(EXAMPLES, "cs231n_circuit.json"))
    code = staged_numpy(graph)
    lines = code.text.splitlines()
    assert set(code.forward_lines) == set(graph.nodes)
    for nid, ln in code.forward_lines.items():
        assert lines[ln - 1].startswith(graph.nodes[nid].name + " = ")
    assert lines[code.seed_line - 1].startswith("df = 1.0")
    assert set(code.edge_lines) == {e.key for e in graph.edges}
    for e in graph.edges:
        assert lines[code.edge_lines[e.key] - 1].startswith(f"d{graph.nodes[e.src].name} = ")
    assert "# mul gate: upstream times the other input" in lines[code.edge_lines[next(
        e.key for e in graph.edges if graph.nodes[e.dst].name == "xy" and e.dst_port == "a")] - 1]


def test_cli_export_numpy(tmp_path, capsys):
    src = os.path.join(EXAMPLES, "sigmoid_neuron.json")
    out = tmp_path / "neuron.py"
    assert cli_main(["export", src, "--to", "numpy", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    ns, printed = _run_generated(out)
    assert printed == _cli_run(src)
    assert cli_main(["export", src, "--to", "numpy", "--out", str(tmp_path / "neuron.txt")]) == 2
    assert "--out" in capsys.readouterr().err


def test_cli_export_needs_a_target_when_the_graph_has_several_outputs(tmp_path, capsys):
    g = gc.Graph()
    a = g.add("input", name="a", value=1.0)
    g.add("exp", name="b", inputs={"x": a})
    g.add("neg", name="c", inputs={"x": a})
    src = tmp_path / "two.json"
    gc.save(g, str(src))
    out = tmp_path / "two.py"
    assert cli_main(["export", str(src), "--to", "numpy", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "2 outputs ('b', 'c')" in err and "--target" in err and not out.exists()
    assert cli_main(["export", str(src), "--to", "numpy", "--target", "zz", "--out", str(out)]) == 2
    assert "no node named 'zz'" in capsys.readouterr().err
    assert cli_main(["export", str(src), "--to", "numpy", "--target", "b", "--out", str(out)]) == 0
    capsys.readouterr()
    ns, printed = _run_generated(out)
    assert ns["TARGET"] == "b" and _agrees(g, ns, g.find("b")) == []
