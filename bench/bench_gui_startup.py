"""Time from `python main.py` to the main window shown (offscreen), without running the event loop.

    python bench/bench_gui_startup.py [FILE] [--runs N]

Each run is a fresh interpreter; the figure printed is wall time from process start to the
first processed paint of the shown window, and which heavy modules got imported (none of
numba or pyqtgraph should be).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
import main, app
from PySide6.QtCore import QTimer
shown = {{}}
def check():
    shown["t"] = time.time()
    app.application().quit()
def patched_run_gui(path=None):
    qapp = app.application()
    w = app.create_main_window(path)
    w.show()
    QTimer.singleShot(0, check)
    qapp.exec()
    return 0
app.run_gui = patched_run_gui
main.main({argv!r})
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {{'numba', 'pyqtgraph', 'scipy', 'matplotlib'}})
print(shown["t"], ",".join(heavy) or "-")
"""


def one_run(argv: list[str]) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BACKPROP_STUDIO_DATA_DIR=tmp,
                   BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT="1", XDG_CONFIG_HOME=os.path.join(tmp, "cfg"))
        start = time.time()
        r = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT, argv=argv)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise SystemExit(r.stderr)
        t, heavy = r.stdout.strip().splitlines()[-1].split()
        return float(t) - start, heavy


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("file", nargs="?")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    argv = [args.file] if args.file else []
    times = []
    for _ in range(args.runs):
        t, heavy = one_run(argv)
        times.append(t)
    print(f"python main.py {' '.join(argv)}: window shown in median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} runs); heavy modules imported: {heavy}")


if __name__ == "__main__":
    main()
