"""meta.training with a wrong type or value: one `error:` line naming the JSON path, exit 2 (issue 8)."""
import json

import numpy as np
import pytest

from graphcore import cli
from graphcore.train.config import ConfigError, TrainConfig
from backprop_studio_resources import example_path

SPIRAL = example_path("spiral_linear.json")


def write_with(tmp_path, **training):
    with open(SPIRAL) as f:
        doc = json.load(f)
    doc["meta"]["training"].update(training)
    doc["meta"]["training"]["epochs"] = 1
    p = tmp_path / "g.json"
    p.write_text(json.dumps(doc))
    return str(p)


@pytest.mark.parametrize("key,value,path", [
    ("loss", "scores", "meta.training.loss"),        # an array, not a scalar
    ("optimizer", "adam", "meta.training.optimizer"),  # text instead of an object
    ("optimizer", {"kind": "sgd", "lr": 0}, "meta.training.optimizer.lr"),  # --lr 0 is refused too
    ("seed", -1, "meta.training.seed"),              # --seed -1 is refused too
])
@pytest.mark.parametrize("command", ["train", "sanity"])
def test_bad_training_setting_is_one_error_line(tmp_path, capsys, command, key, value, path):
    f = write_with(tmp_path, **{key: value})
    rc = cli.main([command, f])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and path in lines[0], err


# every key of meta.training with a wrong type: a ConfigError naming the key, never a TypeError
WRONG = {"dataset": 5, "features": 5, "labels": [], "loss": 3, "scores": {}, "val_fraction": "0.1",
         "preprocess": "center", "augment": [1], "optimizer": "adam", "schedule": 5, "batch_size": 1.5,
         "epochs": "10", "seed": 1.0, "dtype": ["float32"], "early_stopping": 5, "expect": [0.9],
         "report_every": 0, "eval_batch": "x"}


def test_the_wrong_type_table_covers_every_setting():
    assert set(WRONG) == {f for f in TrainConfig.__dataclass_fields__}


@pytest.mark.parametrize("key", sorted(WRONG))
def test_every_setting_with_a_wrong_type_names_itself(key):
    with pytest.raises(ConfigError, match=rf"meta\.training\.{key}\b"):
        TrainConfig.from_dict({key: WRONG[key]})


@pytest.mark.parametrize("key,value", [
    ("preprocess", {"per": ["feature"]}), ("optimizer", {"kind": ["sgd"]}), ("optimizer", {"lr": "0.1"}),
    ("schedule", {"kind": "step", "every": "5"}), ("augment", {"shift": 1.5}), ("early_stopping", {"patience": "5"}),
    ("expect", {"train_acc": "high"}), ("dataset", ["spiral"]),
])
def test_nested_settings_with_a_wrong_type(key, value):
    with pytest.raises(ConfigError, match=rf"meta\.training\.{key}"):
        TrainConfig.from_dict({key: value, "val_fraction": 0.2})


def test_training_settings_must_be_an_object():
    with pytest.raises(ConfigError, match=r"meta\.training: must be an object"):
        TrainConfig.from_dict(["epochs", 3])


def test_file_rules_match_the_flags():
    TrainConfig.from_dict({"seed": 0, "optimizer": {"kind": "sgd", "lr": 1e-9}})  # the edges are fine
    for bad in ({"seed": -1}, {"optimizer": {"kind": "adam", "lr": 0.0}}):
        with pytest.raises(ConfigError):
            TrainConfig.from_dict(bad)


def test_a_fractional_csv_label_is_named_by_its_line_not_a_shape_mismatch(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n3,4,3.5\n")
    f = write_with(tmp_path, dataset={"name": "csv", "path": "d.csv"})
    assert cli.main(["train", f]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "d.csv: line 3, column 'label': label '3.5' is not a whole number" in err[0], err


def test_the_loss_says_whether_file_labels_are_classes_or_targets(tmp_path):
    """Regression targets are unaffected: a loss with a "target" port reads fractional labels as targets."""
    import graphcore as gc
    from graphcore.train import datasets
    from graphcore.train.datapath import DatasetError
    from graphcore.train.roles import detect_roles, load_data

    (tmp_path / "d.csv").write_text("a,t\n0,0.5\n1,1.25\n2,3.5\n")
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((3, 1)))
    t = g.add("input", name="t", value=np.zeros((3, 1)))
    o = g.add("linear", name="fc", inputs={"x": x}, units=1)
    g.add("mse", name="loss", inputs={"pred": o, "target": t})
    cfg = TrainConfig.from_dict({"dataset": {"name": "csv", "path": "d.csv"}, "features": "x", "labels": "t",
                                 "loss": "loss"})
    roles = detect_roles(g, cfg)
    assert roles["task"] == "regression"
    data = load_data(cfg, str(tmp_path), task=roles["task"])
    assert data.task == "regression" and data.y_train[:, 0].tolist() == [0.5, 1.25, 3.5]
    with pytest.raises(DatasetError, match=r"line 2, column 't': label '0.5' is not a whole number"):
        datasets.load({"name": "csv", "path": "d.csv"}, base_dir=str(tmp_path), task="classification")
    stated = datasets.load({"name": "csv", "path": "d.csv", "task": "regression"}, base_dir=str(tmp_path),
                           task="classification")  # the settings' own task wins
    assert stated.task == "regression"
