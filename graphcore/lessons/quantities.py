"""Live numbers a lesson may name: a small closed grammar, never an expression language.

A quantity is a string `KIND:ARG[:STAT]`, optionally prefixed `start:` (its value when the
step began) or `delta:` (now minus start). Numbers derived from quantities are plain data
(`{"product": [...]}` and friends). Everything is parsed and checked when the lesson loads;
nothing is ever evaluated as code, and no attribute or index of any object is reachable.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

# kind -> (what ARG is, doc); the one place the kinds are declared
KINDS: dict[str, str] = {
    "value": "NODE: the node's forward value",
    "grad": "NODE: the gradient of the output with respect to the node's value",
    "wire": "NODE.PORT: the gradient flowing back along the wire into NODE's input PORT",
    "weight": "NODE.WEIGHT: a layer's weight array (e.g. fc1.W)",
    "wgrad": "NODE.WEIGHT: the gradient of a layer's weight array",
    "param": "NODE.PARAM: a node's parameter (e.g. leaky.alpha)",
    "metric": "NAME: a training metric (see METRICS), or NAME.LAYER for per-layer ones",
    "position": "index | total | forward_total: where stepping through the pass is",
    "num": "NAME: a number the step derives in its \"numbers\" (e.g. a product of two quantities)",
}
STATS = ("mean", "absmean", "absmax", "max", "min", "std", "norm", "size")
PREFIXES = ("start", "delta")
METRICS = ("loss", "data_loss", "reg_loss", "acc", "lr", "steps", "epochs", "train_loss", "train_acc",
           "val_loss", "val_acc", "gap", "initial_loss")
LAYER_METRICS = ("dead_relu", "saturated", "update_ratio", "grad_norm")
POSITIONS = ("index", "total", "forward_total")
EXPRS = {"product": "2+", "sum": "2+", "diff": "2", "ratio": "2", "one_minus": "1", "abs": "1", "log": "1"}
MAX_DEPTH = 4
_METRIC = re.compile(r"^(" + "|".join(METRICS) + r")$|^(" + "|".join(LAYER_METRICS) + r")\.([^\s{}|]{1,200})$")


class State(Protocol):
    """What a check reads; the headless and the GUI world both provide it."""

    def node_id(self, name: str) -> str | None: ...
    def value(self, node: str) -> np.ndarray | None: ...
    def grad(self, node: str) -> np.ndarray | None: ...
    def wire_grad(self, node: str, port: str) -> np.ndarray | None: ...
    def weight(self, node: str, weight: str, grad: bool) -> np.ndarray | None: ...
    def param(self, node: str, name: str) -> Any: ...
    def metric(self, name: str) -> float | None: ...
    def position(self) -> tuple[str, int, int, int]: ...  # phase, index, total, forward_total
    def selected(self) -> tuple[str, str] | None: ...  # ("node", name) | ("wire", "NODE.PORT")
    def has(self, what: str) -> bool: ...  # "values" | "grads" | "training"


class QuantityError(ValueError):
    """A quantity string that does not parse; the message says why (the caller adds the path)."""


@dataclass(frozen=True)
class Quantity:
    prefix: str | None  # None, "start", "delta"
    kind: str
    arg: str
    stat: str | None

    @property
    def nodes(self) -> list[str]:
        """The node names it refers to (checked against the lesson's graph on load)."""
        if self.kind == "value" or self.kind == "grad":
            return [self.arg]
        if self.kind in ("wire", "weight", "wgrad", "param"):
            return [self.arg.rsplit(".", 1)[0]]
        return []

    def text(self) -> str:
        s = f"{self.kind}:{self.arg}" + (f":{self.stat}" if self.stat else "")
        return f"{self.prefix}:{s}" if self.prefix else s


def parse(text: Any) -> Quantity:
    if not isinstance(text, str) or not text or len(text) > 300:
        raise QuantityError("a quantity is a short string like 'value:x' or 'grad:w'")
    prefix = None
    head, sep, rest = text.partition(":")
    if head in PREFIXES:
        prefix, text = head, rest
        head, sep, rest = text.partition(":")
    if not sep or head not in KINDS:
        raise QuantityError(f"unknown quantity kind {head!r}; one of: " + ", ".join(KINDS))
    stat = None
    arg, sep2, last = rest.rpartition(":")
    if sep2 and last in STATS:
        rest, stat = arg, last
    if not rest or "{" in rest or "}" in rest or "|" in rest:
        raise QuantityError(f"{head}: needs {KINDS[head].split(':')[0]}")
    if head in ("wire", "weight", "wgrad", "param") and "." not in rest.strip("."):
        raise QuantityError(f"{head}: needs {KINDS[head].split(':')[0]} (a dot between them)")
    if head == "metric" and not _METRIC.match(rest):
        raise QuantityError(f"unknown metric {rest!r}; one of: " + ", ".join(METRICS)
                            + ", or " + ", ".join(m + ".LAYER" for m in LAYER_METRICS))
    if prefix and head in ("num", "position"):
        raise QuantityError(f"{prefix}: applies to live quantities, not to {head}:")
    if head == "position" and rest not in POSITIONS:
        raise QuantityError(f"position: one of {', '.join(POSITIONS)}")
    return Quantity(prefix, head, rest, stat)


def reduce(a: Any, stat: str | None) -> float | None:
    """One number from a value: the element of a one-element array, else the statistic (mean)."""
    if a is None:
        return None
    if isinstance(a, (bool, np.bool_)):
        return float(a)
    if isinstance(a, (int, float, np.number)):
        return float(a)
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.size == 0:
        return None
    stat = stat or ("mean" if arr.size > 1 else None)
    if stat is None:
        return float(arr.reshape(-1)[0])
    return float({"mean": np.mean, "absmean": lambda x: np.mean(np.abs(x)), "absmax": lambda x: np.max(np.abs(x)),
                  "max": np.max, "min": np.min, "std": np.std, "norm": np.linalg.norm,
                  "size": np.size}[stat](arr))


def current(q: Quantity, state: State) -> float | None:
    """The quantity's number now (ignoring its prefix); None when it is not computed yet."""
    if q.kind == "metric":
        return reduce(state.metric(q.arg), q.stat)
    if q.kind == "position":
        _, index, total, ftotal = state.position()
        return float({"index": index, "total": total, "forward_total": ftotal}[q.arg])
    name, _, part = q.arg.rpartition(".") if q.kind not in ("value", "grad") else (q.arg, "", "")
    nid = state.node_id(name)
    if nid is None:
        return None
    if q.kind == "value":
        return reduce(state.value(nid), q.stat)
    if q.kind == "grad":
        return reduce(state.grad(nid), q.stat)
    if q.kind == "wire":
        return reduce(state.wire_grad(nid, part), q.stat)
    if q.kind in ("weight", "wgrad"):
        return reduce(state.weight(nid, part, q.kind == "wgrad"), q.stat)
    return reduce(state.param(nid, part), q.stat)


def parse_expr(raw: Any, path: str, depth: int = 0) -> Any:
    """A number, a quantity string, or {"product"|"sum"|...: [...]}; returns a checked copy.

    Raises QuantityError carrying the JSON path inside the expression in `args[1]`."""
    if depth > MAX_DEPTH:
        raise QuantityError(f"nested more than {MAX_DEPTH} deep", path)
    if isinstance(raw, bool):
        raise QuantityError("a number, a quantity string or an expression object, not true/false", path)
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            raise QuantityError("not a finite number", path)
        return float(raw)
    if isinstance(raw, str):
        try:
            return parse(raw)
        except QuantityError as exc:
            raise QuantityError(exc.args[0], path) from None
    if isinstance(raw, dict) and len(raw) == 1:
        (op, args), = raw.items()
        if op not in EXPRS:
            raise QuantityError(f"unknown expression {op!r}; one of: " + ", ".join(EXPRS), path)
        arity = EXPRS[op]
        if arity == "1":
            return (op, [parse_expr(args, f"{path}.{op}", depth + 1)])
        if not isinstance(args, list) or (arity == "2" and len(args) != 2) or len(args) < 2 or len(args) > 16:
            raise QuantityError(f"{op} takes a list of {'two' if arity == '2' else 'two to sixteen'} terms",
                                f"{path}.{op}")
        return (op, [parse_expr(a, f"{path}.{op}[{i}]", depth + 1) for i, a in enumerate(args)])
    raise QuantityError("a number, a quantity string like 'grad:x', or one of "
                        + ", ".join("{" + f'"{k}": ...' + "}" for k in EXPRS), path)


def expr_quantities(e: Any) -> list[Quantity]:
    if isinstance(e, Quantity):
        return [e]
    if isinstance(e, tuple):
        return [q for a in e[1] for q in expr_quantities(a)]
    return []


def evaluate(e: Any, state: State, start: dict[str, float | None], numbers: dict | None = None) -> float | None:
    """An expression's number; None when a quantity in it is not available."""
    if isinstance(e, float):
        return e
    if isinstance(e, Quantity):
        if e.kind == "num":  # a step's named number: checked on load to exist and not to name another
            return evaluate((numbers or {})[e.arg], state, start) if numbers and e.arg in numbers else None
        return value_of(e, state, start)
    op, args = e
    vals = [evaluate(a, state, start, numbers) for a in args]
    if any(v is None for v in vals):
        return None
    with np.errstate(all="ignore"):
        if op == "product":
            return float(np.prod(vals))
        if op == "sum":
            return float(sum(vals))
        if op == "diff":
            return vals[0] - vals[1]
        if op == "ratio":
            return vals[0] / vals[1] if vals[1] != 0 else (math.nan if vals[0] == 0 else math.copysign(math.inf, vals[0]))
        if op == "one_minus":
            return 1.0 - vals[0]
        if op == "abs":
            return abs(vals[0])
        return math.log(vals[0]) if vals[0] > 0 else math.nan  # log


def value_of(q: Quantity, state: State, start: dict[str, float | None]) -> float | None:
    """The number a quantity names, with its prefix: start values come from the step's snapshot."""
    if q.prefix is None:
        return current(q, state)
    base = start.get(Quantity(None, q.kind, q.arg, q.stat).text())
    if q.prefix == "start":
        return base
    now = current(q, state)
    return None if now is None or base is None else now - base
