"""TrainForm: the Train dock's form as plain training settings, both ways (a mixin of TrainDock).

`load_settings` fills the form from a graph's meta.training, `load_checked` does it whole or not
at all (a refused value is reported with its JSON path), `settings()` reads the form back. The
form holds no numbers of its own beyond what the user typed.
"""
from __future__ import annotations

import inspect
import os

from graphcore.train import datasets, optim, schedules

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


class TrainForm:
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
        base = self._base.get("dataset") if isinstance(getattr(self, "_base", None), dict) else None
        if isinstance(base, dict) and base.get("name") == name:  # settings the form has no field for
            params = inspect.signature(datasets.GENERATORS[name]).parameters  # (a "linear" set's dim) stay
            spec.update({k: v for k, v in base.items() if k in params})
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
