"""Datasets: seeded 2-D generators, the 8x8 digits, and a user's CSV or NPZ.

Every generator takes its size, noise and seed as keyword arguments and returns
a Dataset; `load(spec)` builds one from plain data such as
{"name": "spiral", "n_per_class": 100, "classes": 3, "seed": 0}, which is how a
graph file names its training data (meta.training.dataset).
"""
from __future__ import annotations

import inspect
import math
import os
import zipfile

import numpy as np

from . import datapath
from .datafiles import (FEATURE_KEYS, LABEL_KEYS, Dataset, _classes, _policy, load_csv,  # noqa: F401
                        load_npz)
from .datapath import DataPolicy, DatasetError, fmt_size, quote  # noqa: F401 (DatasetError: the old home)


# ---------------------------------------------------------------- generators
def spiral(n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """The CS231n spiral: K arms of N points, r = linspace(0, 1), t = linspace(4j, 4(j+1)) + noise * randn."""
    rng = np.random.RandomState(seed)
    N, K, D = n_per_class, classes, 2
    X = np.zeros((N * K, D))
    y = np.zeros(N * K, dtype=np.int64)
    for j in range(K):
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1, N)
        t = np.linspace(j * 4, (j + 1) * 4, N) + rng.randn(N) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return Dataset("spiral", X, y, classes=_classes(K))


def circle(n: int = 200, noise: float = 0.1, factor: float = 0.5, seed: int = 0) -> Dataset:
    """Two concentric rings: class 0 on radius 1, class 1 on radius `factor`."""
    rng = np.random.RandomState(seed)
    n_out = n // 2
    n_in = n - n_out
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.r_[np.ones(n_out), np.full(n_in, factor)]
    X = np.c_[r * np.cos(t), r * np.sin(t)] + noise * rng.randn(n, 2)
    y = np.r_[np.zeros(n_out, np.int64), np.ones(n_in, np.int64)]
    return Dataset("circle", X, y, classes=_classes(2))


def xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Points around the four corners of the unit square; label = a XOR b (n=4, noise=0: the truth table)."""
    rng = np.random.RandomState(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    idx = np.arange(n) % 4
    X = corners[idx] + noise * rng.randn(n, 2)
    y = (corners[idx, 0] != corners[idx, 1]).astype(np.int64)
    return Dataset("xor", X, y, classes=_classes(2))


def blobs(n_per_class: int = 100, classes: int = 3, dim: int = 2, spread: float = 1.0, box: float = 5.0,
          seed: int = 0) -> Dataset:
    """Gaussian blobs: centres uniform in [-box, box]^dim, points centre + spread * randn."""
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-box, box, (classes, dim))
    X = np.repeat(centres, n_per_class, axis=0) + spread * rng.randn(classes * n_per_class, dim)
    y = np.repeat(np.arange(classes, dtype=np.int64), n_per_class)
    return Dataset("blobs", X, y, classes=_classes(classes))


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaved half circles."""
    rng = np.random.RandomState(seed)
    n_a = n // 2
    n_b = n - n_a
    ta = np.linspace(0, np.pi, n_a)
    tb = np.linspace(0, np.pi, n_b)
    X = np.r_[np.c_[np.cos(ta), np.sin(ta)], np.c_[1 - np.cos(tb), 0.5 - np.sin(tb)]]
    X = X + noise * rng.randn(n, 2)
    y = np.r_[np.zeros(n_a, np.int64), np.ones(n_b, np.int64)]
    return Dataset("moons", X, y, classes=_classes(2))


def sine(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Regression: x uniform in [-pi, pi], target sin(x) + noise * randn; shapes (N, 1) and (N, 1)."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-np.pi, np.pi, (n, 1))
    y = np.sin(x) + noise * rng.randn(n, 1)
    return Dataset("sine", x, y, task="regression")


def linear(n: int = 200, dim: int = 3, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Regression: target X @ w + b + noise * randn with w, b drawn once from randn; shapes (N, dim), (N, 1)."""
    rng = np.random.RandomState(seed)
    w = rng.randn(dim, 1)
    b = rng.randn()
    X = rng.randn(n, dim)
    y = X @ w + b + noise * rng.randn(n, 1)
    return Dataset("linear", X, y, task="regression")


def digits(n: int | None = None, path: str | None = None) -> Dataset:
    """The 8x8 handwritten digits (1,797 images, 10 classes) as (N, 1, 8, 8) floats in [0, 1]."""
    if not path:
        # Imported here: the generators need no shipped files (bench/bench_train.py's torch
        # worker imports this module from a Python where the project is not installed).
        from backprop_studio_resources import dataset_path

        path = dataset_path("digits.npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            images = z["images"]
            labels = z["labels"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: cannot read the digits: {exc}") from None
    X = images.astype(np.float64)[:, None, :, :] / 16.0
    y = labels.astype(np.int64)
    if n is not None:
        X, y = X[:n], y[:n]
    return Dataset("digits", X, y, classes=_classes(10))


GENERATORS = {"spiral": spiral, "circle": circle, "xor": xor, "blobs": blobs, "moons": moons,
              "sine": sine, "linear": linear, "digits": digits}
REGRESSION = ("sine", "linear")


def check_labels(ds: Dataset, n_classes: int) -> None:
    """Every class label must index one of the model's `n_classes` scores; the error names file and line."""
    if ds.task != "classification" or ds.y.size == 0:
        return
    bad = np.flatnonzero((ds.y < 0) | (ds.y >= n_classes))
    if bad.size == 0:
        return
    i = int(bad[0])
    k = int(ds.y[i])
    label = quote(ds.classes[k], 40) if ds.classes and ds.classes[k] != str(k) else str(k)
    raise DatasetError(f"{ds.label_origin(i)}: label {label} is class {k}, but the model's scores have "
                       f"{n_classes} columns (classes 0..{n_classes - 1})")


# ---------------------------------------------------------------- by name
def names() -> list[str]:
    return list(GENERATORS) + ["csv", "npz"]


# settings of the built-in generators: counts are bounded by the policy (see _check_generator),
# the other numbers by these fixed ranges (no use beyond them, and 1e300 noise overflows)
FLOAT_MAX = {"noise": 100.0, "spread": 1e4, "box": 1e6, "factor": 1e4}
SEED_MAX = 2 ** 32 - 1  # numpy's RandomState seeds


def _check_generator(name: str, s: dict, params, policy: DataPolicy) -> None:
    """Types and bounds of a generator's settings; the error names the setting."""
    for k, v in s.items():
        default = params[k].default
        if isinstance(default, int) and not isinstance(default, bool) or k == "n":
            if v is None and k == "n" and name == "digits":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise DatasetError(f"{k} must be a non-negative integer, got {quote(v, 40)}")
        elif isinstance(default, float):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise DatasetError(f"{k} must be a non-negative number, got {quote(v, 40)}")
            if v > FLOAT_MAX.get(k, 1e6):
                raise DatasetError(f"{k} {v:g} is above its limit of {FLOAT_MAX.get(k, 1e6):g}")
    for k in ("n", "n_per_class", "classes", "dim"):
        if s.get(k) == 0 and not (name == "digits" and k == "n"):
            raise DatasetError(f"{k} must be at least 1")
    if s.get("seed", 0) > SEED_MAX:
        raise DatasetError(f"seed {s['seed']} is above {SEED_MAX}")
    get = lambda k: s.get(k, params[k].default) if k in params else None  # noqa: E731
    classes = get("classes")
    if classes is not None and classes > policy.max_classes:
        raise DatasetError(f"classes {classes:,} is above the limit of {policy.max_classes:,} "
                           "(raise it with --max-classes)")
    points = get("n") if "n" in params else get("n_per_class") * (classes or 1)
    if name == "digits":
        return
    if points > policy.max_points:
        key = "n" if "n" in params else "n_per_class"
        raise DatasetError(f"{key} {s.get(key, params[key].default):,} makes {points:,} points, above the limit of "
                           f"{policy.max_points:,} (raise it with --max-points)")
    dim = get("dim") or 2
    if 8 * points * dim > policy.max_bytes:
        raise DatasetError(f"dim {dim:,} with {points:,} points needs {fmt_size(8 * points * dim)}, above the data "
                           f"limit of {fmt_size(policy.max_bytes)} (raise it with --data-limit)")


def load(spec: dict | str, base_dir: str | None = None, *, data_path: str | None = None,
         policy: DataPolicy | None = None, task: str | None = None,
         where: str = datapath.GRAPH_FOLDER) -> Dataset:
    """A dataset from plain data: {"name": "moons", "n": 300, "noise": 0.2} or {"name": "csv", "path": ...}.

    `base_dir` is the folder of the graph file the spec came from: its path is taken from
    there and may not leave it (see datapath.resolve; `where` names that folder in messages).
    Without `base_dir` the spec is the caller's own and its path is used as given. `data_path`
    is a file the user named (--data): it replaces the spec's path and may be anywhere. Every
    count is bounded by `policy` (default: DataPolicy()). `task` (what the model's loss expects) reads a
    file's labels as classes or regression targets unless the spec states its own "task".
    Messages start with the setting's key.
    """
    policy = _policy(policy)
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict):
        raise DatasetError(f"dataset must be an object like {{'name': 'spiral'}}, got {quote(spec)}")
    s = dict(spec)
    name = s.pop("name", None)
    if name in ("csv", "npz"):
        value = s.pop("path", None)
        if data_path is not None:
            path, shown = os.path.realpath(data_path), data_path
        else:
            if value is None:
                raise DatasetError(f"a {name} dataset needs a 'path'")
            path, shown = datapath.resolve(value, base_dir, policy, where=where), value
        fn = load_csv if name == "csv" else load_npz
    elif name in GENERATORS:
        fn = GENERATORS[name]
    else:
        known = ", ".join(names())
        raise DatasetError(f"unknown dataset {quote(name, 40)} (known: {known})")
    params = inspect.signature(fn).parameters
    unknown = [k for k in s if k not in params or k in ("path", "shown", "policy")]
    if unknown:
        allowed = [k for k in params if k not in ("path", "shown", "policy")]
        raise DatasetError(f"dataset {name} has no setting {quote(unknown[0], 40)} "
                           f"(it has: {', '.join(allowed) or 'none'})")
    if name in ("csv", "npz"):
        if task is not None and s.get("task") is None:
            s["task"] = task
        ds = fn(path, shown=shown, policy=policy, **s)  # the readers check their own arguments
    else:
        _check_generator(name, s, params, policy)
        ds = fn(**s)
    ds.settings = dict(spec)
    return ds
