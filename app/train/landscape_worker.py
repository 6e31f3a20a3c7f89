"""The loss landscape's computations off the GUI thread: one grid or one optimizer race per job.

Like a training run (worker.py), a job runs in a child process started with "spawn", on a pickled
copy of the graph and the plane, so its Python loop never holds the GUI's GIL and numba never
compiles on a second thread of the GUI process; this QThread only waits for the answer and emits
it. `inline=True` runs the job on the thread itself (tests, with graphcore.kernels.use("numpy")).
Cancel ends the process (or, inline, stops the grid between rows); a cancelled job emits nothing.
"""
from __future__ import annotations

import multiprocessing as mp
import pickle
import threading

from PySide6.QtCore import QThread, Signal

import graphcore as gc
from ..childproc import end_process
from graphcore import spawnsafe


def run_job(graph: gc.Graph, job: dict, policy=None, base_dir: str | None = None, should_stop=None):
    """("grid", Grid) or ("race", {kind: Trajectory}) or ("error", message): what the job asked for."""
    from graphcore.train.landscape import Landscape, LandscapeError

    try:
        land = Landscape(graph, points=job.get("points", 256), base_dir=base_dir, policy=policy)
        if job["what"] == "grid":
            return "grid", land.grid(job["plane"], span=job["span"], resolution=job["resolution"],
                                     center=job.get("center", (0.0, 0.0)), should_stop=should_stop)
        return "race", land.race(job["plane"], steps=job["steps"], kinds=job.get("kinds"),
                                 settings=job.get("settings"))
    except (LandscapeError, ValueError) as exc:
        return "error", str(exc)


def child_main(conn, graph_bytes: bytes, job: dict, policy, base_dir) -> None:
    """The process: compute, send the answer, end."""
    try:
        answer = run_job(pickle.loads(graph_bytes), job, policy, base_dir)
    except Exception as exc:  # a bug: say so rather than die silently
        answer = ("error", f"{type(exc).__name__}: {exc}")
    conn.send(answer)
    conn.close()


class LandscapeThread(QThread):
    """One job; create, connect `finished_job`, start(). Emits (kind, payload) unless cancelled."""

    finished_job = Signal(str, object)

    def __init__(self, graph: gc.Graph, job: dict, base_dir: str | None = None, policy=None,
                 inline: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("landscapeThread")
        self.job = dict(job)
        self.inline = inline
        self.base_dir = base_dir
        self.policy = policy
        self.source_version = graph.structure_version
        self._graph = graph.copy() if inline else None
        self._graph_bytes = None if inline else pickle.dumps(graph.copy(), protocol=pickle.HIGHEST_PROTOCOL)
        self._cancel = threading.Event()
        self._proc = None

    def cancel(self) -> None:
        self._cancel.set()
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.terminate()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # noqa: D401 (Qt override)
        try:
            answer = self._inline() if self.inline else self._process()
        except InterruptedError:
            return
        except Exception as exc:  # never leave the view waiting
            answer = ("error", f"{type(exc).__name__}: {exc}")
        if not self._cancel.is_set():
            self.finished_job.emit(*answer)

    def _inline(self):
        return run_job(self._graph, self.job, self.policy, self.base_dir, should_stop=self._cancel.is_set)

    def _process(self):
        ctx = mp.get_context("spawn")
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=child_main, name="backprop-landscape", daemon=True,
                           args=(send, self._graph_bytes, self.job, self.policy, self.base_dir))
        spawnsafe.start(proc)  # the child never re-runs the launching script
        self._proc = proc
        send.close()
        try:
            while not self._cancel.is_set():
                if recv.poll(0.1):
                    try:
                        return recv.recv()
                    except (EOFError, OSError):
                        break
                if not proc.is_alive() and not recv.poll(0):
                    break
            if self._cancel.is_set():
                raise InterruptedError
            return "error", f"the landscape process ended unexpectedly (exit code {proc.exitcode})"
        finally:
            recv.close()
            end_process(proc)
