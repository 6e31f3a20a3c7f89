"""Where search trials run: in this process, in a pool of local processes, or on a Dask cluster.

Every runner has one method, `stream(jobs, stop)`, a generator that yields each trial's result as
soon as it finishes (in finishing order) and cancels the rest when `stop()` turns true or the
consumer closes it. A trial that raises ends the stream with that error (after cancelling the
rest): a bad data file is one message, not one per trial.

Dask (`DaskRunner`, the optional extra `distributed`): the same `run_trial` jobs are submitted to an
existing scheduler through `dask.distributed.Client(address)`. A worker that dies loses no trial:
the scheduler gives its tasks to another worker (up to its `allowed-failures`), and each task also
has `retries`. The job carries everything (graph text, settings, data policy, the graph's folder)
as plain arguments, so a worker reads no setting from its environment; data files must be at the
same paths on the workers (the built-in data sets are generated, so they always are).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
import uuid
from typing import Callable, Iterator
from ..spawnsafe import main_script_hidden

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")
CONNECT_TIMEOUT = 10.0  # seconds to reach a Dask scheduler before giving up
POLL = 0.05  # seconds between looks at `stop` while waiting


class SearchError(Exception):
    """A search could not start (no distributed package, an unreachable scheduler); one line."""


def _never() -> bool:
    return False


class InlineRunner:
    """One trial after another in this process (no pool to start: one worker, or tests)."""

    def stream(self, jobs: list[dict], stop: Callable[[], bool] | None = None) -> Iterator[dict]:
        from .search import run_trial

        stop = stop or _never
        for job in jobs:
            if stop():
                return
            yield run_trial(job)


class LocalRunner:
    """A pool of `workers` spawned processes, each with its BLAS/numba threads set to 1."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))

    def _pool(self, n: int):
        saved = {k: os.environ.get(k) for k in THREAD_VARS}
        ctx = mp.get_context("spawn")  # no fork of a threaded (GUI) process
        try:
            for k in THREAD_VARS:
                os.environ[k] = "1"  # the workers inherit this environment when they start
            with main_script_hidden():  # the workers never re-run the launching script
                return ctx.Pool(processes=n)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def stream(self, jobs: list[dict], stop: Callable[[], bool] | None = None) -> Iterator[dict]:
        from .search import run_trial

        if not jobs:
            return
        stop = stop or _never
        done: queue.Queue = queue.Queue()
        pool = self._pool(min(self.workers, len(jobs)))
        try:
            for job in jobs:
                pool.apply_async(run_trial, (job,), callback=lambda r: done.put(("ok", r)),
                                 error_callback=lambda e: done.put(("error", e)))
            pool.close()
            left = len(jobs)
            while left:
                if stop():
                    return
                try:
                    kind, value = done.get(timeout=POLL)
                except queue.Empty:
                    continue
                if kind == "error":
                    raise value
                left -= 1
                yield value
        finally:
            pool.terminate()  # Stop, an error or an early close: the running trials end now
            pool.join()


def dask_client(address: str, timeout: float | None = None):
    """A Client for the scheduler at `address`; SearchError (one line) when it cannot be had."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise SearchError('a Dask search needs the "distributed" package: '
                          'pip install "backprop-studio[distributed]"') from None
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    _check_address(address)
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise SearchError(f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s ({detail})") from None


def _check_address(address: str) -> None:
    """Refuse a malformed address at once: a Client half-built from one waited 20 s and printed a
    TimeoutError traceback from its __del__ after the error line."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as exc:
        raise SearchError(f"--dask {address!r} is not a scheduler address ({exc}); expected host:port such as "
                          "tcp://127.0.0.1:8786") from None


class DaskRunner:
    """Trials as tasks on a Dask cluster; pass `address` (connects, and closes when done) or `client`."""

    def __init__(self, address: str | None = None, client=None, retries: int = 2,
                 timeout: float | None = None) -> None:
        if client is None and not address:
            raise SearchError("a Dask search needs a scheduler address (tcp://host:8786)")
        self.address = address
        self.retries = retries
        self._own = client is None
        self.client = client if client is not None else dask_client(address, timeout)
        self.futures: list = []  # of the current stream (tests look at them)

    def close(self) -> None:
        if self._own and self.client is not None:
            self.client.close()
            self.client = None

    def stream(self, jobs: list[dict], stop: Callable[[], bool] | None = None) -> Iterator[dict]:
        from dask.distributed import as_completed

        from .search import run_trial

        if not jobs:
            return
        stop = stop or _never
        # cancelling a future does not stop a task already running: each trial polls this event
        stop_event = f"backprop-studio-stop-{uuid.uuid4().hex}"
        jobs = [dict(job, stop_event=stop_event) for job in jobs]
        futures = [self.client.submit(run_trial, job, pure=False, retries=self.retries) for job in jobs]
        self.futures = futures
        pending = set(futures)
        ac = as_completed(futures, loop=self.client.loop)  # this client, not a process-wide default
        try:
            while pending:
                if stop():
                    return
                if not ac.has_ready():
                    time.sleep(POLL)
                    continue
                for fut in ac.next_batch(block=False):
                    pending.discard(fut)
                    yield fut.result()  # a trial's own error is raised here
                    if stop():
                        return
        finally:
            if pending:
                from dask.distributed import Event

                Event(stop_event, client=self.client).set()
                self.client.cancel(list(pending), force=True)


def dask_stop_check(name: str, every: float = 0.25) -> Callable[[], bool]:
    """In a trial running as a Dask task: has the search set the Dask Event `name` (Stop, or a
    finished search with trials left)? Asks the scheduler at most once per `every` seconds."""
    last = [time.monotonic()]
    event = None

    def stopped() -> bool:
        nonlocal event
        now = time.monotonic()
        if now - last[0] < every:
            return False
        last[0] = now
        try:
            if event is None:
                from dask.distributed import Event

                event = Event(name)  # the worker's own client
            return event.is_set()
        except Exception:  # noqa: BLE001 - no scheduler to ask (a task run outside a worker): train on
            return False
    return stopped


def make_runner(workers: int | None = None, dask: str | None = None, inline_one: bool = True):
    """The runner for a search: Dask when an address is given, else local processes (one worker runs
    in this process when `inline_one`; the GUI passes False so a search never holds its GIL)."""
    if dask:
        return DaskRunner(address=dask)
    n = workers or os.cpu_count() or 1
    if n <= 1 and inline_one:
        return InlineRunner()
    return LocalRunner(n)


__all__ = ["CONNECT_TIMEOUT", "DaskRunner", "InlineRunner", "LocalRunner", "SearchError", "THREAD_VARS",
           "dask_client", "dask_stop_check", "make_runner"]
