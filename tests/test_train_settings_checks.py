"""meta.training with a wrong type or value: one `error:` line naming the JSON path, exit 2 (issue 8)."""
import json

import numpy as np
import pytest

from graphcore import cli
from graphcore.train.config import ConfigError, TrainConfig
from backprop_studio_resources import example_path

SPIRAL = example_path("spiral_linear.json")


def write_with(tmp_path, source=SPIRAL, **training):
    """A copy of an example (the spiral by default) with these training settings, for one epoch."""
    with open(source) as f:
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


# ---------------------------------------------------------------- bounds (h-breaker's report)
DIGITS = example_path("digits_cnn.json")


def _digits_with(tmp_path, **training):
    return write_with(tmp_path, DIGITS, **training)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("shift,says", [(1_000_000, "more than the limit of 256"),
                                        (8, "not under the images' side (8x8); use 0 to 7")])
def test_a_shift_past_the_image_is_refused_before_training(tmp_path, capsys, monkeypatch, shift, says):
    from graphcore.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", lambda *a, **k: pytest.fail("trained with an impossible shift"))
    f = _digits_with(tmp_path, augment={"shift": shift, "flip": False})
    assert cli.main(["train", f, "--quiet"]) == 2
    line = _one_error_line(capsys)
    assert "meta.training.augment.shift: " in line and says in line, line


def test_augment_s_memory_does_not_grow_with_the_shift():
    """It once padded each batch by the shift on every side: 1,000,000 pixels asked for terabytes."""
    from graphcore.train import preprocess

    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5) + 1
    out = preprocess.augment(x, np.random.default_rng(0), shift=10 ** 9)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not out.any()  # every shift that large leaves only the zero fill
    one = preprocess.augment(x, np.random.default_rng(3), shift=1)
    assert np.isin(one[one != 0], x).all()  # a small one moves pixels, it makes none up


def test_the_augmented_batches_count_in_the_training_memory_check(tmp_path):
    from graphcore import cli_common, limits, tensorcheck
    from graphcore.train.trainer import detect_roles, load_data

    import graphcore as gc

    g = gc.load(DIGITS)
    cfg = TrainConfig.from_dict(dict(g.meta["training"], augment={"shift": 2, "flip": True}, batch_size=512))
    data = load_data(cfg)
    roles = detect_roles(g, cfg)
    n = max(512, min(cfg.eval_batch, len(data.X_train)))
    plan = sum(c.nbytes for c in tensorcheck.check_plan(g, np.dtype(cfg.dtype), 1 << 40,
                                                        rows={roles["features"]: n, roles["labels"]: n}))
    aug = 512 * 64 * (4 + 2)
    try:
        limits.set_memory_limit(plan + aug // 2, children=False)
        with pytest.raises(ConfigError, match=r"^meta\.training\.augment: the augmented batches need about "):
            cli_common.check_training_memory(g, cfg, data)
        limits.set_memory_limit(plan + aug, children=False)
        cli_common.check_training_memory(g, cfg, data)
    finally:
        limits.set_memory_limit(None, children=False)


@pytest.mark.parametrize("key", ["lr", "weight_decay"])
@pytest.mark.parametrize("value", [1e300, 1e7])
def test_an_optimizer_rate_that_would_overflow_is_refused(tmp_path, capsys, key, value):
    f = write_with(tmp_path, optimizer={"kind": "sgd", "lr": 0.1, key: value}, dtype="float32")
    assert cli.main(["train", f, "--quiet"]) == 2
    line = _one_error_line(capsys)
    assert f"meta.training.optimizer.{key}: " in line and "over the limit of 1e+06" in line, line


def test_an_lr_flag_over_the_limit_is_refused(capsys):
    assert cli.main(["train", SPIRAL, "--lr", "1e7", "--quiet"]) == 2
    assert _one_error_line(capsys).startswith("error: argument --lr: 1e+07 is over the limit of 1e+06")


def test_the_trainer_itself_refuses_a_shift_past_the_images(tmp_path):
    """The app and scripts start training through Trainer, not the CLI's checks: it checks the shift
    against the images it loaded, before the first step."""
    import graphcore as gc
    from graphcore.train.config import ConfigError
    from graphcore.train.trainer import Trainer

    g = gc.load(_digits_with(tmp_path, augment={"shift": 8, "flip": False}))
    with pytest.raises(ConfigError, match=r"meta\.training\.augment\.shift: 8 pixels is not under the images' side"):
        Trainer(g).prepare()
