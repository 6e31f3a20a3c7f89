"""`main.py search --dask ADDRESS`: the trials on a Dask cluster (a LocalCluster of 2 worker processes,
shared by this module). Losing a worker loses no trial; Stop cancels the rest."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from dask.distributed import Client, LocalCluster  # the test extra has it

import graphcore as gc
from graphcore.cli import main as cli_main
from graphcore.train import search, trials
from graphcore.train.config import TrainConfig

pytestmark = pytest.mark.slow  # a cluster of processes: seconds
EX = os.path.join(os.path.dirname(__file__), "..", "resources", "examples")
XOR = os.path.join(EX, "xor_mlp.json")


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                     memory_limit=0, silence_logs=40)
    client = Client(c, set_as_default=False)
    yield c, client
    client.close()
    c.close()


def test_six_trials_survive_a_killed_worker(cluster, capsys):
    c, client = cluster
    killed = {}

    def kill_a_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = {w: tasks for w, tasks in client.processing().items() if tasks}
            if busy:
                addr = next(iter(busy))
                pid = client.run(os.getpid, workers=[addr])[addr]
                killed.update(addr=addr, pid=pid, tasks=list(busy[addr]))
                os.kill(pid, signal.SIGKILL)  # the worker dies mid-trial; its nanny starts a new one
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    code = cli_main(["search", XOR, "--dask", c.scheduler_address, "--trials", "3", "--epochs-per-trial", "40",
                     "--json", "--quiet"])
    killer.join()
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert killed.get("tasks"), "no worker was busy: the kill did not land mid-run"
    assert len(out["trials"]) == 6 and all(t["status"] == "finished" for t in out["trials"])
    assert [t["stage"] for t in out["trials"]].count("fine") == 3


def test_results_stream_and_stop_cancels_the_rest(cluster):
    c, client = cluster
    g = gc.load(XOR)
    cfg = TrainConfig.from_dict(g.meta["training"])
    runner = trials.DaskRunner(client=client)
    jobs = search._jobs(g, cfg, 4, (1e-3, 1e-1), None, 1, 0, "coarse", None, None)
    for j in jobs[1:]:
        j["config"] = dict(j["config"], epochs=100000)  # only Stop ends these
    got = []
    for t in runner.stream(jobs, stop=lambda: len(got) >= 1):
        got.append(t)
    assert [t["index"] for t in got] == [0] and got[0]["pid"] != os.getpid()
    futures = runner.futures[1:]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(f.status == "cancelled" for f in futures):
        time.sleep(0.05)
    assert [f.status for f in futures] == ["cancelled"] * 3

    def executing():  # a cancelled future's task, already running, stops itself (it polls the stop event)
        return sum(client.run(lambda dask_worker: dask_worker.state.executing_count).values())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and executing():
        time.sleep(0.1)
    assert executing() == 0  # no worker is left training one of 100,000 epochs


def test_an_unreachable_scheduler_is_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(trials, "CONNECT_TIMEOUT", 1.0)  # the CLI's bound is 10 s; the message names it
    code = cli_main(["search", XOR, "--dask", "tcp://127.0.0.1:9", "--trials", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 1 s")
