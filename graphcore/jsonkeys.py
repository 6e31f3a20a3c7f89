"""JSON objects whose keys repeat: json.loads keeps the last value silently, so a file with two
"nodes" keys would load half a graph without a word. A graph file is refused instead, naming
the key and the JSON path of the object that repeats it."""
from __future__ import annotations

import json
from typing import Any


class _Repeats(dict):
    """An object that held a key twice (json keeps the last value); `repeated` names the keys."""

    repeated: list


def _pairs(pairs: list) -> dict:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    seen: set = set()
    out = _Repeats(d)
    out.repeated = []
    for k, _ in pairs:
        if k in seen and k not in out.repeated:
            out.repeated.append(k)
        seen.add(k)
    return out


def loads(text: str) -> tuple[Any, tuple[str, str] | None]:
    """json.loads, and the (JSON path, key) of the first object that repeats a key (None: none does)."""
    found = []

    def hook(pairs):
        d = _pairs(pairs)
        if type(d) is _Repeats:
            found.append(d)
        return d

    doc = json.loads(text, object_pairs_hook=hook)
    return doc, (_where(doc) if found else None)


def _where(doc: Any) -> tuple[str, str] | None:
    """The path of the first object, in document order, that repeats a key, and that key."""
    stack = [("", doc)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, dict):
            if type(v) is _Repeats:
                return path, v.repeated[0]
            stack.extend(reversed([(f"{path}.{k}" if path else str(k), x) for k, x in v.items()]))
        elif isinstance(v, list):
            stack.extend(reversed([(f"{path}[{i}]", x) for i, x in enumerate(v)]))
    return None  # pragma: no cover - a repeat was seen, so an object holds one
