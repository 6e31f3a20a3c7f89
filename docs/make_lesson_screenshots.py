"""Regenerate docs/lesson-*.png: three lessons mid-way, with their highlights, in English and in
Chinese, at 1280x720 and 1920x1080, and a training lesson (dead ReLUs, once its run has finished)
at 1280x720 (Chinese needs the CJK font the app ships; without it the text may show as boxes).

    QT_QPA_PLATFORM=offscreen python docs/make_lesson_screenshots.py [OUT_DIR]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
# lesson id, the step shown (0-based), whether Show me has been pressed on it, the window sizes
BOTH = ((1280, 720), (1920, 1080))
SHOTS = (("gates", 3, True, BOTH), ("sigmoid-neuron", 2, False, BOTH), ("saturation", 1, True, BOTH),
         ("dead-relus", 2, True, ((1280, 720),)))


def _pump(qapp, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.01)


def main(out_dir: str = HERE) -> None:
    from PySide6.QtCore import QSettings

    tmp = tempfile.mkdtemp()
    os.environ["BACKPROP_STUDIO_DATA_DIR"] = tmp
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    import app

    qapp = app.application()
    for w_px, h_px in BOTH:
        for lang in ("en", "zh"):
            for lesson_id, step, shown, sizes in SHOTS:
                if (w_px, h_px) not in sizes:
                    continue
                w = app.create_main_window(offer_recovery=False)
                w.resize(w_px, h_px)
                w.show()
                _pump(qapp, 0.8)
                dock = w.lesson_view.open()
                dock.set_language(lang)
                dock.progress[lesson_id] = {"step": step, "done": False}
                dock.select_lesson(lesson_id)
                dock.start(unsaved="discard")
                if shown:
                    dock.show_me()
                _pump(qapp, 1.2)  # Show me trains in its own event loop; the run's last results arrive now
                if shown and not dock.passed:
                    print(f"warning: {lesson_id} step {step + 1}: the check did not pass", file=sys.stderr)
                w._frame_all()  # as the window frames an opened graph: the step's nodes readable
                _pump(qapp, 0.3)
                out = os.path.join(out_dir, f"lesson-{lesson_id}-{lang}-{w_px}.png")
                w.grab().save(out)
                print(out)
                w.document.mark_saved()  # trained weights mark it modified: no save prompt on close
                w.close()
                w.deleteLater()
                _pump(qapp, 0.1)


if __name__ == "__main__":
    main(*sys.argv[1:2])
