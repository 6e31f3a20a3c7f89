"""Python's cyclic garbage collector runs on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate. When that is a worker thread (a
search's inline trials, the training relay, the kernel warm-up) and the garbage holds Qt wrappers,
their C++ destructors run off the GUI thread. Seen here: a deadlock (the worker inside
QObject::~QObject waiting for the GIL while the GUI thread, deleting a menu, waited for Qt's mutex)
and a segfault under the same load. So automatic collection is turned off and a GUI-thread timer
collects instead, generation by generation at the interpreter's own thresholds (pyqtgraph's
GarbageCollector does the same; not imported here, since startup must not load pyqtgraph).
Reference counting still frees everything acyclic at once.
"""
from __future__ import annotations

import gc

INTERVAL_MS = 250  # cyclic garbage waits at most this long; a generation-0 pass costs microseconds

_timer = None


def collect_due() -> None:
    """Collect each generation whose count passed its threshold, youngest first, as gc would."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for gen in range(3):
        if counts[gen] <= thresholds[gen]:
            break
        gc.collect(gen)


def install() -> None:
    """Once per process, after the QApplication exists: the timer belongs to the thread that calls this."""
    global _timer
    if _timer is None:
        from PySide6.QtCore import QTimer

        gc.disable()
        _timer = QTimer()
        _timer.setObjectName("gcGuardTimer")
        _timer.timeout.connect(collect_due)
        _timer.start(INTERVAL_MS)
