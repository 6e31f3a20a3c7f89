"""The canvas driven like a person would: select, delete, copy and move; layout, problems and look;
zoom, pan, frame and export (helpers in canvas_helpers.py)."""
import math

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QKeyEvent, QMouseEvent, QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

import graphcore as gc
from app.canvas import GraphScene, GraphView, look as items, set_palette

from canvas_helpers import editor  # noqa: F401  (the fixture)
from canvas_helpers import L, M, NOB, add_at, body_pos, circuit, click, drag, in_pos, key, out_pos, send_mouse  # noqa: F401


# ---------------------------------------------------------------- select, delete, copy, move
def test_delete_undo_redo_restores_the_exact_graph(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    click(view, body_pos(scene, n["xy"]))
    click(view, body_pos(scene, n["m"]), Qt.KeyboardModifier.ControlModifier)
    assert scene.selected_ids() == [n["xy"], n["m"]]
    key(view, Qt.Key.Key_Delete)
    after = g.copy()
    assert n["xy"] not in g.nodes and n["m"] not in g.nodes and len(g.edges) == 2
    assert len(scene.edge_items()) == 2
    stack.undo()
    assert g == before
    assert len(scene.edge_items()) == 8 and {i.node_id for i in scene.node_items()} == set(g.nodes)
    stack.redo()
    assert g == after
    stack.undo()
    assert g == before


def test_selected_wire_is_deleted_with_backspace(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    e = scene.edge_item((n["s"], "b"))
    click(view, e.path().pointAtPercent(0.5))
    assert e.isSelected()
    key(view, Qt.Key.Key_Backspace)
    assert g.input_edge(n["s"], "b") is None
    stack.undo()
    assert g == before


def test_copy_paste_brings_wires_and_fresh_ids(editor):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["x"], n["y"], n["xy"]])
    text = scene.copy_selected()
    before = g.copy()
    new = scene.paste(text, QPointF(300, 600))
    assert len(new) == 3 and not set(new) & set(before.nodes)
    assert scene.selected_ids() == new
    inner = [e for e in g.edges if e.dst in new]
    assert len(inner) == 2 and all(e.src in new for e in inner)
    xs = [g.nodes[i].ui["x"] for i in new]
    ys = [g.nodes[i].ui["y"] for i in new]
    assert (min(xs), min(ys)) == (300.0, 600.0)
    assert {g.nodes[i].name for i in new}.isdisjoint({nd.name for nd in before.nodes.values()})
    for nid in new:
        assert scene.node_item(nid) is not None
    stack.undo()
    assert g == before


def test_paste_of_non_graph_text_reports_and_changes_nothing(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    assert scene.paste('{"hello": 1}') == []
    assert g == before and "Cannot paste" in msgs[-1]


def test_duplicate_with_ctrl_d(editor):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["z"], n["w"], n["m"]])
    before = g.copy()
    key(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    new = scene.selected_ids()
    assert len(new) == 3 and not set(new) & set(before.nodes)
    mx = next(i for i in new if g.nodes[i].op == "max")
    assert g.nodes[mx].ui == {"x": 270.0, "y": 310.0}
    assert set(g.inputs_of(mx).values()) <= set(new)
    assert stack.count() == 1
    stack.undo()
    assert g == before


def test_cut_removes_and_returns_text(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    scene.select_ids([n["two"]])
    text = scene.cut_selected()
    assert n["two"] not in g.nodes and '"two"' in text
    assert stack.count() == 1
    stack.undo()
    assert g == before


def test_moving_several_nodes_is_one_undo_step(editor):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["x"], n["y"]])
    before = g.copy()
    start = body_pos(scene, n["x"])
    drag(view, start, start + QPointF(100, 50), steps=8)
    assert stack.count() == 1
    zoom = view.zoom()
    for nid, (x0, y0) in ((n["x"], (0, 0)), (n["y"], (0, 120))):
        ui = g.nodes[nid].ui
        assert math.isclose(ui["x"] - x0, 100, abs_tol=2 / zoom) and math.isclose(ui["y"] - y0, 50, abs_tol=2 / zoom)
        assert scene.node_item(nid).pos() == QPointF(ui["x"], ui["y"])
    # the wires followed
    e = scene.edge_item((n["xy"], "a"))
    assert e.path().pointAtPercent(0) == out_pos(scene, n["x"])
    stack.undo()
    assert g == before
    assert scene.node_item(n["x"]).pos() == QPointF(0, 0)


def test_snap_to_grid(editor):
    g, n, scene, view, stack, msgs = editor
    scene.snap_to_grid = True
    start = body_pos(scene, n["two"])
    drag(view, start, start + QPointF(33, 27))
    ui = g.nodes[n["two"]].ui
    assert ui["x"] % 20 == 0 and ui["y"] % 20 == 0
    assert (ui["x"], ui["y"]) != (480, 360)


def test_rubber_band_and_select_all(editor):
    g, n, scene, view, stack, msgs = editor
    r0 = scene.node_item(n["x"]).sceneBoundingRect().united(scene.node_item(n["y"]).sceneBoundingRect())
    drag(view, r0.topLeft() - QPointF(20, 20), r0.bottomRight() + QPointF(5, 5))
    assert set(scene.selected_ids()) == {n["x"], n["y"]}
    seen = []
    scene.selection_ids_changed.connect(seen.append)
    key(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert scene.selected_ids() == list(g.nodes) and seen[-1] == list(g.nodes)


def test_rename_by_double_click_on_the_title(editor, qtbot):
    g, n, scene, view, stack, msgs = editor
    p = body_pos(scene, n["s"])
    vp = view.mapFromScene(p)
    QTest.mouseDClick(view.viewport(), L, Qt.KeyboardModifier.NoModifier, vp)
    ed = view.viewport().findChild(QLineEdit, "renameEditor")
    assert ed is not None and ed.text() == "s"
    ed.setText("sum")
    key(ed, Qt.Key.Key_Return)
    assert g.nodes[n["s"]].name == "sum"
    assert scene.node_item(n["s"])._name == "sum"
    stack.undo()
    assert g.nodes[n["s"]].name == "s"


# ---------------------------------------------------------------- layout, problems, look
def test_auto_layout_left_to_right_in_one_step(editor):
    g, n, scene, view, stack, msgs = editor
    for i, nid in enumerate(g.nodes):  # scramble
        g.set_ui(nid, x=(i * 37) % 200, y=(i * 53) % 150)
    before = g.copy()
    key(view, Qt.Key.Key_L)
    assert stack.count() == 1
    pos = {nid: (nd.ui["x"], nd.ui["y"]) for nid, nd in g.nodes.items()}
    for e in g.edges:
        assert pos[e.src][0] < pos[e.dst][0], e
    rects = [scene.node_item(i).sceneBoundingRect().adjusted(4, 4, -6, -7) for i in g.nodes]
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            assert not rects[i].intersects(rects[j])
    assert pos[n["x"]][0] == pos[n["z"]][0] < pos[n["xy"]][0] < pos[n["s"]][0] < pos[n["f"]][0]
    stack.undo()
    assert g == before


def test_problem_outline_and_tooltip(editor):
    g, n, scene, view, stack, msgs = editor
    r = add_at(g, "relu", 900, 0)
    scene.revalidate()
    item = scene.node_item(r)
    assert item.problems and "missing required input" in item.problems[0]
    assert "missing required input" in item.toolTip()
    assert not scene.node_item(n["f"]).problems
    scene.set_problems([gc.Problem(n["f"], None, "NaN in the forward pass", "numeric")])
    assert scene.node_item(n["f"]).problems == ["NaN in the forward pass"]
    scene.set_problems([])
    assert scene.node_item(n["f"]).problems == []
    # wiring the relu clears its problem once the scene revalidates
    drag(view, out_pos(scene, n["f"]), in_pos(scene, r, "x"))
    scene.revalidate()
    assert not item.problems


def test_palette_switch_and_bad_name(editor):
    g, n, scene, view, stack, msgs = editor
    img = QImage(40, 40, QImage.Format.Format_ARGB32)
    try:
        set_palette("light")
        assert items.palette().name == "light"
        from PySide6.QtGui import QPainter
        p = QPainter(img)
        scene.exporting = True
        scene.drawBackground(p, scene.sceneRect())
        scene.exporting = False
        p.end()
        assert img.pixelColor(5, 5).name() == items.LIGHT.background
        with pytest.raises(ValueError, match="unknown canvas palette"):
            set_palette("neon")
    finally:
        set_palette("dark")


def test_edge_and_node_hooks_for_the_run_view(editor):
    g, n, scene, view, stack, msgs = editor
    e = scene.edge_item((n["s"], "a"))
    e.set_labels("-12.00", "2.00")
    assert e.labels() == ("-12.00", "2.00")
    v_item, g_item = e._value_label, e._grad_label
    mid = e.path().pointAtPercent(0.5)
    assert v_item.sceneBoundingRect().bottom() <= mid.y() <= g_item.sceneBoundingRect().top()
    e.set_labels(None, "2.00")
    assert e.labels() == (None, "2.00")
    e.set_flow(2.0, -1.0)
    assert e.flow() == (2.0, -1.0, False)
    e.set_flow(None)
    assert e.flow() is None
    e.pulse(50)
    assert e._pulse.isVisible() and e._pulse.pos() == e.path().pointAtPercent(1.0)  # starts at the input end
    scene.node_item(n["s"]).set_highlight(True)
    assert scene.node_item(n["s"]).highlighted


# ---------------------------------------------------------------- view: zoom, pan, frame, export
def test_wheel_zoom_keeps_the_point_under_the_cursor(editor):
    g, n, scene, view, stack, msgs = editor
    vp = QPoint(300, 200)
    before = view.mapToScene(vp)
    z0 = view.zoom()
    ev = QWheelEvent(QPointF(vp), QPointF(view.viewport().mapToGlobal(vp)), QPoint(0, 0), QPoint(0, 240),
                     NOB, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.zoom() > z0 * 1.2
    after = view.mapToScene(vp)
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2
    for _ in range(60):  # clamped
        view.zoom_by(2.0)
    assert view.zoom() <= 4.0 + 1e-9


def test_frame_selection_and_everything(editor):
    g, n, scene, view, stack, msgs = editor
    view.set_zoom(0.3)
    view.centerOn(QPointF(5000, 5000))
    scene.select_ids([n["two"]])
    key(view, Qt.Key.Key_F)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(scene.node_item(n["two"]).sceneBoundingRect())
    assert view.zoom() == pytest.approx(1.5)  # one small node: capped, not blown up
    scene.clearSelection()
    view.frame_selection()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(scene.nodes_rect())


def test_middle_drag_pans(editor):
    g, n, scene, view, stack, msgs = editor
    vp = view.viewport()
    before = view.mapToScene(QPoint(500, 300))

    def send(kind, x, y, button, buttons):
        QApplication.sendEvent(vp, QMouseEvent(kind, QPointF(x, y), QPointF(vp.mapToGlobal(QPoint(x, y))), button,
                                               buttons, Qt.KeyboardModifier.NoModifier))

    send(QEvent.Type.MouseButtonPress, 500, 300, M, M)
    for k in range(1, 6):
        send(QEvent.Type.MouseMove, 500 + 20 * k, 300 + 10 * k, NOB, M)
    send(QEvent.Type.MouseButtonRelease, 600, 350, M, NOB)
    after = view.mapToScene(QPoint(500, 300))
    z = view.zoom()
    assert math.isclose(before.x() - after.x(), 100 / z, abs_tol=2)
    assert math.isclose(before.y() - after.y(), 50 / z, abs_tol=2)
    assert stack.count() == 0 and not scene.selected_ids()


def test_space_drag_pans_and_does_not_select(editor):
    g, n, scene, view, stack, msgs = editor
    vp = view.viewport()
    p0 = view.mapFromScene(body_pos(scene, n["xy"]))  # starting on a node must not move it
    before = view.mapToScene(p0)
    QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " "))

    def send(kind, pt, button, buttons):
        QApplication.sendEvent(vp, QMouseEvent(kind, QPointF(pt), QPointF(vp.mapToGlobal(pt)), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))

    send(QEvent.Type.MouseButtonPress, p0, L, L)
    send(QEvent.Type.MouseMove, p0 + QPoint(-40, -20), NOB, L)
    send(QEvent.Type.MouseMove, p0 + QPoint(-80, -40), NOB, L)
    send(QEvent.Type.MouseButtonRelease, p0 + QPoint(-80, -40), L, NOB)
    QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " "))
    after = view.mapToScene(p0)
    assert math.isclose(after.x() - before.x(), 80 / view.zoom(), abs_tol=2)
    assert g.nodes[n["xy"]].ui == {"x": 240, "y": 40} and stack.count() == 0


def test_escape_cancels_a_wire_drag(editor):
    g, n, scene, view, stack, msgs = editor
    before = g.copy()
    a = in_pos(scene, n["s"], "a")
    send_mouse(view, QEvent.Type.MouseButtonPress, a, L, L)
    send_mouse(view, QEvent.Type.MouseMove, a + QPointF(-50, -90), NOB, L)
    assert scene.is_wiring() and not scene.edge_item((n["s"], "a")).isVisible()
    key(view, Qt.Key.Key_Escape)
    assert not scene.is_wiring() and scene.edge_item((n["s"], "a")).isVisible()
    send_mouse(view, QEvent.Type.MouseButtonRelease, a + QPointF(-50, -90), L, NOB)
    assert g == before and stack.count() == 0


def test_export_png_and_svg(editor, tmp_path):
    g, n, scene, view, stack, msgs = editor
    scene.select_ids([n["x"]])
    png = tmp_path / "graph.png"
    assert view.export_image(str(png))
    img = QImage(str(png))
    assert not img.isNull() and img.size() == view.export_size()
    rect = scene.items_rect(None, 40.0)
    assert img.width() == math.ceil(rect.width() * 2) and img.height() == math.ceil(rect.height() * 2)
    # the background is the palette's, with no grid lines and no selection colour anywhere
    assert img.pixelColor(3, 3).name() == items.DARK.background
    svg = tmp_path / "graph.svg"
    assert view.export_image(str(svg))
    text = svg.read_text()
    assert svg.stat().st_size > 1000 and "<svg" in text and "xy" in text
    with pytest.raises(ValueError, match="png or .svg"):
        view.export_image(str(tmp_path / "graph.bmp"))
    assert scene.node_item(n["x"]).isSelected()  # export does not disturb the selection


def test_detached_scene_ignores_the_graph(qtbot):
    g, n = circuit()
    scene = GraphScene(g, QUndoStack())
    scene.detach()
    g.add("relu", ui={"x": 0, "y": 0})
    assert len(scene.node_items()) == 9
    assert len(g.node_added) == 0


def test_unknown_op_node_is_drawn_with_its_wires(qtbot):
    text = gc.dumps(circuit()[0]).replace('"op": "max"', '"op": "fancy_future_op"')
    g = gc.loads(text)
    scene = GraphScene(g, QUndoStack())
    m = g.find("m")
    item = scene.node_item(m)
    assert set(item.inputs) == {"a", "b"} and "unknown op" in item.toolTip()
    assert len(scene.edge_items()) == 8
    assert any("unknown op" in p for p in item.problems)
    scene.detach()


def test_empty_graph_shows_a_hint_until_a_node_arrives(qtbot):
    g = gc.Graph()
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()

    def text_pixels():
        img = view.viewport().grab().toImage()
        pal = items.palette()
        bg = pal.color("background").name()
        row = img.height() // 2
        return sum(img.pixelColor(x, row + dy).name() not in (bg, pal.grid_minor, pal.grid_major)
                   for x in range(img.width()) for dy in (-3, 0, 3))

    assert text_pixels() > 20
    scene.add_node("relu", QPointF(2000, 2000))  # off screen: only the hint could change the middle row
    assert text_pixels() == 0
    stack.undo()
    assert text_pixels() > 20
    scene.detach()


def test_hover_marks_ports_and_wires(editor):
    g, n, scene, view, stack, msgs = editor
    port = scene.node_item(n["s"]).inputs["a"]
    send_mouse(view, QEvent.Type.MouseMove, port.scene_center(), NOB, NOB)
    assert port.hovered
    wire = scene.edge_item((n["f"], "b"))
    send_mouse(view, QEvent.Type.MouseMove, wire.path().pointAtPercent(0.5), NOB, NOB)
    assert wire.hovered and not port.hovered
