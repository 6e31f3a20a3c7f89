"""Run and step the CS231n circuit f = 2(xy + max(z, w)) on the real canvas, event by event."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QUndoStack

import graphcore as gc
from app.canvas.scene import GraphScene
from app.run import decor
from app.run.controller import RunController
from app.run.formatting import fmt_array, fmt_scalar, hover_text
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


def test_play_reaches_the_end_and_reset_clears(run, qtbot):
    g, scene, ctl = run
    ctl.set_speed(200)
    with qtbot.waitSignal(ctl.finished, timeout=5000):
        ctl.play()
    assert ctl.at_end and not ctl.playing
    assert labels(g, scene) == FINAL
    ctl.reset()
    assert all(v == ("", "") for v in labels(g, scene).values())
    assert decor.output_labels(scene.node_item(g.find("f"))) == ("", "")
    assert all(decor.edge_flow(scene.edge_item(e)) is None for e in g.edges)
    assert ctl.highlighted() == [] and not any(scene.node_item(n).highlighted for n in g.nodes)


def test_play_pauses_and_resumes_without_skipping(run, qtbot):
    g, scene, ctl = run
    ctl.set_speed(100)
    ctl.play()
    qtbot.waitUntil(lambda: ctl.cursor >= 3, timeout=3000)
    ctl.pause()
    k = ctl.cursor
    qtbot.wait(60)
    assert ctl.cursor == k
    visited = []
    ctl.position_changed.connect(lambda c, t, d: visited.append(c))
    ctl.play()
    qtbot.waitUntil(lambda: ctl.at_end, timeout=3000)
    assert visited == list(range(k + 1, ctl.total))


def test_edit_and_run_again_updates_labels(run):
    g, scene, ctl = run
    ctl.backward()
    g.set_value(g.find("x"), 5.0)  # xy = -20; dx = 2 * y = -8, dy = 2 * x = 10
    ctl.backward()
    lab = labels(g, scene)
    assert lab["x"] == ("5.00", "-8.00") and lab["y"] == ("-4.00", "10.00")
    assert decor.output_labels(scene.node_item(g.find("f"))) == ("-36.00", "1.00")


def test_live_mode_reruns_on_value_edits_throttled(run, qtbot):
    g, scene, ctl = run
    ctl.set_live(True)
    qtbot.waitUntil(lambda: ctl.live_runs >= 1, timeout=2000)
    assert labels(g, scene) == FINAL
    runs = ctl.live_runs
    for v in np.linspace(2.0, 1.0, 20):  # a slider drag: many edits, few re-runs
        g.set_value(g.find("z"), float(v))
    qtbot.waitUntil(lambda: ctl.live_runs > runs, timeout=2000)
    qtbot.wait(80)
    assert ctl.live_runs - runs <= 2
    lab = labels(g, scene)
    assert lab["z"] == ("1.00", "2.00") and lab["w"] == ("-1.00", "0.00")
    g.set_value(g.find("w"), 3.0)  # now w wins the max
    qtbot.waitUntil(lambda: labels(g, scene)["w"] == ("3.00", "2.00"), timeout=2000)
    assert labels(g, scene)["z"] == ("1.00", "0.00")
    assert decor.edge_flow(scene.edge_item(wire_from(g, "z"))).zero
    ctl.set_live(False)
    runs = ctl.live_runs
    g.set_value(g.find("w"), 4.0)
    qtbot.wait(100)
    assert ctl.live_runs == runs


def test_structure_change_drops_the_pass(run):
    g, scene, ctl = run
    ctl.backward()
    g.disconnect(g.find("f"), "b")
    assert ctl.rec is None
    assert all(decor.edge_labels(scene.edge_item(e)) == ("", "") for e in g.edges)


def test_nan_selects_the_node_and_says_so(qtbot):
    g = gc.Graph()
    a = g.add("input", name="a", value=-1.0)
    lg = g.add("log", name="lg", inputs={"x": a})
    g.add("mul", name="out", inputs={"a": lg, "b": g.add("const", name="k", value=2.0)})
    placed(g)
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    messages, selected = [], []
    ctl.status_message.connect(messages.append)
    ctl.select_node.connect(selected.append)
    while ctl.step():
        pass
    assert selected == [lg]
    assert "NaN" in messages[-1] and "'lg'" in messages[-1]
    ctl.close()


def test_multiple_sinks_need_a_choice(qtbot):
    g = gc.Graph()
    a = g.add("input", name="a", value=2.0)
    p = g.add("exp", name="p", inputs={"x": a})
    q = g.add("neg", name="q", inputs={"x": a})
    placed(g)
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    messages = []
    ctl.status_message.connect(messages.append)
    ctl.backward()
    assert "select the one to differentiate" in messages[-1]
    ctl.set_selection([q])
    ctl.backward()
    assert decor.edge_labels(scene.edge_item(g.input_edge(q, "x"))) == ("2.00", "-1.00")
    assert decor.edge_labels(scene.edge_item(g.input_edge(p, "x")))[1] == ""
    ctl.close()


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


def test_render_pass_backward_draws_every_label(tmp_path, qtbot):
    """`python main.py render FILE --pass backward`: the labels the image is drawn with."""
    from app import render
    from app.canvas.view import GraphView
    from app.run.render_pass import apply_pass

    g = circuit()
    scene = GraphScene(g, QUndoStack())
    apply_pass(g, scene, "backward")
    assert labels(g, scene) == FINAL
    assert decor.output_labels(scene.node_item(g.find("f"))) == ("-20.00", "1.00")
    # the exported picture reaches the output stub to the right of f
    rect = scene.items_rect(None, 0.0)
    stub = scene.node_item(g.find("f"))._run_stub
    assert rect.contains(stub.mapRectToScene(stub.childrenBoundingRect()))
    out = tmp_path / "c.png"
    assert GraphView(scene).export_image(str(out)) is not False and out.stat().st_size > 5000
    assert render.main([EXAMPLE, "--out", str(tmp_path / "d.png"), "--pass", "forward"]) == 0


def test_render_pass_refuses_a_nan_graph(tmp_path, capsys):
    from app import render

    g = gc.Graph()
    a = g.add("input", name="a", value=-1.0)
    g.add("log", name="lg", inputs={"x": a})
    gc.save(placed(g), str(tmp_path / "nan.json"))
    assert render.main([str(tmp_path / "nan.json"), "--out", str(tmp_path / "n.png"), "--pass", "backward"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NaN" in err[0] and "'lg'" in err[0]


def test_main_window_has_the_run_toolbar_and_follows_the_document(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QToolBar

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    bar = win.findChild(QToolBar, "runToolbar")
    assert bar is not None
    win.open_file(EXAMPLE)
    g, scene = win.document.graph, win.scene
    bar.actionBackward.trigger()
    assert labels(g, scene) == FINAL
    # a NaN: the producing node is selected and the status bar says so
    g.set_value(g.find("x"), float("inf"))  # xy = inf, then f = inf
    bar.actionForward.trigger()
    assert scene.selected_ids() == [g.find("x")]
    assert "Inf" in win.statusBar().currentMessage()
    # File > New: the toolbar drives the new graph
    win.document.undo_stack.setClean()
    win.document.graph.set_value(g.find("x"), 3.0)
    win.document.undo_stack.setClean()
    win.set_document(type(win.document)(parent=win))
    bar.actionBackward.trigger()
    assert "empty" in win.statusBar().currentMessage()


def test_the_status_bar_follows_the_step_not_the_opened_file(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QToolBar

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    bar = win.findChild(QToolBar, "runToolbar")
    status = win.statusBar()
    win.open_file(EXAMPLE)
    assert status.currentMessage().startswith("Opened")
    bar.actionStep.trigger()
    assert status.currentMessage() == "Forward pass: event 1 of 18 (x)"
    for _ in range(15):
        bar.actionStep.trigger()
    assert status.currentMessage() == "Backward pass: event 16 of 18 (m.b → w)"
    bar.actionStepBack.trigger()
    assert status.currentMessage() == "Backward pass: event 15 of 18 (m.a → z)"
    bar.actionForward.trigger()
    assert status.currentMessage().startswith("Forward pass complete: event 9 of 18")
    bar.actionBackward.trigger()
    assert status.currentMessage().startswith("Backward pass complete: event 18 of 18")
    bar.actionReset.trigger()
    assert status.currentMessage() == ""  # the stale state is cleared, not left behind
    bar.actionBackward.trigger()
    status.showMessage("Copied 2 nodes")  # a later message is not ours to clear
    bar.actionReset.trigger()
    assert status.currentMessage() == "Copied 2 nodes"
    bar.actionStep.trigger()
    win.document.undo_stack.setClean()
    win.open_file(EXAMPLE)  # a new document: its own "Opened", not the old pass's state
    assert status.currentMessage().startswith("Opened")


def test_scrubbing_an_input_updates_every_label_live_and_undoes_in_one_step(run, qtbot):
    from app.run.scrub import ScrubControl

    g, scene, ctl = run
    stack = QUndoStack()
    scrub = ScrubControl(ctl)
    qtbot.addWidget(scrub)
    scrub.set_document(g, stack)
    scrub.set_selection([g.find("two")])  # a const: the multiplier of f
    assert scrub.slider.isEnabled() and scrub.label.text() == "two = 2.00"
    target = None
    for pos in range(scrub.slider.value(), scrub.slider.maximum() + 1, 10):  # a drag to the right
        scrub.slider.setValue(pos)
        target = scrub.value_at(pos)
    qtbot.waitUntil(lambda: ctl.rec is not None and labels(g, scene)["two"][0] == fmt_scalar(target), timeout=2000)
    assert ctl.live_runs <= 3  # throttled, not one pass per move
    lab = labels(g, scene)
    assert lab["x"] == ("3.00", fmt_scalar(-4.0 * target))  # df/dx = two * y
    assert lab["two"] == (fmt_scalar(target), "-10.00")  # df/dtwo = s, unchanged
    assert stack.count() == 1  # the whole drag is one undo step
    stack.undo()
    assert float(g.nodes[g.find("two")].tensors["value"]) == 2.0
    g.rename(g.find("two"), "k")  # a rename shows in the label at once
    assert scrub.label.text() == "k = 2.00"
    scrub.set_selection([g.find("xy")])  # a gate: nothing to scrub
    assert not scrub.slider.isEnabled()


def test_inf_in_the_backward_pass_is_reported_after_its_last_event(qtbot):
    g = gc.Graph()
    x = g.add("input", name="x", value=0.0)
    sq = g.add("pow", name="sq", inputs={"x": x}, p=0.5)  # d/dx sqrt(x) at 0 = Inf
    g.add("mul", name="f", inputs={"a": sq, "b": g.add("const", name="k", value=2.0)})
    ctl = RunController(g)  # headless: no scene needed to step
    messages, selected = [], []
    ctl.status_message.connect(messages.append)
    ctl.select_node.connect(selected.append)
    steps = 0
    while ctl.step():
        steps += 1
        if ctl.cursor < ctl.total - 1:
            assert messages == []  # nothing said before the pass gets there
    assert steps == ctl.total == 8 and ctl.rec.events[-1].phase == "backward"
    # the node whose backward rule produced the Inf is named, not the input that received it
    assert selected == [sq] and "Inf gradient" in messages[-1] and "'sq'" in messages[-1]
    ctl.close()


def test_run_menu_lists_the_actions_with_their_shortcuts(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    titles = [a.text() for a in win.menuBar().actions()]
    assert "&Run" in titles and titles.index("&Run") < titles.index("&Help")
    rows = dict((label, keys) for keys, label in win.shortcut_rows())
    assert rows["Step ▶"] == "F10" and rows["Backward"] == "F6"


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


@pytest.mark.parametrize("after, where", [(2, "in the forward pass at node 'z'"),
                                          (12, "in the backward pass, after the gradient reached node")])
def test_an_unexpected_error_is_shown_with_the_nodes_name_not_swallowed(run, monkeypatch, after, where):
    """Not a GraphError or NumericError (a kernel's ValueError, say): the status bar and the Problems
    dock still say what happened and where, and the slot does not raise."""
    g, scene, ctl = run
    real = gc.Executor.steps

    def failing(self, *args, **kwargs):
        for k, ev in enumerate(real(self, *args, **kwargs)):
            if k == after:
                raise ValueError("the kernel met an array it cannot take")
            yield ev

    monkeypatch.setattr(gc.Executor, "steps", failing)
    messages, found, selected = [], [], []
    ctl.status_message.connect(messages.append)
    ctl.problems_found.connect(found.append)
    ctl.select_node.connect(selected.append)
    ctl.backward()  # a slot: it must not raise
    assert messages[-1].startswith("Cannot run: ValueError: the kernel met an array it cannot take (" + where)
    assert "'n" not in messages[-1]  # names, not ids
    assert ctl.rec is None and ctl.last_error is not None
    (problem,) = found[-1]
    assert problem.node == selected[-1] and problem.node in g.nodes
    assert "the kernel met an array" in problem.message
    monkeypatch.setattr(gc.Executor, "steps", real)
    ctl.backward()
    assert found[-1] == []  # a pass that runs clears them


def test_a_graph_error_names_the_node_by_name(qtbot):
    g = gc.Graph()
    a = g.add("input", name="a", value=2.0)
    m = g.add("mul", name="product", inputs={"a": a})  # port b left empty
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    messages, found = [], []
    ctl.status_message.connect(messages.append)
    ctl.problems_found.connect(found.append)
    ctl.forward()
    assert "node 'product' port 'b'" in messages[-1] and repr(m) not in messages[-1]
    assert found[-1] and found[-1][0].node == m
    ctl.close()


def test_the_window_shows_an_unexpected_error_in_the_status_bar_and_the_problems_dock(qtbot, tmp_path,
                                                                                      monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QToolBar

    import app

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path / "data"))
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    win.open_file(EXAMPLE)
    assert win.statusBar().currentMessage().startswith("Opened")
    real = gc.Executor.steps

    def failing(self, *args, **kwargs):
        yield from real(self, *args, **kwargs)
        raise MemoryError("no room for the next array")

    monkeypatch.setattr(gc.Executor, "steps", failing)
    bar = win.findChild(QToolBar, "runToolbar")
    bar.actionBackward.trigger()
    said = win.statusBar().currentMessage()
    assert said.startswith("Cannot run: MemoryError: no room for the next array (in the backward pass")
    dock = win.problems_dock
    texts = [dock.list.item(k).text() for k in range(dock.list.count())]
    assert any("MemoryError: no room for the next array" in t for t in texts), texts
    assert dock.windowTitle() == "Problems (1)"
    monkeypatch.setattr(gc.Executor, "steps", real)
    bar.actionBackward.trigger()
    assert dock.list.count() == 0 and dock.windowTitle() == "Problems"


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
