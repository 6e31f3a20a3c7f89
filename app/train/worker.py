"""Training off the GUI thread: a QThread that relays a training process.

The run itself (graphcore.train.session) happens in a child process started with "spawn", on a
pickled copy of the graph, so the document graph and every view mirroring it stay on the
GUI thread and the training loop never holds the GUI's GIL (a training thread in the same
process stalled the GUI by hundreds of ms: every Python call from Qt waited for the GIL).
This thread only waits on the pipe and re-emits each message as a queued signal; messages
are already throttled by the job (metrics ~30 per second, snapshots ~4 per second).
`inline=True` runs the job on this thread instead (for debugging; the GUI uses the process). numba does
not promise that compiling on a second thread is safe while the GUI thread runs Python, so an inline run
is best made with `graphcore.kernels.use("numpy")` (the inline tests do).

Pause, resume, stop, "one more epoch" and new settings (("settings", {...}): learning rate,
optimizer hyperparameters, schedule, λ, edited while the run goes on) are sent to the process
and take effect before its next step. A process that does not answer Stop (stuck in one long step, or reading) is
terminated after `stop_grace` seconds and killed `kill_grace` seconds later, so Stop always
ends the run. If the process dies, `done` still arrives, with status "error".
"""
from __future__ import annotations

import multiprocessing as mp
import pickle
import threading
import time

from PySide6.QtCore import QThread, Signal

import graphcore as gc
from graphcore.train import datapath

from . import datapaths
from ..childproc import end_process
from graphcore import spawnsafe

STACK_BYTES = 64 * 1024 * 1024  # inline mode: numba compiles kernels on first use, on this thread
_COMMANDS = ("stop", "pause", "resume", "epoch")
STOP_GRACE = 3.0  # seconds a process has to answer Stop before it is terminated
KILL_GRACE = 2.0  # seconds a terminated process has before it is killed


class TrainThread(QThread):
    """One training run. Create, connect, start(); it ends by emitting `done`."""

    chunk = Signal(object)  # {series name: (xs, ys)} for RunHistory.add_chunk
    progress = Signal(object)  # {"epoch", "epochs", "iteration", "iterations", "loss"}
    snapshot = Signal(object)  # {"grid" | "samples", "filters", "hist", "flow", "iteration"}
    event = Signal(object)  # the Trainer's events: started, paused, resumed, stopped, ...
    warning = Signal(str)  # exploding or diverging loss
    trajectory = Signal(object)  # {"steps", "xy"}: the run's path on the loss landscape's plane
    done = Signal(object)  # {"status", "message", "node", "final", "tensors", "opt_state", ...}

    def __init__(self, graph: gc.Graph, training: dict, gui: dict | None = None, base_dir: str | None = None,
                 snapshots: bool = True, inline: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainThread")
        self.setStackSize(STACK_BYTES)
        self.source_version = graph.structure_version
        self._graph_bytes = pickle.dumps(graph.copy(), protocol=pickle.HIGHEST_PROTOCOL)
        self.training = dict(training)
        self.gui = dict(gui or {})
        self.base_dir = base_dir
        # the folder the run's data paths are confined to, worked out as the Trainer will: the question
        # asked in start() and the check in the training process agree
        self.data_folder = datapath.folder_for(graph.file, base_dir)[0]
        self.snapshots = snapshots
        self.inline = inline
        self.state = "starting"  # starting, running, paused, done
        self.steps_done = 0
        self.epochs_done = 0
        self.result: dict | None = None
        self._lock = threading.Lock()
        self._pending: list[str] = []  # commands given before the process or job exists
        self._job = None
        self._ctx = mp.get_context("spawn")
        self._cmd_recv, self._cmd_send = self._ctx.Pipe(duplex=False)
        self._proc = None
        self.child_target = None  # the process's function (default app.train.child.child_main)
        self.stop_grace = STOP_GRACE
        self.kill_grace = KILL_GRACE
        self._stop_at: float | None = None  # monotonic time Stop was pressed
        self.ended_by: str | None = None  # "terminated" or "killed" when Stop had to force it
        self.confirm_data = datapaths.ask_to_use_data_path  # (real path, value) -> bool, on the GUI thread
        self.data_policy: datapath.DataPolicy | None = None  # settled in start(), handed to the job

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    # ------------------------------------------------------------ control (GUI thread)
    def _command(self, cmd) -> None:
        with self._lock:
            if self.inline:
                if self._job is None:
                    self._pending.append(cmd)
                else:
                    self._apply(self._job, cmd)
                return
            try:
                self._cmd_send.send(cmd)  # buffered in the pipe until the process reads it
            except (OSError, ValueError):
                pass  # the process has ended

    def request_stop(self) -> None:
        if self._stop_at is None:
            self._stop_at = time.monotonic()
        self._command("stop")

    def request_pause(self, on: bool = True) -> None:
        self._command("pause" if on else "resume")

    def request_epoch(self) -> None:
        self._command("epoch")

    def request_settings(self, settings: dict) -> None:
        """Send new settings ({"optimizer", "schedule", "reg_strength"}); the run applies them before its
        next step, or refuses them with a "settings_refused" event and goes on."""
        self._command(("settings", dict(settings)))

    @staticmethod
    def _apply(job, cmd) -> None:
        if isinstance(cmd, tuple):
            if cmd[0] == "settings":
                job.request_settings(cmd[1])
            return
        {"stop": job.request_stop, "pause": lambda: job.request_pause(True),
         "resume": lambda: job.request_pause(False), "epoch": job.request_epoch}[cmd]()

    # ------------------------------------------------------------ the thread
    def start(self, *args) -> None:  # noqa: D401 (Qt override)
        """Settle the data policy on the GUI thread first: a data path out of the graph's folder is
        asked about once (and remembered); a no leaves it refused, and the run says why."""
        policy = datapaths.data_policy()
        ask = datapaths.needs_confirmation(self.training, self.data_folder, policy)
        if ask is not None and self.confirm_data(*ask):
            datapaths.remember_data_path(ask[0])
            policy = policy.allowing(ask[0])
        self.data_policy = policy
        super().start(*args)

    def run(self) -> None:  # noqa: D401 (Qt override)
        try:
            result = self._run_inline() if self.inline else self._run_process()
        except Exception as exc:  # never leave the GUI waiting for a `done` that does not come
            result = {"status": "error", "message": f"{type(exc).__name__}: {exc}", "node": None, "final": {},
                      "tensors": None, "opt_state": {}, "training_state": None, "epochs": self.epochs_done,
                      "steps": self.steps_done, "stop_step": None}
        result["source_version"] = self.source_version
        self.result = result
        self.state = "done"
        self.done.emit(result)

    def _dispatch(self, kind: str, payload) -> None:
        if kind == "progress":
            self.steps_done = payload["iteration"]
            self.epochs_done = payload["epoch"]
            if self.state == "starting":
                self.state = "running"
            self.progress.emit(payload)
        elif kind == "event":
            t = payload.get("type")
            if t == "paused":
                self.steps_done = payload.get("step", self.steps_done)
                self.epochs_done = payload.get("epoch", self.epochs_done)
                self.state = "paused"
            elif t in ("resumed", "started"):
                self.state = "running"
            self.event.emit(payload)
        elif kind == "chunk":
            self.chunk.emit(payload)
        elif kind == "snapshot":
            self.snapshot.emit(payload)
        elif kind == "warning":
            self.warning.emit(payload)
        elif kind == "trajectory":
            self.trajectory.emit(payload)

    def _run_inline(self) -> dict:
        from graphcore.train.session import TrainJob

        job = TrainJob(pickle.loads(self._graph_bytes), self.training, self.gui, self.base_dir, self.snapshots,
                       self._dispatch, policy=self.data_policy)
        with self._lock:
            self._job = job
            for cmd in self._pending:
                self._apply(job, cmd)
        return job.run()

    def _run_process(self) -> dict:
        target = self.child_target
        if target is None:
            from .child import child_main as target

        out_recv, out_send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=target, name="backprop-train", daemon=True,
                                 args=(out_send, self._cmd_recv, self._graph_bytes, self.training, self.gui,
                                       self.base_dir, self.snapshots, self.data_policy))
        spawnsafe.start(proc)  # the child never re-runs the launching script
        self._proc = proc
        out_send.close()  # the child holds the write end: EOF here means it has gone
        self._cmd_recv.close()
        result = None
        try:
            while True:
                self._enforce_stop(proc)
                if not out_recv.poll(0.1):
                    continue
                try:
                    kind, payload = out_recv.recv()
                except (EOFError, OSError):
                    break
                if kind == "done":
                    result = payload
                    break
                self._dispatch(kind, payload)
        finally:
            out_recv.close()
            end_process(proc, wait=5, terminate=False)  # it sent "done" or its pipe closed: it is ending
            try:
                self._cmd_send.close()
            except OSError:
                pass
        if result is None:
            if self.ended_by:
                message = (f"Stop was not answered within {self.stop_grace:g} s, so the training process was "
                           f"{self.ended_by}; the graph keeps the weights it had before the run")
            else:
                message = f"the training process ended unexpectedly (exit code {proc.exitcode})"
            result = {"status": "error", "node": None, "final": {}, "tensors": None, "opt_state": {},
                      "training_state": None, "epochs": self.epochs_done, "steps": self.steps_done,
                      "stop_step": None, "message": message, "ended_by": self.ended_by}
        return result

    def _enforce_stop(self, proc) -> None:
        """After Stop: terminate a process that has not ended within stop_grace, kill it kill_grace later."""
        if self._stop_at is None or not proc.is_alive():
            return
        waited = time.monotonic() - self._stop_at
        if self.ended_by is None and waited >= self.stop_grace:
            self.ended_by = "terminated"
            self.warning.emit(f"Training did not stop within {self.stop_grace:g} s; ending its process…")
            proc.terminate()
        elif self.ended_by == "terminated" and waited >= self.stop_grace + self.kill_grace:
            self.ended_by = "killed"
            proc.kill()
