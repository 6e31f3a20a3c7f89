"""Backprop Studio's shipped data: example graphs, data sets, icons and styles.

In the source tree this is the folder `resources/`; installed (a wheel, or `pip install -e .`)
it is the package `backprop_studio_resources` (pyproject.toml maps the one to the other). Code
finds every shipped file through these helpers, which ask `importlib.resources` where the
package is, never through a path relative to its own source file:

    from backprop_studio_resources import example_path
    gc.load(example_path("cs231n_circuit.json"))

The helpers return plain `str` paths (Qt and `os.path` take them as they are). An installed
wheel is unpacked on disk, so the package is a real folder; a zipped install is refused with
a clear error rather than handed out as paths that do not exist.
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

__all__ = ["root", "examples_dir", "example_path", "example_files", "dataset_path", "icons_dir", "icon_path",
           "style_path"]


def root() -> str:
    """The package's folder: examples/, datasets/, icons/ and style/ are inside it."""
    where = files(__name__)
    if not isinstance(where, Path):
        raise RuntimeError(f"{__name__} is not installed as files on disk ({where!r}); reinstall it unzipped")
    return os.fspath(where)


def examples_dir() -> str:
    """The folder of example graphs (File > Examples lists it)."""
    return os.path.join(root(), "examples")


def example_path(name: str) -> str:
    """One shipped example graph, e.g. example_path("cs231n_circuit.json")."""
    return os.path.join(examples_dir(), name)


def example_files() -> list[str]:
    """Every shipped example graph, sorted by file name."""
    folder = examples_dir()
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".json")]


def dataset_path(name: str) -> str:
    """One shipped data set, e.g. dataset_path("digits.npz")."""
    return os.path.join(root(), "datasets", name)


def icons_dir() -> str:
    """The folder of icons (the stylesheets refer to it as @ICONS@)."""
    return os.path.join(root(), "icons")


def icon_path(name: str) -> str:
    """One icon file, e.g. icon_path("ok.svg")."""
    return os.path.join(icons_dir(), name)


def style_path(theme: str) -> str:
    """The stylesheet of a theme, e.g. style_path("dark") -> .../style/dark.qss."""
    return os.path.join(root(), "style", f"{theme}.qss")
