"""Python's cyclic garbage collector runs on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate. When that is a worker thread (a
search's inline trials, the training relay, the kernel warm-up) and the garbage holds Qt wrappers,
their C++ destructors run off the GUI thread. Seen here: a deadlock (the worker inside
QObject::~QObject waiting for the GIL while the GUI thread, deleting a menu, waited for Qt's mutex)
and a segfault under the same load. pyqtgraph's GarbageCollector turns automatic collection off
and collects on a GUI-thread timer instead; reference counting still frees everything acyclic at
once.
"""
from __future__ import annotations

INTERVAL_S = 0.25  # cyclic garbage waits at most this long; a generation-0 pass costs microseconds

_collector = None


def install() -> None:
    """Once per process, after the QApplication exists (its timer lives on the GUI thread)."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=INTERVAL_S)
