"""Run and step the CS231n circuit f = 2(xy + max(z, w)) on the real canvas, event by event: the order
of events, the labels, wire widths and tooltips each step shows, and their colours in each theme."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

import graphcore as gc
from app.run import decor
from app.run.formatting import fmt_array, fmt_scalar, hover_text
from run_step_helpers import FINAL, labels, run, wire_from  # noqa: F401  (run: the fixture)


def test_step_visits_every_event_once_and_ends_with_the_cs231n_numbers(run):
    g, scene, ctl = run
    seen = []
    while ctl.step():
        seen.append(ctl.cursor)
    n_edges = len(g.edges)
    assert seen == list(range(len(g.nodes) + 1 + n_edges))  # forward nodes, seed, one per wire
    assert ctl.total == len(seen) and ctl.at_end
    phases = [ev.phase for ev in ctl.rec.events]
    assert phases == ["forward"] * len(g.nodes) + ["seed"] + ["backward"] * n_edges
    # each node computed once, each wire's gradient once
    assert sorted(ev.node for ev in ctl.rec.events if ev.phase == "forward") == sorted(g.nodes)
    assert sorted(str(ev.edge) for ev in ctl.rec.events if ev.phase == "backward") == sorted(map(str, g.edges))
    assert labels(g, scene) == FINAL
    f = scene.node_item(g.find("f"))
    assert decor.output_labels(f) == ("-20.00", "1.00")
    assert ctl.step() is False  # the end stays the end


def test_forward_order_is_topological_and_backward_reverse(run):
    g, scene, ctl = run
    ctl.backward()
    order = [ev.node for ev in ctl.rec.events if ev.phase == "forward"]
    pos = {nid: i for i, nid in enumerate(order)}
    for e in g.edges:
        assert pos[e.src] < pos[e.dst]
    back = [ev.edge for ev in ctl.rec.events if ev.phase == "backward"]
    bpos = {e: i for i, e in enumerate(back)}
    for e in back:  # a wire's gradient comes after every gradient leaving its destination
        for later in g.out_edges(e.dst):
            assert bpos[later] < bpos[e]


def test_labels_appear_as_the_pass_reaches_them(run):
    g, scene, ctl = run
    x_wire = scene.edge_item(wire_from(g, "x"))
    assert decor.edge_labels(x_wire) == ("", "")
    ctl.step()  # first event: a source computed
    first = ctl.rec.events[0]
    assert first.phase == "forward"
    for e in g.out_edges(first.node):
        assert decor.edge_labels(scene.edge_item(e))[0] == fmt_array(first.value)
    assert ctl.highlighted() == [("node", first.node)]
    assert scene.node_item(first.node).highlighted
    # run to the seed: every value shown, no gradient yet
    while ctl.rec.events[ctl.cursor].phase != "seed":
        ctl.step()
    assert all(v != "" and gr == "" for v, gr in labels(g, scene).values())
    assert decor.output_labels(scene.node_item(g.find("f"))) == ("-20.00", "1.00")
    ctl.step()  # first backward event: the wire s -> f gets 2.00, highlighted and pulsing
    ev = ctl.rec.events[ctl.cursor]
    assert ev.phase == "backward" and ev.edge == wire_from(g, "s")
    item = scene.edge_item(ev.edge)
    assert decor.edge_labels(item) == ("-10.00", "2.00")
    assert decor.edge_highlighted(item)
    assert scene.node_item(ev.edge.dst).highlighted
    assert item._pulse is not None and item._pulse.isVisible()


def test_step_back_restores_the_previous_labels(run):
    g, scene, ctl = run
    snapshots = [labels(g, scene)]
    while ctl.step():
        snapshots.append(labels(g, scene))
    assert snapshots[-1] == FINAL
    for k in range(len(snapshots) - 1, 0, -1):
        assert labels(g, scene) == snapshots[k]
        assert ctl.step_back()
        assert labels(g, scene) == snapshots[k - 1]
    assert ctl.cursor == -1 and ctl.step_back() is False
    assert all(v == ("", "") for v in labels(g, scene).values())
    # and forward again from there reaches the same end
    while ctl.step():
        pass
    assert labels(g, scene) == FINAL


def test_forward_then_backward_buttons(run):
    g, scene, ctl = run
    ctl.forward()
    assert {k: v[0] for k, v in labels(g, scene).items()} == {k: v[0] for k, v in FINAL.items()}
    assert all(gr == "" for _, gr in labels(g, scene).values())
    ctl.backward()
    assert labels(g, scene) == FINAL


def test_max_gate_losing_wire_is_dimmed_and_add_passes_the_same_number(run):
    g, scene, ctl = run
    ctl.backward()
    w_item = scene.edge_item(wire_from(g, "w"))
    z_item = scene.edge_item(wire_from(g, "z"))
    assert decor.edge_labels(w_item)[1] == "0.00"
    style = decor.edge_flow(w_item)
    assert style.zero and style.opacity < 1.0
    assert w_item.flow()[2] is True  # the canvas draws it dimmed
    assert not decor.edge_flow(z_item).zero and decor.edge_flow(z_item).opacity == 1.0
    # wider for a larger |gradient|, colour by sign
    x_style = decor.edge_flow(scene.edge_item(wire_from(g, "x")))  # -8
    z_style = decor.edge_flow(z_item)  # 2
    assert x_style.width > z_style.width > style.width
    assert x_style.sign == -1 and z_style.sign == 1
    assert scene.edge_item(wire_from(g, "x"))._flow_width == x_style.width  # the canvas draws our width
    # log scale: each factor of 10 adds the same width, and tiny gradients still differ
    from app.run.flow import width_for
    assert width_for(1e-1) - width_for(1e-3) == pytest.approx(width_for(10.0) - width_for(0.1))
    assert width_for(1e-3) > width_for(1e-4) == width_for(1e-9)
    # add gate: both inputs receive the output's gradient
    s_out = decor.edge_labels(scene.edge_item(wire_from(g, "s")))[1]
    assert decor.edge_labels(scene.edge_item(wire_from(g, "xy")))[1] == s_out == "2.00"
    assert decor.edge_labels(scene.edge_item(wire_from(g, "m")))[1] == "2.00"


def test_tooltips_quote_the_rule_and_the_numbers(run):
    g, scene, ctl = run
    ctl.backward()
    xy = scene.node_item(g.find("xy"))
    tip = xy.toolTip()
    assert gc.registry.get("mul").grad_rule in tip
    assert "upstream × other input = result: 2.00 × -4.00 = -8.00" in tip  # d/da = upstream * b
    assert "upstream × other input = result: 2.00 × 3.00 = 6.00" in tip  # d/db = upstream * a
    m_tip = scene.node_item(g.find("m")).toolTip()
    assert gc.registry.get("max").grad_rule in m_tip and "lost" in m_tip
    s_tip = scene.node_item(g.find("s")).toolTip()
    assert gc.registry.get("add").grad_rule in s_tip
    for nid, node in g.nodes.items():
        assert node.spec.grad_rule in scene.node_item(nid).toolTip()
    # wire tooltip: full numbers of a small value
    assert "-8.0" in scene.edge_item(wire_from(g, "x")).toolTip()
    ctl.reset()
    assert "×" not in scene.node_item(g.find("xy")).toolTip()


def test_formatting_rules():
    assert fmt_scalar(-8.0) == "-8.00" and fmt_scalar(-0.0) == "0.00" and fmt_scalar(2) == "2.00"
    assert fmt_scalar(3e-4) == "3.00e-04" and fmt_scalar(float("nan")) == "NaN"
    assert fmt_array(np.ones((3, 4))) == "3×4 μ1 ‖3.46‖"
    assert fmt_array(np.full((300, 2), -2e-7)) == "300×2 μ-2e-07 ‖4.9e-06‖"
    assert fmt_array(np.array([1.0, -2.5])) == "[1.00, -2.50]"
    small = hover_text(np.arange(6.0).reshape(2, 3), "value")
    assert "[[0., 1., 2.]," in small and "(2, 3)" in small
    big = hover_text(np.random.default_rng(0).standard_normal(1000), "gradient")
    assert "(1000,)" in big and "█" in big and len(big.splitlines()) == 5  # summary, 3 bar rows, range


def test_the_sinks_labels_follow_the_theme(run):
    from app.canvas import look as it

    g, scene, ctl = run
    ctl.backward()
    stub = scene.node_item(g.find("f"))._run_stub
    assert (stub.value_label.text(), stub.grad_label.text()) == ("-20.00", "1.00")
    try:
        for name in ("light", "dark", "light"):
            it.set_palette(name)
            pal = it.PALETTES[name]
            assert stub.value_label.brush().color() == QColor(pal.value_text), name
            assert stub.grad_label.brush().color() == QColor(pal.grad_text), name
        ctl.reset()
        ctl.backward()  # labels set again under the light theme keep it
        assert stub.value_label.brush().color() == QColor(it.LIGHT.value_text)
    finally:
        it.set_palette("dark")


def test_the_plates_behind_wire_labels_follow_the_theme(run):
    """The plates are cached pixmaps: a theme switch must repaint them, or light-theme text sits on dark plates."""
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QImage, QPainter

    from app.canvas import look as it

    g, scene, ctl = run
    ctl.backward()
    label = scene.edge_item(wire_from(g, "x"))._value_label
    plate = label._run_halo
    r = plate.boundingRect()

    def plate_colour() -> QColor:
        p = label.mapToScene(QPointF(r.left() + 1.0, r.center().y()))  # the plate's margin: no glyph there
        img = QImage(8, 8, QImage.Format.Format_ARGB32)
        img.fill(0)
        painter = QPainter(img)
        scene.render(painter, QRectF(0, 0, 8, 8), QRectF(p.x() - 0.5, p.y() - 0.5, 1.0, 1.0))
        painter.end()
        return img.pixelColor(4, 4)

    try:
        dark = plate_colour()
        it.set_palette("light")
        light = plate_colour()
        assert light.lightness() > 200 and dark.lightness() < 80, (dark.name(), light.name())
    finally:
        it.set_palette("dark")
