"""Training from the GUI on the user's data: an imported CSV file, a missing one, and data paths
named relative to the graph's folder or asked about when they lead out of it."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
from train_gui_rig import EXAMPLES, shared, spiral  # noqa: F401  (the fixtures)


def test_bad_settings_give_a_message_not_a_traceback(spiral, qtbot):
    rig = spiral
    rig.train.dataset_combo.setCurrentText("imported file")
    assert rig.ctl.train() is False
    assert "Import" in rig.messages[-1]
    rig.train.set_imported(os.path.join(os.path.dirname(__file__), "no_such_file.csv"))
    assert rig.ctl.train() is True
    res = rig.wait_done()
    assert res["status"] == "error" and rig.messages[-1].startswith("Cannot train:")
    assert "no_such_file.csv" in rig.messages[-1]


def test_training_on_an_imported_csv_file(spiral, qtbot, tmp_path):
    rig = spiral
    rng = np.random.default_rng(1)
    rows = ["x1,x2,label"]
    for k in range(3):  # three blobs, 20 points each
        centre = np.array([np.cos(2 * np.pi * k / 3), np.sin(2 * np.pi * k / 3)])
        for p in centre + 0.15 * rng.standard_normal((20, 2)):
            rows.append(f"{p[0]:.5f},{p[1]:.5f},{k}")
    path = tmp_path / "blobs.csv"
    path.write_text("\n".join(rows) + "\n")
    rig.train.set_imported(str(path))
    assert rig.train.dataset_combo.currentText() == "imported file"
    assert rig.train.settings()["training"]["dataset"] == {"name": "csv", "path": str(path)}
    rig.train.epochs_spin.setValue(60)
    rig.train.batch_spin.setValue(16)
    rig.train.val_spin.setValue(0.25)
    rig.train.actionTrain.trigger()
    res = rig.wait_done()
    assert res["status"] == "finished", res["message"]
    assert res["final"]["val_acc"] >= 0.9
    assert rig.boundary._mode == "2d" and len(rig.boundary.val_scatter.data) == 15  # a quarter held out


def _graph_in(folder, dataset_path: str, epochs: int = 1) -> str:
    g = gc.load(os.path.join(EXAMPLES, "spiral_2layer.json"))
    g.meta["training"] = {**g.meta["training"], "dataset": {"name": "csv", "path": dataset_path},
                          "epochs": epochs, "val_fraction": 0.0}
    path = os.path.join(folder, "g.json")
    gc.save(g, path)
    return path


def _blobs_csv(path) -> None:
    rows = ["x1,x2,label"] + [f"{k + 0.1 * i},{-k},{k}" for k in range(3) for i in range(4)]
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.slow  # two training processes: the refusal, then the confirmed run
def test_a_data_path_out_of_the_graphs_folder_is_asked_about_once(spiral, qtbot, tmp_path, monkeypatch):
    from app.train import datapaths

    (tmp_path / "graph").mkdir()
    _blobs_csv(tmp_path / "outside.csv")
    gpath = _graph_in(str(tmp_path / "graph"), "../outside.csv")
    rig = spiral.use(qtbot, gc.load(gpath))
    rig.doc.path = gpath
    asked = []
    answer = [False]

    def confirm(real, value):
        asked.append((real, value))
        return answer[0]

    def train() -> dict:
        rig.train.actionTrain.trigger()
        return rig.wait_done()

    monkeypatch.setattr(datapaths, "ask_to_use_data_path", confirm)  # each new thread asks through it
    res = train()
    assert asked == [(str(tmp_path / "outside.csv"), "../outside.csv")]
    assert res["status"] == "error" and "path '../outside.csv' leads out of the graph file's folder" \
        in res["message"]
    assert rig.train.status.text().startswith("Cannot train: ")
    answer[0] = True
    assert train()["status"] == "finished"
    assert len(asked) == 2 and str(tmp_path / "outside.csv") in datapaths.confirmed_data_paths()
    policy = datapaths.data_policy()  # remembered: the next run asks nothing
    assert datapaths.needs_confirmation(rig.train.settings()["training"], str(tmp_path / "graph"), policy) is None


def test_a_picked_data_file_is_named_relative_to_the_graph_when_inside_its_folder(spiral, qtbot, tmp_path,
                                                                                   monkeypatch):
    from app.train import datapaths

    (tmp_path / "sub").mkdir()
    _blobs_csv(tmp_path / "sub" / "d.csv")
    monkeypatch.setattr(spiral.win, "document", spiral.doc, raising=False)
    spiral.doc.path = str(tmp_path / "g.json")
    spiral.train.set_imported(str(tmp_path / "sub" / "d.csv"))
    assert spiral.train.settings()["training"]["dataset"] == {"name": "csv", "path": "sub/d.csv"}
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other.csv"
    _blobs_csv(elsewhere)
    spiral.train.set_imported(str(elsewhere))  # out of the folder: absolute, and the user's own choice
    spec = spiral.train.settings()["training"]["dataset"]
    assert spec == {"name": "csv", "path": str(elsewhere)}
    assert datapaths.needs_confirmation({"dataset": spec}, str(tmp_path), datapaths.data_policy()) is None
