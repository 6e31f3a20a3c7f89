"""The op registry: every op is declared once, here or in `graphcore.ops`.

A declaration carries everything the engine, the file format, the GUI palette
and the tooltips need: ports, params, weights, shape rule, forward, backward,
and the one-line gradient rule a person reads.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

CATEGORIES = ("inputs", "gates", "activations", "reductions", "layers", "losses", "regularizers")


class ShapeError(ValueError):
    """Raised by a shape rule; `port` names the offending input when known."""

    def __init__(self, message: str, port: str | None = None) -> None:
        super().__init__(message)
        self.port = port


@dataclass(frozen=True)
class Port:
    name: str
    doc: str = ""
    dtype: str = "float"  # "float" or "int" (class labels)
    optional: bool = False
    differentiable: bool = True


@dataclass(frozen=True)
class ParamSpec:
    """A scalar or small setting of an op, validated on every edit."""

    name: str
    kind: str  # "float", "int", "bool", "choice", "axis" (int or None), "str", "tensor"
    default: Any = None
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()

    def validate(self, value: Any) -> Any:
        """Return the value coerced to its kind, or raise ValueError saying why."""
        k = self.kind
        if k == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise ValueError(f"{self.name} must be a number, got {value!r}")
            try:
                value = float(value)
            except OverflowError:  # an int beyond float range
                raise ValueError(f"{self.name} is too large, got {value!r}") from None
            if not np.isfinite(value):
                raise ValueError(f"{self.name} must be finite, got {value!r}")
        elif k == "int":
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ValueError(f"{self.name} must be an integer, got {value!r}")
            value = int(value)
        elif k == "axis":
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{self.name} must be an integer axis or null, got {value!r}")
            return int(value)
        elif k == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{self.name} must be true or false, got {value!r}")
            return bool(value)
        elif k == "choice":
            if value not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(map(str, self.choices))}; got {value!r}")
            return value
        elif k == "str":
            if not isinstance(value, str):
                raise ValueError(f"{self.name} must be text, got {value!r}")
            return value
        if k in ("float", "int"):
            if self.min is not None and value < self.min:
                raise ValueError(f"{self.name} must be >= {self.min}, got {value}")
            if self.max is not None and value > self.max:
                raise ValueError(f"{self.name} must be <= {self.max}, got {value}")
        return value


@dataclass(frozen=True)
class WeightSpec:
    """An array a node owns: trainable weights, or state such as running means.

    `shape(params, input_shapes)` gives its shape once the inputs' shapes are known;
    None means the array is set by the user (the value of an input, const or param).
    """

    name: str
    trainable: bool = True
    shape: Callable[[dict, list], tuple] | None = None
    init: str = "zeros"  # default initializer name (graphcore.init)
    fan: Callable[[tuple], tuple[int, int]] | None = None  # (fan_in, fan_out) from the shape
    doc: str = ""


@dataclass
class OpSpec:
    name: str
    category: str
    doc: str  # what it computes, one line
    grad_rule: str  # how the gradient flows back, one line (tooltips)
    inputs: tuple[Port, ...] = ()
    params: tuple[ParamSpec, ...] = ()
    weights: tuple[WeightSpec, ...] = ()
    shape: Callable[[dict, list], tuple] | None = None
    forward: Callable | None = None
    backward: Callable | None = None
    differentiable: bool = True
    elementwise: bool = False  # broadcasting inputs: the engine reduces gradients back
    source: bool = False  # no inputs: its output is its `value` weight
    title: str = ""  # short label for the canvas, e.g. "*" for mul
    outputs: tuple[str, ...] = ("out",)
    mode_dependent: bool = False  # behaves differently in train and eval mode
    # its train-mode forward writes its non-trainable arrays (batchnorm's running statistics);
    # the executor then reports the change through Graph.mark_updated
    updates_state: bool = False
    # Sample cases for the registry-wide gradient check: a function of a numpy Generator
    # returning a list of {"inputs": {port: array}, "params": {...}, "label": str}.
    # Inputs should stay away from kinks (relu at 0, max ties) so finite differences are valid.
    examples: Callable[[np.random.Generator], list[dict]] | None = None
    module: str = ""  # the op family module that declared it (set by register)
    # Scratch buffers beyond its output and input gradients, for the plan's memory estimate
    # (graphcore.limits): workspace(params, in_shapes, out_shape) -> {what: elements}.
    workspace: Callable[[dict, list, tuple], dict] | None = None
    # the Kernel objects (graphcore.kernels) its forward and backward call, declared here so that
    # every kernel is reachable from an op (tests/test_kernels.py checks it)
    kernels: tuple = ()
    # How the op leaves the app (graphcore.export), declared with the op like its forward and
    # backward: `onnx` turns a node into ONNX nodes; `code` gives its lines of staged numpy and of
    # PyTorch. A registry-wide test checks that every op declares both.
    onnx: Any = None
    code: Any = None

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.inputs)

    def port(self, name: str) -> Port | None:
        for p in self.inputs:
            if p.name == name:
                return p
        return None

    def param(self, name: str) -> ParamSpec | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def weight(self, name: str) -> WeightSpec | None:
        for w in self.weights:
            if w.name == name:
                return w
        return None

    def default_params(self) -> dict:
        return {p.name: p.default for p in self.params if p.kind != "tensor"}

    def tooltip(self) -> str:
        return f"{self.name}: {self.doc}\nGradient: {self.grad_rule}"


_REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"op {spec.name!r} is registered twice")
    if spec.category not in CATEGORIES:
        raise ValueError(f"op {spec.name!r}: unknown category {spec.category!r}")
    if not spec.source and spec.forward is None:
        raise ValueError(f"op {spec.name!r} has no forward")
    if spec.differentiable and not spec.source and spec.backward is None:
        raise ValueError(f"op {spec.name!r} is differentiable but declares no backward rule")
    if not spec.module:  # the family module that called register (directly or through a factory)
        f = sys._getframe(1)
        while f is not None and f.f_globals.get("__name__", "").startswith(("graphcore.registry", "graphcore.ops._")):
            f = f.f_back
        spec.module = f.f_globals.get("__name__", "") if f is not None else ""
    _REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> OpSpec | None:
    _ensure_loaded()
    return _REGISTRY.get(name)


def ops() -> dict[str, OpSpec]:
    _ensure_loaded()
    return dict(_REGISTRY)


def by_category() -> dict[str, list[OpSpec]]:
    out: dict[str, list[OpSpec]] = {c: [] for c in CATEGORIES}
    for spec in ops().values():
        out[spec.category].append(spec)
    return {c: v for c, v in out.items() if v}


_loaded = False


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import ops as _ops  # noqa: F401  (registers every op)


def names(specs: Sequence[OpSpec]) -> list[str]:
    return [s.name for s in specs]
