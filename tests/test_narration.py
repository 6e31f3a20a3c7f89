"""The narrated pass: one sentence per event with the rule and the CS231n notes' numbers."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

import graphcore as gc
from app.canvas.scene import GraphScene
from app.run.controller import RunController
from app.run.formatting import fmt_array
from app.run.narration import BACKWARD, other_input, sentence
from app.run.narration_dock import NarrationDock
from app.run.record import record
from backprop_studio_resources import example_path

EXAMPLE = example_path("cs231n_circuit.json")

# f = 2(xy + max(z, w)) with x=3, y=-4, z=2, w=-1: the numbers of the CS231n notes
CIRCUIT = [
    "input x = 3.00",
    "input y = -4.00",
    "input z = 2.00",
    "input w = -1.00",
    "const two = 2.00",
    "mul gate xy: x × y = 3.00 × -4.00 = -12.00",
    "max gate m: max(z, w) = max(2.00, -1.00) = 2.00",
    "add gate s: xy + m = -12.00 + 2.00 = -10.00",
    "mul gate f: s × two = -10.00 × 2.00 = -20.00",
    "seed: the backward pass starts at f with df/df = 1.00 (the gradient of f with respect to itself)",
    "mul gate f: s receives the upstream 1.00 times two's value 2.00 = 2.00 (a mul gate swaps its inputs)",
    "mul gate f: two receives the upstream 1.00 times s's value -10.00 = -10.00 (a mul gate swaps its inputs)",
    "add gate s: passes 2.00 unchanged to both inputs, so xy gets 2.00",
    "add gate s: passes 2.00 unchanged to both inputs, so m gets 2.00",
    "max gate m: z (2.00) beat w (-1.00), so z gets all of the 2.00 and w gets 0",
    "max gate m: z (2.00) beat w (-1.00), so w gets 0 (all of the 2.00 went to z)",
    "mul gate xy: x receives the upstream 2.00 times y's value -4.00 = -8.00 (a mul gate swaps its inputs)",
    "mul gate xy: y receives the upstream 2.00 times x's value 3.00 = 6.00 (a mul gate swaps its inputs)",
]


def test_each_of_the_18_events_of_the_cs231n_circuit_is_narrated_with_the_notes_numbers():
    g = gc.load(EXAMPLE)
    rec = record(gc.Executor(g), g.find("f"))
    assert rec.total == 18
    assert [sentence(g, rec, k) for k in range(rec.total)] == CIRCUIT


def test_sentences_follow_the_values_and_name_ties():
    g = gc.load(EXAMPLE)
    g.set_value(g.find("w"), 5.0)  # now w wins the max
    g.set_value(g.find("x"), 0.007)  # a tiny number keeps its digits (the one formatter)
    rec = record(gc.Executor(g), g.find("f"))
    text = [sentence(g, rec, k) for k in range(rec.total)]
    assert "max gate m: w (5.00) beat z (2.00), so z gets 0 (all of the 2.00 went to w)" in text
    assert any("x receives the upstream 2.00 times y's value -4.00 = -8.00" in t for t in text)
    assert any("y receives the upstream 2.00 times x's value 7.00e-03 = 0.01" in t for t in text)
    g.set_value(g.find("w"), 2.0)  # a tie goes to the first input
    rec = record(gc.Executor(g), g.find("f"))
    text = [sentence(g, rec, k) for k in range(rec.total)]
    assert any("z (2.00) tied with w (2.00) (ties go to the first input)" in t and "so z gets all" in t
               for t in text)


def _graph_for(spec, case) -> gc.Graph:
    g = gc.Graph()
    ids = {}
    for port, arr in case["inputs"].items():
        p = spec.port(port)
        ids[port] = g.add("const" if (p is not None and not p.differentiable) or np.asarray(arr).dtype.kind in "iu"
                          else "input", name=f"in_{port}")
        g.set_value(ids[port], np.asarray(arr))
    g.add(spec.name, name="gate", inputs=ids)
    for k, v in case.get("params", {}).items():
        g.set_param(g.find("gate"), k, v)
    return g


def _ops_with_examples():
    return [spec for spec in gc.registry.ops().values() if spec.examples is not None and not spec.source]


@pytest.mark.parametrize("spec", _ops_with_examples(), ids=lambda s: s.name)
def test_every_registered_op_gets_a_sentence_for_each_of_its_events(spec):
    case = spec.examples(np.random.default_rng(0))[0]
    g = _graph_for(spec, case)
    gate = g.find("gate")
    rec = record(gc.Executor(g), gate)
    assert rec.error is None, rec.error
    assert any(ev.phase == "backward" for ev in rec.events) or not spec.differentiable
    for k, ev in enumerate(rec.events):
        text = sentence(g, rec, k)
        assert text, (spec.name, ev.phase)
        if ev.phase == "forward" and ev.node == gate:
            assert text.startswith(f"{spec.name} ") and "gate:" in text  # "<op> <kind> gate: ..."
            assert fmt_array(ev.value) in text
        if ev.phase == "backward":
            assert text.startswith(f"{spec.name} "), text
            assert g.nodes[ev.edge.src].name in text, text  # who receives it
            assert fmt_array(ev.grad) in text or "gets 0" in text, text  # the number it receives


def test_a_training_net_is_narrated_with_its_layers_and_loss():
    g = gc.load(example_path("spiral_2layer.json"))
    rec = record(gc.Executor(g), g.find("loss"))
    text = [sentence(g, rec, k) for k in range(rec.total)]
    assert "total_loss loss: passes 1.00 unchanged to both inputs, so data_loss gets 1.00" in text
    assert any(t.startswith("linear layer fc2: relu (port x) receives 300×100") for t in text)
    assert any(t.startswith("relu gate relu: passes the upstream") and "where fc1 > 0" in t for t in text)


def test_the_table_only_names_registered_ops():
    assert set(BACKWARD) <= set(gc.registry.ops())


def test_mul_gradient_marks_the_other_input_on_the_canvas(qtbot):
    g = gc.load(EXAMPLE)
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    dock = NarrationDock(ctl)
    qtbot.addWidget(dock)
    dock.show()
    for _ in range(17):  # event 17: x receives 2.00 × y
        ctl.step()
    y = g.find("y")
    rec = ctl.rec
    assert other_input(g, rec, 16).src == y
    marked = ctl.highlighted()
    assert ("node", y) in marked and ("node", g.find("xy")) in marked
    assert scene.node_item(y).highlighted and not scene.node_item(g.find("x")).highlighted
    from app.run import decor

    y_wire = g.input_edge(g.find("xy"), "b")
    assert ("other", y_wire) in marked and decor.edge_other(scene.edge_item(y_wire))
    assert not decor.edge_other(scene.edge_item(g.input_edge(g.find("xy"), "a")))
    assert dock.text() == "17/18 · " + CIRCUIT[16]
    assert dock.sentences() == CIRCUIT[:17]
    ctl.step()  # event 18: now x is the other input
    assert scene.node_item(g.find("x")).highlighted and not scene.node_item(y).highlighted
    ctl.step_back()
    ctl.step_back()
    assert dock.sentences() == CIRCUIT[:16] and dock.log.count() == 16
    ctl.step_back()  # a max event: no other input to mark
    assert not scene.node_item(y).highlighted and not decor.edge_other(scene.edge_item(y_wire))
    ctl.reset()
    assert dock.sentences() == [] and dock.log.count() == 0
    dock.hide()  # hidden (behind a tab): nothing is worded until it is shown again
    ctl.backward()
    assert dock.sentences() == []
    dock.show()
    assert dock.sentences() == CIRCUIT and dock.text() == "18/18 · " + CIRCUIT[17]
    ctl.close()


def test_pulse_size_follows_the_zoom_and_its_length_the_speed(qtbot):
    from app.canvas.view import GraphView

    g = gc.load(EXAMPLE)
    scene = GraphScene(g, QUndoStack())
    view = GraphView(scene)
    qtbot.addWidget(view)
    ctl = RunController(g, scene)
    view.set_zoom(1.0)
    r1 = ctl.pulse_radius()
    view.set_zoom(0.5)
    assert ctl.pulse_radius() == pytest.approx(2 * r1)  # the same size on screen
    assert 2 * r1 >= 14  # pixels on screen (it was a 10 px dot)
    assert ctl.pulse_ms() >= 400  # at the default speed (it crossed a wire in 250 ms)
    ctl.set_speed(1)
    slow = ctl.pulse_ms()
    ctl.set_speed(16)
    assert ctl.pulse_ms() < slow
    ctl.pulse_scale = 1.6
    assert ctl.pulse_ms() > ctl.pulse_ms.__func__(type("C", (), {"speed": 16, "pulse_scale": 1.0})())
    for _ in range(11):  # the first backward event pulses along f.a
        ctl.step()
    dot = scene.edge_item(ctl.rec.events[10].edge)._pulse
    assert dot.isVisible() and dot.rect().width() == pytest.approx(2 * ctl.pulse_radius())
    ctl.close()


def test_a_long_current_sentence_is_shown_whole_in_a_short_dock(qtbot):
    """At 1280x720 the spiral net's last backward sentence wrapped to three lines and lost the third:
    the current sentence takes the lines it needs, the list below what is left."""
    g = gc.load(example_path("spiral_2layer.json"))
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    dock = NarrationDock(ctl)
    qtbot.addWidget(dock)
    dock.resize(600, 110)  # a short, narrow dock: the sentence wraps to several lines
    dock.show()
    ctl.forward()
    ctl.backward()
    lab = dock.current
    line = lab.fontMetrics().lineSpacing()

    def whole() -> bool:
        return lab.height() >= lab.minimumHeight() > 2 * line  # three lines or more, all of them shown
    qtbot.waitUntil(whole)
    ctl.close()
