"""`main.py train | sanity | search` on the example files and on bad input."""
import csv
import json
import os
import re
import subprocess
import stat
import sys

import numpy as np
import pytest

import graphcore as gc
from graphcore.cli import main as cli_main
from backprop_studio_resources import examples_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = examples_dir()


def run_main(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_train_writes_graph_state_and_metrics(tmp_path):
    out, met = tmp_path / "trained.json", tmp_path / "m.csv"
    r = run_main("train", os.path.join(EX, "xor_mlp.json"), "--epochs", "3", "--out", str(out), "--metrics", str(met))
    assert r.returncode == 0, r.stderr
    bar = r.stderr.strip().split("\r")[-1].splitlines()[-1]  # tqdm: the bar's last state, with the ETA
    assert re.search(r"train: 100%.* 3/3 \[\d\d:\d\d<\d\d:\d\d, .*loss=\d", bar) and "acc=" in bar
    lines = r.stdout.splitlines()
    assert lines[0] == "finished after 3 epochs (30 steps)"
    assert lines[1].startswith("  last epoch, mean over its batches") and "final evaluation" in lines[2]
    rows = list(csv.DictReader(open(met)))
    assert b"\r" not in met.read_bytes()  # plain newlines, not the csv module's default CRLF
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert list(rows[0])[:7] == ["epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds"]
    for row in rows:
        assert float(row["train_loss"]) > 0 and 0 <= float(row["val_acc"]) <= 1 and float(row["lr"]) == 0.1
    assert float(rows[0]["seconds"]) < float(rows[2]["seconds"])
    g = gc.load(out)
    orig = gc.load(os.path.join(EX, "xor_mlp.json"))
    hid = g.find("hidden")
    assert not np.array_equal(g.nodes[hid].tensors["W"], orig.nodes[hid].tensors["W"])
    assert set(g.opt_state[f"{hid}/W"]) == {"velocity"}
    assert g.meta["training_state"]["epochs_done"] == 3


def test_train_is_reproducible(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for p in (a, b):
        assert cli_main(["train", os.path.join(EX, "spiral_relu.json"), "--epochs", "2", "--quiet",
                         "--out", str(p)]) == 0
    assert gc.load(a) == gc.load(b)


def test_bad_files_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    r = run_main("train", str(bad))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "bad.json" in r.stderr
    r = run_main("train", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    # a valid graph without training settings
    r = run_main("train", os.path.join(EX, "cs231n_circuit.json"))
    assert r.returncode == 2 and "meta.training" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    doc = json.load(open(os.path.join(EX, "xor_mlp.json")))
    doc["meta"]["training"]["epochs"] = -1
    p = tmp_path / "neg.json"
    p.write_text(json.dumps(doc))
    r = run_main("train", str(p))
    assert r.returncode == 2 and "meta.training.epochs" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith(f"error: {p}: ")
    doc["meta"]["training"]["epochs"] = 2
    doc["meta"]["training"]["dataset"] = {"name": "csv", "path": "data.csv"}
    (tmp_path / "data.csv").write_text("a,b,label\n1,2,0\n3,oops,1\n")
    p.write_text(json.dumps(doc))
    r = run_main("train", str(p))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "data.csv: line 3, column 'b': 'oops' is not a number" in r.stderr


def _csv_graph(tmp_path, text):
    doc = json.load(open(os.path.join(EX, "xor_mlp.json")))
    doc["meta"]["training"]["dataset"] = {"name": "csv", "path": "data.csv"}
    (tmp_path / "data.csv").write_text(text)
    p = tmp_path / "g.json"
    p.write_text(json.dumps(doc))
    return str(p)


@pytest.mark.parametrize("cmd", ["train", "sanity", "search"])
def test_a_label_beyond_the_models_classes_names_file_line_and_column(tmp_path, capsys, cmd):
    path = _csv_graph(tmp_path, "a,b,label\n0,0,0\n\n0,1,1\n1,0,7\n1,1,0\n")  # line 5 (after a blank line)
    assert cli_main([cmd, path, "--workers", "1"] if cmd == "search" else [cmd, path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: ")
    assert "data.csv: line 5, column 'label': label 7 is class 7, but the model's scores have 2 columns" in err[0]


def test_a_stray_text_label_is_an_error_not_a_class(tmp_path, capsys):
    path = _csv_graph(tmp_path, "a,b,label\n0,0,0\n0,1,1\n1,0,one\n1,1,0\n")
    assert cli_main(["train", path, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "data.csv: line 4, column 'label': label 'one' is text, but other labels are numbers" in err


def test_output_paths_are_checked_before_training(tmp_path, capsys, monkeypatch):
    from graphcore.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", lambda *a, **k: pytest.fail("trained before checking --out"))
    xor = os.path.join(EX, "xor_mlp.json")
    for flag, path in (("--out", "/nonexistent/dir/x.json"), ("--out", str(tmp_path)),
                       ("--metrics", "/nonexistent/dir/m.csv"), ("--metrics", str(tmp_path))):
        assert cli_main(["train", xor, flag, path]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: argument {flag}: ")


def test_train_json_and_quiet(tmp_path, capsys):
    met = tmp_path / "m.csv"
    assert cli_main(["train", os.path.join(EX, "xor_mlp.json"), "--epochs", "2", "--json", "--quiet",
                     "--metrics", str(met)]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # --quiet: no progress bar
    doc = json.loads(out)
    assert doc["command"] == "train" and doc["status"] == "finished" and doc["epochs"] == 2
    rows = list(csv.DictReader(open(met)))
    assert doc["last_epoch"]["train_loss"] == pytest.approx(float(rows[-1]["train_loss"]))
    assert set(doc["final"]) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert 0 <= doc["final"]["val_acc"] <= 1 and doc["metrics"] == str(met) and doc["out"] is None
    assert doc["expect"]["val_acc"] == {"stated": 1.0, "reached": doc["final"]["val_acc"] >= 1.0}


def test_user_csv_trains_from_the_file_folder(tmp_path):
    from graphcore.train import datasets
    ds = datasets.xor(n=80, noise=0.05)
    with open(tmp_path / "xor.csv", "w") as f:
        f.write("a,b,label\n")
        for (a, b), y in zip(ds.X, ds.y):
            f.write(f"{a},{b},{y}\n")
    g = gc.load(os.path.join(EX, "xor_mlp.json"))
    g.meta["training"]["dataset"] = {"name": "csv", "path": "xor.csv", "label": "label"}
    g.meta["training"]["epochs"] = 40
    gc.save(g, tmp_path / "g.json")
    assert cli_main(["train", str(tmp_path / "g.json"), "--quiet", "--out", str(tmp_path / "o.json")]) == 0


def test_diverging_run_exits_1_naming_the_node(tmp_path, capsys):
    g = gc.load(os.path.join(EX, "spiral_relu.json"))
    g.meta["training"]["optimizer"] = {"kind": "sgd", "lr": 1e6}  # the largest accepted
    gc.save(g, tmp_path / "g.json")
    assert cli_main(["train", str(tmp_path / "g.json"), "--quiet", "--epochs", "3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'g.json'}: training diverged: ") and err.count("\n") == 1
    assert re.search(r"node '(loss|data_loss|scores|hidden|x)'", err) and "(id" not in err


def test_sanity_command(capsys):
    assert cli_main(["sanity", os.path.join(EX, "spiral_2layer.json"), "--overfit-epochs", "300"]) == 0
    out = capsys.readouterr().out
    assert "log(3) = 1.0986" in out and "ok" in out and "overfit 20 examples" in out
    assert cli_main(["sanity", os.path.join(EX, "spiral_2layer.json"), "--overfit-epochs", "300", "--n", "10",
                     "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "sanity" and doc["ok"] is True and doc["overfit"]["n"] == 10
    assert doc["initial_loss"]["expected"] == pytest.approx(np.log(3)) and doc["initial_loss"]["ok"] is True
    assert "overfit 10 examples" in doc["overfit"]["message"]


def test_search_command(capsys):
    code = cli_main(["search", os.path.join(EX, "xor_mlp.json"), "--trials", "1", "--epochs-per-trial", "2",
                     "--workers", "1", "--json"])
    assert code == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert [t["stage"] for t in sorted(doc["trials"], key=lambda t: t["stage"])] == ["coarse", "fine"]
    assert doc["best"] in doc["trials"] and 1e-4 <= doc["trials"][0]["lr"] <= 1.0
    assert "coarse: best lr" in err and "search: 100%" in err and "2/2" in err


def test_label_origins_for_npz_negative_and_text_labels(tmp_path):
    from graphcore.train import datasets
    from graphcore.train.datasets import DatasetError

    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((3, 2)), y=np.array([0, 5, 1]))
    ds = datasets.load_npz(str(p))
    datasets.check_labels(ds, 6)  # every label has a score column
    with pytest.raises(DatasetError, match=r"d.npz: 'y' row 2: label 5 is class 5, but the model's scores have 2 "):
        datasets.check_labels(ds, 2)
    (tmp_path / "n.csv").write_text("1,2,0\n3,4,-1\n")
    with pytest.raises(DatasetError, match=r"n.csv: line 2, column 'column 3': label '-1' is negative"):
        datasets.load_csv(str(tmp_path / "n.csv"))
    (tmp_path / "t.csv").write_text("1,2,cat\n3,4,dog\n")
    ds = datasets.load_csv(str(tmp_path / "t.csv"), classes=["cat", "dog"])  # text labels: a declared list
    with pytest.raises(DatasetError, match=r"t.csv: line 2, column 'column 3': label 'dog' is class 1, but the "
                                           r"model's scores have 1 columns"):
        datasets.check_labels(ds, 1)


def test_search_table_and_the_line_to_train_with(capsys, monkeypatch):
    """The text report of a search (the search itself runs in test_search_command)."""
    trials = [{"stage": "fine", "lr": 0.0353, "reg": 2.5e-05, "status": "finished", "val_acc": 0.9667,
               "val_loss": 0.123, "train_acc": 1.0},
              {"stage": "coarse", "lr": 1.2e-3, "reg": 0.0, "status": "diverged", "val_acc": None,
               "val_loss": None, "train_acc": None}]
    monkeypatch.setattr("graphcore.train.search.coarse_to_fine",
                        lambda *a, **k: {"trials": trials, "best": trials[0], "fine_lr_range": (0.01, 0.1)})
    xor = os.path.join(EX, "xor_mlp.json")
    assert cli_main(["search", xor, "--quiet"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["stage", "lr", "reg", "val_acc", "val_loss"] and err == ""
    assert lines[1].split() == ["fine", "0.04", "2.50e-05", "96.7%", "0.12"]
    assert lines[2].split() == ["coarse", "1.20e-03", "0.00", "-", "-"]
    assert lines[3] == "best: lr 0.04 reg 2.50e-05 (val_acc 96.7%, val_loss 0.12)"
    assert lines[4] == f"  to train with it: python main.py train {xor} --lr 0.0353 --reg 2.5e-05"  # pasteable


# ---------------------------------------------------------------- output paths, interrupts, flags (issue 8)
XOR = os.path.join(EX, "xor_mlp.json")


def test_out_refuses_a_pipe_before_training(tmp_path, capsys, monkeypatch):
    from graphcore.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", lambda *a, **k: pytest.fail("trained before checking --out"))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert cli_main(["train", XOR, "--epochs", "1", "--quiet", "--out", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: argument --out: {fifo} is not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a pipe


def test_out_where_no_file_can_be_created_is_refused_before_training(tmp_path, capsys, monkeypatch):
    """os.access says yes to root on a pseudo or read-only file system (/proc/trained.json trained
    400 epochs, then failed to save): the check creates, and removes, a file beside the target."""
    import errno
    import tempfile

    from graphcore import cli_common
    from graphcore.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", lambda *a, **k: pytest.fail("trained before checking --out"))
    ro = tmp_path / "ro"
    ro.mkdir()
    real = tempfile.NamedTemporaryFile

    def read_only(*a, dir=None, **k):  # the folder behaves as a read-only mount
        if dir is not None and os.path.realpath(dir) == os.path.realpath(ro):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(cli_common.tempfile, "NamedTemporaryFile", read_only)
    for flag in ("--out", "--metrics"):
        assert cli_main(["train", XOR, "--epochs", "400", "--quiet", flag, str(ro / "o.json")]) == 2
        err = capsys.readouterr().err
        assert err == f"error: argument {flag}: {ro / 'o.json'}: cannot create a file in {ro} (Read-only file system)\n"
    cli_common.check_output(str(tmp_path / "fine.json"), "--out")  # a writable folder passes
    assert sorted(os.listdir(tmp_path)) == ["ro"] and os.listdir(ro) == []  # and the probe is gone


def test_out_naming_a_dangling_link_says_so(tmp_path, capsys, monkeypatch):
    from graphcore.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", lambda *a, **k: pytest.fail("trained before checking --out"))
    link = tmp_path / "trained.json"
    link.symlink_to(tmp_path / "gone" / "x.json")
    assert cli_main(["train", XOR, "--quiet", "--out", str(link)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: argument --out: {link} is a dangling symbolic link (to {tmp_path / 'gone' / 'x.json'}, "
                   "which does not exist); give a file name\n")


def test_save_never_replaces_a_pipe_and_keeps_a_files_permissions(tmp_path):
    from graphcore.fileformat import load, save

    g = load(XOR)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        save(g, fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["pipe"]
    target = tmp_path / "g.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    save(g, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640 and load(target).nodes.keys() == g.nodes.keys()
    umask = os.umask(0o022)
    try:
        save(g, tmp_path / "new.json")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o644  # not mkstemp's 0600


def test_a_failed_metrics_write_keeps_the_trained_graph_and_names_metrics(tmp_path, capsys, monkeypatch):
    from graphcore import train_cli

    def full(path, history):  # the disk fills up after training
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(train_cli, "write_metrics", full)
    out, metrics = tmp_path / "x.json", str(tmp_path / "m.csv")
    assert cli_main(["train", XOR, "--epochs", "1", "--quiet", "--metrics", metrics, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: argument --metrics: {metrics}: No space left on device\n"
    assert gc.load(out).meta["training_state"]["epochs_done"] == 1  # the trained graph was saved first


@pytest.mark.skipif(not (os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode)),
                    reason="needs the /dev/full character device")
def test_metrics_to_dev_full_names_the_flag(tmp_path, capsys):
    out = tmp_path / "x.json"
    assert cli_main(["train", XOR, "--epochs", "1", "--quiet", "--metrics", "/dev/full", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "error: argument --metrics: /dev/full: No space left on device\n"
    assert out.exists()


def test_out_and_metrics_naming_one_file_is_refused_up_front(tmp_path, capsys, monkeypatch):
    from graphcore.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", lambda *a, **k: pytest.fail("trained before checking the paths"))
    same = str(tmp_path / "x.json")
    other = os.path.join(str(tmp_path), ".", "x.json")
    assert cli_main(["train", XOR, "--out", same, "--metrics", other]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --metrics:" in err and "also the --out file" in err


def test_ctrl_c_saves_what_was_trained_and_exits_130(tmp_path, capsys, monkeypatch):
    from graphcore.train.trainer import Trainer

    real_step = Trainer.train_step
    calls = {"n": 0}

    def step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(Trainer, "train_step", step)
    before = gc.load(XOR)
    out, metrics = tmp_path / "x.json", tmp_path / "m.csv"
    assert cli_main(["train", XOR, "--epochs", "50", "--batch-size", "1", "--quiet",
                     "--out", str(out), "--metrics", str(metrics)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interrupted after 0 epochs (2 steps); saved the weights so far")
    g = gc.load(out)
    assert g.meta["training_state"] == {"epochs_done": 0, "steps_done": 2}
    moved = [nid for nid, n in g.nodes.items() for w, a in n.tensors.items()
             if a.shape == before.nodes[nid].tensors[w].shape and not np.array_equal(a, before.nodes[nid].tensors[w])]
    assert moved  # two steps changed the weights, and those weights were saved
    assert metrics.read_text().splitlines()[0].startswith("epoch,")


@pytest.mark.parametrize("lr", ["1e308", "1e-50"])
def test_an_lr_the_graphs_dtype_cannot_hold_is_refused(lr, capsys, monkeypatch):
    from graphcore.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", lambda *a, **k: pytest.fail("trained with an lr float32 cannot hold"))
    assert cli_main(["train", XOR, "--lr", lr, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: argument --lr: ") and "float32" in err
    assert cli_main(["search", XOR, "--lr-max", lr, "--quiet"] if lr == "1e308" else
                    ["search", XOR, "--lr-min", lr, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.match(r"error: argument --lr-m(ax|in): ", err)


def test_empty_data_is_refused(capsys):
    assert cli_main(["train", XOR, "--data", "", "--quiet"]) == 2
    assert capsys.readouterr().err == "error: argument --data: an empty path; give a CSV or NPZ file\n"


def test_a_bad_data_file_names_the_flag_not_the_graph(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n1,2,0\n3,oops,1\n")
    assert cli_main(["train", XOR, "--data", str(data), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: argument --data: ") and "oops" in err
    assert "xor_mlp.json" not in err and "meta.training" not in err


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_training_with_a_huge_regularisation_strength_leaks_no_numpy_warning(tmp_path, capsys):
    with open(os.path.join(EX, "spiral_2layer.json"), encoding="utf-8") as f:
        doc = json.load(f)
    for n in doc["nodes"]:
        if "strength" in n.get("params", {}):
            n["params"]["strength"] = 1e308
    p = tmp_path / "reg.json"
    p.write_text(json.dumps(doc))
    assert cli_main(["train", str(p), "--epochs", "1", "--quiet"]) == 1  # diverged, said in one line
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "training diverged" in err and "Warning" not in err
