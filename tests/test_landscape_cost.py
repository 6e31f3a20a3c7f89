"""The loss landscape's work limit counts the model's size: a grid costs cells x examples x weights,
so a 2-million-weight net is refused a grid that a small net computes in a blink (it would have run
for about 20 minutes at 101x101), with an error that names every factor."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
import graphcore.train.landscape as L
from backprop_studio_resources import examples_dir
from graphcore.train.landscape import Landscape, LandscapeError
from graphcore.train.plane import random_plane

BIG_WEIGHTS = (2 * 2000 + 2000) + (2000 * 1000 + 1000) + (1000 * 3 + 3)  # 2,010,003


@pytest.fixture(scope="module")
def big():
    """spiral -> linear(2000) -> relu -> linear(1000) -> relu -> linear(3) -> softmax loss."""
    g = gc.Graph()
    x = g.add("input", name="x", value=np.zeros((4, 2)))
    y = g.add("input", name="y", value=np.zeros(4, dtype=np.int64))
    h = g.add("relu", inputs={"x": g.add("linear", name="fc1", inputs={"x": x}, units=2000)})
    h = g.add("relu", inputs={"x": g.add("linear", name="fc2", inputs={"x": h}, units=1000)})
    s = g.add("linear", name="fc3", inputs={"x": h}, units=3)
    g.add("softmax_cross_entropy", name="loss", inputs={"scores": s, "labels": y})
    g.meta["training"] = {"dataset": {"name": "spiral"}, "val_fraction": 0.0, "dtype": "float64"}
    gc.Executor(g).forward()  # shapes the weights
    land = Landscape(g, points=256)
    return land, random_plane(g, 0)


def never_run(*_):
    raise AssertionError("the grid started: it should have been refused first")


def started():
    """should_stop for a grid that passes its checks: stop before the first row is computed."""
    return True


def test_the_landscape_counts_the_models_weights(big):
    land, _ = big
    assert land.weights == BIG_WEIGHTS and land.n == 256


def test_a_big_model_is_refused_a_grid_naming_the_numbers(big):
    land, plane = big
    with pytest.raises(LandscapeError) as info:
        land.grid(plane, resolution=31, should_stop=never_run)
    msg = str(info.value)
    cost = 31 * 31 * 256 * BIG_WEIGHTS
    assert "31x31 cells of 256 examples each, with 2,010,003 weights" in msg
    assert f"about {cost:.3g} multiply-adds" in msg and f"over the limit of {L.MAX_COST:.3g}" in msg
    side = int((L.MAX_COST // (256 * BIG_WEIGHTS)) ** 0.5)
    assert f"a grid of at most {side}x{side}" in msg and side == 6


def test_a_big_model_is_refused_a_race_naming_the_numbers(big):
    land, plane = big
    with pytest.raises(LandscapeError) as info:
        land.race(plane, steps=50)
    msg = str(info.value)
    assert "6 optimizers x 50 steps of 256 examples each, with 2,010,003 weights" in msg
    assert f"about {6 * 50 * 3 * 256 * BIG_WEIGHTS:.3g} multiply-adds (3 passes x" in msg


def test_a_small_grid_of_the_big_model_still_runs(big):
    land, plane = big
    grid = land.grid(plane, span=0.5, resolution=5)
    assert grid.loss.shape == (5, 5) and np.isfinite(grid.loss).all()


@pytest.mark.parametrize("name", ["digits_cnn", "spiral_2layer"])
def test_every_shipped_example_gets_the_largest_grid(name):
    g = gc.load(os.path.join(examples_dir(), name + ".json"))
    land = Landscape(g, points=256, base_dir=examples_dir())
    with pytest.raises(InterruptedError):  # past every check: the first row was about to run
        land.grid(random_plane(g, 0), resolution=L.MAX_RESOLUTION, should_stop=started)
