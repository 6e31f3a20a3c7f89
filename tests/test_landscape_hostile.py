"""Loss-landscape planes through weights that are not finite or too large to measure: refused by
name with LandscapeError (the dock shows it) instead of a grid and paths made of NaN."""
from __future__ import annotations

import numpy as np
import pytest

from graphcore.train.landscape import Landscape, LandscapeError, bowl_graph
from graphcore.train.plane import random_plane, weight_plane


def _planes(g):
    return {"random": lambda: random_plane(g, seed=0),
            "weights": lambda: weight_plane(g, ("w", "value", 0), ("w", "value", 1))}


@pytest.mark.parametrize("kind", ["random", "weights"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_plane_through_non_finite_weights_is_refused_by_name(kind, bad):
    # before: the plane was made, every grid cell was NaN and the race's first point was (nan, nan)
    g = bowl_graph(start=(bad, 1.0))
    with pytest.raises(LandscapeError, match=r"w\.value holds NaN or Inf"):
        _planes(g)[kind]()


def test_a_random_plane_whose_directions_overflow_is_refused():
    g = bowl_graph(start=(1e200, -1e200))
    with np.errstate(over="ignore"), pytest.raises(LandscapeError, match="too long to measure"):
        random_plane(g, seed=0)


def test_finite_weights_still_give_a_finite_grid_and_race():
    g = bowl_graph()
    land = Landscape(g, points=32)
    plane = random_plane(g, seed=0)
    grid = land.grid(plane, span=1.0, resolution=5)
    assert np.isfinite(grid.loss).all() and grid.loss.shape == (5, 5)
    race = land.race(plane, steps=3, kinds=("sgd",))
    assert race["sgd"].status == "ok" and np.isfinite(race["sgd"].xy).all()
