"""A lesson file's show-me params are checked when it loads, not when a student presses "Show me":
a set_param of a param the node's op lacks (or a value it refuses), a set_op param the new op lacks,
and a train action's epoch count, each refused naming the file, the JSON path, the node and the param."""
from __future__ import annotations

import copy
import json
import os

import pytest

from graphcore.lessons import catalog
from graphcore.lessons import format as F
from graphcore.lessons.actions import MAX_TRAIN_EPOCHS
from graphcore.lessons.errors import LessonFormatError


def shipped(name: str) -> tuple[str, dict]:
    path = os.path.join(catalog.lessons_dir(), name)
    with open(path, encoding="utf-8") as f:
        return path, json.load(f)


def first(doc: dict, kind: str) -> tuple[int, int, dict]:
    for i, step in enumerate(doc["steps"]):
        for j, action in enumerate(step.get("show_me", [])):
            if kind in action:
                return i, j, action[kind]
    raise AssertionError(f"no {kind} action")


def load_changed(tmp_path, name: str, change) -> str:
    """The shipped lesson `name` with `change(doc)` applied, loaded from a file; the error's text."""
    _, doc = shipped(name)
    doc = copy.deepcopy(doc)
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(LessonFormatError) as info:
        F.load(str(path))
    return str(info.value)


def test_every_shipped_lesson_still_loads():
    assert len(catalog.load_all()) >= 15


def test_a_param_the_op_lacks_is_refused_on_load(tmp_path):
    def change(doc):
        first(doc, "set_param")[2]["param"] = "init_scal"  # a typo of init_scale

    i, j, arg = first(shipped("10_initialization.json")[1], "set_param")
    msg = load_changed(tmp_path, "10_initialization.json", change)
    assert msg.startswith(str(tmp_path / "10_initialization.json") + ": steps[")
    assert f"steps[{i}].show_me[{j}].set_param.param" in msg
    assert f"node {arg['node']!r}" in msg and "'init_scal'" in msg
    assert "linear has no param 'init_scal'" in msg and "init_scale" in msg  # what it does have


def test_a_value_the_param_refuses_is_refused_on_load(tmp_path):
    def change(doc):
        first(doc, "set_param")[2]["value"] = "uniformish"  # init is a choice

    msg = load_changed(tmp_path, "10_initialization.json", change)
    assert ".set_param.param" in msg and "'init'" in msg and "must be one of" in msg and "'uniformish'" in msg


def test_a_set_op_param_the_new_op_lacks_is_refused_on_load(tmp_path):
    def change(doc):
        first(doc, "set_op")[2]["params"] = {"alpah": 1.0}

    i, j, arg = first(shipped("06_dead_relus.json")[1], "set_op")
    msg = load_changed(tmp_path, "06_dead_relus.json", change)
    assert f"steps[{i}].show_me[{j}].set_op.params.alpah" in msg
    assert f"node {arg['node']!r}" in msg and "elu has no param 'alpah'" in msg


def test_a_param_of_the_op_a_set_op_gives_the_node_is_accepted(tmp_path):
    _, doc = shipped("06_dead_relus.json")
    doc = copy.deepcopy(doc)
    i, j, arg = first(doc, "set_op")
    doc["steps"][-1].setdefault("show_me", []).append({"set_param": {"node": arg["node"], "param": "alpha",
                                                                     "value": 0.5}})
    lesson = F.loads(json.dumps(doc))  # relu has no alpha, but the elu it becomes has
    assert ("set_param", {"node": arg["node"], "param": "alpha", "value": 0.5}) in lesson.steps[-1].show_me


@pytest.mark.parametrize("epochs", [MAX_TRAIN_EPOCHS + 1, 10_000, 0, 2.5, True])
def test_a_train_action_is_bounded(tmp_path, epochs):
    def change(doc):
        first(doc, "train")[2]["epochs"] = epochs

    i, j, _ = first(shipped("07_relu_vs_tanh.json")[1], "train")
    msg = load_changed(tmp_path, "07_relu_vs_tanh.json", change)
    assert f"steps[{i}].show_me[{j}].train.epochs" in msg
    assert f"a whole number of epochs from 1 to {MAX_TRAIN_EPOCHS}" in msg


def test_the_bound_leaves_room_above_every_shipped_train_action():
    most = max(a["train"]["epochs"] for lesson in catalog.lesson_files()
               for s in shipped(os.path.basename(lesson))[1]["steps"] for a in s.get("show_me", []) if "train" in a)
    assert most <= MAX_TRAIN_EPOCHS and MAX_TRAIN_EPOCHS == 500
