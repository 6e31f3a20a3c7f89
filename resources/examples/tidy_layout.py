"""Lay out example graphs with the editor's own auto layout (run after the generators):

    QT_QPA_PLATFORM=offscreen python resources/examples/tidy_layout.py [FILE ...]

The editor measures each node, so the saved positions never overlap on screen.
"""
from __future__ import annotations

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QUndoStack  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import graphcore as gc  # noqa: E402
from app.canvas.scene import GraphScene  # noqa: E402


def tidy(path: str) -> None:
    g = gc.load(path)
    scene = GraphScene(g, QUndoStack())
    scene.auto_layout()
    # start at a tidy origin, so the file diff stays small when the layout changes
    xs = [n.ui["x"] for n in g.nodes.values()]
    ys = [n.ui["y"] for n in g.nodes.values()]
    dx, dy = 40 - min(xs), 40 - min(ys)
    for nid, n in g.nodes.items():
        g.set_ui(nid, x=round(n.ui["x"] + dx, 1), y=round(n.ui["y"] + dy, 1))
    scene.detach()
    gc.save(g, path)


def main(argv: list[str]) -> None:
    app = QApplication.instance() or QApplication([])  # noqa: F841
    paths = argv or sorted(glob.glob(os.path.join(HERE, "*.json")))
    for p in paths:
        tidy(p)
        print("laid out", os.path.relpath(p))


if __name__ == "__main__":
    main(sys.argv[1:])
