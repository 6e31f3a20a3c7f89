"""`main.py search` with its defaults: trials long enough to tell settings apart, and `--trials` per stage.

A newcomer's default search on the spiral example gave val_loss 1.10 (log 3) for every trial: 5
full-batch epochs are 5 optimizer steps. The default trial length is now counted in steps.
"""
import json
import math
import os

import pytest

from backprop_studio_resources import examples_dir
from graphcore.cli import main as cli_main
from graphcore.train import search, trials
from graphcore.train.config import TrainConfig

EX = examples_dir()


class RecordingRunner:
    """Stands in for the worker pool: records each job and answers without training."""

    def __init__(self) -> None:
        self.jobs: list[dict] = []

    def stream(self, jobs, stop=None):
        for job in jobs:
            self.jobs.append(job)
            yield {"stage": job["stage"], "index": job["index"], "lr": job["lr"], "reg": job["reg"],
                   "status": "finished", "val_acc": 0.5, "val_loss": 1.0, "train_acc": 0.5}


def _default_search_jobs(monkeypatch, name: str) -> list[dict]:
    runner = RecordingRunner()
    monkeypatch.setattr(trials, "make_runner", lambda *a, **k: runner)
    assert cli_main(["search", os.path.join(EX, name), "--workers", "1", "--quiet", "--json"]) == 0
    return runner.jobs


@pytest.mark.parametrize("name, n_examples", [("spiral_2layer.json", 300), ("spiral_relu.json", 300),
                                              ("digits_cnn.json", 1797)])
def test_default_trial_length_is_about_a_thousand_steps_and_at_most_half_the_run(monkeypatch, capsys, name,
                                                                                  n_examples):
    jobs = _default_search_jobs(monkeypatch, name)
    capsys.readouterr()
    with open(os.path.join(EX, name), encoding="utf-8") as f:
        training = json.load(f)["meta"]["training"]
    val = training["val_fraction"] or 0.2
    n_train = n_examples - round(n_examples * val)
    per_epoch = math.ceil(n_train / training["batch_size"]) if training["batch_size"] else 1
    expected = min(math.ceil(1000 / per_epoch), training["epochs"] // 2)
    assert len(jobs) == 16  # 8 trials per stage, two stages
    assert {j["config"]["epochs"] for j in jobs} == {expected}
    assert expected * per_epoch >= 150  # every shipped training example gets more than a handful of steps


def test_trial_epochs_counts_steps():
    full = TrainConfig.from_dict({"batch_size": 0, "epochs": 10000, "val_fraction": 0.0})
    assert search.trial_epochs(full, 300) == 1000  # one step per full-batch epoch
    mini = TrainConfig.from_dict({"batch_size": 10, "epochs": 10000, "val_fraction": 0.5})
    assert search.trial_epochs(mini, 200) == 100  # 100 train rows, 10 steps an epoch
    short = TrainConfig.from_dict({"batch_size": 0, "epochs": 1, "val_fraction": 0.0})
    assert search.trial_epochs(short, 300) == 1  # never zero


def test_an_explicit_epochs_per_trial_wins(monkeypatch, capsys):
    runner = RecordingRunner()
    monkeypatch.setattr(trials, "make_runner", lambda *a, **k: runner)
    assert cli_main(["search", os.path.join(EX, "spiral_2layer.json"), "--trials", "2", "--epochs-per-trial", "7",
                     "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert {j["config"]["epochs"] for j in runner.jobs} == {7} and len(runner.jobs) == 4
    assert "2 coarse then 2 fine trials (4 in all), 7 epochs each" in err


def test_help_says_trials_are_per_stage(capsys):
    with pytest.raises(SystemExit):
        cli_main(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "trials PER STAGE" in text and "2 x TRIALS trainings in all" in text
    assert "about 1,000 optimizer steps" in text


@pytest.mark.slow
def test_a_default_length_search_on_the_spiral_tells_trials_apart(capsys):
    """Real trials (3 per stage, default length): the validation losses spread well away from log 3."""
    assert cli_main(["search", os.path.join(EX, "spiral_2layer.json"), "--trials", "3", "--workers", "1",
                     "--quiet", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    losses = [t["val_loss"] for t in doc["trials"]]
    assert len(losses) == 6
    assert max(losses) - min(losses) > 0.2  # 5 epochs: every loss within 0.004 of log 3 = 1.099
    assert doc["best"]["val_loss"] < math.log(3) - 0.3
