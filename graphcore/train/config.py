"""Training settings, stored in a graph file as meta.training (plain JSON data).

    {"dataset": {"name": "spiral", "n_per_class": 100, "classes": 3, "seed": 0},
     "features": "x", "labels": "y", "loss": "loss",      # node names (auto-detected when left out)
     "val_fraction": 0.2, "preprocess": {"center": true, "standardize": false, "per": "feature"},
     "augment": {"shift": 0, "flip": false},
     "optimizer": {"kind": "sgd", "lr": 1.0}, "schedule": {"kind": "constant"},
     "batch_size": 32,                                    # 0 = the whole training split (full batch)
     "epochs": 10, "seed": 0, "dtype": "float32",
     "early_stopping": {"patience": 5},                   # or null
     "expect": {"train_acc": 0.98}}                       # the accuracy this example is stated to reach

Every problem raises ConfigError naming the setting, e.g. "meta.training.epochs".
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from . import optim, schedules

METRIC_NAMES = ("train_acc", "val_acc", "train_loss", "val_loss")
MAX_SHIFT = 256  # pixels: more than any image side the app trains on (the data check says the real side)
MAX_RATE = 1e6  # lr and weight_decay: a step of 1e6 x the gradient already overflows float32 nets


class ConfigError(ValueError):
    """Bad training settings; the message names the setting."""


@dataclass
class TrainConfig:
    dataset: dict | None = None
    features: str | None = None
    labels: str | None = None
    loss: str | None = None
    scores: str | None = None
    val_fraction: float = 0.0
    preprocess: dict = field(default_factory=lambda: {"center": False, "standardize": False, "per": "feature"})
    augment: dict = field(default_factory=lambda: {"shift": 0, "flip": False})
    optimizer: dict = field(default_factory=lambda: {"kind": "sgd", "lr": 1e-2})
    schedule: dict = field(default_factory=lambda: {"kind": "constant"})
    batch_size: int = 32
    epochs: int = 10
    seed: int = 0
    dtype: str = "float32"
    early_stopping: dict | None = None
    expect: dict = field(default_factory=dict)
    report_every: int = 1  # steps between per-step metrics (and on_step callbacks)
    eval_batch: int = 1024

    def to_dict(self) -> dict:
        out = asdict(self)
        for k in ("report_every", "eval_batch"):
            if out[k] == getattr(TrainConfig, k):
                out.pop(k)
        return out

    @classmethod
    def from_dict(cls, raw: dict | None, where: str = "meta.training") -> "TrainConfig":
        if raw is not None and not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be an object like {{\"epochs\": 10}}, got "
                              f"{type(raw).__name__}")
        raw = dict(raw or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(names))})")
        cfg = cls(**raw)
        cfg.check(where)
        return cfg

    def check_images(self, x_shape: tuple, where: str = "meta.training") -> None:
        """The augmentation against the data: a shift must be under the images' side (a larger one
        only shifts in zeros). ConfigError naming augment.shift."""
        shift = self.augment.get("shift", 0)
        if len(x_shape) == 4 and shift and shift >= min(x_shape[2], x_shape[3]):
            side = min(x_shape[2], x_shape[3])
            raise ConfigError(f"{where}.augment.shift: {shift:,} pixels is not under the images' side "
                              f"({x_shape[2]}x{x_shape[3]}); use 0 to {side - 1}")

    def merged(self, **overrides) -> "TrainConfig":
        d = asdict(self)
        d.update(overrides)
        return TrainConfig.from_dict(d)

    def check(self, where: str = "meta.training") -> None:
        def need(cond: bool, key: str, msg: str) -> None:
            if not cond:
                raise ConfigError(f"{where}.{key}: {msg}")

        def is_int(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        need(self.dataset is None or isinstance(self.dataset, (dict, str)), "dataset",
             "must be an object like {\"name\": \"spiral\"}")
        for key in ("features", "labels", "loss", "scores"):
            v = getattr(self, key)
            need(v is None or (isinstance(v, str) and v), key, "must be a node name")
        need(is_num(self.val_fraction) and 0 <= self.val_fraction < 1, "val_fraction", "must be in [0, 1)")
        need(is_int(self.batch_size) and self.batch_size >= 0, "batch_size",
             "must be a whole number >= 0 (0 = full batch)")
        need(is_int(self.epochs) and self.epochs >= 0, "epochs", "must be a whole number >= 0")
        need(is_int(self.seed) and self.seed >= 0, "seed", "must be a whole number >= 0 (as --seed)")
        need(isinstance(self.dtype, str) and self.dtype in ("float32", "float64"), "dtype", "must be 'float32' or 'float64'")
        need(is_int(self.report_every) and self.report_every >= 1, "report_every", "must be a whole number >= 1")
        need(is_int(self.eval_batch) and self.eval_batch >= 1, "eval_batch", "must be a whole number >= 1")
        need(isinstance(self.preprocess, dict), "preprocess", "must be an object")
        bad = sorted(set(self.preprocess) - {"center", "standardize", "per"})
        need(not bad, "preprocess", f"unknown setting {bad[0]!r}" if bad else "")
        for k in ("center", "standardize"):
            need(isinstance(self.preprocess.get(k, False), bool), f"preprocess.{k}", "must be true or false")
        need(isinstance(self.preprocess.get("per", "feature"), str)
             and self.preprocess.get("per", "feature") in ("feature", "channel"), "preprocess.per",
             "must be 'feature' or 'channel'")
        need(isinstance(self.augment, dict), "augment", "must be an object")
        bad = sorted(set(self.augment) - {"shift", "flip"})
        need(not bad, "augment", f"unknown setting {bad[0]!r}" if bad else "")
        shift = self.augment.get("shift", 0)
        need(is_int(shift) and shift >= 0, "augment.shift", "must be a whole number of pixels >= 0")
        need(shift <= MAX_SHIFT, "augment.shift",
             f"{shift:,} pixels is more than the limit of {MAX_SHIFT} (a shift should be under the image's side)")
        need(isinstance(self.augment.get("flip", False), bool), "augment.flip", "must be true or false")
        if self.early_stopping is not None:
            es = self.early_stopping
            need(isinstance(es, dict), "early_stopping", "must be an object like {\"patience\": 5} or null")
            bad = sorted(set(es) - {"patience", "min_delta"})
            need(not bad, "early_stopping", f"unknown setting {bad[0]!r}" if bad else "")
            need(is_int(es.get("patience", 5)) and es.get("patience", 5) >= 0, "early_stopping.patience",
                 "must be a whole number of epochs >= 0")
            need(is_num(es.get("min_delta", 0.0)) and es.get("min_delta", 0.0) >= 0, "early_stopping.min_delta",
                 "must be a number >= 0")
            need(self.val_fraction > 0, "early_stopping", "needs a validation split (val_fraction > 0)")
        need(isinstance(self.expect, dict), "expect", "must be an object like {\"train_acc\": 0.98}")
        for k, v in self.expect.items():
            need(k in METRIC_NAMES, f"expect.{k}", f"unknown metric (known: {', '.join(METRIC_NAMES)})")
            need(is_num(v), f"expect.{k}", "must be a number")
        need(isinstance(self.optimizer, dict), "optimizer",
             "must be an object like {\"kind\": \"adam\", \"lr\": 0.001}")
        try:
            optim.from_settings(self.optimizer)
        except (optim.OptimizerError, TypeError) as exc:
            raise ConfigError(f"{where}.optimizer: {exc}") from None
        lr = self.optimizer.get("lr", 1e-2)
        need(not is_num(lr) or lr > 0, "optimizer.lr", f"must be > 0 (as --lr), got {lr!r}")
        for key in ("lr", "weight_decay"):
            v = self.optimizer.get(key)
            if is_num(v) and v > MAX_RATE:
                need(False, f"optimizer.{key}",
                     f"{v:g} is over the limit of {MAX_RATE:g}: the weights would overflow to inf in one step")
        try:
            schedules.from_settings(self.schedule)
        except (schedules.ScheduleError, TypeError) as exc:
            raise ConfigError(f"{where}.schedule: {exc}") from None
