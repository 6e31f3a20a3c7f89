"""A lesson step brings the nodes it names into view at a zoom their labels can be read at
(GraphView.bring_into_view): the spiral net at 1280x720 was framed whole at ~37%, too small to read."""
import numpy as np
from PySide6.QtGui import QUndoStack

import graphcore as gc
from app.canvas import GraphScene
from app.canvas.view import READABLE_ZOOM, GraphView

from main_window_helpers import started_lesson


def _chain(n: int, gap: float = 400.0):
    g = gc.Graph()
    prev = g.add("input", name="n0", value=np.array([1.0]), ui={"x": 0.0, "y": 0.0})
    for k in range(1, n):
        prev = g.add("relu", name=f"n{k}", inputs={"x": prev}, ui={"x": k * gap, "y": 0.0})
    return g


def _view(qtbot, g, w=800, h=450):
    scene = GraphScene(g, QUndoStack())
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(w, h)
    view.show()
    qtbot.waitExposed(view)
    view.frame_all()
    return scene, view


def _shown(view, scene, ids) -> bool:
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    return all(seen.contains(scene.node_item(i).sceneBoundingRect()) for i in ids)


def test_a_long_graph_zooms_to_the_named_nodes(qtbot):
    g = _chain(8)
    scene, view = _view(qtbot, g)
    assert view.zoom() < READABLE_ZOOM  # framed whole, the labels are too small
    ids = [g.find("n3"), g.find("n4")]
    view.bring_into_view(ids)
    assert view.zoom() >= READABLE_ZOOM
    assert _shown(view, scene, ids)
    scene.detach()


def test_a_graph_that_fits_readably_is_framed_whole(qtbot):
    g = _chain(3, gap=250.0)
    scene, view = _view(qtbot, g)
    view.set_zoom(2.5)  # zoomed in away from n0
    view.centerOn(scene.node_item(g.find("n2")).sceneBoundingRect().center())
    view.bring_into_view([g.find("n0")])
    assert _shown(view, scene, list(g.nodes))
    scene.detach()


def test_nodes_already_shown_readably_do_not_move_the_view(qtbot):
    g = _chain(8)
    scene, view = _view(qtbot, g)
    ids = [g.find("n5")]
    view.set_zoom(1.0)
    view.centerOn(scene.node_item(ids[0]).sceneBoundingRect().center())
    before = view.transform(), view.mapToScene(view.viewport().rect().center())
    view.bring_into_view(ids)
    assert (view.transform(), view.mapToScene(view.viewport().rect().center())) == before
    scene.detach()


def test_the_dead_relus_lesson_shows_its_nodes_readably_at_1280x720(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    w, dock = started_lesson(qtbot, "dead-relus")
    ids = dock.highlighter.nodes
    assert ids  # the first step names fc1 and relu
    qtbot.waitUntil(lambda: w.view.zoom() >= READABLE_ZOOM and _shown(w.view, w.scene, ids))
