"""Datasets: seeded 2-D generators, the 8x8 digits, and a user's CSV or NPZ.

Every generator takes its size, noise and seed as keyword arguments and returns
a Dataset; `load(spec)` builds one from plain data such as
{"name": "spiral", "n_per_class": 100, "classes": 3, "seed": 0}, which is how a
graph file names its training data (meta.training.dataset).
"""
from __future__ import annotations

import csv
import inspect
import math
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np


class DatasetError(ValueError):
    """A dataset that cannot be built or read; the message names the file, row and column."""


@dataclass
class Dataset:
    name: str
    X: np.ndarray  # (N, D) features or (N, C, H, W) images, float64
    y: np.ndarray  # (N,) int64 class labels, or (N, k) float64 regression targets
    task: str = "classification"  # or "regression"
    classes: list[str] | None = None  # class names, index = label
    settings: dict = field(default_factory=dict)
    # where each label came from, so an error can name the file, line and column
    label_file: str | None = None
    label_column: str | None = None
    label_lines: list[int] | None = None  # CSV: the file line of each example; NPZ: None (row = index + 1)

    def label_origin(self, i: int) -> str:
        """'d.csv: line 4, column 'label'' for example i (or 'dataset spiral, example 5')."""
        if self.label_file is None:
            return f"dataset {self.name}, example {i + 1}"
        if self.label_lines is not None:
            return f"{self.label_file}: line {self.label_lines[i]}, column {self.label_column}"
        return f"{self.label_file}: {self.label_column} row {i + 1}"

    @property
    def n_classes(self) -> int:
        if self.task != "classification":
            return 0
        if self.classes is not None:
            return len(self.classes)
        return int(self.y.max()) + 1 if self.y.size else 0

    def __len__(self) -> int:
        return int(self.X.shape[0])


def _classes(k: int) -> list[str]:
    return [str(i) for i in range(k)]


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


# ---------------------------------------------------------------- user files
def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v


def load_csv(path: str, label: int | str = -1, header: bool | None = None, task: str | None = None) -> Dataset:
    """Rows of numbers with one label column (index or header name; default the last).

    The first row is a header when none of its cells is a number (or when header=True).
    Integer labels are class indices; non-numeric labels become classes (sorted names);
    fractional labels, or task="regression", make a regression set.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable CSV text file: {exc}") from None
    if not rows:
        raise DatasetError(f"{path}: the file has no rows")
    first = rows[0][1]
    if header is None:
        header = all(_number(c.strip()) is None for c in first)
    names = [c.strip() for c in first] if header else [f"column {k + 1}" for k in range(len(first))]
    body = rows[1:] if header else rows
    if not body:
        raise DatasetError(f"{path}: the file has a header but no data rows")
    width = len(first)
    if width < 2:
        raise DatasetError(f"{path}: needs at least two columns (features and a label), found {width}")
    if isinstance(label, str):
        if label not in names:
            raise DatasetError(f"{path}: no column named {label!r} (columns: {', '.join(names)})")
        li = names.index(label)
    else:
        if not -width <= label < width:
            raise DatasetError(f"{path}: label column {label} is out of range ({width} columns)")
        li = label % width
    feats = [k for k in range(width) if k != li]
    X = np.empty((len(body), len(feats)))
    raw_labels: list[str] = []
    for r, (line, cells) in enumerate(body):
        if len(cells) != width:
            raise DatasetError(f"{path}: row {line} has {len(cells)} columns, expected {width} (ragged rows)")
        for j, k in enumerate(feats):
            text = cells[k].strip()
            if not text:
                raise DatasetError(f"{path}: row {line}, column {names[k]!r}: missing value")
            v = _number(text)
            if v is None or not math.isfinite(v):
                raise DatasetError(f"{path}: row {line}, column {names[k]!r}: {text!r} is not a number")
            X[r, j] = v
        lab = cells[li].strip()
        if not lab:
            raise DatasetError(f"{path}: row {line}: missing label (column {names[li]!r})")
        raw_labels.append(lab)
    name = os.path.splitext(os.path.basename(path))[0]
    ds = _with_labels(name, X, raw_labels, task, f"{path}: column {names[li]!r}",
                      {"name": "csv", "path": path, "label": label},
                      lambda i: f"{path}: line {body[i][0]}, column {names[li]!r}")
    ds.label_file, ds.label_column, ds.label_lines = path, repr(names[li]), [line for line, _ in body]
    return ds


def _with_labels(name: str, X: np.ndarray, raw: list, task: str | None, where: str, settings: dict,
                 at=None) -> Dataset:
    """Integer labels are class indices, all-text labels class names; a mix of the two is an error."""
    nums = [_number(str(v)) for v in raw]
    is_num = [v is not None and math.isfinite(v) for v in nums]
    numeric = all(is_num)
    at = at or (lambda i: f"{where}, row {i + 1} of the data")
    if task not in (None, "classification", "regression"):
        raise DatasetError(f"task must be 'classification' or 'regression', got {task!r}")
    if task == "regression" or (task is None and numeric and any(not float(v).is_integer() for v in nums)):
        if not numeric:
            bad = next(i for i, v in enumerate(nums) if v is None or not math.isfinite(v))
            raise DatasetError(f"{at(bad)}: label {raw[bad]!r} is not a number")
        return Dataset(name, X, np.asarray(nums, dtype=np.float64).reshape(-1, 1), task="regression",
                       settings=settings)
    if any(is_num) and not numeric:  # a typo must not become a class of its own
        odd = is_num.index(False) if sum(is_num) * 2 >= len(raw) else is_num.index(True)
        kind = "text" if not is_num[odd] else "a number"
        raise DatasetError(f"{at(odd)}: label {raw[odd]!r} is {kind}, but other labels are "
                           f"{'numbers' if kind == 'text' else 'text'}; use one kind of label for every row")
    if numeric and any(v < 0 for v in nums):
        odd = next(i for i, v in enumerate(nums) if v < 0)
        raise DatasetError(f"{at(odd)}: label {raw[odd]!r} is negative; class labels are 0, 1, 2, ...")
    if numeric and all(float(v).is_integer() and v >= 0 for v in nums):
        y = np.asarray(nums, dtype=np.int64)
        return Dataset(name, X, y, classes=_classes(int(y.max()) + 1), settings=settings)
    classes = sorted({str(v) for v in raw})
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[str(v)] for v in raw], dtype=np.int64)
    return Dataset(name, X, y, classes=classes, settings=settings)


FEATURE_KEYS = ("X", "x", "features", "data", "images")
LABEL_KEYS = ("y", "labels", "label", "target", "targets")


def load_npz(path: str, features: str | None = None, labels: str | None = None, task: str | None = None) -> Dataset:
    """An .npz with a features array (N, ...) and a labels array (N,); keys found by common names."""
    try:
        z = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{path}: not a valid .npz file: {exc}") from None
    with z:
        keys = list(z.keys())

        def pick(given, options, what):
            if given is not None:
                if given not in keys:
                    raise DatasetError(f"{path}: no array named {given!r} (it has: {', '.join(keys) or 'none'})")
                return given
            for k in options:
                if k in keys:
                    return k
            raise DatasetError(f"{path}: no {what} array (looked for {', '.join(options)}; "
                               f"it has: {', '.join(keys) or 'none'})")

        fk = pick(features, FEATURE_KEYS, "features")
        lk = pick(labels, LABEL_KEYS, "labels")
        try:
            X = z[fk]
            y = z[lk]
        except ValueError as exc:  # object arrays need pickle, which we refuse
            raise DatasetError(f"{path}: cannot read the arrays without pickle: {exc}") from None
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: {fk!r} must hold numbers, got dtype {X.dtype}")
    if X.ndim < 2:
        raise DatasetError(f"{path}: {fk!r} must have one row per sample (2 or more dimensions), got shape {X.shape}")
    X = X.astype(np.float64)
    if X.ndim == 3:  # (N, H, W) images: one channel
        X = X[:, None]
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind == "f":
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(f"{path}: {lk!r} must be one label per sample, got shape {y.shape}")
    if len(y) != len(X):
        raise DatasetError(f"{path}: {lk!r} has {len(y)} labels but {fk!r} has {len(X)} rows")
    if len(X) == 0:
        raise DatasetError(f"{path}: the arrays are empty")
    bad = ~np.isfinite(X)
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise DatasetError(f"{path}: {fk!r} row {idx[0] + 1}, column {idx[1] + 1}: "
                           f"{'missing value (NaN)' if np.isnan(X[tuple(idx)]) else 'infinite value'}")
    if y.dtype.kind == "f" and np.isnan(y).any():
        i = int(np.argmax(np.isnan(y)))
        raise DatasetError(f"{path}: {lk!r} row {i + 1}: missing label (NaN)")
    if y.dtype.kind not in "biufUS":
        raise DatasetError(f"{path}: {lk!r} must hold numbers or text, got dtype {y.dtype}")
    raw = [v.item() if hasattr(v, "item") else v for v in y]
    if y.dtype.kind in "US":
        raw = [v.decode() if isinstance(v, bytes) else v for v in raw]
        empty = [i for i, v in enumerate(raw) if not str(v).strip()]
        if empty:
            raise DatasetError(f"{path}: {lk!r} row {empty[0] + 1}: missing label")
    name = os.path.splitext(os.path.basename(path))[0]
    ds = _with_labels(name, X, raw, task, f"{path}: {lk!r}",
                      {"name": "npz", "path": path, "features": fk, "labels": lk},
                      lambda i: f"{path}: {lk!r} row {i + 1}")
    ds.label_file, ds.label_column = path, repr(lk)
    return ds


def check_labels(ds: Dataset, n_classes: int) -> None:
    """Every class label must index one of the model's `n_classes` scores; the error names file and line."""
    if ds.task != "classification" or ds.y.size == 0:
        return
    bad = np.flatnonzero((ds.y < 0) | (ds.y >= n_classes))
    if bad.size == 0:
        return
    i = int(bad[0])
    k = int(ds.y[i])
    label = repr(ds.classes[k]) if ds.classes and ds.classes[k] != str(k) else str(k)
    raise DatasetError(f"{ds.label_origin(i)}: label {label} is class {k}, but the model's scores have "
                       f"{n_classes} columns (classes 0..{n_classes - 1})")


# ---------------------------------------------------------------- by name
def names() -> list[str]:
    return list(GENERATORS) + ["csv", "npz"]


def load(spec: dict | str, base_dir: str | None = None) -> Dataset:
    """A dataset from plain data: {"name": "moons", "n": 300, "noise": 0.2} or {"name": "csv", "path": ...}.

    Relative paths are taken from `base_dir` (the graph file's folder).
    """
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict):
        raise DatasetError(f"dataset must be an object like {{'name': 'spiral'}}, got {spec!r}")
    s = dict(spec)
    name = s.pop("name", None)
    if name in ("csv", "npz"):
        path = s.pop("path", None)
        if not isinstance(path, str) or not path:
            raise DatasetError(f"a {name} dataset needs a 'path'")
        if base_dir and not os.path.isabs(path):
            path = os.path.join(base_dir, path)
        fn = load_csv if name == "csv" else load_npz
    elif name in GENERATORS:
        fn = GENERATORS[name]
    else:
        raise DatasetError(f"unknown dataset {name!r} (known: {', '.join(names())})")
    params = inspect.signature(fn).parameters
    unknown = [k for k in s if k not in params or k == "path"]
    if unknown:
        allowed = [k for k in params if k != "path"]
        raise DatasetError(f"dataset {name} has no setting {unknown[0]!r} (it has: {', '.join(allowed) or 'none'})")
    for k, v in s.items():
        if name in ("csv", "npz"):
            break  # the readers check their own arguments
        default = params[k].default
        if isinstance(default, int) and not isinstance(default, bool) or k == "n":
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise DatasetError(f"dataset {name}: {k} must be a non-negative integer, got {v!r}")
        elif isinstance(default, float):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise DatasetError(f"dataset {name}: {k} must be a non-negative number, got {v!r}")
    if name in ("csv", "npz"):
        ds = fn(path, **s)
    else:
        for k in ("n", "n_per_class", "classes"):
            if s.get(k) == 0:
                raise DatasetError(f"dataset {name}: {k} must be at least 1")
        ds = fn(**s)
    ds.settings = dict(spec)
    return ds
