"""Regenerate the loss landscape's screenshots in docs/: the race on the two-weight bowl followed by
an SGD training run (docs/loss-landscape-race.png: the dock at 1920x1080), and the spiral net while
it trains (docs/loss-landscape-spiral-1280.png, the whole window at 1280x720).

    QT_QPA_PLATFORM=offscreen python docs/make_landscape_screenshots.py [OUT_DIR] [--all]

--all also writes every variant (both sizes, window and dock) into OUT_DIR, for looking at them.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def pump(app, done, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not done() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--all"]
    every = "--all" in sys.argv
    out = args[0] if args else HERE
    tmp = tempfile.mkdtemp()
    os.environ["BACKPROP_STUDIO_DATA_DIR"] = tmp
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMessageBox

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    import graphcore as gc
    import make_training_screenshots as mts
    from app import application
    from graphcore.train.landscape import bowl_graph

    app = application()
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    bowl = os.path.join(tmp, "bowl.json")
    gc.save(bowl_graph(), bowl)
    for size in ((1280, 720), (1920, 1080)):
        for name in ("spiral", "race"):
            w = mts._window(app, os.path.join(mts.EXAMPLES, "spiral_2layer.json") if name == "spiral" else bowl, size)
            view = w.train_view.landscape
            view.action.trigger()
            shot = lambda what, widget: widget.grab().save(os.path.join(out, f"landscape-{name}-{what}-{size[0]}.png"))  # noqa: E731
            if name == "spiral":
                w.train_controller.dock.epochs_spin.setValue(1500)
                view.compute()
                pump(app, lambda: not view.busy())
                w.findChild(QAction, "actionTrain").trigger()
                pump(app, lambda: len(view.training_xy) > 400, timeout=200)
                if size == (1280, 720):
                    w.grab().save(os.path.join(out, "loss-landscape-spiral-1280.png"))
                if every:
                    shot("training", w)
                pump(app, lambda: not w.train_controller.is_running(), timeout=300)
                view.compute()
                pump(app, lambda: not view.busy())
            else:
                view.dock.lr.setValue(0.1)
                view.dock.steps.setValue(60)
                view.race()
                pump(app, lambda: not view.busy())
                mts._train(app, w)  # an SGD run at lr 0.1: its path lies on the race's SGD path
                if size == (1920, 1080):
                    view.dock.grab().save(os.path.join(out, "loss-landscape-race.png"))
            if every:
                shot("window", w)
                shot("dock", view.dock)
                view.dock.settings_button.setChecked(True)
                pump(app, lambda: True)
                shot("dock-settings", view.dock)
            print(name, size, view.dock.status.text())
            w.close()


if __name__ == "__main__":  # the landscape's and the training's processes are spawned: they import this file
    main()
