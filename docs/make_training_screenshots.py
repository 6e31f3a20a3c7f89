"""Regenerate docs/training-spiral.png and docs/training-digits.png (1280x720) and their
-1920.png twins (1920x1080): the main window in its default layout after training.

    QT_QPA_PLATFORM=offscreen python docs/make_training_screenshots.py [spiral] [digits]

The spiral shot keeps a full-batch SGD run and overlays it with Adam on mini-batches.
"""
from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
from backprop_studio_resources import examples_dir  # noqa: E402

EXAMPLES = examples_dir()


def _train(app, window, timeout_s: float = 120.0) -> None:
    """Press Train and pump events until the run has finished and been applied."""
    import time

    from PySide6.QtGui import QAction

    done = []

    def finished(result):
        done.append(result)

    window.train_controller.finished.connect(finished)

    window.findChild(QAction, "actionTrain").trigger()
    end = time.monotonic() + timeout_s
    while not done and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    window.train_controller.finished.disconnect(finished)
    for _ in range(60):  # let the 30 Hz plots and the boundary view catch up
        app.processEvents()
        time.sleep(0.02)


def _window(app, path: str, size=(1280, 720)):
    import time

    from PySide6.QtCore import QSettings

    from app import create_main_window

    # fresh settings: the default layout, not the one the previous shot's window saved at its size
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    w = create_main_window(path, offer_recovery=False)
    w.resize(*size)
    w.show()
    end = time.monotonic() + 3
    while getattr(w, "train_controller", None) is None and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    return w


def main() -> None:
    from PySide6.QtCore import QSettings

    tmp = tempfile.mkdtemp()
    os.environ["BACKPROP_STUDIO_DATA_DIR"] = tmp  # leave the user's autosaves and settings alone
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    from PySide6.QtWidgets import QMessageBox

    from app import application

    # trained weights mark the document modified: closing the window must not wait on the prompt
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    app = application()

    which = sys.argv[1:] or ["spiral", "digits"]
    for size, suffix in (((1280, 720), ""), ((1920, 1080), "-1920")):
        if "spiral" in which:
            w = _window(app, os.path.join(EXAMPLES, "spiral_2layer.json"), size)
            dock = w.train_controller.dock
            for kind, lr in (("sgd", 0.5), ("adam", 0.01)):
                dock.optimizer_combo.setCurrentText(kind)
                dock.lr_spin.setValue(lr)
                dock.batch_spin.setValue(32)
                dock.val_spin.setValue(0.2)
                dock.epochs_spin.setValue(200)
                _train(app, w)
                if kind == "sgd":
                    from PySide6.QtWidgets import QPushButton

                    w.findChild(QPushButton, "keepRunButton").click()
            out = os.path.join(HERE, f"training-spiral{suffix}.png")
            w.grab().save(out)
            print(out)
            w.close()
        if "digits" in which:
            w = _window(app, os.path.join(EXAMPLES, "digits_cnn.json"), size)
            _train(app, w)
            out = os.path.join(HERE, f"training-digits{suffix}.png")
            w.grab().save(out)
            print(out)
            w.close()


if __name__ == "__main__":
    main()
