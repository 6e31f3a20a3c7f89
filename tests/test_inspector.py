"""The inspector: editors per param kind, validation as typed, every edit an undo step."""
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QSlider, QSpinBox

import graphcore as gc
from graphcore import registry

from app.inspector import InspectorDock
from app.inspector.parse import parse_tensor


@pytest.fixture
def setup(qtbot):
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0)
    r = g.add("leaky_relu", name="act", inputs={"x": x})
    s = g.add("sum", name="total", inputs={"x": r})
    stack = QUndoStack()
    dock = InspectorDock()
    qtbot.addWidget(dock)
    dock.set_document(g, stack)
    dock.show()
    return g, stack, dock, {"x": x, "r": r, "s": s}


def line(dock, name) -> QLineEdit:
    return dock.findChild(QLineEdit, name)


def type_and_enter(qtbot, edit: QLineEdit, text: str):
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_empty_then_shows_the_selected_node(setup):
    g, stack, dock, ids = setup
    assert dock.objectName() == "inspectorDock"
    assert line(dock, "inspectorName") is None
    dock.show_node(ids["r"])
    assert line(dock, "inspectorName").text() == "act"
    assert line(dock, "param_alpha").text() == "0.01"
    assert dock.findChild(QSlider, "slider_alpha") is not None  # alpha has a range 0..1


def test_rename_is_an_undo_step_and_empty_name_is_refused(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["r"])
    edit = line(dock, "inspectorName")
    type_and_enter(qtbot, edit, "   ")
    assert g.nodes[ids["r"]].name == "act" and stack.count() == 0
    assert dock.fields["name"].error.text() == "a name cannot be empty"
    type_and_enter(qtbot, edit, "hidden")
    assert g.nodes[ids["r"]].name == "hidden" and stack.count() == 1
    assert dock.fields["name"].error.isHidden()
    stack.undo()
    assert g.nodes[ids["r"]].name == "act"
    assert line(dock, "inspectorName").text() == "act"  # the dock mirrors the model


def test_float_param_validated_as_typed(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["r"])
    edit = line(dock, "param_alpha")
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "2")
    field = dock.fields["param:alpha"]
    assert field.error.text() == "alpha must be <= 1.0, got 2.0"  # shown while typing
    assert not field.error.isHidden()
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert g.nodes[ids["r"]].params["alpha"] == 0.01 and stack.count() == 0
    edit.selectAll()
    qtbot.keyClicks(edit, "abc")
    assert "must be a number" in field.error.text()
    edit.selectAll()
    qtbot.keyClicks(edit, "0.2")
    assert field.error.isHidden()
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert g.nodes[ids["r"]].params["alpha"] == 0.2 and stack.count() == 1
    stack.undo()
    assert g.nodes[ids["r"]].params["alpha"] == 0.01
    assert edit.text() == "0.01"


def test_two_separate_edits_are_two_undo_steps(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["r"])
    edit = line(dock, "param_alpha")
    type_and_enter(qtbot, edit, "0.2")
    type_and_enter(qtbot, edit, "0.3")
    assert stack.count() == 2
    stack.undo()
    assert g.nodes[ids["r"]].params["alpha"] == 0.2


def test_slider_drag_merges_into_one_undo_step(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["r"])
    slider = dock.findChild(QSlider, "slider_alpha")
    slider.sliderPressed.emit()
    for pos in (100, 200, 350, 500):
        slider.setValue(pos)
    slider.sliderReleased.emit()
    assert g.nodes[ids["r"]].params["alpha"] == 0.5
    assert line(dock, "param_alpha").text() == "0.5"
    assert stack.count() == 1
    stack.undo()
    assert g.nodes[ids["r"]].params["alpha"] == 0.01
    # a second drag is its own step
    slider.sliderPressed.emit()
    slider.setValue(900)
    slider.sliderReleased.emit()
    stack.redo()  # nothing to redo: the new drag replaced the redo branch
    assert stack.count() == 1 and g.nodes[ids["r"]].params["alpha"] == 0.9


def test_arrow_keys_step_and_merge_until_focus_leaves(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["r"])
    edit = line(dock, "param_alpha")
    edit.setFocus()
    for _ in range(3):
        qtbot.keyClick(edit, Qt.Key.Key_Up)
    assert g.nodes[ids["r"]].params["alpha"] == pytest.approx(0.04)
    assert stack.count() == 1


def test_bool_and_axis_params(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["s"])
    box = dock.findChild(QCheckBox, "param_keepdims")
    box.setChecked(True)
    assert g.nodes[ids["s"]].params["keepdims"] is True and stack.count() == 1
    axis = line(dock, "param_axis")
    assert axis.placeholderText() == "all axes"
    type_and_enter(qtbot, axis, "x1")
    assert "integer axis" in dock.fields["param:axis"].error.text()
    assert g.nodes[ids["s"]].params["axis"] is None
    type_and_enter(qtbot, axis, "0")
    assert g.nodes[ids["s"]].params["axis"] == 0
    assert stack.count() == 2


def linear_layer_in_inspector(qtbot):
    """A 2x3 input into a 4-unit linear layer, shown in a fresh inspector."""
    g = gc.Graph()
    x = g.add("input", value=np.ones((2, 3)))
    lin = g.add("linear", inputs={"x": x}, units=4)
    stack = QUndoStack()
    dock = InspectorDock()
    qtbot.addWidget(dock)
    dock.set_document(g, stack)
    dock.show_node(lin)
    return g, lin, stack, dock


def test_choice_and_int_params_of_a_layer(qtbot):
    g, lin, stack, dock = linear_layer_in_inspector(qtbot)
    combo = dock.findChild(QComboBox, "param_init")
    spin = dock.findChild(QSpinBox, "param_units")
    assert combo.currentData() == "xavier_normal"
    assert (spin.minimum(), spin.maximum(), spin.value()) == (1, 100000, 4)
    combo.activated.emit(combo.findData("he"))
    assert g.nodes[lin].params["init"] == "he"
    spin.setValue(5)
    assert g.nodes[lin].params["units"] == 5
    assert g.nodes[lin].tensors["W"].shape == (3, 5)
    assert dock.findChild(QLabel, "weight_W").text() == "(3, 5) float64, trainable"  # updated in place
    assert dock.findChild(QSpinBox, "param_units") is spin  # the editor was not rebuilt under the cursor
    assert stack.count() == 2
    stack.undo()
    assert g.nodes[lin].tensors["W"].shape == (3, 4) and g.nodes[lin].params["units"] == 4
    assert spin.value() == 4


def test_value_text_and_table(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["x"])
    edit = line(dock, "valueText")
    assert edit.text() == "3.0"
    type_and_enter(qtbot, edit, "[1, 2, nope]")
    assert dock.fields["value"].error.isVisible()
    assert float(g.nodes[ids["x"]].tensors["value"]) == 3.0 and stack.count() == 0
    type_and_enter(qtbot, edit, "[[1, 2], [3, 4.5]]")
    val = g.nodes[ids["x"]].tensors["value"]
    assert val.dtype == np.float64 and val.tolist() == [[1.0, 2.0], [3.0, 4.5]]
    assert stack.count() == 1
    qtbot.wait(10)  # the dock rebuilds (new shape) on the next turn of the loop
    table = dock.table
    assert (table.rowCount(), table.columnCount()) == (2, 2)
    table.item(1, 0).setText("-7")
    assert g.nodes[ids["x"]].tensors["value"].tolist() == [[1.0, 2.0], [-7.0, 4.5]]
    assert stack.count() == 2
    qtbot.wait(10)
    dock.table.item(0, 0).setText("oops")
    assert g.nodes[ids["x"]].tensors["value"][0, 0] == 1.0 and stack.count() == 2
    stack.undo()
    stack.undo()
    assert float(g.nodes[ids["x"]].tensors["value"]) == 3.0 and g.nodes[ids["x"]].tensors["value"].shape == ()


def test_follows_the_model_when_the_node_goes(setup, qtbot):
    g, stack, dock, ids = setup
    dock.show_node(ids["s"])
    g.remove(ids["s"])
    qtbot.wait(10)
    assert dock.node_id is None and line(dock, "inspectorName") is None


def test_selection_of_several_nodes_shows_a_hint(setup):
    g, stack, dock, ids = setup
    dock.show_selection([ids["x"], ids["r"]])
    assert dock.node_id is None and "2 nodes selected" in dock._empty.text()
    dock.show_selection([ids["r"]])
    assert dock.node_id == ids["r"]


@pytest.mark.parametrize("text,like,expected", [
    ("3", np.array(1.0), 3.0),
    ("-1.5e-3", np.array(1.0), -0.0015),
    ("1, 2, 3", np.zeros(3), [1.0, 2.0, 3.0]),
    ("[2, 0, 1]", np.zeros(3, dtype=np.int64), [2, 0, 1]),
])
def test_parse_tensor_ok(text, like, expected):
    arr = parse_tensor(text, like)
    assert arr.tolist() == expected and arr.dtype == like.dtype


@pytest.mark.parametrize("text,message", [
    ("", "a value is needed"),
    ("[1, [2]]", "rectangular"),
    ("NaN", "finite"),
    ('"a"', "is not a number"),
    ("[true]", "is not a number"),
    ("1.5", "integers"),
    ("__import__('os')", "not a number or a list"),
])
def test_parse_tensor_refusals(text, message):
    like = np.zeros(3, dtype=np.int64) if text == "1.5" else np.array(0.0)
    with pytest.raises(ValueError, match=message):
        parse_tensor(text, like)


def test_spin_box_steps_merge_until_editing_finishes(qtbot):
    g, lin, stack, dock = linear_layer_in_inspector(qtbot)
    spin = dock.findChild(QSpinBox, "param_units")
    for v in (5, 6, 7):
        spin.setValue(v)  # holding the arrow: one step
    assert stack.count() == 1 and g.nodes[lin].params["units"] == 7
    spin.editingFinished.emit()
    spin.setValue(8)
    assert stack.count() == 2
    stack.undo()
    assert g.nodes[lin].params["units"] == 7
    stack.undo()
    assert g.nodes[lin].params["units"] == 4 and g.nodes[lin].tensors["W"].shape == (3, 4)


def test_external_value_changes_show_in_place(setup, qtbot):
    g, stack, dock, ids = setup
    g.set_value(ids["x"], np.array([1.0, 2.0]))
    dock.show_node(ids["x"])
    edit = line(dock, "valueText")
    table = dock.table
    g.set_value(ids["x"], np.array([5.0, 6.0]))  # e.g. undo or a run that changes the value
    assert line(dock, "valueText") is edit and edit.text() == "[5, 6]"
    assert dock.table is table and table.item(0, 1).text() == "6.0"
    g.set_value(ids["x"], np.array([[1.0, 2.0], [3.0, 4.0]]))  # new shape: a new table
    qtbot.waitUntil(lambda: dock.table is not table and dock.table.rowCount() == 2, timeout=1000)


@pytest.mark.parametrize("arr", [
    np.array(3.0), np.array(-0.125), np.arange(6.0).reshape(2, 3), np.array([0.5, 1e-7, 2.0, -3.25e12]),
    np.array([1, 2], dtype=np.int64), np.array([[0.1, 0.2], [0.3, 1 / 3]]),
])
def test_format_then_parse_is_exact(arr):
    from app.inspector.parse import format_tensor

    back = parse_tensor(format_tensor(arr), arr)
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)


@pytest.mark.parametrize("op", sorted(registry.ops()))
def test_every_op_gets_an_editor_for_every_param(op, qtbot):
    spec = registry.get(op)
    g = gc.Graph()
    nid = g.add(op)
    dock = InspectorDock()
    qtbot.addWidget(dock)
    dock.set_document(g, QUndoStack())
    dock.show_node(nid)
    assert dock.fields["name"].line.text() == g.nodes[nid].name
    for p in spec.params:
        if p.kind != "tensor":
            assert f"param:{p.name}" in dock.fields, (op, p.name)
    assert ("value" in dock.fields) == bool(spec.source)


def test_unknown_op_node_shows_name_only(qtbot):
    g = gc.loads('{"format": "backprop-studio-graph", "format_version": 1, '
                 '"nodes": [{"id": "a", "op": "warp_drive", "name": "w"}]}')
    dock = InspectorDock()
    qtbot.addWidget(dock)
    dock.set_document(g, QUndoStack())
    dock.show_node("a")
    assert list(dock.fields) == ["name"]
    assert "unknown op" in dock.findChild(QLabel, "inspectorSubtitle").text()


def test_edit_fields_show_the_full_value_so_editing_never_rounds():
    from app.inspector.parse import fmt_float, format_tensor, parse_tensor

    for v in (1.234567e-05, 0.007, 2.0, -8.0, 1e-300, 123456.789012345, 0.1 + 0.2):
        assert float(fmt_float(v)) == v  # the exact float back, not 1.23457e-05
    assert (fmt_float(float("nan")), fmt_float(float("inf")), fmt_float(float("-inf"))) == ("NaN", "+Inf", "-Inf")
    arr = np.array(1.234567e-05)
    assert parse_tensor(format_tensor(arr), arr).item() == 1.234567e-05
