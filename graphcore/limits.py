"""Resource bounds: how long a string from a file may be, how much of it an error quotes,
and how much memory a plan may take before anything is allocated.

A file (or a flag) is someone else's input: a 200 MB node name or a conv padded until its
buffers fill the machine must be refused with one clear line, not swallowed. The memory
budget is per process; `--memory-limit`, the app's settings, or the environment variable
below set it (a search divides it among its workers; children inherit the variable).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from .problems import GraphError, Problem

MAX_NAME = 200  # node ids, names, op names, ports, keys of params/tensors/meta/ui
MAX_TEXT = 10_000  # any other string in a file (titles, notes, param text, paths)
EXCERPT = 80  # characters of a file's value an error message quotes
MEMORY_ENV = "BACKPROP_STUDIO_MEMORY_LIMIT"
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


# ---------------------------------------------------------------- quoting
def excerpt(value, limit: int = EXCERPT) -> str:
    """repr() of a value from a file, cut to about `limit` characters with its length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    n = len(value) if isinstance(value, (str, bytes, list, dict)) else None
    more = f" ({n:,} characters)" if isinstance(value, str) else f" ({n:,} items)" if n is not None else ""
    close = text[0] if isinstance(value, str) else ""  # the quote stays closed: 'abc...'
    return text[: limit - 3 - len(close)] + "..." + close + more


def clip_quotes(message: str, value) -> str:
    """A message written by someone else's `{value!r}` with that quote cut to an excerpt."""
    full = repr(value)
    if len(full) <= EXCERPT or full not in message:
        return message
    return message.replace(full, excerpt(value))


def check_text(value: str, what: str, limit: int = MAX_TEXT) -> str | None:
    """Why a string is too long to accept (None when it is fine)."""
    if len(value) > limit:
        return f"{what} is {len(value):,} characters long; the limit is {limit:,} (it starts {excerpt(value[:40])})"
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_name(value: str, what: str = "a name") -> str | None:
    """Why a node name or id is refused (None when it is fine): no control characters, which
    would break a table line or put a terminal escape code into an error message."""
    m = _CONTROL.search(value)
    if m:
        code = m.group(0).encode("unicode_escape").decode("ascii")
        return f"{what} may not hold control characters (found {code} at character {m.start() + 1})"
    return None


# ---------------------------------------------------------------- sizes
MIN_MEMORY_LIMIT = 1 << 20  # a plan never fits in less, so a smaller limit is a typo
MAX_SIZE = 1 << 50  # 1 PiB: more than any machine this runs on has, so a larger size is a typo


def parse_size(text: str, minimum: int = MIN_MEMORY_LIMIT) -> int:
    """'4G', '512M', '1.5g', '2GiB', '1000000' (bytes) -> bytes; ValueError saying what is accepted.

    The one reader of sizes, for --memory-limit (at least 1M) and the data limits (minimum=1);
    none may exceed MAX_SIZE."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(text))
    if not m:
        raise ValueError(f"must be a size such as 4G, 512M or 2000000 (bytes), got {excerpt(str(text))}")
    n = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not math.isfinite(n) or n > MAX_SIZE:  # float('9' * 400) is inf
        raise ValueError(f"must be at most 1024T (1 PiB), got {excerpt(str(text))}")
    if n < minimum:
        least = fmt_bytes(minimum).replace(" ", "").replace("KB", "K").replace("MB", "M").replace("GB", "G")
        raise ValueError(f"must be at least {least}, got {excerpt(str(text))}")
    return int(n)


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KB', 4096 -> '4 KB', 10.2e9 -> '9.5 GB' (binary units, as the size flags read them)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a modest machine
        return 8 << 30


def default_budget() -> int:
    """A quarter of physical memory: room for the app, the data and a second run."""
    return physical_memory() // 4


_budget: int | None = None  # set by --memory-limit or the app's settings


def memory_limit() -> int:
    """The bytes a plan may need in this process: set_memory_limit, else the environment, else the default."""
    if _budget is not None:
        return _budget
    env = os.environ.get(MEMORY_ENV)
    if env:
        try:
            return parse_size(env)
        except ValueError as exc:
            _warn_env(env, exc)
    return default_budget()


_warned_env: set[str] = set()


def _warn_env(env: str, exc: ValueError) -> None:
    """A bad ${MEMORY_ENV} is said once per value on stderr (one line), then the default applies."""
    if env in _warned_env:
        return
    _warned_env.add(env)
    import sys

    text = f"warning: ${MEMORY_ENV} {exc}; using the default, {fmt_bytes(default_budget())}"
    print(_CONTROL.sub("?", text), file=sys.stderr)


def explicit_memory_limit() -> int | None:
    """The budget set in this process (--memory-limit, the app), or None when the default applies."""
    return _budget


def set_memory_limit(nbytes: int | None, children: bool = True) -> None:
    """Set (None: reset) this process' budget; with `children`, processes started later inherit it."""
    global _budget
    _budget = None if nbytes is None else int(nbytes)
    if children:
        if nbytes is None:
            os.environ.pop(MEMORY_ENV, None)
        else:
            os.environ[MEMORY_ENV] = str(int(nbytes))


# ---------------------------------------------------------------- the estimate
@dataclass
class NodeCost:
    """What one node of a plan keeps allocated: values, gradients and scratch buffers, in bytes."""

    node: str
    name: str
    op: str
    in_shapes: list
    out_shape: tuple
    nbytes: int
    parts: dict = field(default_factory=dict)  # what -> bytes, for the message

    def describe(self, named: bool = True) -> str:
        ins = ", ".join(str(tuple(s)) for s in self.in_shapes if s is not None)
        shapes = f"input {ins} -> output {tuple(self.out_shape)}" if ins else f"value {tuple(self.out_shape)}"
        big = max(self.parts.items(), key=lambda kv: kv[1]) if self.parts else None
        most = f", the largest part {big[0]} ({fmt_bytes(big[1])})" if big and big[1] < self.nbytes else ""
        who = f"{self.op} {excerpt(self.name)}" if named else self.op
        return f"{who} ({shapes}) needs about {fmt_bytes(self.nbytes)}{most}"


def _n(shape) -> int:
    return math.prod(int(d) for d in shape) if shape is not None else 0


def _conv_work(params, ins, out):
    n, c = ins[0][0], ins[0][1]
    k = params.get("size", 1)
    cols = c * k * k * n * out[2] * out[3]
    return {"im2col columns and their gradient": 2 * cols, "filter-major product and its gradient": 2 * _n(out)}


# Scratch buffers an op keeps beyond its output and input gradients, in elements (int64 counts
# as 2 float32 elements but the estimate is rough on purpose: it must catch 10 GB, not 10%).
# An op spec may declare its own with a `workspace(params, in_shapes, out_shape) -> {what: elements}`.
_WORKSPACE = {
    "conv2d": _conv_work,
    "max_pool": lambda p, ins, out: {"argmax indexes": _n(out)},
    "batchnorm": lambda p, ins, out: {"normalised input": _n(out)},
    "dropout": lambda p, ins, out: {"mask": _n(out) + _n(out) // 8},
    "maxout": lambda p, ins, out: {"pieces and their gradient": 4 * _n(out) * p.get("k", 1)},
    "mse": lambda p, ins, out: {"pred - target": _n(ins[0])},
    "l1": lambda p, ins, out: {"|x| scratch": _n(ins[0])},
    "elastic_net": lambda p, ins, out: {"|x| scratch": _n(ins[0])},
}


def node_cost(nid: str, node, in_shapes: list, out_shape, itemsize: int) -> NodeCost:
    spec = node.spec
    parts: dict[str, int] = {"output": _n(out_shape)}
    if not spec.source:
        parts["input gradients"] = sum(_n(s) for s in in_shapes if s is not None)
        wsize = sum(_n(getattr(node.tensors.get(w.name), "shape", None)) for w in spec.weights)
        if wsize:
            parts["weight gradients"] = wsize
        work = getattr(spec, "workspace", None) or _WORKSPACE.get(spec.name)
        if work is not None:
            parts.update(work(node.params, in_shapes, tuple(out_shape)))
    parts = {k: v * itemsize for k, v in parts.items() if v}
    return NodeCost(nid, node.name, node.op, list(in_shapes), tuple(out_shape), sum(parts.values()), parts)


def estimate(graph, shapes: dict, dtype=np.float64) -> list[NodeCost]:
    """Each node's cost for a plan whose output shapes are `shapes` (from Graph.infer_shapes)."""
    itemsize = np.dtype(dtype).itemsize
    out = []
    for nid, node in graph.nodes.items():
        spec = node.spec
        if spec is None or nid not in shapes:
            continue
        in_shapes = []
        for p in spec.inputs:
            e = graph.input_edge(nid, p.name)
            in_shapes.append(shapes.get(e.src) if e is not None else None)
        out.append(node_cost(nid, node, in_shapes, shapes[nid], itemsize))
    return out


def check_budget(costs: list[NodeCost], budget: int | None = None) -> int:
    """The plan's total bytes; GraphError on its largest node when the total exceeds the budget."""
    budget = memory_limit() if budget is None else budget
    total = sum(c.nbytes for c in costs)
    if total <= budget:
        return total
    worst = max(costs, key=lambda c: c.nbytes)
    raise GraphError([Problem(worst.node, None,
                              f"the graph needs about {fmt_bytes(total)} of memory, over the budget of "
                              f"{fmt_bytes(budget)} (--memory-limit, or Run > Memory limit in the app); the largest node, "
                              f"{worst.describe()}", "memory")])
