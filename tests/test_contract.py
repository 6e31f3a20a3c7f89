"""The README's API snippet, run exactly as written."""
import os
import re

import numpy as np

import graphcore as gc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_snippets():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_python_snippets_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    snippets = readme_snippets()
    assert snippets, "the README shows the API"
    for code in snippets:
        exec(compile(code, "README.md", "exec"), {})


def test_circuit_values_and_grads(tmp_path):
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0)
    y = g.add("input", name="y", value=-4.0)
    z = g.add("input", name="z", value=2.0)
    w = g.add("input", name="w", value=-1.0)
    xy = g.add("mul", inputs={"a": x, "b": y})
    m = g.add("max", inputs={"a": z, "b": w})
    s = g.add("add", inputs={"a": xy, "b": m})
    two = g.add("const", value=2.0)
    f = g.add("mul", name="f", inputs={"a": s, "b": two})
    ex = gc.Executor(g)
    ex.forward()
    ex.backward()
    assert ex.value(f) == -20.0
    assert ex.value(f).shape == ()
    assert (ex.grad(x), ex.grad(y), ex.grad(z), ex.grad(w)) == (-8.0, 6.0, 2.0, 0.0)
    # the add gate passes 2.00 to both inputs; the max gate's loser gets exactly 0
    assert ex.edge_grad((s, "a")) == 2.0 and ex.edge_grad((s, "b")) == 2.0
    assert ex.edge_grad((m, "b")) == 0.0
    gc.save(g, tmp_path / "c.json")
    assert gc.load(tmp_path / "c.json") == g


def test_graphcore_never_imports_qt():
    pat = re.compile(r"^\s*(import|from)\s+(PySide6|PyQt5|PyQt6|pyqtgraph|qtpy|shiboken6)\b", re.M)
    offenders = []
    for folder, _, files in os.walk(os.path.join(ROOT, "graphcore")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                if pat.search(open(path, encoding="utf-8").read()):
                    offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []


def test_importing_graphcore_loads_no_qt_and_no_numba():
    import subprocess
    import sys

    code = ("import sys, graphcore as gc; g = gc.Graph(); g.add('input', value=1.0); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6','PyQt5','PyQt6','pyqtgraph','numba')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
