"""The palette dock: every op by category, filter, tooltips, drag mime, double-click signal."""
import pytest
from PySide6.QtCore import Qt

from graphcore import registry

from app.palette import MIME_OP, OP_ROLE, PaletteDock


@pytest.fixture
def dock(qtbot):
    d = PaletteDock()
    qtbot.addWidget(d)
    return d


def test_every_op_is_listed_once_under_its_category(dock):
    listed = {}
    for i in range(dock.tree.topLevelItemCount()):
        group = dock.tree.topLevelItem(i)
        cat = group.data(0, Qt.ItemDataRole.UserRole + 1)
        for j in range(group.childCount()):
            op = group.child(j).data(0, OP_ROLE)
            assert op not in listed
            listed[op] = cat
    assert listed == {name: spec.category for name, spec in registry.ops().items()}
    assert dock.objectName() == "paletteDock"


def test_tooltips_come_from_the_registry(dock):
    for item in dock.op_items():
        spec = registry.get(item.data(0, OP_ROLE))
        assert item.toolTip(0) == spec.tooltip()
        assert "Gradient:" in item.toolTip(0)


def test_filter_hides_non_matching_ops_and_empty_groups(dock, qtbot):
    qtbot.keyClicks(dock.filter, "rel")
    visible = dock.visible_ops()
    assert "relu" in visible and "leaky_relu" in visible
    assert "add" not in visible and "input" not in visible
    groups_shown = [dock.tree.topLevelItem(i).text(0) for i in range(dock.tree.topLevelItemCount())
                    if not dock.tree.topLevelItem(i).isHidden()]
    assert groups_shown == ["Activations"]
    dock.filter.clear()
    assert sorted(dock.visible_ops()) == sorted(registry.ops())


def test_filter_by_category_name_and_no_match(dock):
    dock.filter.setText("gates")
    assert set(dock.visible_ops()) == {s.name for s in registry.by_category()["gates"]}
    dock.filter.setText("zzzz-nothing")
    assert dock.visible_ops() == []


def test_double_click_and_enter_emit_the_op(dock, qtbot):
    item = dock.item_for("relu")
    with qtbot.waitSignal(dock.op_activated, timeout=1000) as sig:
        dock.tree.itemActivated.emit(item, 0)
    assert sig.args == ["relu"]
    dock.filter.setText("sigm")
    with qtbot.waitSignal(dock.op_activated, timeout=1000) as sig:
        qtbot.keyClick(dock.filter, Qt.Key.Key_Return)
    assert sig.args == ["sigmoid"]


def test_double_click_on_a_category_emits_nothing(dock, qtbot):
    seen = []
    dock.op_activated.connect(seen.append)
    dock.tree.itemActivated.emit(dock.tree.topLevelItem(0), 0)
    assert seen == []


def test_drag_carries_the_op_mime(dock, monkeypatch):
    captured = {}

    class FakeDrag:
        def __init__(self, source):
            pass

        def setMimeData(self, mime):
            captured["mime"] = mime

        def exec(self, *a):
            return Qt.DropAction.CopyAction

    monkeypatch.setattr("app.palette.QDrag", FakeDrag)
    dock.tree.setCurrentItem(dock.item_for("mul"))
    dock.tree.startDrag(Qt.DropAction.CopyAction)
    mime = captured["mime"]
    assert bytes(mime.data(MIME_OP)).decode() == "mul"
    assert mime.text() == "mul"


def test_wrap_name_breaks_only_after_underscores():
    from app.palette import wrap_name

    assert wrap_name("softmax_cross_entropy", 100, len) == ["softmax_cross_entropy"]
    assert wrap_name("softmax_cross_entropy", 14, len) == ["softmax_cross_", "entropy"]
    assert wrap_name("softmax_cross_entropy", 3, len) == ["softmax_", "cross_", "entropy"]  # chunks stay whole
    assert wrap_name("sigmoid", 3, len) == ["sigmoid"]


def test_symbols_show_when_the_names_fit_beside_them_and_long_names_wrap(dock, qtbot):
    dock.resize(420, 600)
    dock.show()
    qtbot.waitUntil(lambda: dock.tree.viewport().width() > 300, timeout=3000)
    assert not dock.tree.isColumnHidden(1)
    assert all("\n" not in it.text(0) for it in dock.op_items())
    assert dock.item_for("mul").text(1) == "*"
    dock.resize(140, 600)
    qtbot.waitUntil(lambda: dock.tree.isColumnHidden(1), timeout=3000)  # no room: names first
    wrapped = dock.item_for("softmax_cross_entropy").text(0)
    assert "\n" in wrapped and wrapped.replace("\n", "") == "softmax_cross_entropy"
    assert dock.item_for("relu").text(0) == "relu"
    dock.filter.setText("soft")  # the filter and drags go by the op name, not the wrapped text
    assert "softmax_cross_entropy" in dock.visible_ops()
