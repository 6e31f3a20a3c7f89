"""Tensors in a graph file: {dtype, shape, data | b64}, and the loader's error type.

Decoding checks the header (dtype, rank, every axis, the element count) before it
allocates, and the body's length against it; see docs/file-format.md, *Tensors*.
Split from graphcore.fileformat, which re-exports every name here.
"""
from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from .limits import EXCERPT, excerpt

INLINE_LIMIT = 64  # tensors with more elements are stored as base64
MAX_ELEMENTS = 50_000_000  # refuse absurd shapes before allocating
MAX_DIMS = 8
DTYPES = {"float64": np.float64, "float32": np.float32, "int64": np.int64, "int32": np.int32}


class GraphFormatError(ValueError):
    """A file that is not a valid graph; the message names the file and JSON path."""

    def __init__(self, message: str, path: str = "", file: str | None = None) -> None:
        if len(path) > 2 * EXCERPT:  # keys from the file are part of the path: quote them short too
            path = path[:EXCERPT] + "..." + path[-EXCERPT // 2:]
        self.message = message
        self.json_path = path
        self.file = file
        where = f"{file}: " if file else ""
        where += f"{path}: " if path else ""
        super().__init__(where + message)


def encode_tensor(arr: np.ndarray) -> dict:
    arr = np.asarray(arr)
    name = arr.dtype.name
    if name not in DTYPES:
        arr = arr.astype(np.float64 if arr.dtype.kind == "f" else np.int64)
        name = arr.dtype.name
    out: dict[str, Any] = {"dtype": name, "shape": list(arr.shape)}
    finite = arr.dtype.kind != "f" or bool(np.isfinite(arr).all())
    if arr.size <= INLINE_LIMIT and finite:
        flat = arr.reshape(-1)
        out["data"] = [int(v) for v in flat] if arr.dtype.kind in "iu" else [float(v) for v in flat]
    else:
        out["b64"] = base64.b64encode(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()).decode()
    return out


def decode_tensor(obj: Any, path: str) -> np.ndarray:
    _expect(obj, dict, path)
    unknown = set(obj) - {"dtype", "shape", "data", "b64"}
    if unknown:
        raise GraphFormatError(f"unknown key {excerpt(sorted(unknown)[0])}", path)
    dtype_name = obj.get("dtype")
    if not isinstance(dtype_name, str) or dtype_name not in DTYPES:
        raise GraphFormatError(f"dtype must be one of {', '.join(DTYPES)}, got {excerpt(dtype_name)}", path + ".dtype")
    dtype = np.dtype(DTYPES[dtype_name])
    shape = obj.get("shape")
    _expect(shape, list, path + ".shape")
    if len(shape) > MAX_DIMS:
        raise GraphFormatError(f"at most {MAX_DIMS} dimensions, got {len(shape)}", path + ".shape")
    size = 1
    for i, s in enumerate(shape):
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise GraphFormatError(f"must be a non-negative integer, got {excerpt(s)}", f"{path}.shape[{i}]")
        size *= s
        if size > MAX_ELEMENTS or s > MAX_ELEMENTS:  # a zero elsewhere must not let a huge axis through
            raise GraphFormatError(f"tensor too large (more than {MAX_ELEMENTS} elements)", path + ".shape")
    if ("data" in obj) == ("b64" in obj):
        raise GraphFormatError("a tensor needs exactly one of 'data' or 'b64'", path)
    if "data" in obj:
        data = obj["data"]
        _expect(data, list, path + ".data")
        if len(data) != size:
            raise GraphFormatError(f"has {len(data)} numbers but shape {tuple(shape)} needs {size}", path + ".data")
        for i, v in enumerate(data):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise GraphFormatError(f"must be a number, got {excerpt(v)}", f"{path}.data[{i}]")
            if dtype.kind in "iu" and not (isinstance(v, int) or float(v).is_integer()):
                raise GraphFormatError(f"must be an integer for dtype {dtype_name}, got {excerpt(v)}",
                                       f"{path}.data[{i}]")
            if isinstance(v, float) and not math.isfinite(v):
                raise GraphFormatError("must be finite", f"{path}.data[{i}]")
        try:
            with np.errstate(over="ignore"):
                arr = np.array(data, dtype=dtype).reshape(shape)
        except (OverflowError, ValueError) as exc:
            raise GraphFormatError(f"bad numbers: {excerpt(str(exc))}", path + ".data") from None
        if dtype.kind == "f" and not np.isfinite(arr).all():
            raise GraphFormatError(f"a number is out of range for {dtype_name}", path + ".data")
        return arr
    b64 = obj["b64"]
    _expect(b64, str, path + ".b64")
    try:
        raw = base64.b64decode(b64.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise GraphFormatError("is not valid base64", path + ".b64") from None
    if len(raw) != size * dtype.itemsize:
        raise GraphFormatError(f"holds {len(raw)} bytes but shape {tuple(shape)} of {dtype_name} needs "
                               f"{size * dtype.itemsize}", path + ".b64")
    try:
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise GraphFormatError(f"bad shape: {exc}", path + ".shape") from None


def _expect(value: Any, typ: type, path: str) -> None:
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        names = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
        raise GraphFormatError(f"must be {names.get(typ, typ.__name__)}, got {type(value).__name__}", path)
