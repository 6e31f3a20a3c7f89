"""Data files out of their graph's folder: the user's one-time yes, remembered per user and file.

A graph file may only name training data in its own folder (graphcore.train.datapath).
A file the user picked in the Train dock, or said yes to once when a graph named it, is
remembered in the user's settings and handed to the training process as allowed. The
data limits can be raised in the same settings (data/maxBytes, data/maxPoints,
data/maxClasses).
"""
from __future__ import annotations

import os
from dataclasses import replace

from PySide6.QtWidgets import QApplication, QMessageBox

from graphcore.train import datapath

from .. import settings as app_settings

CONFIRMED_KEY = "data/confirmedPaths"  # data files out of their graph's folder the user said yes to
LIMIT_KEYS = {"max_bytes": "data/maxBytes", "max_points": "data/maxPoints", "max_classes": "data/maxClasses"}


def confirmed_data_paths() -> list[str]:
    value = app_settings.settings().value(CONFIRMED_KEY)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def remember_data_path(path: str) -> None:
    """Remember (for this user) that they chose this data file: a graph may name it from anywhere."""
    real = os.path.realpath(path)
    paths = [p for p in confirmed_data_paths() if p != real] + [real]
    s = app_settings.settings()
    s.setValue(CONFIRMED_KEY, paths[-200:])
    s.sync()


def data_policy() -> datapath.DataPolicy:
    """The data limits (raised in the settings file's data/max* keys) and the confirmed paths."""
    policy = datapath.DataPolicy(hint="confirm it when the Train panel asks")
    s = app_settings.settings()
    over = {}
    for field_name, key in LIMIT_KEYS.items():
        try:
            v = int(s.value(key, 0) or 0)
        except (TypeError, ValueError):
            v = 0
        if v > 0:
            over[field_name] = v
    if over:
        policy = replace(policy, **over)
    return policy.allowing(*confirmed_data_paths())


def ask_to_use_data_path(real: str, value: str) -> bool:
    """Once per user and file: may the graph's data path, out of the graph's folder, be read?"""
    box = QMessageBox(QMessageBox.Icon.Warning, "Data file outside the graph's folder",
                      "This graph names a training data file outside its own folder:\n\n"
                      f"{datapath.short_path(real)}\n\n"
                      "A graph file someone else wrote could name any file on this computer this way. "
                      "Train on this file? Your answer is remembered for this file.",
                      QMessageBox.StandardButton.Cancel, QApplication.activeWindow())
    box.setObjectName("confirmDataPathBox")
    use = box.addButton("Use this file", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is use


def needs_confirmation(training: dict, base_dir: str | None, policy: datapath.DataPolicy) -> tuple[str, str] | None:
    """(real path, value as written) when the training data path leaves the graph's folder, is not yet
    allowed and names an existing file; None when nothing needs asking."""
    spec = training.get("dataset") if isinstance(training, dict) else None
    if not base_dir or not isinstance(spec, dict) or spec.get("name") not in ("csv", "npz"):
        return None
    value = spec.get("path")
    if not isinstance(value, str) or not value or "\0" in value:
        return None
    try:
        datapath.resolve(value, base_dir, policy)
        return None
    except datapath.DatasetError:
        pass
    real = os.path.realpath(os.path.join(base_dir, value))
    return (real, value) if os.path.isfile(real) else None  # nothing to ask about a device or a folder
