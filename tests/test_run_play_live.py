"""Playing, live re-runs and scrubbing on the CS231n circuit: Play and Pause visit every event, an edit
re-runs (throttled in Live mode), a structural edit drops the pass, and a scrub is one undo step."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoStack

from app.run import decor
from app.run.formatting import fmt_scalar
from run_step_helpers import FINAL, labels, run, wire_from  # noqa: F401  (run: the fixture)


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
