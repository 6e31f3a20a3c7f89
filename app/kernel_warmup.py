"""Compile the numba kernels in a background process after the window is shown.

The first Forward on a layer graph would otherwise compile kernels on the GUI
thread (seconds when numba's cache is cold). A separate process fills the
on-disk cache instead (`python -m graphcore.kernels.warm`), so the GUI only
loads compiled code; its progress shows in the status bar and disappears
when done. Nothing is started when the cache is already warm.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QProcess, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar

START_DELAY_MS = 1500


class KernelWarmup(QObject):
    """Runs the warm-up process and mirrors its "i/n name" lines in the status bar."""

    finished = Signal(bool)  # True when the process completed successfully

    def __init__(self, window: QMainWindow, command: list[str] | None = None) -> None:
        super().__init__(window)
        self.setObjectName("kernelWarmup")
        self.command = command or [sys.executable, "-m", "graphcore.kernels.warm"]
        self.label = QLabel("Preparing compute kernels…")
        self.label.setObjectName("kernelWarmupLabel")
        self.bar = QProgressBar()
        self.bar.setObjectName("kernelWarmupBar")
        self.bar.setMaximumWidth(120)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.bar.setToolTip("Compiling the numba kernels once, so running a graph never waits for it")
        bar = window.statusBar()
        bar.addWidget(self.label)
        bar.addWidget(self.bar)
        self.label.hide()
        self.bar.hide()
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._done)
        self.process.errorOccurred.connect(self._error)
        self._buffer = b""

    def start(self) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            return
        self.label.show()
        self.bar.show()
        self.bar.setRange(0, 0)
        self.process.start(self.command[0], self.command[1:])

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            head, _, name = raw.decode("utf-8", "replace").strip().partition(" ")
            done, _, total = head.partition("/")
            if done.isdigit() and total.isdigit() and int(total) > 0:
                self.bar.setRange(0, int(total))
                self.bar.setValue(int(done))
                self.label.setText(f"Preparing compute kernels {done}/{total}")

    def _done(self, code: int, status) -> None:
        ok = code == 0 and status == QProcess.ExitStatus.NormalExit
        self.label.hide()
        self.bar.hide()
        if not ok:  # kernels then compile on first use, as they would without the warm-up
            window = self.parent()
            if isinstance(window, QMainWindow):
                window.statusBar().showMessage("Kernel warm-up did not finish; kernels compile on first use", 6000)
        self.finished.emit(ok)

    def _error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._done(1, QProcess.ExitStatus.CrashExit)

    def stop(self) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(2000)


def needed() -> bool:
    """True unless numba is off, missing, or its cache already holds every kernel."""
    from graphcore import kernels

    if kernels.requested_backend() != "numba":
        return False
    try:
        from graphcore.kernels import warm
    except ImportError:
        return False
    return not warm.is_warm()


def start_kernel_warmup(window: QMainWindow, delay_ms: int = START_DELAY_MS) -> KernelWarmup | None:
    """Schedule the warm-up for after the window has painted; None when not needed."""
    try:
        if not needed():
            return None
    except Exception:  # a broken cache stamp must never stop the app from starting
        return None
    warmup = KernelWarmup(window)
    window.kernel_warmup = warmup
    QTimer.singleShot(delay_ms, warmup.start)
    return warmup
