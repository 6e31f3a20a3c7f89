"""Off the GUI thread: the babysitting checks (in a child process) and a search (its trials in worker
processes or on a Dask cluster). Each QThread only waits and relays results as queued signals, so
the window never waits on a check or a trial (the checks train for seconds: in this process they
would hold the GIL the GUI needs)."""
from __future__ import annotations

import multiprocessing as mp
import pickle
import threading

from PySide6.QtCore import QThread, Signal

import graphcore as gc
from ..childproc import end_process
from graphcore import spawnsafe


class ChecksThread(QThread):
    """Runs app.babysit.child.checks_main in a spawned process; `verdict` per check, then `finished_with`."""

    verdict = Signal(object)  # Verdict.to_dict()
    finished_with = Signal(object)  # None when all ran, "stopped", or the error line

    def __init__(self, graph: gc.Graph, training: dict, gui: dict, base_dir: str | None, policy=None,
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("babysitThread")
        self._graph_bytes = pickle.dumps(graph.copy(), protocol=pickle.HIGHEST_PROTOCOL)
        self.args = (dict(training), dict(gui), base_dir, policy)
        self._stop = threading.Event()
        self.outcome: object = None

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:  # noqa: D401 (Qt override)
        from .child import checks_main

        ctx = mp.get_context("spawn")
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=checks_main, name="backprop-babysit", daemon=True,
                           args=(send, self._graph_bytes, *self.args))
        outcome: object = "the checks' process ended unexpectedly"
        try:
            spawnsafe.start(proc)  # the child never re-runs the launching script
        except Exception as exc:  # noqa: BLE001 (reported in the panel, one line)
            recv.close()
            self.outcome = f"the checks' process could not start: {type(exc).__name__}: {exc}".splitlines()[0]
            self.finished_with.emit(self.outcome)
            return
        finally:
            send.close()
        try:
            while True:
                if self._stop.is_set():
                    outcome = "stopped"
                    break
                if not recv.poll(0.05):
                    if not proc.is_alive() and not recv.poll(0):
                        break
                    continue
                try:
                    kind, payload = recv.recv()
                except (EOFError, OSError):
                    break
                if kind == "verdict":
                    self.verdict.emit(payload)
                else:
                    outcome = None if kind == "done" else payload
                    break
        finally:
            recv.close()
            end_process(proc)
        self.outcome = outcome
        self.finished_with.emit(outcome)


class SearchThread(QThread):
    """A coarse (then fine) random search; `trial` per finished trial, then `finished_with(result | error)`."""

    trial = Signal(object)
    stage = Signal(str)
    finished_with = Signal(object)  # the search's result dict, or an error line (str)

    def __init__(self, graph: gc.Graph, training: dict, options: dict, base_dir: str | None, policy=None,
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("searchThread")
        self.graph = graph.copy()
        self.training = dict(training)
        self.options = dict(options)
        self.base_dir = base_dir
        self.policy = policy
        self._stop = threading.Event()
        self.runner_factory = None  # tests hand in a runner (e.g. one that runs inline)
        self.result: object = None

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:  # noqa: D401 (Qt override)
        from graphcore.train import search, trials
        from graphcore.train.config import TrainConfig

        o = self.options
        runner = None
        try:
            if self.runner_factory is not None:
                runner = self.runner_factory()
            elif o.get("dask"):
                runner = trials.DaskRunner(address=o["dask"])
            else:
                runner = trials.LocalRunner(o.get("workers") or 1)  # a pool even for one: never this GIL
            cfg = TrainConfig.from_dict(self.training)
            epochs = o["epochs"] or search.auto_trial_epochs(self.graph, cfg, self.base_dir, self.policy)  # 0: auto
            self.stage.emit(f"{epochs} epochs per trial")
            kw = dict(trials=o["trials"], epochs=epochs, lr_range=o["lr_range"], workers=o.get("workers"),
                      seed=o.get("seed", 0), base_dir=self.base_dir, policy=self.policy, runner=runner,
                      on_trial=self.trial.emit, stop=self._stop.is_set)
            if o.get("fine", True):
                res = search.coarse_to_fine(self.graph, cfg, reg_range=o["reg_range"], log=self.stage.emit, **kw)
            else:
                has_reg = bool(search.reg_nodes(self.graph))
                kw["reg_range"] = o["reg_range"] if has_reg else None
                kw.pop("workers")
                got = search.random_search(self.graph, cfg, **kw, stage="coarse")
                res = {"trials": got, "best": search.best_of(got), "stopped": self._stop.is_set()}
            self.result = res
        except Exception as exc:  # one line in the dialog; a search never crashes the window
            self.result = f"{type(exc).__name__}: {exc}".splitlines()[0][:300] \
                if not isinstance(exc, trials.SearchError) else str(exc)
        finally:
            if isinstance(runner, trials.DaskRunner):
                runner.close()
        self.finished_with.emit(self.result)
