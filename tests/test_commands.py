"""Undo commands: every edit round-trips through undo/redo to the exact graph (ids, order, tensors, wires)."""
import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

import graphcore as gc
from graphcore import fileformat
from app import commands as c


def circuit():
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0, ui={"x": 0, "y": 0})
    y = g.add("input", name="y", value=-4.0, ui={"x": 0, "y": 100})
    z = g.add("input", name="z", value=2.0, ui={"x": 0, "y": 200})
    w = g.add("input", name="w", value=-1.0, ui={"x": 0, "y": 300})
    xy = g.add("mul", name="xy", inputs={"a": x, "b": y}, ui={"x": 200, "y": 50})
    m = g.add("max", name="m", inputs={"a": z, "b": w}, ui={"x": 200, "y": 250})
    s = g.add("add", name="s", inputs={"a": xy, "b": m}, ui={"x": 400, "y": 150})
    two = g.add("const", name="two", value=2.0, ui={"x": 400, "y": 300})
    f = g.add("mul", name="f", inputs={"a": s, "b": two}, ui={"x": 600, "y": 200})
    return g, dict(x=x, y=y, z=z, w=w, xy=xy, m=m, s=s, two=two, f=f)


def roundtrip(stack, g, cmd):
    """Push, then undo and redo twice; return (before, after) copies, asserting exact equality each way."""
    before = g.copy()
    assert c.push_command(stack, cmd) is None, cmd.error
    after = g.copy()
    assert after != before
    for _ in range(2):
        stack.undo()
        assert g == before
        stack.redo()
        assert g == after
    return before, after


@pytest.fixture
def stack(qapp):
    return QUndoStack()


def test_add_node_keeps_its_id_across_undo_redo(stack):
    g, n = circuit()
    cmd = c.AddNodeCommand(g, "relu", (120.0, 40.0))
    roundtrip(stack, g, cmd)
    node = g.nodes[cmd.node_id]
    assert node.op == "relu" and node.ui == {"x": 120.0, "y": 40.0}
    assert list(g.nodes)[-1] == cmd.node_id


def test_add_node_with_params_and_name(stack):
    g, _ = circuit()
    cmd = c.AddNodeCommand(g, "leaky_relu", (0, 0), params={"alpha": 0.2}, name="lr")
    roundtrip(stack, g, cmd)
    assert g.nodes[cmd.node_id].params["alpha"] == 0.2 and g.nodes[cmd.node_id].name == "lr"


def test_remove_middle_nodes_restores_order_wires_and_values(stack):
    g, n = circuit()
    before, after = roundtrip(stack, g, c.RemoveNodesCommand(g, [n["m"], n["xy"]]))
    assert n["m"] not in after.nodes and n["xy"] not in after.nodes
    assert len(after.edges) == 2  # only s->f and two->f are left of 8 wires
    stack.undo()
    assert list(g.nodes) == list(before.nodes)  # same order, not appended at the end
    assert g.input_edge(n["s"], "b") == gc.Edge(n["m"], n["s"], "b")


def test_remove_with_extra_wires(stack):
    g, n = circuit()
    extra = g.input_edge(n["f"], "b")
    before, after = roundtrip(stack, g, c.RemoveNodesCommand(g, [n["x"]], [extra]))
    assert after.input_edge(n["f"], "b") is None and n["two"] in after.nodes


def test_connect_and_disconnect(stack):
    g, n = circuit()
    new = g.add("relu", name="r", ui={"x": 800, "y": 0})
    stack.clear()
    roundtrip(stack, g, c.ConnectCommand(g, n["f"], new, "x"))
    assert g.input_edge(new, "x").src == n["f"]
    roundtrip(stack, g, c.DisconnectCommand(g, n["f"], "b"))
    assert g.input_edge(n["f"], "b") is None


def test_connect_to_an_occupied_port_replaces_and_undo_restores(stack):
    g, n = circuit()
    before, after = roundtrip(stack, g, c.ConnectCommand(g, n["x"], n["f"], "b"))
    assert after.input_edge(n["f"], "b").src == n["x"]
    stack.undo()
    assert g.input_edge(n["f"], "b").src == n["two"]


def test_refused_connection_changes_nothing_and_is_not_pushed(stack):
    g, n = circuit()
    before = g.copy()
    cmd = c.ConnectCommand(g, n["f"], n["xy"], "a")  # f depends on xy: a cycle
    err = c.push_command(stack, cmd)
    assert err is not None and "cycle" in err
    assert g == before
    assert stack.count() == 0


def test_move_is_one_step_and_restores_missing_positions(stack):
    g, n = circuit()
    plain = g.add("relu", name="nopos")  # no ui position yet
    stack.clear()
    moves = {n["x"]: ((0, 0), (10, 20)), n["y"]: ((0, 100), (10, 120)), plain: (None, (50, 60))}
    roundtrip(stack, g, c.MoveNodesCommand(g, moves))
    assert stack.count() == 1
    stack.undo()
    assert "x" not in g.nodes[plain].ui and g.nodes[n["x"]].ui == {"x": 0, "y": 0}


def test_set_param_merges_consecutive_edits(stack):
    g = gc.Graph()
    a = g.add("input", value=1.0)
    lr = g.add("leaky_relu", inputs={"x": a})
    before = g.copy()
    for v in (0.02, 0.05, 0.1):
        assert c.push_command(stack, c.SetParamCommand(g, lr, "alpha", v)) is None
    assert stack.count() == 1
    assert g.nodes[lr].params["alpha"] == 0.1
    after = g.copy()
    stack.undo()
    assert g == before
    stack.redo()
    assert g == after
    # a different param or node starts a new step
    assert c.push_command(stack, c.SetParamCommand(g, lr, "alpha", 0.3)) is None
    assert stack.count() == 1
    p = g.add("pow", inputs={"x": a})
    assert c.push_command(stack, c.SetParamCommand(g, p, "p", 3.0)) is None
    assert stack.count() == 2


def test_set_param_refused_value(stack):
    g = gc.Graph()
    a = g.add("input", value=1.0)
    lin = g.add("linear", inputs={"x": a})
    before = g.copy()
    err = c.push_command(stack, c.SetParamCommand(g, lin, "units", "many"))
    assert err and "units" in err
    assert g == before and stack.count() == 0


def test_set_param_that_reshapes_weights_restores_the_trained_ones(stack):
    g = gc.Graph()
    x = g.add("input", value=np.ones((4, 3)))
    lin = g.add("linear", inputs={"x": x}, units=5)
    trained = np.arange(15.0).reshape(3, 5)
    g.set_weights(lin, W=trained)
    before = g.copy()
    roundtrip(stack, g, c.SetParamCommand(g, lin, "units", 7))
    assert g.nodes[lin].tensors["W"].shape == (3, 7)
    stack.undo()
    assert np.array_equal(g.nodes[lin].tensors["W"], trained)
    assert g == before


def test_connect_that_creates_weights_is_undone_exactly(stack):
    g = gc.Graph()
    x = g.add("input", value=np.ones((2, 3)))
    lin = g.add("linear", units=4)
    assert "W" not in g.nodes[lin].tensors
    roundtrip(stack, g, c.ConnectCommand(g, x, lin, "x"))
    assert g.nodes[lin].tensors["W"].shape == (3, 4)
    stack.undo()
    assert "W" not in g.nodes[lin].tensors


def test_set_value_merges_and_restores(stack):
    g, n = circuit()
    before = g.copy()
    c.push_command(stack, c.SetValueCommand(g, n["x"], 5.0))
    c.push_command(stack, c.SetValueCommand(g, n["x"], 6.0))
    assert stack.count() == 1
    assert float(g.nodes[n["x"]].tensors["value"]) == 6.0
    after = g.copy()
    stack.undo()
    assert g == before
    stack.redo()
    assert g == after


def test_set_value_with_a_new_shape_restores_downstream_weights(stack):
    g = gc.Graph()
    x = g.add("input", value=np.ones((2, 3)))
    lin = g.add("linear", inputs={"x": x}, units=4)
    g.set_weights(lin, W=np.full((3, 4), 0.5))
    before = g.copy()
    roundtrip(stack, g, c.SetValueCommand(g, x, np.ones((2, 6))))
    stack.undo()
    assert np.array_equal(g.nodes[lin].tensors["W"], np.full((3, 4), 0.5))


def test_rename(stack):
    g, n = circuit()
    roundtrip(stack, g, c.RenameCommand(g, n["s"], "sum"))
    assert g.nodes[n["s"]].name == "sum"
    assert c.push_command(stack, c.RenameCommand(g, n["s"], "  ")) is not None  # empty name refused


def test_paste_gets_fresh_ids_names_and_inner_wires(stack):
    g, n = circuit()
    text = fileformat.dumps(g, [n["x"], n["y"], n["xy"]])
    cmd = c.PasteCommand(g, text, (500, 0))
    before, after = roundtrip(stack, g, cmd)
    assert len(cmd.new_ids) == 3 and not set(cmd.new_ids) & set(before.nodes)
    names = [after.nodes[i].name for i in cmd.new_ids]
    assert len(set(names) | {nd.name for nd in before.nodes.values()}) == len(after.nodes)
    mul = next(i for i in cmd.new_ids if after.nodes[i].op == "mul")
    srcs = after.inputs_of(mul)
    assert set(srcs.values()) <= set(cmd.new_ids) and set(srcs) == {"a", "b"}
    assert after.nodes[mul].ui["x"] == 700.0  # moved by the offset
    assert float(after.nodes[srcs["b"]].tensors["value"]) == -4.0


def test_paste_of_garbage_raises_before_changing_anything(stack):
    g, _ = circuit()
    before = g.copy()
    with pytest.raises(gc.GraphFormatError):
        c.PasteCommand(g, "not json at all", (0, 0))
    assert g == before


def test_long_history_unwinds_to_the_start(stack):
    g, n = circuit()
    start = g.copy()
    add = c.AddNodeCommand(g, "relu", (700, 0))
    c.push_command(stack, add)
    c.push_command(stack, c.ConnectCommand(g, n["f"], add.node_id, "x"))
    c.push_command(stack, c.RemoveNodesCommand(g, [n["s"]]))
    c.push_command(stack, c.MoveNodesCommand(g, {n["x"]: ((0, 0), (-50, -50))}))
    c.push_command(stack, c.PasteCommand(g, fileformat.dumps(g, [n["x"]]), (0, 0)))
    end = g.copy()
    while stack.canUndo():
        stack.undo()
    assert g == start
    while stack.canRedo():
        stack.redo()
    assert g == end


def test_set_param_on_a_weight_name_sets_and_restores_the_array(stack):
    g = gc.Graph()
    x = g.add("input", value=np.ones((2, 3)))
    lin = g.add("linear", inputs={"x": x}, units=4)
    roundtrip(stack, g, c.SetParamCommand(g, lin, "W", np.zeros((3, 4))))
    assert not g.nodes[lin].tensors["W"].any()


def _unknown_op_clipboard(g, n):
    """The clipboard after copying x and xy from a file whose xy uses an op this build lacks."""
    import json

    doc = json.loads(fileformat.dumps(g, [n["x"], n["y"], n["xy"]]))
    for node in doc["nodes"]:
        if node["op"] == "mul":
            node["op"] = "fancy_mul"
    return json.dumps(doc)


def test_paste_of_an_unknown_op_with_its_wires_is_refused_whole(stack):
    g, n = circuit()
    before = g.copy()
    cmd = c.PasteCommand(g, _unknown_op_clipboard(g, n), (0, 0))
    err = c.push_command(stack, cmd)
    assert err is not None and "fancy_mul" in err and "xy" in err
    assert g == before  # no node of the three stayed behind
    assert stack.count() == 0 and stack.isClean()


def test_scene_says_why_a_command_was_refused(qtbot):
    from app.canvas.scene import GraphScene

    g, n = circuit()
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    messages = []
    scene.status_message.connect(messages.append)
    before = g.copy()
    assert scene.paste(_unknown_op_clipboard(g, n), (0, 0)) == []  # no RuntimeError from a deleted command
    assert g == before and stack.count() == 0
    assert messages and messages[-1].startswith("Paste 3 nodes refused:") and "fancy_mul" in messages[-1]
    assert scene._push(c.ConnectCommand(g, n["f"], n["xy"], "a")) is False  # a cycle: graphcore refuses
    assert messages[-1].startswith("Connect refused:") and g == before
    scene.detach()


def test_a_command_without_undo_is_refused_when_defined():
    from app.command_base import GraphCommand

    with pytest.raises(TypeError, match="_undo"):
        class HalfCommand(GraphCommand):  # noqa: F841 - defining it is the test
            def _do(self) -> None:
                pass
