"""An imported ONNX model has no data set or training settings (ONNX has no place for them): the
import says so, and the graph can be given a data set and trained, in code, on the command line
(`train --data`) and in the app's Train panel."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
from backprop_studio_resources import examples_dir
from graphcore.cli import main as cli_main
from graphcore.export.onnx_export import export_onnx
from graphcore.export.onnx_import import import_onnx
from graphcore.train import datasets
from graphcore.train.trainer import Trainer

EX = examples_dir()


def _exported(tmp_path, name: str) -> str:
    path = str(tmp_path / (name + ".onnx"))
    export_onnx(gc.load(os.path.join(EX, name + ".json")), path)
    return path


def _loss(graph: gc.Graph) -> float:
    ex = gc.Executor(graph)
    ex.mode = "eval"
    ex.forward()
    return float(ex.value(graph.find("loss")))


@pytest.mark.parametrize("name", ["spiral_2layer", "xor_mlp"])
def test_an_imported_model_trains_on_a_data_set_given_in_code(tmp_path, name):
    g = import_onnx(_exported(tmp_path, name))
    assert "training" not in g.meta  # nothing to carry it in ONNX
    source = gc.load(os.path.join(EX, name + ".json")).meta["training"]
    g.meta["training"] = {"dataset": source["dataset"], "optimizer": {"kind": "momentum", "lr": 0.1, "momentum": 0.9},
                          "batch_size": 16, "epochs": 15, "seed": 0}
    result = Trainer(g).run()
    assert result.status == "finished"
    # independent of the trainer's own figures: the trained weights give a lower loss on the data set
    ds = datasets.load(source["dataset"])
    fresh = import_onnx(_exported(tmp_path, name))
    for graph in (g, fresh):
        graph.set_value(graph.find("x"), ds.X)
        graph.set_value(graph.find("y"), ds.y)
    assert _loss(g) < 0.9 * _loss(fresh)


def test_import_says_the_data_set_and_settings_are_not_in_onnx(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert cli_main(["import", _exported(tmp_path, "spiral_2layer"), "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith("wrote ") and len(cap.err.strip().splitlines()) == 1
    assert cap.err.startswith("note: ONNX carries no data set or training settings") and "--data" in cap.err


def test_an_imported_graph_trains_from_the_command_line_with_data(tmp_path, capsys):
    graph_file, trained = tmp_path / "g.json", tmp_path / "trained.json"
    assert cli_main(["import", _exported(tmp_path, "spiral_2layer"), "--out", str(graph_file)]) == 0
    ds = datasets.spiral(n_per_class=40, seed=3)
    data = tmp_path / "spiral.csv"
    np.savetxt(data, np.column_stack([ds.X, ds.y]), delimiter=",", header="x0,x1,label", comments="", fmt="%.9g")
    capsys.readouterr()
    code = cli_main(["train", str(graph_file), "--data", str(data), "--epochs", "40", "--lr", "0.5", "--quiet",
                     "--out", str(trained)])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "finished after 40 epochs" in cap.out
    before, after = gc.load(str(graph_file)), gc.load(str(trained))
    for g in (before, after):
        g.set_value(g.find("x"), ds.X)
        g.set_value(g.find("y"), ds.y)
    assert _loss(after) < 0.9 * _loss(before)
    assert after.meta["training"]["epochs"] == 40 and after.meta["training"]["dataset"] is None  # --data not kept


def test_without_data_or_settings_train_says_how(tmp_path, capsys):
    graph_file = tmp_path / "g.json"
    assert cli_main(["import", _exported(tmp_path, "xor_mlp"), "--out", str(graph_file)]) == 0
    capsys.readouterr()
    assert cli_main(["train", str(graph_file)]) == 2
    err = capsys.readouterr().err
    assert "no training settings (meta.training)" in err and "--data PATH" in err


@pytest.mark.gui
@pytest.mark.slow  # a training child process: about 3 s
def test_an_onnx_file_opened_in_the_app_trains_from_the_train_panel(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    import app

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(win)
    win.resize(1280, 720)
    qtbot.waitUntil(lambda: getattr(win.train_view, "controller", None) is not None, timeout=10000)
    try:
        assert win.open_file(_exported(tmp_path, "spiral_2layer"))
        assert "ONNX carries no data set or training settings" in win.statusBar().currentMessage()
        view = win.train_view
        doc = win.document
        w0 = np.array(doc.graph.weights(doc.graph.find("fc1"))["W"])
        view.train_dock.dataset_combo.setCurrentText("spiral")
        view.train_dock.epochs_spin.setValue(20)
        view.train_dock.actionTrain.trigger()
        qtbot.waitUntil(lambda: view.controller.last_result is not None and not view.controller.is_running(),
                        timeout=30000)
        assert view.controller.last_result["status"] == "finished", view.controller.last_result
        assert not np.array_equal(w0, doc.graph.weights(doc.graph.find("fc1"))["W"])
    finally:
        win.train_view.controller.shutdown()
        qtbot.waitUntil(lambda: not win.train_view.controller.is_running(), timeout=10000)
        assert win.maybe_save(QMessageBox.StandardButton.Discard)  # the trained, unsaved graph is let go
