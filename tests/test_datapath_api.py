"""Data paths through the Python API and into child processes.

A graph remembers the file it was loaded from (`g.file`); `Trainer(g)` confines the data
paths its settings name to that file's folder (or to the current folder for a graph built
in code), and the data policy (limits, files the user allowed) is an explicit argument all
the way into the GUI's training process and a search's workers: nothing travels through
the environment.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle

import pytest

import graphcore as gc
from graphcore.train import Trainer, babysit, datasets, search
from graphcore.train.config import ConfigError, TrainConfig
from graphcore.train.datapath import DataPolicy, quote, short_path

EX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "examples")
XOR_CSV = "a,b,label\n" + "0,0,0\n0,1,1\n1,0,1\n1,1,0\n" * 3
OLD_ENV = "BACKPROP_STUDIO_DATA_POLICY"  # where the policy once travelled to children


def xor_doc(path_value) -> dict:
    doc = json.load(open(os.path.join(EX, "xor_mlp.json")))
    doc["meta"]["training"].update(dataset={"name": "csv", "path": path_value}, epochs=1, val_fraction=0.25)
    return doc


def save_graph(folder, path_value) -> str:
    """The shipped xor net saved as folder/g.json, its training data the CSV `path_value`."""
    p = os.path.join(str(folder), "g.json")
    with open(p, "w") as f:
        json.dump(xor_doc(path_value), f)
    return p


@pytest.fixture
def outside(tmp_path):
    """tmp/graph/ holds the graph; tmp/outside.csv is a good data file out of its folder."""
    (tmp_path / "graph").mkdir()
    (tmp_path / "outside.csv").write_text(XOR_CSV)
    return tmp_path


# ---------------------------------------------------------------- the graph remembers its file
def test_a_loaded_graph_remembers_its_file_through_copies_and_pickles(tmp_path, monkeypatch):
    p = save_graph(tmp_path, "d.csv")
    monkeypatch.chdir(tmp_path)
    g = gc.load("g.json")  # a relative name is remembered absolute: a later chdir does not move it
    assert g.file == p
    assert g.copy().file == p and pickle.loads(pickle.dumps(g.copy())).file == p
    assert gc.loads(open(p).read()).file is None and gc.Graph().file is None
    assert g == gc.loads(open(p).read())  # where a graph came from is not part of its content


def test_trainer_reads_a_loaded_graphs_data_from_its_folder_not_the_current_one(outside, monkeypatch):
    (outside / "graph" / "d.csv").write_text(XOR_CSV)
    g = gc.load(save_graph(outside / "graph", "d.csv"))
    (outside / "elsewhere").mkdir()
    monkeypatch.chdir(outside / "elsewhere")  # no d.csv here
    res = Trainer(g).run()
    assert res.status == "finished" and res.steps > 0


# ---------------------------------------------------------------- refused, naming the file and the setting
def _escaping(outside, how) -> tuple[str, str]:
    """(value written in the file, words the refusal must hold)."""
    folder = outside / "graph"
    if how == "absolute":
        return str(outside / "outside.csv"), "is an absolute path"
    if how == "dotdot":
        return "../outside.csv", "leads out of the graph file's folder"
    if how == "device link":
        os.symlink("/dev/zero", folder / "zero.csv")  # read as input only, never written
        return "zero.csv", "leads out of the graph file's folder through a symbolic link"
    os.mkfifo(folder / "pipe.csv")  # no writer: a reader that opened it would block for ever
    return "pipe.csv", "pipe.csv: is a FIFO (named pipe), not a regular file"


@pytest.mark.parametrize("how", ["absolute", "dotdot", "device link", "fifo"])
def test_trainer_of_a_loaded_graph_refuses_what_leaves_its_folder(outside, how):
    value, why = _escaping(outside, how)
    p = save_graph(outside / "graph", value)
    with pytest.raises(ConfigError) as info:
        Trainer(gc.load(p)).run()
    msg = str(info.value)
    assert msg.startswith(f"{short_path(p)}: meta.training.dataset: ") and why in msg, msg
    if how != "fifo":
        assert f"path {quote(value)} " in msg  # a long absolute path is quoted as an excerpt
        assert "DataPolicy().allowing(PATH)" in msg  # how a script allows it
    with pytest.raises(ConfigError, match="meta.training.dataset: "):
        babysit.sanity(gc.load(p))  # the other readers of a graph's settings confine it the same way


def test_a_device_is_refused_even_when_allowed(outside):
    p = save_graph(outside / "graph", "/dev/zero")
    with pytest.raises(ConfigError, match=r"meta.training.dataset: /dev/zero: is a character device, not a regular"):
        Trainer(gc.load(p), policy=DataPolicy().allowing("/dev/zero")).run()


def test_the_users_permission_lets_one_file_through(outside):
    g = gc.load(save_graph(outside / "graph", "../outside.csv"))
    (outside / "other.csv").write_text(XOR_CSV)
    assert Trainer(g, policy=DataPolicy().allowing(str(outside / "outside.csv"))).run().status == "finished"
    with pytest.raises(ConfigError, match="leads out"):
        Trainer(g, policy=DataPolicy().allowing(str(outside / "other.csv"))).run()


def test_a_graph_built_in_code_is_confined_to_the_current_folder(outside, monkeypatch):
    monkeypatch.chdir(outside / "graph")
    g = gc.loads(json.dumps(xor_doc(str(outside / "outside.csv"))))  # text from somewhere: no file
    with pytest.raises(ConfigError) as info:
        Trainer(g).run()
    msg = str(info.value)
    assert msg.startswith("meta.training.dataset: path ") and "is an absolute path" in msg
    assert "the current folder (the graph was not loaded from a file)" in msg
    allowed = DataPolicy().allowing(str(outside / "outside.csv"))
    assert Trainer(g, policy=allowed).run().status == "finished"
    ds = datasets.load_csv(str(outside / "outside.csv"))  # a script's own call names its own file
    assert Trainer(g, dataset=ds).run().status == "finished"
    (outside / "graph" / "here.csv").write_text(XOR_CSV)
    g.meta["training"]["dataset"]["path"] = "here.csv"
    assert Trainer(g).run().status == "finished"


def test_an_explicit_base_dir_wins_over_the_remembered_file(outside):
    (outside / "d.csv").write_text(XOR_CSV)
    g = gc.load(save_graph(outside / "graph", "d.csv"))  # no d.csv next to the graph
    with pytest.raises(ConfigError, match="d.csv: cannot read the file"):
        Trainer(g).run()
    assert Trainer(g, base_dir=str(outside)).run().status == "finished"


# ---------------------------------------------------------------- child processes get it as an argument
def _run_child(graph, base_dir, policy) -> dict:
    """The GUI's training process (app.train.child) started as the GUI starts it; its "done" result."""
    from app.train.child import child_main

    ctx = mp.get_context("spawn")
    out_recv, out_send = ctx.Pipe(duplex=False)
    cmd_recv, cmd_send = ctx.Pipe(duplex=False)
    training = graph.meta["training"]
    proc = ctx.Process(target=child_main, daemon=True,
                       args=(out_send, cmd_recv, pickle.dumps(graph), training, {"fresh": False}, base_dir, False,
                             policy))
    proc.start()
    out_send.close()
    try:
        while out_recv.poll(120):
            kind, payload = out_recv.recv()
            if kind == "done":
                return payload
        raise AssertionError("the training process sent no result")
    finally:
        cmd_send.send("quit")
        proc.join(10)
        if proc.is_alive():
            proc.kill()


@pytest.mark.slow  # two training processes
def test_the_training_process_reads_an_escaping_path_only_with_the_users_confirmation(outside, monkeypatch):
    g = gc.load(save_graph(outside / "graph", "../outside.csv"))
    allowing = json.dumps({"max_bytes": 1 << 30, "max_points": 10 ** 6, "max_classes": 10,
                           "allow": [str(outside / "outside.csv")]})
    monkeypatch.setenv(OLD_ENV, allowing)  # inherited by the child, and ignored there
    refused = _run_child(g, str(outside / "graph"), None)
    assert refused["status"] == "error" and "path '../outside.csv' leads out of the graph file's folder" \
        in refused["message"]
    confirmed = _run_child(g, str(outside / "graph"), DataPolicy().allowing(str(outside / "outside.csv")))
    assert confirmed["status"] == "finished", confirmed["message"]


@pytest.mark.slow  # a pool of worker processes, twice
def test_search_workers_get_the_policy_as_an_argument(outside, monkeypatch):
    g = gc.load(save_graph(outside / "graph", "../outside.csv"))
    cfg = TrainConfig.from_dict(g.meta["training"])
    monkeypatch.setenv(OLD_ENV, json.dumps({"max_bytes": 1 << 30, "max_points": 10 ** 6, "max_classes": 10,
                                            "allow": [str(outside / "outside.csv")]}))
    with pytest.raises(ConfigError, match="leads out of the graph file's folder"):  # raised in a worker
        search.random_search(g, cfg, trials=2, lr_range=(0.01, 0.1), reg_range=None, epochs=1, workers=2)
    trials = search.random_search(g, cfg, trials=2, lr_range=(0.01, 0.1), reg_range=None, epochs=1, workers=2,
                                  policy=DataPolicy().allowing(str(outside / "outside.csv")))
    assert [t["status"] for t in trials] == ["finished", "finished"]
    assert len({t["pid"] for t in trials} - {os.getpid()}) >= 1  # they ran in worker processes
