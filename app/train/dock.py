"""The training dock ("trainDock"): what to train on and how, and the Train/Pause/Step epoch/Stop buttons.

The form is a view of plain training settings (graphcore.train.config.TrainConfig as
a dict, the graph file's meta.training): `load_settings` fills it, `settings()` reads it
back. It holds no numbers of its own beyond what the user typed, and runs nothing:
the TrainController listens to its actions.
"""
from __future__ import annotations

import inspect
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from graphcore.init import DOCS as INIT_DOCS
from graphcore.init import INITIALIZERS
from graphcore.train import datasets, optim, schedules

from .datapaths import remember_data_path

IMPORTED = "imported file"
AS_IN_GRAPH = "as in the graph"
SIZE_KEYS = ("n_per_class", "n")
NOISE_KEYS = ("noise", "spread")
# optimizer hyperparameters shown for each kind (besides lr)
HYPER = {"sgd": (), "momentum": ("momentum",), "nesterov": ("momentum",), "adagrad": ("eps",),
         "rmsprop": ("decay_rate", "eps"), "adam": ("beta1", "beta2", "eps")}
HYPER_LABELS = {"momentum": "Momentum μ", "decay_rate": "Decay rate", "beta1": "β1", "beta2": "β2", "eps": "ε"}


def _generator_keys(name: str) -> tuple[str | None, str | None]:
    """(size setting, noise setting) of a built-in dataset, from its generator's signature."""
    fn = datasets.GENERATORS.get(name)
    if fn is None:
        return None, None
    params = inspect.signature(fn).parameters
    size = next((k for k in SIZE_KEYS if k in params), None)
    noise = next((k for k in NOISE_KEYS if k in params), None)
    return size, noise


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


class TrainDock(QDockWidget):
    """Training settings and controls. Emits `import_requested(path)` when a file is chosen."""

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
        imp = QHBoxLayout()
        imp.addWidget(self.dataset_combo, 1)
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("importDataButton")
        self.import_button.setToolTip("Train on your own CSV or NPZ file (features + a label column)")
        imp.addWidget(self.import_button)
        f.addRow("Dataset", imp)
        self.file_label = QLabel("")
        self.file_label.setObjectName("importedFileLabel")
        f.addRow("", self.file_label)
        self.size_spin = _spin(1, 100000, "datasetSizeSpin")
        self.size_label = QLabel("Points per class")
        f.addRow(self.size_label, self.size_spin)
        self.noise_spin = _dspin(0.0, 10.0, 3, 0.05, "datasetNoiseSpin")
        self.noise_label = QLabel("Noise")
        f.addRow(self.noise_label, self.noise_spin)
        self.val_spin = _dspin(0.0, 0.9, 2, 0.05, "valFractionSpin")
        self.val_spin.setToolTip("Fraction held out for validation (stratified by class)")
        f.addRow("Validation split", self.val_spin)
        self.standardize_check = QCheckBox("Zero-centre and standardise (fitted on the training split)")
        self.standardize_check.setObjectName("standardizeCheck")
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
        self.fresh_check = QCheckBox("Start from fresh weights (drawn from the seed)")
        self.fresh_check.setObjectName("freshWeightsCheck")
        self.fresh_check.setChecked(True)
        self.fresh_check.setToolTip("Off: continue from the graph's current weights")
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

    # ------------------------------------------------------------ settings <-> form
    def load_settings(self, training: dict | None, reg_strength: float | None = None) -> None:
        """Fill the form from a graph's meta.training (missing entries get sensible defaults).

        `reg_strength` is the strength of the graph's regulariser nodes (None: it has none, and
        the λ field stands for the optimizer's weight decay)."""
        t = dict(training or {})
        self._base = t
        ds = t.get("dataset") or {"name": "spiral"}
        if isinstance(ds, str):
            ds = {"name": ds}
        name = ds.get("name", "spiral")
        if name in ("csv", "npz"):
            self._imported = {"name": name, "path": ds.get("path", "")}
            self.file_label.setText(os.path.basename(str(ds.get("path", ""))))
            self.dataset_combo.setCurrentText(IMPORTED)
        else:  # the previous document's imported file is not this one's
            self._imported = None
            self.file_label.setText("")
            self.file_label.setToolTip("")
            self.dataset_combo.setCurrentText(name if name in datasets.GENERATORS else "spiral")
        self._dataset_changed(self.dataset_combo.currentText())
        size_key, noise_key = _generator_keys(self.dataset_combo.currentText())
        fn = datasets.GENERATORS.get(self.dataset_combo.currentText())
        defaults = {k: p.default for k, p in inspect.signature(fn).parameters.items()} if fn else {}
        if size_key:
            v = ds.get(size_key, defaults.get(size_key))
            self.size_spin.setValue(int(v or 0))
        if noise_key:
            self.noise_spin.setValue(float(ds.get(noise_key, defaults.get(noise_key)) or 0.0))
        self.val_spin.setValue(float(t.get("val_fraction", 0.2)))
        pre = t.get("preprocess") or {}
        self.standardize_check.setChecked(bool(pre.get("center", False) or pre.get("standardize", False)))
        self.batch_spin.setValue(int(t.get("batch_size", 32)))
        self.epochs_spin.setValue(int(t.get("epochs", 50)))
        o = dict(t.get("optimizer") or {"kind": "sgd", "lr": 1e-2})
        self.optimizer_combo.setCurrentText(o.get("kind", "sgd"))
        self._optimizer_changed(self.optimizer_combo.currentText())
        self.lr_spin.setValue(float(o.get("lr", optim.DEFAULTS["lr"])))
        for key, spin in self.hyper_spins.items():
            spin.setValue(float(o.get(key, optim.DEFAULTS[key])))
        s = t.get("schedule") or {"kind": "constant"}
        if isinstance(s, str):
            s = {"kind": s}
        kind = schedules.ALIASES.get(s.get("kind", "constant"), s.get("kind", "constant"))
        self.schedule_combo.setCurrentText(kind if kind in schedules.KINDS else "constant")
        self._schedule_changed(self.schedule_combo.currentText())
        self.every_spin.setValue(float(s.get("every", 10.0)))
        self.factor_spin.setValue(float(s.get("factor", 0.5)))
        self.k_spin.setValue(float(s.get("k", 0.1)))
        lam = reg_strength if reg_strength is not None else float(o.get("weight_decay", 0.0) or 0.0)
        self.reg_spin.setValue(lam)
        self._loaded_reg = self.reg_spin.value()  # unchanged: the graph's own strengths are left alone
        self.seed_spin.setValue(int(t.get("seed", 0)))
        self.init_combo.setCurrentText(AS_IN_GRAPH)

    def load_checked(self, training: dict | None, reg_strength: float | None = None) -> str | None:
        """load_settings for a file's meta.training, whole or not at all: a value graphcore's
        TrainConfig refuses, or one the form cannot show (an lr of 1e6 where the box stops at 1e4),
        leaves the form on its defaults and returns the problem with its JSON path (else None)."""
        from graphcore.train.config import TrainConfig

        problem = None
        try:
            if training is not None:
                if not isinstance(training, dict):
                    raise ValueError(f"meta.training: must be an object, not {type(training).__name__}")
                TrainConfig.from_dict({k: v for k, v in training.items() if k != "training_state"})
            problem = self._out_of_range(training or {})
            if problem is None:
                self.load_settings(training, reg_strength=reg_strength)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            problem = str(exc).splitlines()[0][:200]
        if problem is None:
            return None
        self.load_settings(None, reg_strength=reg_strength)
        return f"{problem}. The Train form shows its defaults, not the file's settings."

    def _out_of_range(self, t: dict) -> str | None:
        """The first number of meta.training beyond its box's range, named by JSON path."""
        o = t.get("optimizer") if isinstance(t.get("optimizer"), dict) else {}
        s = t.get("schedule") if isinstance(t.get("schedule"), dict) else {}
        ds = t.get("dataset") if isinstance(t.get("dataset"), dict) else {}
        size_key, noise_key = _generator_keys(ds.get("name", "spiral") if ds else "spiral")
        checks = [("optimizer.lr", o.get("lr"), self.lr_spin), ("batch_size", t.get("batch_size"), self.batch_spin),
                  ("epochs", t.get("epochs"), self.epochs_spin), ("seed", t.get("seed"), self.seed_spin),
                  ("val_fraction", t.get("val_fraction"), self.val_spin),
                  ("schedule.every", s.get("every"), self.every_spin),
                  ("schedule.factor", s.get("factor"), self.factor_spin), ("schedule.k", s.get("k"), self.k_spin)]
        checks += [(f"optimizer.{k}", o.get(k), spin) for k, spin in self.hyper_spins.items()]
        if size_key:
            checks.append((f"dataset.{size_key}", ds.get(size_key), self.size_spin))
        if noise_key:
            checks.append((f"dataset.{noise_key}", ds.get(noise_key), self.noise_spin))
        for path, value, spin in checks:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            lo = 0 if spin is self.size_spin else spin.minimum()
            if not lo <= value <= spin.maximum():
                return (f"meta.training.{path}: {value:g} is outside what the Train form takes "
                        f"({spin.minimum():g} to {spin.maximum():g})")
        return None

    def graph_folder(self) -> str | None:
        """The folder of the window's document file (None while it is unsaved)."""
        path = getattr(getattr(self.window(), "document", None), "path", None)
        return os.path.dirname(path) if isinstance(path, str) and path else None

    def dataset_spec(self) -> dict:
        name = self.dataset_combo.currentText()
        if name == IMPORTED:
            if not self._imported or not self._imported.get("path"):
                raise ValueError("choose a CSV or NPZ file with Import… first")
            spec = dict(self._imported)
            folder = self.graph_folder()
            path = str(spec["path"])
            if folder and os.path.isabs(path):
                rel = os.path.relpath(os.path.realpath(path), os.path.realpath(folder))
                if not rel.startswith(os.pardir):  # inside the graph's folder: the file names it from there
                    spec["path"] = rel.replace(os.sep, "/")
            return spec
        spec: dict = {"name": name}
        size, noise = _generator_keys(name)
        if size:
            v = self.size_spin.value()
            spec[size] = None if (name == "digits" and v == 0) else v
        if noise:
            spec[noise] = round(self.noise_spin.value(), 6)
        if "seed" in inspect.signature(datasets.GENERATORS[name]).parameters:
            spec["seed"] = self.seed_spin.value()
        return spec

    def settings(self) -> dict:
        """The form as meta.training data (TrainConfig.from_dict accepts it, minus the GUI-only keys
        "reg_strength" (None when the λ field was not changed), "init" and "fresh", which the job applies)."""
        t = {k: v for k, v in self._base.items() if k not in ("reg_strength",)}
        t["dataset"] = self.dataset_spec()
        t["val_fraction"] = round(self.val_spin.value(), 4)
        on = self.standardize_check.isChecked()
        pre = dict(t.get("preprocess") or {})
        pre.update(center=on, standardize=on)
        t["preprocess"] = pre
        t["batch_size"] = self.batch_spin.value()
        t["epochs"] = self.epochs_spin.value()
        kind = self.optimizer_combo.currentText()
        o = {k: v for k, v in dict(t.get("optimizer") or {}).items()
             if k in ("weight_decay", "max_norm", "clip_norm", "clip_value")}
        o["kind"] = kind
        o["lr"] = self.lr_spin.value()
        for key in HYPER.get(kind, ()):
            o[key] = self.hyper_spins[key].value()
        t["optimizer"] = o
        sk = self.schedule_combo.currentText()
        s: dict = {"kind": sk}
        if sk == "step":
            s.update(every=self.every_spin.value(), factor=self.factor_spin.value())
        elif sk in ("exponential", "inverse"):
            s["k"] = self.k_spin.value()
        t["schedule"] = s
        t["seed"] = self.seed_spin.value()
        lam = self.reg_spin.value()
        gui = {"reg_strength": None if lam == self._loaded_reg else lam,
               "init": None if self.init_combo.currentText() == AS_IN_GRAPH else self.init_combo.currentText(),
               "fresh": self.fresh_check.isChecked()}
        return {"training": t, "gui": gui}

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
