"""Regenerate docs/narration-*.png and docs/presentation-*.png: the CS231n circuit stepped to event 17
(x receives the upstream times y's value; y is highlighted) at 1280x720 and 1920x1080, in the
default layout with the Narration dock and in presentation mode.

    QT_QPA_PLATFORM=offscreen python docs/make_narration_screenshots.py
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
EVENT = 17  # "mul gate xy: x receives the upstream 2.00 times y's value -4.00 = -8.00"


def _pump(qapp, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.01)


def main() -> None:
    from PySide6.QtCore import QSettings

    tmp = tempfile.mkdtemp()
    os.environ["BACKPROP_STUDIO_DATA_DIR"] = tmp  # leave the user's autosaves and settings alone
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    import app
    from backprop_studio_resources import example_path

    circuit = example_path("cs231n_circuit.json")
    qapp = app.application()
    for w_px, h_px in ((1280, 720), (1920, 1080)):
        for mode in ("narration", "presentation"):
            w = app.create_main_window(offer_recovery=False)
            w.resize(w_px, h_px)
            w.show()
            _pump(qapp, 0.8)  # the training docks arrive a moment after the window
            w.open_file(circuit)
            _pump(qapp, 0.3)
            rv = w.run_view
            if mode == "presentation":
                rv.extras.set_presenting(True)
                _pump(qapp, 0.3)
            else:
                w.view.frame_all()
            for _ in range(EVENT):
                rv.controller.step()
            _pump(qapp, 1.5)  # let the pulses finish
            out = os.path.join(HERE, f"{mode}-{w_px}.png")
            w.grab().save(out)
            print(out, "zoom", round(w.view.zoom(), 2))
            rv.extras.set_presenting(False)
            w.document.undo_stack.setClean()
            w.close()


if __name__ == "__main__":
    main()
