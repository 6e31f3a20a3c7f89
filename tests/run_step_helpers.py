"""Shared by the run tests: the CS231n circuit f = 2(xy + max(z, w)), the `run` fixture (its scene and
RunController), and the wire labels it ends with."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack

import graphcore as gc
from app.canvas.scene import GraphScene
from app.run import decor
from app.run.controller import RunController
from backprop_studio_resources import example_path

EXAMPLE = example_path("cs231n_circuit.json")


def circuit() -> gc.Graph:
    return gc.load(EXAMPLE)  # f = 2(xy + max(z, w)), x=3, y=-4, z=2, w=-1 (tests/test_examples_circuits.py)


@pytest.fixture
def run(qtbot):
    g = circuit()
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    ctl = RunController(g, scene)
    yield g, scene, ctl
    ctl.close()


def placed(g: gc.Graph) -> gc.Graph:
    """Give every node a position (left to right in topological order) so the test does not
    depend on the canvas's automatic layout."""
    for k, nid in enumerate(g.topo_order()):
        g.nodes[nid].ui.update(x=180.0 * k, y=90.0 * (k % 3))
    return g


def wire_from(g: gc.Graph, name: str) -> gc.Edge:
    (e,) = g.out_edges(g.find(name))
    return e


def labels(g, scene) -> dict[str, tuple[str, str]]:
    """name of each wire's source -> (value text, gradient text) shown on the canvas."""
    out = {}
    for e in g.edges:
        out[g.nodes[e.src].name] = decor.edge_labels(scene.edge_item(e))
    return out


FINAL = {"x": ("3.00", "-8.00"), "y": ("-4.00", "6.00"), "z": ("2.00", "2.00"), "w": ("-1.00", "0.00"),
         "xy": ("-12.00", "2.00"), "m": ("2.00", "2.00"), "s": ("-10.00", "2.00"), "two": ("2.00", "-10.00")}
