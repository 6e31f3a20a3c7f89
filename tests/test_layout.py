"""Canvas first: the graph view keeps at least 60% of the window's width and height at 1280x720,
through New/Open/Examples, resizes and Reset layout; a saved layout that would crush it is not
restored; panels belong to their document; the training lock and the Train dock's file checks."""
import os

import pytest
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMessageBox

import app
from app import settings as app_settings
from app import window_layout
from app.main_window import EXAMPLES_DIR, STATE_VERSION, example_files

B = QMessageBox.StandardButton
CIRCUIT = os.path.join(EXAMPLES_DIR, "cs231n_circuit.json")
SPIRAL = os.path.join(EXAMPLES_DIR, "spiral_2layer.json")


@pytest.fixture(autouse=True)
def no_dialogs(monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: B.Discard)
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: B.Ok)


def settle(qtbot, ms=60):
    qtbot.wait(ms)


def make_window(qtbot, size=(1280, 720)):
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitUntil(lambda: getattr(w, "train_controller", None) is not None, timeout=5000)
    qtbot.waitUntil(lambda: not getattr(w, "_layout_unchecked", False), timeout=5000)
    settle(qtbot, 150)
    return w


def share(w):
    return window_layout.canvas_share(w)


def assert_canvas_first(w):
    fw, fh = share(w)
    assert fw >= 0.6 and fh >= 0.6, f"canvas {w.view.width()}x{w.view.height()} in {w.width()}x{w.height()}"


@pytest.fixture
def win(qtbot):
    return make_window(qtbot)


def test_default_layout_at_1280x720_gives_the_canvas_its_share(win):
    assert win.centralWidget() is win.canvas_host and win.view.parent() is win.canvas_host
    assert_canvas_first(win)
    sizes = window_layout.column_sizes(win)
    assert sizes[window_layout.LEFT] >= 120 and sizes[window_layout.RIGHT] >= 300  # docks usable, not slivers


def test_new_open_and_examples_ten_times_each_keep_the_layout(win, qtbot):
    before = (win.view.size(), window_layout.column_sizes(win))
    host = win.canvas_host
    files = example_files()
    for i in range(10):
        win.new_file()
        settle(qtbot, 10)
        assert win.open_file(CIRCUIT)
        settle(qtbot, 10)
        assert win.open_example(files[i % len(files)])
        settle(qtbot, 20)
        assert_canvas_first(win)
    settle(qtbot)
    assert win.centralWidget() is host
    assert (win.view.size(), window_layout.column_sizes(win)) == before


def test_shrinking_to_800x600_and_back_recovers(win, qtbot):
    before = window_layout.column_sizes(win)
    win.resize(800, 600)
    settle(qtbot, 120)
    win.resize(1280, 720)
    settle(qtbot, 120)
    assert_canvas_first(win)
    after = window_layout.column_sizes(win)
    for area, px in before.items():
        assert abs(after[area] - px) <= 6, (area, px, after[area])  # not left crushed


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_other_sizes_keep_the_share(win, qtbot, size):
    win.resize(*size)
    settle(qtbot, 120)
    assert_canvas_first(win)


def test_loss_and_accuracy_are_readable_at_1280x720_and_the_rest_one_click_away(win, qtbot):
    """The default layout at 1280x720 with the plots raised (as a run raises them): loss and accuracy
    side by side with curves a student can read; another plot is one toggle away; hidden plots are
    neither laid out nor painted."""
    plots = win.train_view.plots_dock
    win.train_view._show_run(True)
    settle(qtbot, 80)
    assert_canvas_first(win)
    assert plots.visible_plots() == ["loss", "acc"]
    for key in ("loss", "acc"):
        box = plots.plots[key].vb.size()
        assert box.width() >= 300 and box.height() >= 60, (key, box)  # was about 60x5 in one row of six
    for key in ("lr", "grad", "ratio", "units"):
        assert not plots.plots[key].isVisible()
    plots.plot_buttons["grad"].click()
    settle(qtbot, 40)
    assert plots.visible_plots() == ["loss", "acc", "grad"] and plots.plots["grad"].isVisible()
    assert plots.plots["grad"].vb.size().height() >= 60
    plots.plot_buttons["grad"].click()
    settle(qtbot, 40)
    assert not plots.plots["grad"].isVisible() and plots.plots["loss"].vb.size().width() >= 300


def test_the_plot_controls_fit_the_title_row_at_1280x720(win, qtbot):
    plots = win.train_view.plots_dock
    win.train_view._show_run(True)
    settle(qtbot, 80)
    bar = plots.titleBarWidget()
    for widget in (*plots.plot_buttons.values(), plots.log_check, plots.smooth_spin, plots.keep_button,
                   plots.clear_button):
        right = widget.mapTo(bar, widget.rect().topRight()).x()
        assert widget.isVisible() and right <= plots.findChild(type(bar), "plotsFloatButton").x(), widget


def test_reset_layout_restores_the_default(win, qtbot):
    default = (win.view.size(), window_layout.column_sizes(win))
    win.palette_dock.hide()
    win.problems_dock.setFloating(True)
    win.resizeDocks([win.inspector_dock], [700], window_layout.Qt.Orientation.Horizontal)
    settle(qtbot)
    assert win.view.width() < default[0].width()
    act = win.findChild(type(win.actionNew), "actionResetLayout")
    assert act is not None and act in win.menus["view"].actions()
    act.trigger()
    settle(qtbot, 120)
    assert win.palette_dock.isVisible() and not win.problems_dock.isFloating()
    assert (win.view.size(), window_layout.column_sizes(win)) == default


def test_a_saved_layout_that_crushes_the_canvas_is_not_restored(qtbot):
    w = make_window(qtbot)
    w.resizeDocks([w.inspector_dock, w.palette_dock], [560, 400], window_layout.Qt.Orientation.Horizontal)
    settle(qtbot)
    assert share(w)[0] < 0.6
    w.history_dock.hide()
    w.save_settings()
    w.close()
    w2 = make_window(qtbot)
    assert_canvas_first(w2)
    assert w2.history_dock.isVisible()  # the whole default, not half of the saved one
    # a version-1 layout (which could hold the collapsed canvas) is ignored outright
    app_settings.settings().setValue("window/state", w2.saveState(1))
    assert STATE_VERSION > 1 and not w2.restoreState(app_settings.settings().value("window/state"), STATE_VERSION)


def test_a_saved_layout_that_fits_is_restored(qtbot):
    w = make_window(qtbot)
    w.history_dock.hide()
    settle(qtbot)
    assert_canvas_first(w)
    w.save_settings()
    w.close()
    w2 = make_window(qtbot)
    assert not w2.history_dock.isVisible()
    assert_canvas_first(w2)


# ---------------------------------------------------------------- panels belong to the document
def test_opening_a_second_graph_clears_the_first_ones_panels(win, qtbot):
    ctl = win.train_controller
    assert win.open_example(SPIRAL)
    assert ctl.train()
    qtbot.waitUntil(lambda: ctl.thread is not None and ctl.thread.steps_done > 5, timeout=20000)
    qtbot.waitUntil(lambda: ctl.boundary.updates > 0 and bool(ctl.plots.history.series), timeout=20000)
    boundary = ctl.boundary
    boundary.tabs.setCurrentIndex(0)
    qtbot.wait(50)
    shown = boundary.image.mapRectToScene(boundary.image.boundingRect())
    assert round(shown.width()) >= 300 and round(shown.height()) >= 300, shown  # at 1280x720, in the default layout
    (vx0, vx1), (vy0, vy1) = boundary.plot.vb.viewRange()
    x0, x1, y0, y1 = boundary._bounds
    assert vx0 <= x0 + 1e-9 and vx1 >= x1 - 1e-9 and vy0 <= y0 + 1e-9 and vy1 >= y1 - 1e-9
    assert max(vx1 - vx0 - (x1 - x0), vy1 - vy0 - (y1 - y0)) <= 0.3 * max(x1 - x0, y1 - y0)  # fitted
    ctl.stop()
    qtbot.waitUntil(lambda: not ctl.is_running(), timeout=15000)
    win.train_view.plots_dock.refresh(everything=True)
    assert any(c.xData is not None and len(c.xData) for c in ctl.plots.curves("loss"))
    assert ctl.dock.status.text()
    assert win.open_file(CIRCUIT)
    settle(qtbot)
    assert not ctl.plots.history.series and not ctl.plots.kept
    assert all(c.xData is None or len(c.xData) == 0 for c in ctl.plots.curves("loss"))
    assert ctl.boundary.last_image is None and ctl.boundary._latest is None and not ctl.boundary._hist_curves
    assert ctl.dock.status.text() == "" and ctl.last_result is None
    assert "Training" not in win.statusBar().currentMessage()


def test_what_the_net_sees_hides_for_a_circuit_and_its_room_goes_to_the_panels_above(win, qtbot):
    # docks are shown, hidden and resized over a few event-loop turns: wait for the state, not a fixed time
    def eventually(cond):
        qtbot.waitUntil(cond, timeout=5000)

    boundary = win.train_view.boundary_dock
    assert win.open_file(SPIRAL)
    eventually(lambda: boundary.isVisible() and boundary.height() >= 300)  # a graph with a training set shows it
    settle(qtbot, 120)
    inspector_h = win.inspector_dock.height()
    view = win.view.size()
    assert win.open_file(CIRCUIT)  # a circuit has no data set: nothing to show, so it hides
    eventually(lambda: not boundary.isVisible())
    eventually(lambda: win.inspector_dock.height() > inspector_h + 200)  # its room goes to the Inspector/Train tabs
    eventually(lambda: win.view.size() == view and window_layout.state_fits(win))  # the canvas keeps its place
    win.findChild(type(win.actionNew), "actionResetLayout").trigger()  # Reset layout keeps the rule
    settle(qtbot, 120)
    assert not boundary.isVisible()
    assert win.open_file(SPIRAL)  # and a graph that trains brings it back, at its size
    eventually(lambda: boundary.isVisible() and boundary.height() >= 300)
    eventually(lambda: win.inspector_dock.height() == inspector_h)


def test_what_the_net_sees_closed_by_the_person_stays_closed(win, qtbot):
    boundary = win.train_view.boundary_dock
    assert win.open_file(SPIRAL)
    settle(qtbot)
    boundary.toggleViewAction().trigger()  # the person closes it (View or Train menu)
    settle(qtbot)
    for path in (CIRCUIT, SPIRAL):
        assert win.open_file(path)
        settle(qtbot)
        assert not boundary.isVisible(), path
    boundary.toggleViewAction().trigger()  # and opens it again: the document rule applies again
    settle(qtbot)
    assert boundary.isVisible()
    assert win.open_file(CIRCUIT)
    settle(qtbot)
    assert not boundary.isVisible()
    boundary.toggleViewAction().trigger()  # wanted for a circuit too: shown, and kept for this one
    settle(qtbot)
    assert boundary.isVisible()


def test_bad_meta_training_is_reported_with_its_path_and_not_half_applied(win, qtbot, tmp_path):
    import json

    dock = win.train_controller.dock
    with open(SPIRAL, encoding="utf-8") as f:
        doc = json.load(f)
    good = dict(doc["meta"]["training"], seed=777)
    doc["meta"]["training"] = dict(good, batch_size="big")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    doc["meta"]["training"] = dict(good, optimizer=dict(good.get("optimizer") or {}, kind="sgd", lr=1e6))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(doc))
    doc["meta"]["training"] = good
    fine = tmp_path / "fine.json"
    fine.write_text(json.dumps(doc))

    assert win.open_file(str(fine))
    assert dock.seed_spin.value() == 777 and dock.status.text() == ""
    assert win.open_file(str(bad))
    assert "meta.training.batch_size" in dock.status.text()
    assert dock.seed_spin.value() == 0  # the defaults, not seed 777 from the last file or half of this one
    assert win.open_file(str(huge))
    text = dock.status.text()
    assert "meta.training.optimizer.lr" in text and "1e+06" in text
    assert dock.lr_spin.value() != dock.lr_spin.maximum()  # not silently clamped to 1e4
    assert "meta.training.optimizer.lr" in win.statusBar().currentMessage()


# ---------------------------------------------------------------- the training lock
def test_training_lock_shows_the_banner_and_refuses_edits(win, qtbot):
    assert win.open_file(CIRCUIT)
    g = win.document.graph
    before = g.copy()
    count = win.document.undo_stack.count()
    win.set_training_lock(True)
    assert win.canvas_host.banner.isVisible()
    assert "Stop to edit the graph" in win.canvas_host.banner_label.text()
    nid = next(i for i, n in g.nodes.items() if n.name == "xy")
    win.scene.select_ids([nid])
    assert win.scene.delete_selected() is False
    assert g == before and win.document.undo_stack.count() == count
    assert "Stop to edit the graph" in win.statusBar().currentMessage()
    assert win.scene.add_node("relu", (0, 0)) is None and g == before
    assert not win.actionUndo.isEnabled()
    assert win.scene.rename_node(nid, "product")  # names and positions are not what training reads
    stopped = []
    win.train_controller.stop = lambda: stopped.append(True)
    win.canvas_host.stop_button.click()
    assert stopped
    win.set_training_lock(False)
    assert not win.canvas_host.banner.isVisible()
    assert win.scene.delete_selected() is True


def test_a_run_locks_the_graph_until_it_ends(win, qtbot):
    ctl = win.train_controller
    assert win.open_example(SPIRAL)
    assert ctl.train()
    assert win.canvas_host.banner.isVisible() and win.training_locked
    win.canvas_host.stop_button.click()
    qtbot.waitUntil(lambda: not ctl.is_running(), timeout=20000)
    assert not win.canvas_host.banner.isVisible() and not win.training_locked
    assert "were not copied" not in ctl.dock.status.text()


@pytest.mark.slow
def test_digits_thumbnails_and_every_filter_are_readable_at_1280x720(win, qtbot):
    ctl = win.train_controller
    assert win.open_example(os.path.join(EXAMPLES_DIR, "digits_cnn.json"))
    assert ctl.train()
    b = ctl.boundary
    qtbot.waitUntil(lambda: b.updates > 0 and bool(b._sample_boxes), timeout=60000)
    ctl.stop()
    qtbot.waitUntil(lambda: not ctl.is_running(), timeout=30000)
    qtbot.wait(100)
    snap = b._latest
    assert len(b._filter_boxes) == len(snap["filters"])  # every first-layer filter has its box
    view = b.output_view.rect()
    for vb, img, lab in b._sample_boxes:
        r = img.mapRectToScene(img.boundingRect())
        assert min(r.width(), r.height()) >= 48, r
        assert "/" in lab.text  # predicted / true
    for vb, img in b._filter_boxes:
        r = img.mapRectToScene(img.boundingRect())
        assert r.width() >= 20 and view.contains(r.toRect().center()), r


def _text_width(tree, item, column=0):
    """The width the style gives an item's text in `tree`: its cell less indentation, icon and padding."""
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    opt = QStyleOptionViewItem()
    opt.initFrom(tree)
    opt.rect = tree.visualRect(tree.indexFromItem(item, column))
    opt.font = item.font(column)
    opt.text = item.text(column)
    opt.features = QStyleOptionViewItem.ViewItemFeature.HasDisplay
    if not item.icon(column).isNull():
        opt.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
        opt.icon = item.icon(column)
        small = tree.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize, None, tree)
        opt.decorationSize = tree.iconSize() if tree.iconSize().isValid() else QSize(small, small)
    return tree.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, tree).width()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_palette_names_are_not_elided(size, qtbot):
    from PySide6.QtGui import QFontMetrics

    from app.palette import OP_ROLE, PaletteDock

    win = make_window(qtbot, size)  # at 1920 the symbol column fitted with 0 px to spare: "cross_entro…"
    palette = win.findChild(PaletteDock, "paletteDock")
    tree = palette.tree
    groups = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    for group in groups:  # the category titles, bold, after their colour dot
        assert QFontMetrics(group.font(0)).horizontalAdvance(group.text(0)) <= _text_width(tree, group), group.text(0)
    items = palette.op_items()
    assert len(items) > 30
    fm = tree.fontMetrics()
    for item in items:
        lines = item.text(0).split("\n")
        assert "".join(lines) == item.data(0, OP_ROLE)  # wrapped, never shortened
        for line in lines:
            assert fm.horizontalAdvance(line) <= _text_width(tree, item), (line, _text_width(tree, item))
        assert tree.visualItemRect(item).height() >= len(lines) * fm.lineSpacing(), item.text(0)
        if not tree.isColumnHidden(1) and item.text(1):
            assert fm.horizontalAdvance(item.text(1)) <= _text_width(tree, item, 1), item.text(1)
    assert_canvas_first(win)


def test_train_dock_buttons_and_status_are_not_cut_at_1280x720(win, qtbot):
    from PySide6.QtWidgets import QAbstractButton

    dock = win.train_controller.dock
    dock.raise_()
    dock.set_status("Training finished after 200 epochs (1600 steps): train loss 0.271, train acc 0.975, "
                    "val loss 0.278, val acc 0.950")
    dock.show_progress(200, 200, 1600, 1600)
    settle(qtbot, 80)
    scroll = dock.widget()
    viewport = scroll.viewport()
    assert scroll.horizontalScrollBar().maximum() == 0  # the form fits the dock's width: nothing scrolled off
    buttons = [b for b in dock.findChildren(QAbstractButton) if b.isVisible() and b.text()]
    names = {b.objectName() for b in buttons}
    assert {"trainButton", "pauseButton", "stepEpochButton", "stopButton", "importDataButton"} <= names
    for b in buttons:
        text = b.text().replace("&", "")
        assert fm_fits(b, text), (b.objectName(), text, b.width())
        right = b.mapTo(viewport, b.rect().topRight()).x()
        assert right < viewport.width(), (b.objectName(), right, viewport.width())
    for label in (dock.status, dock.counter):
        assert label.wordWrap()
        assert label.mapTo(viewport, label.rect().topRight()).x() < viewport.width()
        assert label.height() >= label.heightForWidth(label.width())  # tall enough for its wrapped lines
    assert_canvas_first(win)


def fm_fits(button, text):
    """The button is as wide as Qt asks for its text, and the text itself fits inside it."""
    return button.width() >= button.sizeHint().width() and button.fontMetrics().horizontalAdvance(text) < button.width()
