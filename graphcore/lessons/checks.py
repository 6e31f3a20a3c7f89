"""Check conditions: declarative data a step passes when its condition holds.

A check is a JSON object with exactly one key, the kind. Each kind is declared once in CHECKS
(its parser and its evaluator); another module may register more kinds with `register`.
A parsed check is a (kind, parsed argument) pair; `holds(check, ctx)` evaluates it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from . import quantities as Q


class CheckError(ValueError):
    """Why a check is refused: args = (message, JSON path)."""


@dataclass
class Context:
    """What a check reads: the world's state, the step's start snapshot and named numbers."""

    state: Q.State
    start: dict
    numbers: dict

    def number(self, e) -> float | None:
        return Q.evaluate(e, self.state, self.start, self.numbers)


@dataclass(frozen=True)
class CheckKind:
    parse: Callable[[Any, str], Any]  # (raw argument, JSON path) -> parsed argument
    holds: Callable[[Any, Context], bool]
    doc: str


CHECKS: dict[str, CheckKind] = {}


def register(name: str, kind: CheckKind) -> None:
    """Declare a check kind once; a second declaration of a name is a programming error."""
    if name in CHECKS:
        raise ValueError(f"the check kind {name!r} is declared twice")
    CHECKS[name] = kind


MAX_DEPTH = 8  # all / any / not inside one another; deeper ran out of stack when evaluated (300 deep)
_NESTING = re.compile(r"\.(?:all|any|not)\b")


def parse(raw: Any, path: str) -> tuple:
    if len(_NESTING.findall(path)) > MAX_DEPTH:  # the path spells the nesting: check.any[0].not...
        raise CheckError(f"all, any and not nest at most {MAX_DEPTH} deep", path)
    if not isinstance(raw, dict) or len(raw) != 1:
        raise CheckError("a check is an object with exactly one key, its kind: " + ", ".join(CHECKS), path)
    (name, arg), = raw.items()
    if name not in CHECKS:
        raise CheckError(f"unknown check kind {name[:40]!r}; one of: " + ", ".join(CHECKS), path)
    return (name, CHECKS[name].parse(arg, f"{path}.{name}"))


def holds(check: tuple, ctx: Context) -> bool:
    name, arg = check
    return bool(CHECKS[name].holds(arg, ctx))


def quantities_in(check: tuple) -> list:
    """Every quantity a parsed check names (for the start snapshot and the load-time name checks)."""
    out: list = []

    def walk(x):
        if isinstance(x, Q.Quantity):
            out.append(x)
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for y in x.values():
                walk(y)
    walk(check[1])
    return out


def _expr(raw, path):
    try:
        return Q.parse_expr(raw, path)
    except Q.QuantityError as exc:
        raise CheckError(exc.args[0], exc.args[1] if len(exc.args) > 1 else path) from None


def _obj(raw, path, required: tuple, optional: tuple = ()) -> dict:
    if not isinstance(raw, dict):
        raise CheckError("an object with " + ", ".join(repr(k) for k in required + optional), path)
    for k in required:
        if k not in raw:
            raise CheckError(f"the key {k!r} is missing", path)
    for k in raw:
        if k not in required + optional:
            raise CheckError(f"unknown key {k[:40]!r}; allowed: " + ", ".join(required + optional), path)
    return raw


def _tol(raw, path, key) -> float:
    v = raw.get(key, 0.0)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise CheckError("a number >= 0", f"{path}.{key}")
    return float(v)


# ---------------------------------------------------------------- the kinds
def _parse_list(raw, path):
    if not isinstance(raw, list) or not 1 <= len(raw) <= 32:
        raise CheckError("a list of one to 32 checks", path)
    return [parse(c, f"{path}[{i}]") for i, c in enumerate(raw)]


OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
       ">=": lambda a, b: a >= b, "==": None, "!=": None}


def _parse_compare(raw, path):
    raw = _obj(raw, path, ("left", "op", "right"), ("tol", "rtol"))
    if raw["op"] not in OPS:
        raise CheckError("one of " + ", ".join(OPS), f"{path}.op")
    return {"left": _expr(raw["left"], f"{path}.left"), "op": raw["op"], "right": _expr(raw["right"], f"{path}.right"),
            "tol": _tol(raw, path, "tol"), "rtol": _tol(raw, path, "rtol")}


def _compare(arg, ctx: Context) -> bool:
    a, b = ctx.number(arg["left"]), ctx.number(arg["right"])
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return False
    close = abs(a - b) <= arg["tol"] + arg["rtol"] * abs(b)
    if arg["op"] == "==":
        return close
    if arg["op"] == "!=":
        return not close
    return OPS[arg["op"]](a, b)


def _parse_changed(raw, path):
    raw = _obj(raw, path, ("quantity",), ("by_at_least",))
    q = _expr(raw["quantity"], f"{path}.quantity")
    if not isinstance(q, Q.Quantity) or q.prefix:
        raise CheckError("a quantity without a prefix, like 'value:x'", f"{path}.quantity")
    return {"quantity": q, "delta": Q.Quantity("delta", q.kind, q.arg, q.stat), "start": Q.Quantity("start", q.kind, q.arg, q.stat),
            "by": _tol(raw, path, "by_at_least")}


def _changed(arg, ctx: Context) -> bool:
    d = ctx.number(arg["delta"])
    return d is not None and not math.isnan(d) and abs(d) > arg["by"] and abs(d) > 0


HAS = ("values", "grads", "training")


def _parse_has(raw, path):
    if raw not in HAS:
        raise CheckError("one of " + ", ".join(HAS), path)
    return raw


PHASES = ("none", "forward", "backward", "done")


def _parse_position(raw, path):
    raw = _obj(raw, path, (), ("phase", "index_at_least"))
    if "phase" in raw and raw["phase"] not in PHASES:
        raise CheckError("one of " + ", ".join(PHASES), f"{path}.phase")
    n = raw.get("index_at_least", -1)
    if isinstance(n, bool) or not isinstance(n, int) or n < -1 or n > 10**6:
        raise CheckError("an integer event index >= -1", f"{path}.index_at_least")
    return {"phase": raw.get("phase"), "index": n}


def _position(arg, ctx: Context) -> bool:
    phase, index, _, _ = ctx.state.position()
    return (arg["phase"] is None or phase == arg["phase"]) and index >= arg["index"]


def _parse_selected(raw, path):
    raw = _obj(raw, path, (), ("node", "wire"))
    if len(raw) != 1 or not all(isinstance(v, str) and v for v in raw.values()):
        raise CheckError("either {\"node\": NAME} or {\"wire\": \"NODE.PORT\"}", path)
    (k, v), = raw.items()
    if k == "wire" and "." not in v.strip("."):
        raise CheckError("a wire is named NODE.PORT: the node it enters and the input port", f"{path}.wire")
    return (k, v)


register("all", CheckKind(_parse_list, lambda a, c: all(holds(x, c) for x in a), "every listed check holds"))
register("any", CheckKind(_parse_list, lambda a, c: any(holds(x, c) for x in a), "at least one listed check holds"))
register("not", CheckKind(lambda r, p: parse(r, p), lambda a, c: not holds(a, c), "the check does not hold"))
register("compare", CheckKind(_parse_compare, _compare,
                              "left OP right (numbers, quantities or expressions), == and != within tol + rtol*|right|"))
register("changed", CheckKind(_parse_changed, _changed, "a quantity differs from its value when the step began"))
register("has", CheckKind(_parse_has, lambda a, c: c.state.has(a), "values | grads | training have been computed"))
register("position", CheckKind(_parse_position, _position, "stepping has reached a phase and an event index"))
register("selected", CheckKind(_parse_selected, lambda a, c: c.state.selected() == a, "a node or a wire is selected"))
register("read", CheckKind(lambda r, p: _parse_read(r, p), lambda a, c: True, "nothing to do: a step to read"))


def _parse_read(raw, path):
    if raw is not True:
        raise CheckError("true", path)
    return True
