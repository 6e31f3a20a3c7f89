"""Regenerate docs/editor.png (dark) and docs/editor-light.png: the main window with the CS231n circuit.

    QT_QPA_PLATFORM=offscreen python docs/make_editor_screenshots.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def main() -> None:
    from PySide6.QtCore import QSettings

    tmp = tempfile.mkdtemp()
    os.environ["BACKPROP_STUDIO_DATA_DIR"] = tmp  # leave the user's autosaves and settings alone
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    import app

    from backprop_studio_resources import example_path

    circuit = example_path("cs231n_circuit.json")
    for theme, name in (("dark", "editor.png"), ("light", "editor-light.png")):
        w = app.create_main_window(circuit, offer_recovery=False)
        w.resize(1400, 860)
        w.show()
        w.set_theme(theme)
        qapp = app.application()
        end = time.monotonic() + 1.0  # the training view is built a moment after the window shows
        while time.monotonic() < end:
            qapp.processEvents()
            time.sleep(0.01)
        w.scene.clearSelection()
        w.view.frame_selection()
        w.scene.select_ids([w.document.graph.find("xy")])
        for _ in range(20):
            qapp.processEvents()
        out = os.path.join(HERE, name)
        w.grab().save(out)
        print(out)
        w.close()


if __name__ == "__main__":
    main()
