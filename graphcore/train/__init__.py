"""Training: optimizers, schedules, datasets, preprocessing, the trainer and babysitting helpers."""
from .config import ConfigError, TrainConfig
from .trainer import Callback, Trainer, TrainResult, train

__all__ = ["Callback", "ConfigError", "TrainConfig", "TrainResult", "Trainer", "train"]
