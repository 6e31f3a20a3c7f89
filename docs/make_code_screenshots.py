"""Regenerate docs/code-dock-*.png: the CS231n circuit stepped to event 17 (x receives the upstream
times y's value) with the Code dock beside the canvas, at 1280x720 and 1920x1080.

    QT_QPA_PLATFORM=offscreen python docs/make_code_screenshots.py
"""
from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
EVENT = 17


def main() -> None:
    from PySide6.QtCore import QSettings

    tmp = tempfile.mkdtemp()
    os.environ["BACKPROP_STUDIO_DATA_DIR"] = tmp  # leave the user's autosaves and settings alone
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    import app
    from backprop_studio_resources import example_path
    from make_narration_screenshots import _pump

    qapp = app.application()
    for w_px, h_px in ((1280, 720), (1920, 1080)):
        w = app.create_main_window(offer_recovery=False)
        w.resize(w_px, h_px)
        w.show()
        _pump(qapp, 0.8)  # the training docks arrive a moment after the window
        w.open_file(example_path("cs231n_circuit.json"))
        _pump(qapp, 0.3)
        rv = w.run_view
        rv.code.raise_()
        _pump(qapp, 0.3)
        w.view.frame_all()
        for _ in range(EVENT):
            rv.controller.step()
        _pump(qapp, 1.5)  # let the pulses finish
        out = os.path.join(HERE, f"code-dock-{w_px}.png")
        w.grab().save(out)
        print(out, "highlighted:", rv.code.highlighted_text())
        w.document.undo_stack.setClean()
        w.close()


if __name__ == "__main__":
    main()
