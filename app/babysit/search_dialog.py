"""The Search dialog ("searchDialog"): a random search of the learning rate and the regularisation
strength, log-uniform, coarse then fine, with the trials filling a sortable table as they finish.

It holds the search's options and shows its trials; graphcore.train.search runs it (threads.SearchThread,
trials in local worker processes or on the Dask scheduler the address field names). Stop cancels the
trials not yet finished; "Apply best" hands the best trial to the owner (attach.BabysitView), which
applies it to the document as one undo step.
"""
from __future__ import annotations

import math
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from graphcore.numfmt import fmt_number
from graphcore.train.search import best_of

COLUMNS = ("#", "Stage", "Learning rate", "λ", "Val. acc.", "Val. loss", "Train acc.", "Status")
BEST_BRUSH = QBrush(QColor(46, 125, 50, 90))


class NumberItem(QTableWidgetItem):
    """A cell shown formatted but sorted by its number (missing values sort last)."""

    def __init__(self, value, text: str) -> None:
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:  # noqa: D401 (Qt name)
        if not isinstance(other, NumberItem):
            return super().__lt__(other)
        a = self.value if isinstance(self.value, (int, float)) and math.isfinite(self.value) else math.inf
        b = other.value if isinstance(other.value, (int, float)) and math.isfinite(other.value) else math.inf
        return a < b


class SciSpinBox(QDoubleSpinBox):
    """A positive number typed and shown as 1e-04, 0.003 or 1 (the ranges span decades); the arrows
    step by a factor of 10**0.5, as a log-uniform search thinks."""

    def __init__(self, lo: float, hi: float, value: float, name: str) -> None:
        super().__init__()
        self.setDecimals(12)
        self.setRange(lo, hi)
        self.setValue(value)
        self.setObjectName(name)
        self.setKeyboardTracking(False)
        self.setMinimumWidth(96)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt name)
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt name)
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        from PySide6.QtGui import QValidator

        t = text.strip()
        try:
            v = float(t)
        except ValueError:
            ok = t == "" or all(c in "0123456789.eE+-" for c in t)
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        good = self.minimum() <= v <= self.maximum()
        return (QValidator.State.Acceptable if good else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt name)
        self.setValue(self.value() * 10 ** (0.5 * steps))


def _spin_log(lo: float, hi: float, value: float, name: str) -> SciSpinBox:
    return SciSpinBox(lo, hi, value, name)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


class SearchDialog(QDialog):
    start_requested = Signal(dict)  # the options; the owner starts a SearchThread and calls `show_run`
    apply_requested = Signal(dict)  # the best trial

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("searchDialog")
        self.setWindowTitle("Hyperparameter search")
        self.setModal(False)
        lay = QVBoxLayout(self)
        box = QGroupBox("Random search, log-uniform (the notes: random beats a grid; coarse, then fine)")
        form = QFormLayout(box)
        lr = QHBoxLayout()
        self.lr_min = _spin_log(1e-8, 1e4, 1e-4, "searchLrMin")
        self.lr_max = _spin_log(1e-8, 1e4, 1.0, "searchLrMax")
        lr.addWidget(self.lr_min)
        lr.addWidget(QLabel("to"))
        lr.addWidget(self.lr_max)
        lr.addStretch(1)
        form.addRow("Learning rate", lr)
        reg = QHBoxLayout()
        self.reg_min = _spin_log(1e-8, 100.0, 1e-5, "searchRegMin")
        self.reg_max = _spin_log(1e-8, 100.0, 0.1, "searchRegMax")
        reg.addWidget(self.reg_min)
        reg.addWidget(QLabel("to"))
        reg.addWidget(self.reg_max)
        reg.addStretch(1)
        form.addRow("Regularisation λ", reg)
        runs = QHBoxLayout()
        self.trials_spin = QSpinBox()
        self.trials_spin.setObjectName("searchTrials")
        self.trials_spin.setRange(1, 1000)
        self.trials_spin.setValue(8)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setObjectName("searchEpochs")
        self.epochs_spin.setRange(0, 100000)
        self.epochs_spin.setSpecialValueText("auto")  # 0: graphcore.train.search.trial_epochs decides
        self.epochs_spin.setValue(0)
        self.epochs_spin.setToolTip("Epochs each trial trains. auto: enough for about 1,000 optimizer steps (a "
                                    "full-batch epoch is one step), at most half the Train panel's epochs")
        runs.addWidget(self.trials_spin)
        runs.addWidget(QLabel("trials per stage, each"))
        runs.addWidget(self.epochs_spin)
        runs.addWidget(QLabel("epochs"))
        runs.addStretch(1)
        form.addRow("Trials", runs)
        self.fine_check = QCheckBox("Coarse, then fine (a second stage within ±0.5 decades of the best)")
        self.fine_check.setObjectName("searchFine")
        self.fine_check.setChecked(True)
        form.addRow("", self.fine_check)
        self.workers_spin = QSpinBox()
        self.workers_spin.setObjectName("searchWorkers")
        self.workers_spin.setRange(1, 256)
        self.workers_spin.setValue(max(1, (os.cpu_count() or 2)))
        self.workers_spin.setMaximumWidth(96)
        form.addRow("Worker processes", self.workers_spin)
        self.dask_edit = QLineEdit()
        self.dask_edit.setObjectName("searchDaskAddress")
        self.dask_edit.setPlaceholderText("empty = local processes; or tcp://host:8786")
        self.dask_edit.setToolTip('Run the trials on an existing Dask cluster (needs pip install '
                                  '"backprop-studio[distributed]"); data files must be at the same paths there')
        form.addRow("Dask scheduler address", self.dask_edit)
        lay.addWidget(box)

        row = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("searchStartButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("searchStopButton")
        self.stop_button.setEnabled(False)
        self.apply_button = QPushButton("Apply best")
        self.apply_button.setObjectName("searchApplyBestButton")
        self.apply_button.setToolTip("Set the Train panel's learning rate and the graph's λ to the best trial's "
                                     "(one undo step)")
        self.apply_button.setEnabled(False)
        for b in (self.start_button, self.stop_button, self.apply_button):
            row.addWidget(b)
        row.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("searchCloseButton")
        row.addWidget(self.close_button)
        lay.addLayout(row)
        self.status = QLabel("")
        self.status.setObjectName("searchStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("searchTrialsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(True)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # every column in view, no sideways scroll
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.table, 1)

        self.trials: list[dict] = []
        self.best: dict | None = None
        self.thread = None
        self.start_button.clicked.connect(self._start)
        self.stop_button.clicked.connect(self.stop)
        self.apply_button.clicked.connect(lambda: self.best is not None and self.apply_requested.emit(dict(self.best)))
        self.close_button.clicked.connect(self.close)
        self.resize(760, 560)

    # ---------------------------------------------------------------- options
    def options(self) -> dict:
        """The search's settings; ValueError naming the field when a range is upside down."""
        if self.lr_min.value() >= self.lr_max.value():
            raise ValueError("the learning rate's range is empty: its minimum must be below its maximum")
        if self.reg_min.value() >= self.reg_max.value():
            raise ValueError("the regularisation's range is empty: its minimum must be below its maximum")
        return {"lr_range": (self.lr_min.value(), self.lr_max.value()),
                "reg_range": (self.reg_min.value(), self.reg_max.value()),
                "trials": self.trials_spin.value(), "epochs": self.epochs_spin.value(),
                "fine": self.fine_check.isChecked(), "workers": self.workers_spin.value(),
                "dask": self.dask_edit.text().strip() or None}

    def _start(self) -> None:
        try:
            opts = self.options()
        except ValueError as exc:
            self.status.setText(f"Cannot start: {exc}.")
            return
        self.start_requested.emit(opts)

    # ---------------------------------------------------------------- a run
    def is_running(self) -> bool:
        return self.thread is not None

    def show_run(self, thread, where: str) -> None:
        """Follow `thread` (a SearchThread, not yet started): each trial is a row as it finishes."""
        self.stop()
        self.clear()
        self.thread = thread
        thread.trial.connect(self.add_trial)
        thread.stage.connect(self._on_stage)
        thread.finished_with.connect(self._on_finished)
        self._set_running(True)
        self._where = where
        self.status.setText(f"Searching on {where}…")
        thread.start()

    def stop(self) -> None:
        t = self.thread
        if t is None:
            return
        for sig, slot in ((t.trial, self.add_trial), (t.stage, self._on_stage), (t.finished_with, self._on_finished)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        t.request_stop()
        t.wait(15000)
        self.thread = None
        self._set_running(False)
        self.status.setText(f"Stopped after {len(self.trials)} trials; the rest were cancelled.")

    def clear(self) -> None:
        self.trials.clear()
        self.best = None
        self.table.setRowCount(0)
        self.apply_button.setEnabled(False)
        if self.thread is None:
            self.status.setText("")

    def _set_running(self, on: bool) -> None:
        self.start_button.setEnabled(not on)
        self.stop_button.setEnabled(on)
        for w in (self.lr_min, self.lr_max, self.reg_min, self.reg_max, self.trials_spin, self.epochs_spin,
                  self.fine_check, self.workers_spin, self.dask_edit):
            w.setEnabled(not on)

    def add_trial(self, t: dict) -> None:
        self.trials.append(t)
        table = self.table
        table.setSortingEnabled(False)  # insert a whole row, then sort once
        r = table.rowCount()
        table.insertRow(r)
        cells = [NumberItem(len(self.trials), str(len(self.trials))), QTableWidgetItem(t["stage"]),
                 NumberItem(t["lr"], fmt_number(t["lr"])), NumberItem(t["reg"], fmt_number(t["reg"])),
                 NumberItem(t.get("val_acc"), _pct(t.get("val_acc"))),
                 NumberItem(t.get("val_loss"), "–" if t.get("val_loss") is None else fmt_number(t["val_loss"])),
                 NumberItem(t.get("train_acc"), _pct(t.get("train_acc"))), QTableWidgetItem(t.get("status", ""))]
        cells[0].setData(Qt.ItemDataRole.UserRole, len(self.trials) - 1)
        for c, item in enumerate(cells):
            table.setItem(r, c, item)
        table.setSortingEnabled(True)
        self._mark_best()
        self.status.setText(f"{len(self.trials)} trials finished; best so far: " + self._best_text())

    def _best_text(self) -> str:
        b = self.best
        if b is None:
            return "–"
        return f"lr {fmt_number(b['lr'])}, λ {fmt_number(b['reg'])} (val. accuracy {_pct(b.get('val_acc'))})"

    def best_row(self) -> int:
        """The table row (as sorted now) of the best trial, or -1."""
        if self.best is None:
            return -1
        i = self.trials.index(self.best)
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == i:
                return r
        return -1

    def _mark_best(self) -> None:
        self.best = best_of(self.trials)
        best = self.best_row()
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                item.setBackground(BEST_BRUSH if r == best else QBrush())
                item.setFont(bold if r == best else self.table.font())
        self.apply_button.setEnabled(self.best is not None and self.best.get("val_acc") is not None)

    def _on_stage(self, text: str) -> None:
        if text.endswith("epochs per trial") and not self.trials:  # the length "auto" chose, before any trial
            self.status.setText(f"Searching on {getattr(self, '_where', 'worker processes')}, {text}…")
        elif text.startswith("coarse:"):
            self.status.setText(f"Coarse stage done ({len(self.trials)} trials); the fine stage searches around "
                                "the best…")

    def _on_finished(self, result) -> None:
        self.thread = None
        self._set_running(False)
        if isinstance(result, str):
            self.status.setText(f"The search could not run: {result}")
            return
        what = "Stopped" if result.get("stopped") else "Done"
        self.status.setText(f"{what}: {len(self.trials)} trials; best " + self._best_text())

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.stop()
        super().closeEvent(event)
