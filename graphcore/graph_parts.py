"""The plain parts of a graph: wires, nodes, and user values turned into arrays.

No behaviour beyond their own fields: the Graph (graphcore.graph) keeps them consistent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import registry
from .problems import GraphError


@dataclass(frozen=True)
class Edge:
    """A wire from `src`'s output port to `dst`'s input port, by name, never index."""

    src: str
    dst: str
    dst_port: str
    src_port: str = "out"

    @property
    def key(self) -> str:
        return f"{self.src}.{self.src_port}->{self.dst}.{self.dst_port}"

    def __str__(self) -> str:
        return self.key


@dataclass
class Node:
    id: str
    op: str
    name: str
    params: dict = field(default_factory=dict)
    tensors: dict = field(default_factory=dict)  # value / weights / state arrays
    ui: dict = field(default_factory=dict)
    # bumped (from Graph's counter) by every change of params or tensors; params_version by params only
    version: int = field(default=0, compare=False, repr=False)
    params_version: int = field(default=0, compare=False, repr=False)

    @property
    def spec(self) -> registry.OpSpec | None:
        return registry.get(self.op)


def as_tensor(value: Any, what: str = "value") -> np.ndarray:
    """Turn a user value into an ndarray: floats stay float64, ints stay int64."""
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise GraphError(f"{what} is not a rectangular array of numbers: {exc}") from None
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind == "f":
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
    else:
        raise GraphError(f"{what} must be numbers, got dtype {arr.dtype}")
    return np.array(arr, copy=True)


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view: the public API hands these out, so no edit bypasses the versions."""
    if not isinstance(a, np.ndarray):  # a numpy scalar (0-d sums) is immutable already
        return a
    v = a.view()
    v.flags.writeable = False
    return v


__all__ = ["Edge", "Node", "as_tensor", "readonly"]
