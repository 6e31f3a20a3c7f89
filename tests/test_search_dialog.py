"""The Search dialog (Train > Hyperparameter search…): trials fill a sortable table as they finish,
the best is highlighted, Stop cancels the rest, Apply best is one undo step, New clears it."""
from __future__ import annotations

import os
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

import app
from app.babysit.search_dialog import SciSpinBox
from app.main_window import EXAMPLES_DIR
from graphcore.train import search, trials

SPIRAL = os.path.join(EXAMPLES_DIR, "spiral_2layer.json")


@pytest.fixture
def numpy_kernels():
    """These tests run trials inline on the search's QThread (the app runs them in worker processes).
    numba does not promise that compiling on a second thread is safe while the GUI thread runs Python
    (a segfault was seen here, as in test_train_gui_lifecycle's inline tests): the numpy twins compile nothing."""
    from graphcore import kernels

    before = kernels.backend()
    kernels.use("numpy")
    yield
    kernels.use(before)


@pytest.fixture
def win(qtbot, monkeypatch, numpy_kernels):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitUntil(lambda: getattr(w, "train_view", None) is not None, timeout=5000)
    w.open_file(SPIRAL)
    bv = w.train_view.babysit
    bv.actionSearch.trigger()
    d = bv.dialog
    d.trials_spin.setValue(3)
    d.epochs_spin.setValue(2)
    yield w, bv, d
    d.stop()


class Gated(trials.InlineRunner):
    """Runs trials inline; after `hold_after` results it waits (for Stop) before the next."""

    def __init__(self, hold_after=None):
        self.hold_after = hold_after
        self.waiting = threading.Event()
        self.handed_out = 0

    def stream(self, jobs, stop=None):
        for job in jobs:
            if self.hold_after is not None and self.handed_out >= self.hold_after:
                self.waiting.set()
                while not stop():
                    threading.Event().wait(0.01)
            if stop():
                return
            self.handed_out += 1
            yield search.run_trial(job)


def rows(d) -> list[dict]:
    cols = {d.table.horizontalHeaderItem(c).text(): c for c in range(d.table.columnCount())}
    return [{k: d.table.item(r, c).text() for k, c in cols.items()} for r in range(d.table.rowCount())]


def test_trials_fill_the_table_as_they_finish_and_the_best_is_highlighted(win, qtbot):
    w, bv, d = win
    bv.runner_factory = Gated
    assert d.objectName() == "searchDialog" and d.isVisible()
    arrived = []
    d.table.model().rowsInserted.connect(lambda *a: arrived.append(d.table.rowCount()))
    qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not d.is_running(), timeout=60000)
    assert arrived == [1, 2, 3, 4, 5, 6]  # one row per finished trial, coarse then fine
    assert [t["stage"] for t in d.trials] == ["coarse"] * 3 + ["fine"] * 3
    assert d.status.text().startswith("Done: 6 trials")
    best = search.best_of(d.trials)  # the rule search itself ranks by
    r = d.best_row()
    assert rows(d)[r]["Stage"] == best["stage"]
    assert float(d.table.item(r, 2).value) == best["lr"] and d.table.item(r, 0).font().bold()
    assert not any(d.table.item(i, 0).font().bold() for i in range(6) if i != r)


def test_columns_sort_by_number_not_by_text(win, qtbot):
    w, bv, d = win
    for i, lr in enumerate((0.5, 2e-4, 0.03)):
        d.add_trial({"stage": "coarse", "index": i, "lr": lr, "reg": 1e-3, "status": "finished",
                     "val_acc": 0.5 + i / 10, "val_loss": 1.0, "train_acc": 0.6})
    d.table.sortItems(2, Qt.SortOrder.AscendingOrder)
    assert [d.table.item(r, 2).value for r in range(3)] == [2e-4, 0.03, 0.5]  # as text, "0.03" < "0.50" < "2.00e-04"
    d.table.sortItems(4, Qt.SortOrder.DescendingOrder)
    assert d.table.item(0, 4).text() == "70.0%" and d.best_row() == 0  # the best is found after sorting too


def test_stop_cancels_the_rest(win, qtbot):
    w, bv, d = win
    gate = Gated(hold_after=1)
    bv.runner_factory = lambda: gate
    d.start_button.click()
    qtbot.waitUntil(lambda: gate.waiting.is_set() and d.table.rowCount() == 1, timeout=60000)
    assert d.stop_button.isEnabled() and not d.start_button.isEnabled()
    qtbot.mouseClick(d.stop_button, Qt.MouseButton.LeftButton)
    assert not d.is_running() and d.table.rowCount() == 1 and gate.handed_out == 1
    assert d.status.text().startswith("Stopped after 1 trials")
    assert d.start_button.isEnabled()


def test_apply_best_is_one_undo_step(win, qtbot):
    w, bv, d = win
    graph = w.document.graph
    lr0, reg0 = bv.train_dock.lr_spin.value(), graph.nodes["n7"].params["strength"]
    d.add_trial({"stage": "fine", "index": 0, "lr": 0.0353, "reg": 2.5e-4, "status": "finished", "val_acc": 0.9,
                 "val_loss": 0.3, "train_acc": 0.95})
    d.add_trial({"stage": "fine", "index": 1, "lr": 0.5, "reg": 0.01, "status": "finished", "val_acc": 0.4,
                 "val_loss": 0.9, "train_acc": 0.45})
    qtbot.mouseClick(d.apply_button, Qt.MouseButton.LeftButton)
    assert bv.train_dock.lr_spin.value() == pytest.approx(0.0353)
    assert graph.nodes["n7"].params["strength"] == pytest.approx(2.5e-4)  # the graph's regulariser, via set_param
    assert bv.train_dock.reg_spin.value() == pytest.approx(2.5e-4)
    assert w.document.undo_stack.undoText().startswith("Apply search result")
    w.document.undo_stack.undo()
    assert bv.train_dock.lr_spin.value() == pytest.approx(lr0) and graph.nodes["n7"].params["strength"] == reg0


def test_bad_ranges_and_an_unreachable_scheduler_are_one_line(win, qtbot, monkeypatch):
    w, bv, d = win
    d.lr_min.setValue(0.5)
    d.lr_max.setValue(0.1)
    d.start_button.click()
    assert not d.is_running() and d.status.text().startswith("Cannot start: the learning rate's range is empty")
    d.lr_min.setValue(1e-3)
    monkeypatch.setattr(trials, "CONNECT_TIMEOUT", 0.5)
    d.dask_edit.setText("tcp://127.0.0.1:9")
    d.start_button.click()
    qtbot.waitUntil(lambda: not d.is_running(), timeout=30000)
    assert d.status.text().startswith("The search could not run: cannot reach the Dask scheduler at "
                                      "'tcp://127.0.0.1:9'")


def test_new_document_clears_the_trials(win):
    w, bv, d = win
    d.add_trial({"stage": "coarse", "index": 0, "lr": 0.1, "reg": 0.0, "status": "finished", "val_acc": 0.5,
                 "val_loss": 1.0, "train_acc": 0.5})
    assert d.apply_button.isEnabled()
    w.actionNew.trigger()
    assert d.table.rowCount() == 0 and d.best is None and not d.apply_button.isEnabled()


def test_log_spin_boxes_type_and_step_in_decades(qapp):
    s = SciSpinBox(1e-8, 1e4, 1e-4, "x")
    assert s.text() == "0.0001"
    s.lineEdit().setText("3e-6")
    s.interpretText()
    assert s.value() == pytest.approx(3e-6)
    s.setValue(1e-3)
    s.stepBy(2)
    assert s.value() == pytest.approx(1e-2)
