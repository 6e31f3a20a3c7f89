"""The gradient-check button: wires green when graphcore's backward rules agree with centred
differences, red where a rule is wrong, and a list of the worst."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack

import graphcore as gc
from app.canvas.scene import GraphScene
from app.run import decor, flow
from app.run.controller import RunController
from app.run.gradcheck_view import GradCheckView
from app.run.toolbar import RunToolbar

from run_step_helpers import circuit, placed, wire_from

GREEN = flow.CHECK_OK.lower()
RED = flow.CHECK_BAD.lower()


@pytest.fixture
def setup(qtbot):
    g = circuit()
    scene = GraphScene(g, QUndoStack())
    ctl = RunController(g, scene)
    bar = RunToolbar(ctl)
    qtbot.addWidget(bar)
    view = GradCheckView(g, scene, bar)
    bar.set_gradcheck(view.run)
    yield g, scene, ctl, bar, view
    if view.dialog is not None:
        view.dialog.close()
    ctl.close()


def colors(g, scene) -> dict[str, str | None]:
    return {f"{g.nodes[e.src].name}->{g.nodes[e.dst].name}": decor.check_color(scene.edge_item(e)) for e in g.edges}


def test_correct_graph_is_all_green_and_the_dialog_lists_every_check(setup):
    g, scene, ctl, bar, view = setup
    bar.actionGradCheck.trigger()
    assert view.report is not None and view.report.ok
    assert set(colors(g, scene).values()) == {GREEN}
    table = view.dialog.table
    assert view.dialog.objectName() == "gradCheckDialog" and view.dialog.isVisible()
    assert table.rowCount() == len(view.report.errors) == 5  # x, y, z, w and the const 2
    assert {table.item(r, 2).text() for r in range(table.rowCount())} == {"ok"}
    assert "all 5 gradients agree" in view.dialog.summary.text()


def test_wrong_mul_backward_turns_its_wires_red(setup, monkeypatch):
    g, scene, ctl, bar, view = setup
    spec = gc.registry.get("mul")
    right = spec.backward

    def wrong(ctx, grad, ins, out, params, tensors):  # d/da off by 50 %
        ga, gb = right(ctx, grad, ins, out, params, tensors)
        return [ga * 1.5, gb]

    monkeypatch.setattr(spec, "backward", wrong)
    messages = []
    view.status_message.connect(messages.append)
    bar.actionGradCheck.trigger()
    assert not view.report.ok
    c = colors(g, scene)
    # f's d/ds is wrong, so every wire upstream of s carries a wrong gradient...
    for wire in ("x->xy", "y->xy", "z->m", "xy->s", "m->s", "s->f"):
        assert c[wire] == RED, wire
    # ...except where the right answer is 0 (the max gate's loser) or the rule is untouched (d/db of f)
    assert c["w->m"] == GREEN and c["two->f"] == GREEN
    worst = view.dialog.table.item(0, 0).text()
    assert worst == "x"  # d/dx picks up both wrong d/da factors: 1.5 * 1.5
    assert view.dialog.table.item(0, 2).text() == "WRONG"
    assert "FAILED" in messages[-1] and "x" in messages[-1]


def test_new_pass_clears_the_check_colours(setup):
    g, scene, ctl, bar, view = setup
    ctl.cleared.connect(view.clear)
    view.run(show_dialog=False)
    assert set(colors(g, scene).values()) == {GREEN}
    ctl.backward()
    assert set(colors(g, scene).values()) == {None}


def test_gradcheck_of_a_graph_that_cannot_run_says_why(qtbot):
    g = gc.Graph()
    g.add("add", name="lonely", inputs={})  # both inputs missing
    placed(g)
    scene = GraphScene(g, QUndoStack())
    view = GradCheckView(g, scene)
    messages, selected = [], []
    view.status_message.connect(messages.append)
    view.select_node.connect(selected.append)
    assert view.run(show_dialog=False) is None
    assert "cannot run" in messages[-1] and selected == [g.find("lonely")]


def test_toolbar_actions_and_names(setup, qtbot):
    g, scene, ctl, bar, view = setup
    assert bar.objectName() == "runToolbar"
    names = {a.objectName() for a in bar.actions()}
    assert {"actionForward", "actionBackward", "actionStep", "actionStepBack", "actionPlay", "actionReset",
            "actionGradCheck"} <= names
    bar.actionStep.trigger()
    assert ctl.cursor == 0 and "event 1/" in bar.positionLabel.text()
    bar.actionStepBack.trigger()
    assert ctl.cursor == -1
    bar.speedSlider.setValue(bar.speedSlider.maximum())
    assert ctl.speed == 64
    with qtbot.waitSignal(ctl.finished, timeout=5000):
        bar.actionPlay.trigger()
    assert decor.edge_labels(scene.edge_item(wire_from(g, "x"))) == ("3.00", "-8.00")
    assert not bar.actionPlay.isChecked()
    bar.actionReset.trigger()
    assert decor.edge_labels(scene.edge_item(wire_from(g, "x"))) == ("", "")
    bar.actionBackward.trigger()
    assert decor.edge_labels(scene.edge_item(wire_from(g, "w"))) == ("-1.00", "0.00")


def test_a_relu_input_on_its_kink_is_checked_one_sided():
    """x = 0 into a ReLU: the centred difference straddles the kink (it gives 0.5, the rule 0, and
    both are "right"); the check sees the ReLU change sides and uses the side the rule's convention
    picks (x <= 0: gradient 0), so a correct rule passes."""
    g = gc.Graph()
    x = g.add("input", name="x", value=0.0)
    g.add("relu", name="r", inputs={"x": x})
    report = gc.gradcheck(g)
    assert report.ok and report.errors[x] == 0.0
    assert (report.checked[x], report.one_sided[x], report.skipped[x]) == (1, 1, 0)
    plain = gc.gradcheck(g, kinks=False)  # without kink detection: the centred difference's 0.5
    assert plain.errors[x] == pytest.approx(1.0) and not plain.ok


def test_failure_on_a_graph_with_kinks_explains_them(qtbot):
    """With kink detection off, x = 0 into a ReLU fails, and the dialog says why."""
    from app.run.gradcheck_view import GradCheckDialog, kink_ops

    g = gc.Graph()
    x = g.add("input", name="x", value=0.0)
    g.add("relu", name="r", inputs={"x": x})
    report = gc.gradcheck(g, kinks=False)
    assert not report.ok
    dlg = GradCheckDialog()
    qtbot.addWidget(dlg)
    dlg.show_report(report, kinks=kink_ops(g))
    assert kink_ops(g) == ["relu"] and "kinks (relu)" in dlg.summary.text()
