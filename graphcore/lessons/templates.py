"""Explanation templates: text with `{quantity}` or `{quantity|format}` placeholders.

Parsed here, by a small scanner, never by str.format: a placeholder can only name a live number
(a quantity from quantities.py, or one of the step's named numbers); `{{` and `}}` are literal
braces. Anything else in braces (`{0.__class__}`, `{x[0]}`, `{}`) is refused when the lesson loads.
"""
from __future__ import annotations

import re

from ..numfmt import fmt_number
from . import quantities as Q

FORMATS = ("num", "pct", "int", "sci", "d0", "d1", "d2", "d3", "d4")
_FIELD = re.compile(r"\{([^{}|]*)(?:\|([^{}]*))?\}")


class TemplateError(ValueError):
    """Why a template is refused (the caller adds file and JSON path)."""


def parse(text: str) -> list:
    """Literal strings and (Quantity, format) pairs, in order."""
    parts: list = []
    i, n, lit = 0, len(text), []
    while i < n:
        c = text[i]
        if c in "{}" and text.startswith(c * 2, i):
            lit.append(c)
            i += 2
            continue
        if c == "}":
            raise TemplateError(f"a lone '}}' at character {i} (write '}}}}' for a brace)")
        if c == "{":
            m = _FIELD.match(text, i)
            if not m:
                raise TemplateError(f"an unclosed or nested '{{' at character {i} (write '{{{{' for a brace)")
            field, fmt = m.group(1), m.group(2)
            try:
                q = Q.parse(field)
            except Q.QuantityError as exc:
                raise TemplateError(f"the placeholder {_short(m.group(0))} names no live number: {exc.args[0]}") from None
            if q.kind == "position" and fmt is None:
                fmt = "int"
            if fmt is not None and fmt not in FORMATS:
                raise TemplateError(f"the placeholder {_short(m.group(0))} has an unknown format {fmt!r}; "
                                    "one of: " + ", ".join(FORMATS))
            if lit:
                parts.append("".join(lit))
                lit = []
            parts.append((q, fmt))
            i = m.end()
            continue
        lit.append(c)
        i += 1
    if lit:
        parts.append("".join(lit))
    return parts


def _short(s: str) -> str:
    return repr(s if len(s) <= 60 else s[:57] + "...")


def quantities(parts: list) -> list:
    return [p[0] for p in parts if isinstance(p, tuple)]


def render_number(x: float | None, fmt: str | None) -> str:
    if x is None:
        return "?"
    if fmt in (None, "num"):
        return fmt_number(x)
    if x != x or x in (float("inf"), float("-inf")):
        return fmt_number(x)
    if fmt == "pct":
        return f"{100 * x:.1f}%"
    if fmt == "int":
        return str(int(round(x)))
    if fmt == "sci":
        return f"{x:.2e}"
    return f"{x:.{int(fmt[1])}f}"


def fill(parts: list, number) -> str:
    """The text with each placeholder replaced by `number(quantity)` formatted ('?' if not computed)."""
    return "".join(p if isinstance(p, str) else render_number(number(p[0]), p[1]) for p in parts)
