"""A Dataset, and reading one from a user's CSV or NPZ file, bounded (see datapath).

The readers never trust a file: a CSV is read line by line as it is parsed (at most the
policy's byte limit, and no further than its row limit), an NPZ whole but bounded; rows go into a bounded array, and every message quotes at most a short excerpt
of what the file said (never its header).
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import zipfile
from array import array
from dataclasses import dataclass, field

import numpy as np
from numpy.lib import format as npy_format

from .datapath import DataPolicy, DatasetError, fmt_size, quote, quote_list, read_bytes, short_path, text_lines


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

# ---------------------------------------------------------------- user files
def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v


def _policy(policy: DataPolicy | None) -> DataPolicy:
    return policy if policy is not None else DataPolicy()


def load_csv(path: str, label: int | str = -1, header: bool | None = None, task: str | None = None,
             classes: list[str] | None = None, *, shown: str | None = None,
             policy: DataPolicy | None = None) -> Dataset:
    """Rows of numbers with one label column (index or header name; default the last).

    The first row is a header when none of its cells is a number (or when header=True).
    Whole-number labels are class indices; text labels are class names from the declared
    `classes` list (its order numbers them); task="regression" makes float targets, and a
    fractional label is otherwise an error naming its line. The file is read as it is parsed, bounded by
    policy.max_bytes, into a float array bounded by policy.max_points (reading stops there).
    """
    policy = _policy(policy)
    shown = short_path(shown if shown is not None else path)
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise DatasetError(f"label must be a column number or a header name, got {quote(label, 40)}")
    if header is not None and not isinstance(header, bool):
        raise DatasetError(f"header must be true, false or left out, got {quote(header, 40)}")
    source = text_lines(path, shown, policy)  # read as parsed: the row limit stops the reading
    reader = csv.reader(source)
    rows = ((reader.line_num, r) for r in reader if any(c.strip() for c in r))
    try:
        _, first = next(rows, (0, None))
        if first is None:
            raise DatasetError(f"{shown}: the file has no rows")
        if header is None:
            header = all(_number(c.strip()) is None for c in first)
        width = len(first)
        names = [c.strip() for c in first] if header else [f"column {k + 1}" for k in range(width)]
        if width < 2:
            raise DatasetError(f"{shown}: needs at least two columns (features and a label), found {width}")
        if isinstance(label, str):
            if label not in names:
                raise DatasetError(f"{shown}: no column named {quote(label)} (the header has {width} columns)")
            li = names.index(label)
        else:
            if not -width <= label < width:
                raise DatasetError(f"{shown}: label column {label} is out of range ({width} columns)")
            li = label % width
        col = [quote(n, 40) for n in names]
        feats = [k for k in range(width) if k != li]
        max_rows = min(policy.max_points, max(1, policy.max_bytes // (8 * len(feats))))
        values = array("d")
        raw_labels: list[str] = []
        lines: list[int] = []
        seen: dict[str, str] = {}
        body = rows if header else itertools.chain([(reader.line_num, first)], rows)
        for line, cells in body:
            if len(lines) >= max_rows:
                which = "--max-points" if max_rows == policy.max_points else "--data-limit"
                raise DatasetError(f"{shown}: more than {max_rows:,} rows of {len(feats)} features, over the "
                                   f"data limit (raise it with {which})")
            if len(cells) != width:
                raise DatasetError(f"{shown}: line {line} has {len(cells)} columns, expected {width} (ragged rows)")
            for k in feats:
                cell = cells[k].strip()
                if not cell:
                    raise DatasetError(f"{shown}: line {line}, column {col[k]}: missing value")
                v = _number(cell)
                if v is None or not math.isfinite(v):
                    raise DatasetError(f"{shown}: line {line}, column {col[k]}: {quote(cell, 40)} is not a number")
                values.append(v)
            lab = cells[li].strip()
            if not lab:
                raise DatasetError(f"{shown}: line {line}: missing label (column {col[li]})")
            raw_labels.append(seen.setdefault(lab, lab))
            lines.append(line)
    except csv.Error as exc:
        raise DatasetError(f"{shown}: line {reader.line_num}: not a readable CSV row ({quote(str(exc), 60)})") \
            from None
    finally:
        source.close()
    if not lines:
        raise DatasetError(f"{shown}: the file has a header but no data rows")
    X = np.frombuffer(values, dtype=np.float64).reshape(len(lines), len(feats)).copy()
    name = os.path.splitext(os.path.basename(path))[0]
    settings = {"name": "csv", "path": path, "label": label}
    ds = _with_labels(name, X, raw_labels, task, lambda i: f"{shown}: line {lines[i]}, column {col[li]}",
                      settings, classes, policy)
    ds.label_file, ds.label_column, ds.label_lines = shown, col[li], lines
    return ds


def _class_list(classes, where: str, policy: DataPolicy) -> list[str] | None:
    """A declared class list: distinct non-empty names, at most policy.max_classes of them."""
    if classes is None:
        return None
    if not isinstance(classes, (list, tuple)) or not classes:
        raise DatasetError(f"{where}: must be a list of class names like [\"cat\", \"dog\"]")
    if len(classes) > policy.max_classes:
        raise DatasetError(f"{where}: {len(classes):,} classes, over the limit of {policy.max_classes:,} "
                           "(raise it with --max-classes)")
    out = []
    for i, c in enumerate(classes):
        if not isinstance(c, str) or not c.strip() or len(c) > 200:
            raise DatasetError(f"{where}[{i}]: must be a class name (text of 1 to 200 characters), got {quote(c)}")
        out.append(c.strip())
    if len(set(out)) != len(out):
        dup = next(c for c in out if out.count(c) > 1)
        raise DatasetError(f"{where}: {quote(dup)} is listed twice")
    return out


def _with_labels(name: str, X: np.ndarray, raw: list, task: str | None, at, settings: dict,
                 classes: list[str] | None = None, policy: DataPolicy | None = None) -> Dataset:
    """Whole-number labels are class indices, text labels names from the declared `classes`; a mix is an error.

    Class indices are bounded (policy.max_classes, or the declared list's length), so a label
    like 1e12 is an error naming its line rather than 10^12 class names."""
    policy = _policy(policy)
    if task not in (None, "classification", "regression"):
        raise DatasetError(f"task must be 'classification' or 'regression', got {quote(task)}")
    declared = _class_list(classes, "classes", policy)
    nums = [_number(str(v)) for v in raw]
    is_num = [v is not None and math.isfinite(v) for v in nums]
    numeric = all(is_num)
    if task == "regression":  # stated, never guessed: a fractional class label is an error below
        if not numeric:
            bad = next(i for i, v in enumerate(nums) if v is None or not math.isfinite(v))
            raise DatasetError(f"{at(bad)}: label {quote(raw[bad], 40)} is not a number")
        return Dataset(name, X, np.asarray(nums, dtype=np.float64).reshape(-1, 1), task="regression",
                       settings=settings)
    if any(is_num) and not numeric:  # a typo must not become a class of its own
        odd = is_num.index(False) if sum(is_num) * 2 >= len(raw) else is_num.index(True)
        kind = "text" if not is_num[odd] else "a number"
        raise DatasetError(f"{at(odd)}: label {quote(raw[odd], 40)} is {kind}, but other labels are "
                           f"{'numbers' if kind == 'text' else 'text'}; use one kind of label for every row")
    if numeric:
        limit = len(declared) if declared is not None else policy.max_classes
        for i, v in enumerate(nums):
            if v < 0:
                raise DatasetError(f"{at(i)}: label {quote(raw[i], 40)} is negative; class labels are 0, 1, 2, ...")
            if not float(v).is_integer():
                raise DatasetError(f"{at(i)}: label {quote(raw[i], 40)} is not a whole number; class labels are "
                                   "0, 1, 2, ... (for regression targets set \"task\": \"regression\" in the "
                                   "dataset settings)")
            if v >= limit:
                why = (f"the declared classes are 0..{limit - 1}" if declared is not None else
                       f"class labels must be below {limit:,} (raise the limit with --max-classes)")
                raise DatasetError(f"{at(i)}: label {quote(raw[i], 40)} is too large; {why}")
        y = np.asarray(nums, dtype=np.int64)
        names_ = declared if declared is not None else _classes(int(y.max()) + 1)
        return Dataset(name, X, y, classes=names_, settings=settings)
    if declared is not None:
        index = {c: i for i, c in enumerate(declared)}
        for i, v in enumerate(raw):
            if str(v) not in index:
                raise DatasetError(f"{at(i)}: label {quote(str(v), 40)} is not one of the declared classes "
                                   f"({quote_list(declared)})")
        return Dataset(name, X, np.asarray([index[str(v)] for v in raw], dtype=np.int64), classes=declared,
                       settings=settings)
    # text labels name classes only from a declared list: its order fixes which score is which class
    found: list[str] = []
    for v in raw:
        if str(v) not in found:
            found.append(str(v))
            if len(found) == 4:
                break
    example = json.dumps([c[:20] for c in sorted(found)[:3]])[:-1] + (", ...]" if len(found) > 3 else "]")
    raise DatasetError(f"{at(0)}: label {quote(str(raw[0]), 40)} is text; text labels need their classes "
                       f"declared in the dataset settings, e.g. \"classes\": {example} (the order numbers "
                       "them 0, 1, 2, ...)")


FEATURE_KEYS = ("X", "x", "features", "data", "images")
LABEL_KEYS = ("y", "labels", "label", "target", "targets")
_HEADERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}


_DEFLATE_RATIO = 1032  # deflate's largest expansion: a member cannot unpack to more than this per byte


def _npy_size(zf: zipfile.ZipFile, key: str, shown: str, stored: int) -> tuple[int, np.dtype]:
    """(elements, dtype) an .npz member declares, read from its header before any array is allocated.

    numpy allocates the whole array from the header's shape before reading a byte of data, so the
    header must agree with the member's real size: its unpacked size in the zip directory, which
    must itself be possible for the `stored` bytes of the file (deflate expands at most ~1032x)."""
    what = f"{shown}: array {quote(key, 40)}"
    try:
        info = zf.getinfo(key + ".npy")
        with zf.open(info) as f:
            version = npy_format.read_magic(f)
            reader = _HEADERS.get(version)
            if reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, _, dtype = reader(f)
            header = f.tell()
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{what} is not readable: {quote(str(exc), 60)}") from None
    n = int(np.prod(shape, dtype=object))
    packed, unpacked = info.compress_size, info.file_size
    if packed > stored or (info.compress_type == zipfile.ZIP_STORED and unpacked != packed) \
            or (info.compress_type == zipfile.ZIP_DEFLATED and unpacked > _DEFLATE_RATIO * packed + 1024):
        raise DatasetError(f"{what}: the zip directory says it unpacks to {unpacked:,} bytes from {packed:,}, "
                           "which is not possible; the file is damaged")
    if not dtype.hasobject and header + n * dtype.itemsize != unpacked:  # object arrays: refused on load
        raise DatasetError(f"{what}: its header says shape {quote(tuple(shape), 40)} of {dtype} "
                           f"({n * dtype.itemsize:,} bytes), but the member holds {max(0, unpacked - header):,} "
                           "bytes of data; the file is damaged")
    return n, dtype


def load_npz(path: str, features: str | None = None, labels: str | None = None, task: str | None = None,
             classes: list[str] | None = None, *, shown: str | None = None,
             policy: DataPolicy | None = None) -> Dataset:
    """An .npz with a features array (N, ...) and a labels array (N,); keys found by common names.

    Read whole but bounded (policy.max_bytes); each array's declared size is checked from its
    header before it is unpacked, so a small compressed file cannot expand without bound."""
    policy = _policy(policy)
    shown = short_path(shown if shown is not None else path)
    for key, v in (("features", features), ("labels", labels)):
        if v is not None and not isinstance(v, str):
            raise DatasetError(f"{key} must be the name of an array in the file, got {quote(v, 40)}")
    data = read_bytes(path, shown, policy)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        z = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DatasetError(f"{shown}: not a valid .npz file: {quote(str(exc), 60)}") from None
    with z, zf:
        keys = list(z.keys())

        def pick(given, options, what):
            if given is not None:
                if given not in keys:
                    raise DatasetError(f"{shown}: no array named {quote(given, 40)} (it has: {quote_list(keys)})")
                return given
            for k in options:
                if k in keys:
                    return k
            raise DatasetError(f"{shown}: no {what} array (looked for {', '.join(options)}; "
                               f"it has: {quote_list(keys)})")

        fk = pick(features, FEATURE_KEYS, "features")
        lk = pick(labels, LABEL_KEYS, "labels")
        n_x, _ = _npy_size(zf, fk, shown, len(data))
        n_y, dt_y = _npy_size(zf, lk, shown, len(data))
        if 8 * n_x > policy.max_bytes or max(dt_y.itemsize, 8) * n_y > policy.max_bytes:
            big = fk if 8 * n_x > policy.max_bytes else lk
            raise DatasetError(f"{shown}: array {quote(big, 40)} holds {max(n_x, n_y):,} values, over the data "
                               f"limit of {fmt_size(policy.max_bytes)} as float64 (raise it with --data-limit)")
        try:
            X = z[fk]
            y = z[lk]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # object arrays need pickle
            raise DatasetError(f"{shown}: cannot read the arrays: {quote(str(exc), 60)}") from None
    del data
    fq, lq = quote(fk, 40), quote(lk, 40)
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"{shown}: {fq} must hold numbers, got dtype {X.dtype}")
    if X.ndim < 2:
        raise DatasetError(f"{shown}: {fq} must have one row per sample (2 or more dimensions), got shape {X.shape}")
    if len(X) > policy.max_points:
        raise DatasetError(f"{shown}: {fq} has {len(X):,} rows, over the limit of {policy.max_points:,} "
                           "(raise it with --max-points)")
    X = X.astype(np.float64)
    if X.ndim == 3:  # (N, H, W) images: one channel
        X = X[:, None]
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind == "f":
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(f"{shown}: {lq} must be one label per sample, got shape {y.shape}")
    if len(y) != len(X):
        raise DatasetError(f"{shown}: {lq} has {len(y)} labels but {fq} has {len(X)} rows")
    if len(X) == 0:
        raise DatasetError(f"{shown}: the arrays are empty")
    bad = ~np.isfinite(X)
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise DatasetError(f"{shown}: {fq} row {idx[0] + 1}, column {idx[1] + 1}: "
                           f"{'missing value (NaN)' if np.isnan(X[tuple(idx)]) else 'infinite value'}")
    if y.dtype.kind == "f" and np.isnan(y).any():
        i = int(np.argmax(np.isnan(y)))
        raise DatasetError(f"{shown}: {lq} row {i + 1}: missing label (NaN)")
    if y.dtype.kind not in "biufUS":
        raise DatasetError(f"{shown}: {lq} must hold numbers or text, got dtype {y.dtype}")
    raw = [v.item() if hasattr(v, "item") else v for v in y]
    if y.dtype.kind in "US":
        raw = [v.decode(errors="replace") if isinstance(v, bytes) else v for v in raw]
        empty = [i for i, v in enumerate(raw) if not str(v).strip()]
        if empty:
            raise DatasetError(f"{shown}: {lq} row {empty[0] + 1}: missing label")
    name = os.path.splitext(os.path.basename(path))[0]
    ds = _with_labels(name, X, raw, task, lambda i: f"{shown}: {lq} row {i + 1}",
                      {"name": "npz", "path": path, "features": fk, "labels": lk}, classes, policy)
    ds.label_file, ds.label_column = shown, lq
    return ds
