"""Search results stream as trials finish, and Stop cancels the rest (graphcore.train.search, trials.py)."""
from __future__ import annotations

import multiprocessing
import os

import pytest

import graphcore as gc
from graphcore.train import search, trials
from graphcore.train.config import TrainConfig

EX = os.path.join(os.path.dirname(__file__), "..", "resources", "examples")


def xor():
    g = gc.load(os.path.join(EX, "xor_mlp.json"))
    return g, TrainConfig.from_dict(g.meta["training"])


class Recording(trials.InlineRunner):
    """Runs inline, noting when each trial is handed out (to see that results are not held back)."""

    def __init__(self):
        self.started = []

    def stream(self, jobs, stop=None):
        for job in jobs:
            if stop is not None and stop():
                return
            self.started.append(job["index"])
            yield search.run_trial(job)


def test_each_trial_is_reported_as_it_finishes_not_at_the_end():
    g, cfg = xor()
    runner = Recording()
    seen = []

    def on_trial(t):
        seen.append((t["index"], list(runner.started)))  # what had been started when this one arrived

    out = search.random_search(g, cfg, trials=3, lr_range=(1e-3, 1e-1), reg_range=None, epochs=1,
                               runner=runner, on_trial=on_trial)
    assert [i for i, _ in seen] == [0, 1, 2]
    assert [started for _, started in seen] == [[0], [0, 1], [0, 1, 2]]  # trial 0 arrived before 1 started
    assert [t["index"] for t in out] == [0, 1, 2] and all(t["status"] == "finished" for t in out)


def test_stop_cancels_the_rest_and_skips_the_fine_stage():
    g, cfg = xor()
    seen = []
    res = search.coarse_to_fine(g, cfg, trials=4, epochs=1, runner=Recording(), on_trial=seen.append,
                                stop=lambda: len(seen) >= 2)
    assert len(seen) == 2 and res["stopped"] is True
    assert {t["stage"] for t in res["trials"]} == {"coarse"} and res["fine_lr_range"] is None
    assert res["best"] is search.best_of(res["trials"])


def test_coarse_then_fine_streams_both_stages():
    g, cfg = xor()
    seen = []
    res = search.coarse_to_fine(g, cfg, trials=2, epochs=1, runner=Recording(), on_trial=seen.append)
    assert [t["stage"] for t in seen] == ["coarse", "coarse", "fine", "fine"]
    assert res["stopped"] is False and len(res["trials"]) == 4
    lo, hi = res["fine_lr_range"]
    best_coarse = search.best_of([t for t in seen if t["stage"] == "coarse"])
    assert lo < best_coarse["lr"] < hi


def test_a_trial_error_ends_the_stream_with_that_error():
    g, cfg = xor()
    jobs = search._jobs(g, cfg, 2, (1e-3, 1e-1), None, 1, 0, "coarse", None, None)
    jobs[0]["config"] = dict(jobs[0]["config"], dataset={"name": "no-such-set"})
    with pytest.raises(Exception, match="no-such-set"):
        list(trials.InlineRunner().stream(jobs))


def test_dask_without_an_address_or_package_is_one_line(monkeypatch):
    with pytest.raises(trials.SearchError, match="scheduler address"):
        trials.DaskRunner()
    import builtins

    real = builtins.__import__

    def no_dask(name, *a, **k):
        if name.startswith("dask"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(trials.SearchError, match=r'pip install "backprop-studio\[distributed\]"'):
        trials.make_runner(dask="tcp://127.0.0.1:1")


@pytest.mark.slow  # a pool of two spawned processes
def test_local_pool_streams_in_finishing_order_and_stop_ends_the_long_trial():
    g, cfg = xor()
    jobs = search._jobs(g, cfg, 2, (1e-3, 1e-1), None, 1, 0, "coarse", None, None)
    jobs[0]["config"] = dict(jobs[0]["config"], epochs=100000)  # minutes of work: only Stop can end it
    runner = trials.LocalRunner(2)
    got = []
    for t in runner.stream(jobs, stop=lambda: len(got) >= 1):
        got.append(t)
    assert [t["index"] for t in got] == [1]  # the short trial came first, though it was submitted second
    assert got[0]["pid"] != os.getpid()
    assert not multiprocessing.active_children()  # the long trial's process was ended, not waited for


def test_a_malformed_dask_address_is_refused_at_once_in_one_line(capsys):
    """No connection attempt: 'notanaddress' used to wait 20 s and print a TimeoutError from the
    half-built Client's __del__ after the error line."""
    import os

    from graphcore.cli import main as cli_main

    xor = os.path.join(os.path.dirname(__file__), "..", "resources", "examples", "xor_mlp.json")
    code = cli_main(["search", xor, "--dask", "notanaddress", "--trials", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: --dask 'notanaddress' is not a scheduler address (missing port number")
