"""PySide6 6.12.0 with pyqtgraph 0.14.0 crashes the interpreter (`Fatal Python error:
none_dealloc`) when plot widgets are created and destroyed repeatedly. The crash kills
the process, so the stress loop runs in a subprocess and the test asserts it exits cleanly.
"""
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # seconds per test: a subprocess or a full training run

STRESS = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6 import QtWidgets
    import pyqtgraph as pg
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    x = np.linspace(0, 1, 200)
    for i in range(int(sys.argv[1])):
        w = pg.PlotWidget()
        c = w.plot(x, np.sin(x * i), pen="y")
        w.setLogMode(False, bool(i % 2))
        w.addLegend()
        w.show()
        app.processEvents()
        c.setData(x, np.cos(x * i))
        w.close()
        w.deleteLater()
        app.processEvents()
        glw = pg.GraphicsLayoutWidget()
        p = glw.addPlot()
        p.plot(x, x * i)
        img = pg.ImageItem(np.random.rand(8, 8))
        p.addItem(img)
        glw.deleteLater()
        app.processEvents()
    print("survived")
""")


def test_plot_widgets_survive_repeated_create_destroy(tmp_path):
    script = tmp_path / "stress.py"
    script.write_text(STRESS)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, str(script), "150"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "survived" in r.stdout, (
        f"plot stress crashed (exit {r.returncode}); a PySide6/pyqtgraph pair that is known to crash? "
        f"{r.stderr[-2000:]}")


def test_pinned_qt_pair_is_not_the_known_bad_one():
    from importlib.metadata import version

    assert not (version("PySide6-Essentials").startswith("6.12.0") and version("pyqtgraph") == "0.14.0")
