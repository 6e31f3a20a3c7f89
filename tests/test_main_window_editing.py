"""Editing through the main window: its docks (palette, inspector, problems), clipboard between windows,
edit actions, palette drags, snapping, rename, frame and auto layout."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit

import graphcore as gc

import app
from app import settings as app_settings
from main_window_helpers import CIRCUIT, add_node, isolated, win  # noqa: F401  (fixtures)


def test_refitting_the_graph_keeps_the_users_selection(win, qtbot):
    """The training view is built a moment after the window shows and then re-fits the graph to the
    smaller canvas; a node the user selected meanwhile stays selected (the re-fit used to clear it)."""
    assert win.open_file(CIRCUIT)
    xy = win.document.graph.find("xy")
    win._frame_all()
    before = win.view.transform().m11()
    win.scene.select_ids([xy])
    win.view.scale(3.0, 3.0)
    win._frame_all()
    assert win.scene.selected_ids() == [xy]
    assert win.view.transform().m11() == pytest.approx(before, rel=1e-6)  # the whole graph, as before


# ---------------------------------------------------------------- docks
def test_palette_double_click_adds_a_node(win, qtbot):
    item = win.palette_dock.item_for("relu")
    win.palette_dock.tree.itemActivated.emit(item, 0)
    ops = [n.op for n in win.document.graph.nodes.values()]
    assert ops == ["relu"]
    assert win.scene.selected_ids() == list(win.document.graph.nodes)
    assert win.inspector_dock.node_id == list(win.document.graph.nodes)[0]
    win.actionUndo.trigger()
    assert len(win.document.graph.nodes) == 0


def test_inspector_edit_is_undone_by_the_window(win, qtbot):
    win.open_example(CIRCUIT)
    g = win.document.graph
    x = g.find("x")
    win.scene.select_ids([x])
    assert win.inspector_dock.node_id == x
    edit = win.inspector_dock.findChild(QLineEdit, "valueText")
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "5")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert float(g.nodes[x].tensors["value"]) == 5.0 and win.document.modified
    assert win.undo_view.model().rowCount() == 2  # the opened state plus one step
    win.actionUndo.trigger()
    assert float(g.nodes[x].tensors["value"]) == 3.0 and not win.document.modified


def test_problems_dock_lists_and_centres(win, qtbot):
    nid = add_node(win, "relu", (2000, 1500))
    win.problems_dock.refresh()
    assert win.problems_dock.list.count() == 1
    item = win.problems_dock.list.item(0)
    assert "missing required input 'x'" in item.text()
    win.scene.clearSelection()
    win.problems_dock.list.itemClicked.emit(item)
    assert win.scene.selected_ids() == [nid]
    centre = win.view.mapToScene(win.view.viewport().rect().center())
    node_centre = win.scene.node_item(nid).sceneBoundingRect().center()
    assert abs(centre.x() - node_centre.x()) < 5 and abs(centre.y() - node_centre.y()) < 5


def test_problems_refresh_is_debounced_on_graph_changes(win, qtbot):
    add_node(win, "relu", (0, 0))
    qtbot.waitUntil(lambda: win.problems_dock.list.count() == 1, timeout=2000)
    win.actionUndo.trigger()
    qtbot.waitUntil(lambda: win.problems_dock.list.count() == 0, timeout=2000)


def test_copy_paste_between_windows(win, qtbot):
    win.open_example(CIRCUIT)
    g = win.document.graph
    win.scene.select_ids([g.find("x"), g.find("y"), g.find("xy")])
    win.actionCopy.trigger()
    assert '"backprop-studio-graph"' in QGuiApplication.clipboard().text()
    w2 = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w2)
    w2.actionPaste.trigger()
    g2 = w2.document.graph
    assert sorted(n.name for n in g2.nodes.values()) == ["x", "xy", "y"]
    assert len(g2.edges) == 2
    w2.actionUndo.trigger()
    assert len(g2.nodes) == 0


def test_cut_delete_duplicate_select_all(win):
    win.open_example(CIRCUIT)
    g = win.document.graph
    n = len(g.nodes)
    win.actionSelectAll.trigger()
    assert len(win.scene.selected_ids()) == n
    win.scene.select_ids([g.find("two")])
    win.actionDuplicate.trigger()
    assert len(g.nodes) == n + 1
    win.actionCut.trigger()
    assert len(g.nodes) == n
    win.scene.select_ids([g.find("f")])
    win.actionDelete.trigger()
    assert len(g.nodes) == n - 1
    for _ in range(3):
        win.actionUndo.trigger()
    assert g == gc.load(CIRCUIT)


def test_palette_drag_drops_a_node_where_released(win, qtbot, monkeypatch):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QDropEvent

    captured = {}

    class FakeDrag:
        def __init__(self, source):
            pass

        def setMimeData(self, mime):
            captured["mime"] = mime

        def exec(self, *a):
            return Qt.DropAction.CopyAction

    monkeypatch.setattr("app.palette.QDrag", FakeDrag)
    tree = win.palette_dock.tree
    tree.setCurrentItem(win.palette_dock.item_for("tanh"))
    tree.startDrag(Qt.DropAction.CopyAction)
    at = QPoint(300, 200)
    drop = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, captured["mime"], Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    win.view.dropEvent(drop)
    (node,) = win.document.graph.nodes.values()
    where = win.view.mapToScene(at)
    assert node.op == "tanh" and (node.ui["x"], node.ui["y"]) == (where.x(), where.y())


def test_snap_rename_frame_and_layout_actions(win, qtbot):
    win.actionSnap.trigger()
    assert win.scene.snap_to_grid is True
    nid = win.scene.add_node("relu", (13, 27))
    node = win.document.graph.nodes[nid]
    assert (node.ui["x"], node.ui["y"]) == (20, 20)
    assert app_settings.settings().value("snapToGrid") in (True, "true")
    win.scene.select_ids([nid])
    win.actionRename.trigger()
    editor = win.view.findChild(QLineEdit, "renameEditor")
    assert editor is not None and editor.text() == "relu1"
    editor.setText("act")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert node.name == "act"
    win.open_example(CIRCUIT)
    g = win.document.graph
    g.set_ui(g.find("f"), x=5000.0, y=5000.0)  # far away: the layout pulls it back in one undo step
    steps = win.document.undo_stack.count()
    win.actionAutoLayout.trigger()
    assert win.document.undo_stack.count() == steps + 1
    assert g.nodes[g.find("f")].ui["x"] < 5000
    win.scene.select_ids([g.find("x")])
    win.actionFrame.trigger()
    centre = win.view.mapToScene(win.view.viewport().rect().center())
    assert win.scene.node_item(g.find("x")).sceneBoundingRect().adjusted(-60, -60, 60, 60).contains(centre)
