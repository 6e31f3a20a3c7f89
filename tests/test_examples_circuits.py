"""The three CS231n example circuits: built here, saved in resources/examples, and
checked against the numbers printed in the CS231n backprop notes.

Regenerate the files with `python tests/test_examples_circuits.py --write`;
a test fails if the files drift from these builders.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import graphcore as gc
from graphcore import registry
from backprop_studio_resources import examples_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = examples_dir()
DX, DY = 270, 110  # canvas spacing between columns and rows: room for the value and gradient labels


def _at(col: float, row: float) -> dict:
    return {"x": float(col * DX), "y": float(row * DY)}


def build_cs231n_circuit() -> gc.Graph:
    """f = 2(xy + max(z, w)) with x=3, y=-4, z=2, w=-1 (the circuit of the README)."""
    g = gc.Graph()
    g.meta["title"] = "CS231n circuit: f = 2(xy + max(z, w))"
    x = g.add("input", name="x", value=3.0, ui=_at(0, 0))
    y = g.add("input", name="y", value=-4.0, ui=_at(0, 1))
    z = g.add("input", name="z", value=2.0, ui=_at(0, 2))
    w = g.add("input", name="w", value=-1.0, ui=_at(0, 3))
    xy = g.add("mul", name="xy", inputs={"a": x, "b": y}, ui=_at(1, 0.5))
    m = g.add("max", name="m", inputs={"a": z, "b": w}, ui=_at(1, 2.5))
    s = g.add("add", name="s", inputs={"a": xy, "b": m}, ui=_at(2, 1.5))
    two = g.add("const", name="two", value=2.0, ui=_at(2, 3))
    g.add("mul", name="f", inputs={"a": s, "b": two}, ui=_at(3, 2))
    return g


def build_add_mul() -> gc.Graph:
    """f = (x + y) z with x=-2, y=5, z=-4 (the first example of the CS231n backprop notes)."""
    g = gc.Graph()
    g.meta["title"] = "CS231n: f = (x + y) z"
    x = g.add("input", name="x", value=-2.0, ui=_at(0, 0))
    y = g.add("input", name="y", value=5.0, ui=_at(0, 1))
    z = g.add("input", name="z", value=-4.0, ui=_at(0, 2.5))
    q = g.add("add", name="q", inputs={"a": x, "b": y}, ui=_at(1, 0.5))
    g.add("mul", name="f", inputs={"a": q, "b": z}, ui=_at(2, 1.5))
    return g


def build_sigmoid_neuron() -> gc.Graph:
    """f = sigmoid(w0 x0 + w1 x1 + w2) from scalar gates, w=(2,-3,-3), x=(-1,-2)."""
    g = gc.Graph()
    g.meta["title"] = "CS231n: a 2-d sigmoid neuron, f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))"
    w0 = g.add("input", name="w0", value=2.0, ui=_at(0, 0))
    x0 = g.add("input", name="x0", value=-1.0, ui=_at(0, 1))
    w1 = g.add("input", name="w1", value=-3.0, ui=_at(0, 2))
    x1 = g.add("input", name="x1", value=-2.0, ui=_at(0, 3))
    w2 = g.add("input", name="w2", value=-3.0, ui=_at(0, 4.5))
    p0 = g.add("mul", name="w0x0", inputs={"a": w0, "b": x0}, ui=_at(1, 0.5))
    p1 = g.add("mul", name="w1x1", inputs={"a": w1, "b": x1}, ui=_at(1, 2.5))
    s = g.add("add", name="w0x0+w1x1", inputs={"a": p0, "b": p1}, ui=_at(2, 1.5))
    dot = g.add("add", name="dot", inputs={"a": s, "b": w2}, ui=_at(3, 3))
    neg = g.add("neg", name="*-1", inputs={"x": dot}, ui=_at(4, 3))
    e = g.add("exp", name="exp", inputs={"x": neg}, ui=_at(5, 3))
    one = g.add("const", name="one", value=1.0, ui=_at(5, 4.5))
    d = g.add("add", name="+1", inputs={"a": e, "b": one}, ui=_at(6, 3.75))
    g.add("pow", name="f", p=-1.0, inputs={"x": d}, ui=_at(7, 3.75))  # the 1/x gate
    return g


BUILDERS = {"cs231n_circuit.json": build_cs231n_circuit, "add_mul.json": build_add_mul,
            "sigmoid_neuron.json": build_sigmoid_neuron}


def write_examples() -> None:
    for fname, build in BUILDERS.items():
        gc.save(build(), os.path.join(EXAMPLES, fname))


def _run(fname: str) -> tuple[gc.Graph, gc.Executor]:
    g = gc.load(os.path.join(EXAMPLES, fname))
    ex = gc.Executor(g)
    ex.forward()
    ex.backward()  # the only sink, f
    return g, ex


@pytest.mark.parametrize("fname", sorted(BUILDERS))
def test_example_file_matches_its_builder(fname):
    assert gc.load(os.path.join(EXAMPLES, fname)) == BUILDERS[fname]()


@pytest.mark.parametrize("fname", sorted(BUILDERS))
def test_example_layout_left_to_right(fname):
    g = gc.load(os.path.join(EXAMPLES, fname))
    pos = {nid: (n.ui["x"], n.ui["y"]) for nid, n in g.nodes.items()}
    for e in g.edges:  # every wire runs left to right
        assert pos[e.src][0] < pos[e.dst][0], (g.nodes[e.src].name, g.nodes[e.dst].name)
    assert len(set(pos.values())) == len(pos), "two nodes share a position"
    assert [g.nodes[s].name for s in g.sinks()] == ["f"]


def test_cs231n_circuit_numbers():
    g, ex = _run("cs231n_circuit.json")
    assert ex.value("f") == -20.0
    grads = {n: float(ex.grad(n)) for n in ("x", "y", "z", "w")}
    assert grads == {"x": -8.0, "y": 6.0, "z": 2.0, "w": 0.0}
    assert float(ex.grad("s")) == 2.0 and float(ex.grad("xy")) == 2.0 and float(ex.grad("m")) == 2.0
    assert float(ex.grad("two")) == -10.0  # the const receives a gradient too
    assert float(ex.edge_grad((g.find("m"), "b"))) == 0.0  # max: the loser gets exactly zero


def test_add_mul_numbers():
    _, ex = _run("add_mul.json")
    assert float(ex.value("q")) == 3.0
    assert float(ex.value("f")) == -12.0
    assert (float(ex.grad("x")), float(ex.grad("y")), float(ex.grad("z"))) == (-4.0, -4.0, 3.0)
    assert float(ex.grad("q")) == -4.0


def test_sigmoid_neuron_numbers():
    g, ex = _run("sigmoid_neuron.json")
    w = (2.0, -3.0, -3.0)
    x = (-1.0, -2.0)
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    assert dot == 1.0
    f = 1.0 / (1.0 + math.exp(-dot))
    assert float(ex.value("f")) == f == 0.7310585786300049
    assert round(float(ex.value("f")), 2) == 0.73
    ddot = (1.0 - f) * f  # the sigmoid's local gradient
    want_w = (x[0] * ddot, x[1] * ddot, 1.0 * ddot)
    want_x = (w[0] * ddot, w[1] * ddot)
    got_w = tuple(float(ex.grad(n)) for n in ("w0", "w1", "w2"))
    got_x = tuple(float(ex.grad(n)) for n in ("x0", "x1"))
    # the scalar gates reach the same numbers as the closed form, to a few ulps
    np.testing.assert_allclose(got_w, want_w, rtol=1e-14, atol=0)
    np.testing.assert_allclose(got_x, want_x, rtol=1e-14, atol=0)
    # and to the two decimals printed in the notes
    assert tuple(round(v, 2) for v in got_w) == (-0.2, -0.39, 0.2)
    assert tuple(round(v, 2) for v in got_x) == (0.39, -0.59)
    # intermediate values and gradients printed on the notes' circuit diagram
    assert round(float(ex.value("exp")), 2) == 0.37 and round(float(ex.value("+1")), 2) == 1.37
    assert round(float(ex.grad("+1")), 2) == -0.53 and round(float(ex.grad("dot")), 2) == 0.2


@pytest.mark.parametrize("fname", sorted(BUILDERS))
def test_examples_gradcheck(fname):
    g = gc.load(os.path.join(EXAMPLES, fname))
    report = gc.gradcheck(g)
    assert report.ok, report.worst()
    assert len(report.errors) == sum(1 for n in g.nodes.values() if registry.get(n.op).source)


# ---------------------------------------------------------------- the command line
def _main(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, **kw)


@pytest.mark.parametrize("fname", sorted(BUILDERS))
def test_cli_run_and_check_examples(fname):
    path = os.path.join(EXAMPLES, fname)
    r = _main("run", path)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[2:]}
    g = gc.load(path)
    assert set(rows) == {n.name for n in g.nodes.values()}
    assert rows["f"][1] == g.nodes[g.find("f")].op
    assert rows["f"][3] == "1.00"  # df/df
    c = _main("check", path)
    assert c.returncode == 0, c.stdout + c.stderr
    assert "0 failed" in c.stdout


def test_cli_run_prints_the_cs231n_table():
    r = _main("run", os.path.join(EXAMPLES, "cs231n_circuit.json"))
    rows = {line.split()[0]: line.split()[2:] for line in r.stdout.splitlines()[2:]}
    assert rows["x"] == ["3.00", "-8.00"] and rows["y"] == ["-4.00", "6.00"]
    assert rows["z"] == ["2.00", "2.00"] and rows["w"] == ["-1.00", "0.00"]
    assert rows["f"] == ["-20.00", "1.00"]
    r = _main("run", os.path.join(EXAMPLES, "sigmoid_neuron.json"))
    rows = {line.split()[0]: line.split()[2:] for line in r.stdout.splitlines()[2:]}
    assert rows["f"] == ["0.73", "1.00"] and rows["x0"] == ["-1.00", "0.39"] and rows["w1"] == ["-3.00", "-0.39"]


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_examples()
        print("wrote", ", ".join(BUILDERS))
