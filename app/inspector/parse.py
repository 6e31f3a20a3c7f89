"""Parsing and printing what the inspector's fields hold (pure functions, tested directly): numbers
and axes checked against a param's spec, tensors typed as JSON-like nested lists.
"""
from __future__ import annotations

import json
import math

import numpy as np

import graphcore as gc
from graphcore import registry
from graphcore.graph import as_tensor

def parse_number(text: str, pspec: registry.ParamSpec):
    """A float or int param from text, or ValueError with the reason (range included)."""
    t = text.strip()
    if not t:
        raise ValueError(f"{pspec.name} needs a value")
    try:
        value = int(t) if pspec.kind == "int" else float(t)
    except ValueError:
        kind = "an integer" if pspec.kind == "int" else "a number"
        raise ValueError(f"{pspec.name} must be {kind}, got {t!r}") from None
    return pspec.validate(value)


def parse_axis(text: str, pspec: registry.ParamSpec):
    t = text.strip()
    if t.lower() in ("", "none", "all", "null"):
        return None
    try:
        return pspec.validate(int(t))
    except ValueError:
        raise ValueError(f"{pspec.name} must be an integer axis (e.g. 0, -1) or empty for all axes") from None


def parse_tensor(text: str, like: np.ndarray | None = None) -> np.ndarray:
    """A value from text such as `3`, `-1.5`, `1, 2, 3` or `[[1, 2], [3, 4]]` (JSON numbers; never eval).

    Keeps the dtype of `like`: a float value stays float, an integer one (class labels) must stay integers.
    """
    t = text.strip()
    if not t:
        raise ValueError("a value is needed (a number or a list of numbers)")
    try:
        raw = json.loads(t)
    except ValueError:
        try:
            raw = json.loads("[" + t + "]")
        except ValueError:
            raise ValueError("not a number or a list of numbers such as [1, 2, 3]") from None

    def check(v):
        if isinstance(v, list):
            for x in v:
                check(x)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{json.dumps(v)} is not a number")
        elif not math.isfinite(v):
            raise ValueError("values must be finite (no NaN or Infinity)")

    check(raw)
    try:
        arr = as_tensor(raw)
    except gc.GraphError as exc:
        raise ValueError(str(exc)) from None
    if like is not None:
        if like.dtype.kind in "iu" and arr.dtype.kind == "f":
            if not np.all(np.equal(np.floor(arr), arr)):
                raise ValueError(f"this value holds integers ({like.dtype}); got a fraction")
            arr = arr.astype(like.dtype)
        elif like.dtype.kind in "iu":
            arr = arr.astype(like.dtype)
        elif like.dtype.kind == "f":
            arr = arr.astype(like.dtype)
    return arr


def format_tensor(arr: np.ndarray) -> str:
    """Text for the value field: `3.0` for a scalar, JSON lists otherwise (whole floats without `.0`)."""
    arr = np.asarray(arr)
    if arr.ndim == 0:
        v = arr.item()
        return fmt_float(v) if isinstance(v, float) else str(v)

    def item(v) -> str:
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)

    def nested(a) -> str:
        if a.ndim == 1:
            return "[" + ", ".join(item(v) for v in a.tolist()) + "]"
        return "[" + ", ".join(nested(sub) for sub in a) + "]"

    return nested(arr)


def fmt_float(v: float) -> str:
    """The full value for an edit field (0.01, 1.234567e-05, 2.0: Python's shortest round trip, so
    editing never rounds the user's data); NaN and infinities spelt as gc.fmt_number spells them."""
    v = float(v)
    if v != v or v in (float("inf"), float("-inf")):
        return gc.fmt_number(v)
    return repr(v)
