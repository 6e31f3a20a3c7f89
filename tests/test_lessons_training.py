"""The training lessons (6-15): the `reinitialize` show-me action, and each lesson played headlessly."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
from backprop_studio_resources import example_path
from graphcore.lessons import HeadlessWorld, LessonRun, lesson_files, load
from graphcore.lessons import actions as A
from graphcore.lessons.actions import ActionError

TRAINING_LESSONS = [p for p in lesson_files() if os.path.basename(p)[:2].isdigit() and int(os.path.basename(p)[:2]) >= 6]


def _weights(g):
    return {f"{nid}/{k}": np.array(v) for nid in g.nodes for k, v in g.weights(nid).items()}


def test_reinitialize_parses_an_optional_whole_seed():
    assert A.parse({"reinitialize": {}}, "$") == ("reinitialize", None)
    assert A.parse({"reinitialize": {"seed": 7}}, "$") == ("reinitialize", 7)
    for bad in ({"seed": 1.5}, {"seed": -1}, {"seed": True}, {"seeds": 1}, []):
        with pytest.raises(ActionError):
            A.parse({"reinitialize": bad}, "$.steps[0].show_me[0]")


def test_reinitialize_draws_the_seeds_weights_and_starts_a_new_run():
    world = HeadlessWorld(gc.load(example_path("spiral_relu.json")))
    fresh = gc.load(example_path("spiral_relu.json"))
    fresh.reinitialize()
    world.set_training({"batch_size": 0, "optimizer": "momentum"})
    world.train(3)
    trained = _weights(world.graph)
    assert world.metrics["steps"] == 3 and world.graph.opt_state
    assert any(not np.array_equal(trained[k], v) for k, v in _weights(fresh).items())

    world.forward()
    A.perform(A.parse({"reinitialize": {}}, "$"), world)
    now = _weights(world.graph)
    assert now.keys() == trained.keys()
    assert all(np.array_equal(now[k], v) for k, v in _weights(fresh).items())  # the seed's weights again
    assert world.metrics == {} and not world.graph.opt_state and world.record is None
    world.train(2)
    assert world.metrics["steps"] == 2  # a new run, not the old one continued


def test_reinitialize_with_a_seed_draws_other_weights():
    world = HeadlessWorld(gc.load(example_path("spiral_relu.json")))
    before = _weights(world.graph)
    A.perform(("reinitialize", 123), world)
    after = _weights(world.graph)
    assert world.graph.meta["seed"] == 123
    assert any(not np.array_equal(after[k], v) for k, v in before.items())


def test_a_world_with_its_own_reinitialize_is_asked_to_do_it():
    class GuiLike(HeadlessWorld):
        def __init__(self, graph):
            super().__init__(graph)
            self.asked = []

        def reinitialize(self, seed):
            self.asked.append(seed)

    world = GuiLike(gc.load(example_path("spiral_relu.json")))
    before = _weights(world.graph)
    A.perform(("reinitialize", 5), world)
    assert world.asked == [5]
    assert all(np.array_equal(_weights(world.graph)[k], v) for k, v in before.items())


def test_the_training_lessons_are_all_there_and_bilingual():
    ids = [load(p).id for p in TRAINING_LESSONS]
    assert ids == ["dead-relus", "relu-vs-tanh", "batch-size", "optimizer-race", "initialization", "batchnorm",
                   "overfitting", "babysitting", "hyperparameter-search", "convolution"]
    for p in TRAINING_LESSONS:
        les = load(p)
        assert 4 <= len(les.steps) <= 10, les.id
        assert any(s.show_me for s in les.steps), les.id  # something for the student to do
        for s in les.steps:
            assert s.text["en"] and s.text["zh"] and s.text["en"] != s.text["zh"]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", TRAINING_LESSONS, ids=[os.path.basename(p) for p in TRAINING_LESSONS])
def test_each_training_lesson_plays_with_show_me(path, lang):
    """Every step's check fails before Show me where the student must act, and holds after it."""
    les = load(path)
    run = LessonRun(les, HeadlessWorld(), lang)
    run.open()
    for i, step in enumerate(les.steps):
        run.enter(i)
        if "read" not in str(step.check):
            assert not run.passed(), f"{les.id} step {step.id} passes before the student did anything"
        run.show_me()
        assert run.passed(), f"{les.id} step {step.id}"
        assert "?" not in run.explanation(), f"{les.id} step {step.id}: {run.explanation()}"
