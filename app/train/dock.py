"""The training dock ("trainDock"): what to train on and how, and the Train/Pause/Step epoch/Stop buttons.

The form is a view of plain training settings (graphcore.train.config.TrainConfig as
a dict, the graph file's meta.training): `load_settings` fills it, `settings()` reads it
back. It holds no numbers of its own beyond what the user typed, and runs nothing:
the TrainController listens to its actions.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from graphcore.init import DOCS as INIT_DOCS
from graphcore.init import INITIALIZERS
from graphcore.train import datasets, optim, schedules

from .datapaths import remember_data_path
from .form import AS_IN_GRAPH, HYPER, HYPER_LABELS, IMPORTED, TrainForm, _generator_keys

def _dspin(lo: float, hi: float, decimals: int, step: float, name: str) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setObjectName(name)
    s.setKeyboardTracking(False)
    return s


def _spin(lo: int, hi: int, name: str) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setObjectName(name)
    s.setKeyboardTracking(False)
    return s


class TrainDock(TrainForm, QDockWidget):
    """Training settings and controls (the form <-> settings mapping is TrainForm, form.py). Emits `import_requested(path)` when a file is chosen."""

    import_requested = Signal(str)
    live_settings_changed = Signal()  # a setting a run takes mid-way (lr, hyperparameters, schedule, λ) was edited

    def __init__(self, parent=None) -> None:
        super().__init__("Train", parent)
        self.setObjectName("trainDock")
        self._imported: dict | None = None  # {"name": "csv"|"npz", "path": ...}
        self._loaded_reg = 0.0
        self._base: dict = {}  # the graph's meta.training, kept for the settings this form does not show

        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(6)

        # ---------------------------------------------------------------- controls
        self.actionTrain = QAction("Train", self)
        self.actionTrain.setObjectName("actionTrain")
        self.actionTrain.setToolTip("Train the network on a worker thread (the window stays responsive)")
        self.actionPause = QAction("Pause", self)
        self.actionPause.setObjectName("actionPause")
        self.actionPause.setCheckable(True)
        self.actionPause.setToolTip("Pause after the current step; press again to resume")
        self.actionStepEpoch = QAction("Step epoch", self)
        self.actionStepEpoch.setObjectName("actionStepEpoch")
        self.actionStepEpoch.setToolTip("Train one more epoch, then pause")
        self.actionStop = QAction("Stop", self)
        self.actionStop.setObjectName("actionStop")
        self.actionStop.setToolTip("Stop after the current step and keep the weights learned so far")
        row = QHBoxLayout()
        for act, name in ((self.actionTrain, "trainButton"), (self.actionPause, "pauseButton"),
                          (self.actionStepEpoch, "stepEpochButton"), (self.actionStop, "stopButton")):
            b = QToolButton()
            b.setDefaultAction(act)
            b.setObjectName(name)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setMinimumWidth(64)
            row.addWidget(b)
        row.addStretch(1)
        outer.addLayout(row)
        self.counter = QLabel("epoch 0 / 0 · iteration 0")
        self.counter.setObjectName("trainCounter")
        self.counter.setWordWrap(True)
        outer.addWidget(self.counter)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        outer.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("trainStatus")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)

        # ---------------------------------------------------------------- data
        data = QGroupBox("Data")
        f = QFormLayout(data)
        self.dataset_combo = QComboBox()
        self.dataset_combo.setObjectName("datasetCombo")
        for name in datasets.GENERATORS:
            self.dataset_combo.addItem(name)
        self.dataset_combo.addItem(IMPORTED)
        f.addRow("Dataset", self.dataset_combo)
        # Import… on its own row: beside the combo it was pushed past the dock's edge at 1280x720
        imp = QHBoxLayout()
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("importDataButton")
        self.import_button.setToolTip("Train on your own CSV or NPZ file (features + a label column)")
        self.import_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # its text's width
        imp.addWidget(self.import_button)
        self.file_label = QLabel("")
        self.file_label.setObjectName("importedFileLabel")
        # a long file name is clipped (the tooltip has the path) rather than widening the form past the dock
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        imp.addWidget(self.file_label, 1)
        f.addRow("", imp)
        self.size_spin = _spin(1, 100000, "datasetSizeSpin")
        self.size_label = QLabel("Points per class")
        f.addRow(self.size_label, self.size_spin)
        self.noise_spin = _dspin(0.0, 10.0, 3, 0.05, "datasetNoiseSpin")
        self.noise_label = QLabel("Noise")
        f.addRow(self.noise_label, self.noise_spin)
        self.val_spin = _dspin(0.0, 0.9, 2, 0.05, "valFractionSpin")
        self.val_spin.setToolTip("Fraction held out for validation (stratified by class)")
        f.addRow("Validation split", self.val_spin)
        # short check texts, the rest in tooltips: a long one made the form wider than the dock at 1280x720
        self.standardize_check = QCheckBox("Standardise the features")
        self.standardize_check.setObjectName("standardizeCheck")
        self.standardize_check.setToolTip("Zero-centre and standardise each feature (mean and spread fitted on "
                                          "the training split, applied to both splits)")
        f.addRow(self.standardize_check)
        outer.addWidget(data)

        # ---------------------------------------------------------------- optimisation
        opt = QGroupBox("Optimisation")
        g = QFormLayout(opt)
        self.batch_spin = _spin(0, 65536, "batchSizeSpin")
        self.batch_spin.setSpecialValueText("full batch")
        self.batch_spin.setToolTip("Mini-batch size (powers of two are usual); 0 = the whole training split")
        g.addRow("Batch size", self.batch_spin)
        self.epochs_spin = _spin(1, 1000000, "epochsSpin")
        g.addRow("Epochs", self.epochs_spin)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setObjectName("optimizerCombo")
        for k in optim.KINDS:
            self.optimizer_combo.addItem(k)
            self.optimizer_combo.setItemData(self.optimizer_combo.count() - 1, optim.DOCS[k], Qt.ItemDataRole.ToolTipRole)
        g.addRow("Optimizer", self.optimizer_combo)
        self.lr_spin = _dspin(1e-6, 1e4, 6, 0.001, "learningRateSpin")
        self.lr_spin.setToolTip("Learning rate (the notes: try 1e-3 .. 1e-1; too high makes the loss explode). "
                                "Editable while training: a new value applies from the next step")
        g.addRow("Learning rate", self.lr_spin)
        self.hyper_spins: dict[str, QDoubleSpinBox] = {}
        self.hyper_labels: dict[str, QLabel] = {}
        for key in ("momentum", "decay_rate", "beta1", "beta2", "eps"):
            s = _dspin(0.0, 0.9999, 4, 0.01, f"{key}Spin") if key != "eps" else _dspin(0.0, 1.0, 10, 1e-8, "epsSpin")
            s.setValue(float(optim.DEFAULTS[key]))
            lab = QLabel(HYPER_LABELS[key])
            g.addRow(lab, s)
            self.hyper_spins[key] = s
            self.hyper_labels[key] = lab
        self.schedule_combo = QComboBox()
        self.schedule_combo.setObjectName("scheduleCombo")
        for k in schedules.KINDS:
            self.schedule_combo.addItem(k)
        g.addRow("LR schedule", self.schedule_combo)
        self.every_spin = _dspin(0.01, 1e6, 2, 1.0, "scheduleEverySpin")
        self.every_spin.setValue(10.0)
        self.every_label = QLabel("every (epochs)")
        g.addRow(self.every_label, self.every_spin)
        self.factor_spin = _dspin(0.0, 1.0, 3, 0.05, "scheduleFactorSpin")
        self.factor_spin.setValue(0.5)
        self.factor_label = QLabel("factor")
        g.addRow(self.factor_label, self.factor_spin)
        self.k_spin = _dspin(0.0, 100.0, 4, 0.01, "scheduleKSpin")
        self.k_spin.setValue(0.1)
        self.k_label = QLabel("decay k")
        g.addRow(self.k_label, self.k_spin)
        self.reg_spin = _dspin(0.0, 100.0, 6, 1e-4, "regStrengthSpin")
        self.reg_spin.setToolTip("L2 strength λ: sets the strength of the graph's regulariser nodes; with none, "
                                 "it becomes the optimizer's weight decay")
        g.addRow("Regularisation λ", self.reg_spin)
        outer.addWidget(opt)

        # ---------------------------------------------------------------- init
        ini = QGroupBox("Initialisation")
        h = QFormLayout(ini)
        self.init_combo = QComboBox()
        self.init_combo.setObjectName("initializerCombo")
        self.init_combo.addItem(AS_IN_GRAPH)
        for k in INITIALIZERS:
            self.init_combo.addItem(k)
            self.init_combo.setItemData(self.init_combo.count() - 1, INIT_DOCS[k], Qt.ItemDataRole.ToolTipRole)
        h.addRow("Initializer", self.init_combo)
        self.seed_spin = _spin(0, 2 ** 31 - 1, "seedSpin")
        self.seed_spin.setToolTip("One seed for the data, the split, the weights and the batches: "
                                  "the same seed reproduces a run exactly")
        h.addRow("Seed", self.seed_spin)
        self.fresh_check = QCheckBox("Fresh weights from the seed")
        self.fresh_check.setObjectName("freshWeightsCheck")
        self.fresh_check.setChecked(True)
        self.fresh_check.setToolTip("On: start from fresh weights drawn from the seed. "
                                    "Off: continue from the graph's current weights")
        h.addRow(self.fresh_check)
        self.pause_explode_check = QCheckBox("Pause when the loss explodes")
        self.pause_explode_check.setObjectName("pauseOnExplodeCheck")
        self.pause_explode_check.setChecked(True)
        self.pause_explode_check.setToolTip("Pause the run (with the reason) when the loss grows far above its "
                                            "first value, so the curves before the blow-up stay readable")
        h.addRow(self.pause_explode_check)
        outer.addWidget(ini)
        outer.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setWidget(scroll)

        self.dataset_combo.currentTextChanged.connect(self._dataset_changed)
        self.optimizer_combo.currentTextChanged.connect(self._optimizer_changed)
        self.schedule_combo.currentTextChanged.connect(self._schedule_changed)
        self.import_button.clicked.connect(self._choose_file)
        for spin in (self.lr_spin, *self.hyper_spins.values(), self.every_spin, self.factor_spin, self.k_spin,
                     self.reg_spin):
            spin.valueChanged.connect(self.live_settings_changed)
        self.schedule_combo.currentTextChanged.connect(self.live_settings_changed)
        self.load_settings({})
        self.set_running(False)

    # ------------------------------------------------------------ visibility of dependent fields
    def _dataset_changed(self, name: str) -> None:
        size, noise = _generator_keys(name)
        self.size_spin.setEnabled(size is not None)
        self.size_label.setText("Points per class" if size == "n_per_class" else
                                "Images (0 = all)" if name == "digits" else "Points")
        self.size_spin.setMinimum(0 if name == "digits" else 1)
        self.noise_spin.setEnabled(noise is not None)
        self.noise_label.setText("Spread" if noise == "spread" else "Noise")
        self.file_label.setVisible(name == IMPORTED)

    def _optimizer_changed(self, kind: str) -> None:
        shown = HYPER.get(kind, ())
        for key, spin in self.hyper_spins.items():
            spin.setVisible(key in shown)
            self.hyper_labels[key].setVisible(key in shown)

    def _schedule_changed(self, kind: str) -> None:
        for w, on in ((self.every_spin, kind == "step"), (self.every_label, kind == "step"),
                      (self.factor_spin, kind == "step"), (self.factor_label, kind == "step"),
                      (self.k_spin, kind in ("exponential", "inverse")),
                      (self.k_label, kind in ("exponential", "inverse"))):
            w.setVisible(on)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a dataset", self.graph_folder() or "",
                                              "Data (*.csv *.npz);;All files (*)")
        if path:
            self.set_imported(path)

    def set_imported(self, path: str) -> None:
        """Use a CSV or NPZ file the user chose as the dataset (it is read when training starts).

        The user chose it, so it may be anywhere (remembered as confirmed); it is named
        relative to the graph's folder when it is inside it (see dataset_spec)."""
        kind = "npz" if path.lower().endswith(".npz") else "csv"
        path = os.path.abspath(path)
        remember_data_path(path)
        self._imported = {"name": kind, "path": path}
        self.file_label.setText(os.path.basename(path))
        self.file_label.setToolTip(path)
        self.dataset_combo.setCurrentText(IMPORTED)
        self.import_requested.emit(path)

    # ------------------------------------------------------------ state shown while running
    def set_running(self, running: bool, paused: bool = False) -> None:
        self.actionTrain.setEnabled(not running)
        self.actionPause.setEnabled(running)
        self.actionStop.setEnabled(running)
        self.actionStepEpoch.setEnabled(True)
        self.actionPause.blockSignals(True)
        self.actionPause.setChecked(running and paused)
        self.actionPause.setText("Resume" if running and paused else "Pause")
        self.actionPause.blockSignals(False)
        for w in (self.dataset_combo, self.import_button, self.size_spin, self.noise_spin, self.val_spin,
                  self.batch_spin, self.optimizer_combo, self.init_combo, self.seed_spin, self.fresh_check,
                  self.standardize_check):
            w.setEnabled(not running)
        if not running:
            self._dataset_changed(self.dataset_combo.currentText())

    def show_progress(self, epoch: int, epochs: int, iteration: int, iterations: int) -> None:
        self.counter.setText(f"epoch {epoch} / {epochs} · iteration {iteration} / {iterations}")
        self.progress.setValue(int(round(100 * iteration / iterations)) if iterations else 0)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
