"""The background kernel warm-up: progress in the status bar, gone when done."""
import sys

import pytest

from PySide6.QtWidgets import QMainWindow

from app.kernel_warmup import KernelWarmup, needed
from graphcore.kernels import warm

FAKE = ("import sys, time\n"
        "for i in range(5):\n"
        "    print(f'{i}/5 kernel{i}', flush=True); time.sleep(0.05)\n"
        "print('5/5 done', flush=True)\n")


def test_progress_lines_drive_the_status_bar_and_it_hides_when_done(qtbot):
    win = QMainWindow()
    qtbot.addWidget(win)
    w = KernelWarmup(win, [sys.executable, "-c", FAKE])
    seen = []
    w.bar.valueChanged.connect(seen.append)
    with qtbot.waitSignal(w.finished, timeout=20000) as blocker:
        w.start()
        assert w.label.isVisibleTo(win)
    assert blocker.args == [True]
    assert w.bar.maximum() == 5 and 4 in seen
    assert not w.label.isVisibleTo(win) and not w.bar.isVisibleTo(win)


def test_a_failing_warmup_says_so_and_does_not_raise(qtbot):
    win = QMainWindow()
    qtbot.addWidget(win)
    w = KernelWarmup(win, [sys.executable, "-c", "import sys; sys.exit(3)"])
    with qtbot.waitSignal(w.finished, timeout=20000) as blocker:
        w.start()
    assert blocker.args == [False]
    assert "compile on first use" in win.statusBar().currentMessage()


@pytest.mark.slow
def test_real_warmup_writes_the_stamp_and_is_then_not_needed(tmp_path, monkeypatch, qtbot):
    monkeypatch.setattr(warm, "stamp_path", lambda: str(tmp_path / "stamp.json"))
    assert not warm.is_warm()
    assert warm.warm(progress=lambda line: None) == len(warm.names()) * len(warm.DTYPES)
    monkeypatch.setattr(warm, "stamp_path", lambda: str(tmp_path / "stamp.json"))
    import json

    (tmp_path / "stamp.json").write_text(json.dumps({"key": warm.stamp_key()}))
    assert warm.is_warm() and not needed()
