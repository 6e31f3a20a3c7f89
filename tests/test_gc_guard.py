"""Cyclic garbage is collected on the GUI thread only, never in a worker thread that happens to
allocate (a collection there runs Qt destructors off the GUI thread: a deadlock was caught in the
Search dialog's test, a worker in QObject::~QObject waiting for the GIL)."""
from __future__ import annotations

import gc
import threading

import app


def test_a_worker_thread_allocating_never_runs_the_collector(qapp, qtbot):
    app.application()
    gui_thread = threading.get_ident()  # the QApplication's thread (under xdist not threading.main_thread())
    collected_in: list[int] = []

    def on_gc(phase, _info):
        if phase == "start":
            collected_in.append(threading.get_ident())

    gc.callbacks.append(on_gc)
    try:
        def churn():  # far past generation 0's threshold, all of it cyclic garbage
            for _ in range(50_000):
                loop: list = []
                loop.append(loop)

        worker = threading.Thread(target=churn)
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: bool(collected_in), timeout=5000)  # the GUI thread's timer collects it
    finally:
        gc.callbacks.remove(on_gc)
    assert set(collected_in) == {gui_thread}
