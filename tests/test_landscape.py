"""The loss landscape (graphcore.train.landscape, plane): grid values against the loss computed directly,
seeded directions, projections of known paths, refused bounds, the optimizer race and the live path."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
from graphcore.executor import Executor
from graphcore.train import landscape as L
from graphcore.train.landscape import Landscape, LandscapeError, bowl_graph
from graphcore.train.plane import Plane, PlaneTracker, filter_normalized, random_plane, weight_plane
from graphcore.train.session import TrainJob
from backprop_studio_resources import examples_dir

SPIRAL = os.path.join(examples_dir(), "spiral_2layer.json")


@pytest.fixture(scope="module")
def spiral():
    g = gc.load(SPIRAL)
    g.reinitialize(3)  # weights of a realistic scale (the example's 0.01 make a flat landscape)
    return g


@pytest.fixture(scope="module")
def spiral_land(spiral):
    return Landscape(spiral, points=60, dtype="float64")


def direct_loss(graph: gc.Graph, land: Landscape, arrays: dict) -> float:
    """The reference: a fresh copy of the graph with the weights set through set_tensor, its own
    executor in eval mode, fed the landscape's fixed batch."""
    g = graph.copy()
    for (nid, w), a in arrays.items():
        g.set_tensor(nid, w, np.array(a, np.float64))
    roles = land.trainer.roles
    g.set_value(roles["features"], land.X)
    g.set_value(roles["labels"], land.y)
    ex = Executor(g, dtype=np.float64, mode="eval")
    return float(ex.forward()[roles["loss"]])


# ---------------------------------------------------------------- the grid
def test_random_plane_grid_equals_the_loss_computed_directly(spiral, spiral_land):
    plane = random_plane(spiral, seed=5)
    grid = spiral_land.grid(plane, span=0.8, resolution=5)
    assert grid.loss.shape == (5, 5)
    for j, i in [(0, 0), (1, 3), (4, 4), (3, 0), (2, 2)]:
        want = direct_loss(spiral, spiral_land, plane.point(grid.xs[i], grid.ys[j]))
        assert grid.loss[j, i] == pytest.approx(want, rel=0, abs=1e-12)
    assert len(np.unique(np.round(grid.loss, 9))) > 10  # the directions really move the loss


def test_weight_plane_grid_moves_only_those_two_weights(spiral, spiral_land):
    plane = weight_plane(spiral, ("fc1", "W", 7), ("fc2", "b", 1))
    grid = spiral_land.grid(plane, span=(2.0, 3.0), resolution=3, center=(0.5, -1.0))
    assert grid.xs.tolist() == [-1.5, 0.5, 2.5] and grid.ys.tolist() == [-4.0, -1.0, 2.0]
    W = spiral.nodes[spiral.find("fc1")].tensors["W"].copy()
    b = spiral.nodes[spiral.find("fc2")].tensors["b"].copy()
    W.reshape(-1)[7] += grid.xs[2]
    b.reshape(-1)[1] += grid.ys[0]
    want = direct_loss(spiral, spiral_land, {(spiral.find("fc1"), "W"): W, (spiral.find("fc2"), "b"): b})
    assert grid.loss[0, 2] == pytest.approx(want, rel=0, abs=1e-12)


def test_the_center_is_the_current_loss(spiral, spiral_land):
    plane = random_plane(spiral, seed=1)
    grid = spiral_land.grid(plane, span=0.5, resolution=3)
    current = direct_loss(spiral, spiral_land, {})
    assert grid.center_loss == pytest.approx(current, abs=1e-12)
    assert grid.loss[1, 1] == pytest.approx(current, abs=1e-12)  # the middle cell is (0, 0)
    assert spiral_land.loss_at() == pytest.approx(current, abs=1e-12)


def test_the_grid_leaves_the_callers_graph_alone(spiral):
    before = {k: spiral.nodes[k[0]].tensors[k[1]].copy() for k in spiral.trainable()}
    version = spiral.data_version
    Landscape(spiral, points=20).grid(random_plane(spiral), span=1.0, resolution=3)
    assert spiral.data_version == version
    assert all(np.array_equal(spiral.nodes[k[0]].tensors[k[1]], a) for k, a in before.items())


# ---------------------------------------------------------------- directions
def test_random_directions_are_seeded_and_filter_normalised(spiral):
    a, b, c = random_plane(spiral, seed=4), random_plane(spiral, seed=4), random_plane(spiral, seed=5)
    for k in a.keys:
        assert np.array_equal(a.d1[k], b.d1[k]) and np.array_equal(a.d2[k], b.d2[k])
    assert not np.array_equal(a.d1[a.keys[0]], c.d1[c.keys[0]])
    W = spiral.nodes[spiral.find("fc1")].tensors["W"]  # (2, 100): one unit per column
    d = a.d1[(spiral.find("fc1"), "W")]
    assert np.allclose(np.linalg.norm(d, axis=0), np.linalg.norm(W, axis=0), rtol=1e-12)
    bias = a.d1[(spiral.find("fc1"), "b")]
    assert np.linalg.norm(bias) == pytest.approx(np.linalg.norm(spiral.nodes[spiral.find("fc1")].tensors["b"]))


def test_filter_normalisation_of_a_conv_weight_is_per_filter():
    rng = np.random.default_rng(0)
    w, d = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal((4, 3, 2, 2))
    w[2] = 0.0  # an all-zero filter gets a zero direction
    out = filter_normalized(d, w)
    norms = np.sqrt((out ** 2).sum(axis=(1, 2, 3)))
    assert np.allclose(norms, np.sqrt((w ** 2).sum(axis=(1, 2, 3))))
    assert np.all(out[2] == 0)
    assert np.allclose(out[0] / np.linalg.norm(out[0]), d[0] / np.linalg.norm(d[0]))  # direction kept


# ---------------------------------------------------------------- projection
def test_projection_recovers_a_known_path_on_a_random_plane(spiral):
    plane = random_plane(spiral, seed=2)
    path = [(0.0, 0.0), (0.3, -0.1), (-1.2, 2.5), (4.0, 0.25)]
    snaps = [plane.point(a, b) for a, b in path]
    assert np.allclose(plane.project(snaps), path, atol=1e-10)
    # a component off the plane (orthogonal to both directions) does not move the projection
    k = plane.keys[0]
    off = np.random.default_rng(1).standard_normal(plane.origin[k].shape)
    basis = np.stack([plane.d1[k].ravel(), plane.d2[k].ravel()], axis=1)
    only = {kk: np.zeros_like(v) for kk, v in plane.origin.items()}
    only[k] = off - (basis @ np.linalg.lstsq(basis, off.ravel(), rcond=None)[0]).reshape(off.shape)
    moved = {kk: snaps[2][kk] + only[kk] for kk in plane.keys}
    # orthogonal to d1, d2 restricted to k, and zero elsewhere: orthogonal to the whole directions
    assert np.allclose(plane.coords(moved), path[2], atol=1e-10)


def test_projection_on_a_weight_plane_reads_the_two_weights(spiral):
    plane = weight_plane(spiral, ("fc2", "W", 4), ("fc2", "W", 5))
    k = (spiral.find("fc2"), "W")
    w = plane.origin[k].copy()
    w.reshape(-1)[4] += 0.75
    w.reshape(-1)[5] -= 2.0
    w.reshape(-1)[0] += 9.0  # another weight of the same array: not on the plane
    assert plane.coords({k: w}) == pytest.approx((0.75, -2.0))
    assert plane.labels == ("fc2.W[4]", "fc2.W[5]")


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize("call, words", [
    (lambda g, land: land.grid(random_plane(g), resolution=2), "resolution must be a whole number from 3 to 101"),
    (lambda g, land: land.grid(random_plane(g), resolution=1000), "from 3 to 101"),
    (lambda g, land: land.grid(random_plane(g), span=-1), "span must be a number"),
    (lambda g, land: land.grid(random_plane(g), span=float("nan")), "span must be a number"),
    (lambda g, land: land.grid(random_plane(g), center=(0, 0, 0)), "center must be two plane coordinates"),
    (lambda g, land: land.race(random_plane(g), steps=0), "steps must be a whole number from 1 to 2000"),
    (lambda g, land: land.race(random_plane(g), kinds=["lbfgs"]), "unknown optimizer 'lbfgs'"),
    (lambda g, land: land.race(random_plane(g), kinds=["adam"], settings={"adam": {"lr": -1}}),
     "settings for adam: optimizer setting lr must be >= 0"),
    (lambda g, land: weight_plane(g, ("nope", "W", 0), ("fc1", "W", 1)), "first axis: no node named 'nope'"),
    (lambda g, land: weight_plane(g, ("fc1", "Q", 0), ("fc1", "W", 1)),
     "first axis: node 'fc1' has no trainable weight 'Q' (it has: W, b)"),
    (lambda g, land: weight_plane(g, ("fc1", "W", 0), ("fc1", "W", 200)),
     "second axis: index 200 is out of range for fc1.W (200 numbers: 0 to 199)"),
    (lambda g, land: weight_plane(g, ("fc1", "W", 3), ("fc1", "W", 3)), "both axes are fc1.W[3]"),
    (lambda g, land: random_plane(g, seed=-1), "seed must be an integer >= 0"),
    (lambda g, land: Landscape(g, points=0), "points must be a whole number from 1 to 4096"),
    (lambda g, land: Landscape(g, points=10 ** 9), "points must be a whole number from 1 to 4096"),
])
def test_bounds_are_refused_with_clear_errors(spiral, spiral_land, call, words):
    with pytest.raises(LandscapeError) as info:
        call(spiral, spiral_land)
    assert words in str(info.value)


def test_too_much_work_is_refused_before_any_cell_runs(spiral, monkeypatch):
    land = Landscape(spiral, points=300)
    with pytest.raises(LandscapeError, match=r"101x101 cells of 300 examples each is 3,060,300 evaluations, "
                                             r"over the limit of 1,000,000"):
        monkeypatch.setattr(L, "MAX_WORK", 1_000_000)
        land.grid(random_plane(spiral), resolution=101)


def test_a_graph_without_training_or_a_plane_of_another_graph_is_refused(spiral, spiral_land):
    with pytest.raises(LandscapeError, match="no training settings"):
        Landscape(gc.load(os.path.join(examples_dir(), "cs231n_circuit.json")))
    other = bowl_graph()
    with pytest.raises(LandscapeError, match="make the plane again"):
        spiral_land.grid(weight_plane(other, ("w", "value", 0), ("w", "value", 1)))


def test_parallel_or_zero_directions_span_no_plane():
    zero = {("n", "w"): np.zeros(3)}
    one = {("n", "w"): np.array([1.0, 2.0, 3.0])}
    with pytest.raises(LandscapeError, match="is zero"):
        Plane("random", (("n", "w"),), zero, one, zero, ("a", "b"))
    with pytest.raises(LandscapeError, match="parallel"):
        Plane("random", (("n", "w"),), zero, one, {("n", "w"): 2 * one[("n", "w")]}, ("a", "b"))


# ---------------------------------------------------------------- the race
RACE = {"sgd": {"lr": 0.5}, "momentum": {"lr": 0.1}, "nesterov": {"lr": 0.1}, "adagrad": {"lr": 1.0},
        "rmsprop": {"lr": 0.1}, "adam": {"lr": 0.3}}


@pytest.fixture(scope="module")
def bowl():
    g = bowl_graph()
    land = Landscape(g)
    return g, land, weight_plane(g, ("w", "value", 0), ("w", "value", 1))


def test_the_race_returns_one_descending_trajectory_per_optimizer(bowl):
    g, land, plane = bowl
    race = land.race(plane, steps=40, settings=RACE)
    assert list(race) == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
    for kind, tr in race.items():
        assert tr.status == "ok" and tr.xy.shape == (41, 2) and tr.loss.shape == (41,)
        assert np.array_equal(tr.xy[0], [0.0, 0.0])  # all start at the same point
        assert tr.loss[0] == pytest.approx(land.loss_at())
        assert tr.loss[-1] < 0.1 * tr.loss[0], kind
    # the exact least-squares solution: every one ends near it
    X, y = land.X * np.array([1.0, 0.2]), land.y
    best = np.linalg.lstsq(X, y, rcond=None)[0].ravel() - plane.origin[plane.keys[0]].ravel()
    assert np.linalg.norm(race["adam"].xy[-1] - best) < 0.5
    # the path's losses are the losses at its points (the first step's, directly)
    w = plane.point(*race["sgd"].xy[1])
    assert race["sgd"].loss[1] == pytest.approx(direct_loss(g, land, w), abs=1e-12)


def test_plain_sgd_zigzags_where_momentum_does_not(bowl):
    """In the narrow bowl a large-step SGD bounces across the steep axis (its first coordinate
    changes sign), while momentum at a small rate moves steadily."""
    g, land, plane = bowl
    race = land.race(plane, steps=20, kinds=["sgd", "momentum"], settings={"sgd": {"lr": 0.9}, "momentum": {"lr": 0.05}})
    steep = np.diff(race["sgd"].xy[:, 0])
    assert (np.sign(steep[1:]) != np.sign(steep[:-1])).sum() >= 5
    assert race["momentum"].loss[-1] < race["momentum"].loss[0]


def test_a_diverging_optimizer_ends_its_trajectory_early(bowl):
    g, land, plane = bowl
    race = land.race(plane, steps=200, kinds=["sgd", "adam"], settings={"sgd": {"lr": 50.0}, "adam": {"lr": 0.3}})
    assert race["sgd"].status == "diverged" and len(race["sgd"].xy) < 201
    assert np.isfinite(race["sgd"].loss).all()
    assert race["adam"].status == "ok" and len(race["adam"].xy) == 201
    assert land.loss_at() == pytest.approx(race["adam"].loss[0])  # the race put the start weights back


# ---------------------------------------------------------------- the path of a training run
def test_a_training_job_sends_its_path_on_the_plane(bowl):
    g, _, plane = bowl
    msgs = []
    job = TrainJob(g.copy(), dict(g.meta["training"], epochs=12), {"fresh": False, "landscape": plane}, None,
                   False, lambda kind, payload: msgs.append((kind, payload)))
    result = job.run()
    assert result["status"] == "finished"
    paths = [p for kind, p in msgs if kind == "trajectory"]
    steps = np.concatenate([p["steps"] for p in paths])
    xy = np.concatenate([p["xy"] for p in paths])
    assert steps.tolist() == list(range(13))  # the start, then every step (full batch: one per epoch)
    assert xy.shape == (13, 2) and np.array_equal(xy[0], [0.0, 0.0])
    final = result["tensors"][g.find("w")]["value"]
    assert np.allclose(xy[-1], final.ravel() - plane.origin[plane.keys[0]].ravel(), atol=1e-12)


def test_the_tracker_throttles_a_large_plane(spiral, monkeypatch):
    from graphcore.train import plane as plane_mod

    monkeypatch.setattr(plane_mod, "TRACK_ALL_BELOW", 10)
    t = PlaneTracker(random_plane(spiral), spiral)
    clock = iter([0.0, 0.01, 0.02, 0.05, 0.06])
    t._clock = lambda: next(clock)
    for step in range(1, 6):
        t.track(step)
    assert t.take()["steps"].tolist() == [1, 4]  # at least 1/30 s apart (0.0, then 0.05)
    assert t.take() is None


def test_a_race_leaves_the_running_statistics_as_they_were():
    """Race steps run in train mode, which moves batchnorm's running statistics; the next grid of the
    same Landscape must still be the one a fresh Landscape draws."""
    g = gc.Graph()
    g.meta["seed"] = 0
    x = g.add("input", name="x", value=np.zeros((4, 2)))
    y = g.add("input", name="y", value=np.zeros(4, dtype=np.int64))
    h = g.add("linear", name="fc1", inputs={"x": x}, units=8)
    b = g.add("batchnorm", name="bn", inputs={"x": h})
    r = g.add("relu", name="relu", inputs={"x": b})
    o = g.add("linear", name="fc2", inputs={"x": r}, units=3)
    g.add("softmax_cross_entropy", name="loss", inputs={"scores": o, "labels": y})
    g.meta["training"] = {"dataset": {"name": "spiral", "n_per_class": 20, "classes": 3, "seed": 0},
                          "features": "x", "labels": "y", "loss": "loss", "optimizer": {"kind": "sgd", "lr": 0.5},
                          "batch_size": 0, "epochs": 1, "seed": 0, "dtype": "float64"}
    g.materialize()
    land = Landscape(g)
    plane = random_plane(g, seed=0)
    before = land.grid(plane, span=0.5, resolution=3)
    land.race(plane, steps=5, kinds=["adam"])
    after = land.grid(plane, span=0.5, resolution=3)
    assert np.array_equal(before.loss, after.loss)
    assert np.array_equal(Landscape(g).grid(plane, span=0.5, resolution=3).loss, before.loss)
