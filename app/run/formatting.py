"""How a value or a gradient reads on a wire: presentation only, never arithmetic on the model.

Scalars print CS231n style with two decimals (-8.00, via graphcore.numfmt); tensors print their shape and a
summary (mean, norm). Hover texts give the full numbers of small tensors and a text
histogram of large ones, so a tooltip needs no image.
"""
from __future__ import annotations

import math

import numpy as np

from graphcore.numfmt import fmt_number

SMALL = 16  # tensors up to this many elements show every number on hover
INLINE = 3  # 1-D tensors up to this many elements print inline on the wire
BLOCKS = " ▁▂▃▄▅▆▇█"


def fmt_scalar(x: float) -> str:
    """-8.00; tiny or huge magnitudes in 3 significant digits (graphcore's one number formatter)."""
    return fmt_number(x)


def fmt_shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")" if len(shape) != 1 else f"({shape[0]},)"


def summary(a: np.ndarray) -> tuple[float, float]:
    """(mean, L2 norm) of a tensor, for the wire label; float64 so float32 sums do not drift."""
    f = np.asarray(a, dtype=np.float64)
    if f.size == 0:
        return 0.0, 0.0
    return float(f.mean()), float(np.sqrt(np.sum(f * f)))


def fmt_array(a) -> str:
    """The short text drawn on a wire."""
    if a is None:
        return ""
    a = np.asarray(a)
    if a.ndim == 0:
        return fmt_scalar(a)
    if a.size == 1:
        return f"{fmt_scalar(a.reshape(-1)[0])} {fmt_shape(a.shape)}"
    if a.ndim == 1 and a.size <= INLINE:
        return "[" + ", ".join(fmt_scalar(v) for v in a) + "]"
    mean, norm = summary(a)
    return f"{'×'.join(map(str, a.shape))} μ{fmt_short(mean)} ‖{fmt_short(norm)}‖"


def fmt_short(x: float) -> str:
    """3 significant digits, for the summaries of tensors where wire space is scarce."""
    x = float(x)
    if not math.isfinite(x):
        return fmt_scalar(x)
    if x == 0.0:
        return "0"
    return f"{x:.3g}"


def full_numbers(a: np.ndarray) -> str:
    """Every element, 4 significant digits, for hover on a small tensor."""
    a = np.asarray(a)
    if a.ndim == 0:
        return repr(float(a))
    return np.array2string(a, precision=4, suppress_small=False, max_line_width=72,
                           floatmode="maxprec", separator=", ")


def histogram_text(a: np.ndarray, bins: int = 24, rows: int = 3) -> str:
    """A bar chart of the values in block characters (rows of eighths), with its range."""
    f = np.asarray(a, dtype=np.float64).reshape(-1)
    f = f[np.isfinite(f)]
    if f.size == 0:
        return "(no finite values)"
    lo, hi = float(f.min()), float(f.max())
    if lo == hi:
        return f"all {f.size} values = {fmt_scalar(lo)}"
    counts, _ = np.histogram(f, bins=bins, range=(lo, hi))
    top = counts.max()
    levels = counts / top * rows * 8
    lines = []
    for r in range(rows - 1, -1, -1):
        row = []
        for lv, c in zip(levels, counts):
            idx = int(round(max(0.0, min(8.0, lv - r * 8))))
            if r == 0 and c > 0 and idx == 0:
                idx = 1  # a non-empty bin always shows
            row.append(BLOCKS[idx])
        lines.append("".join(row))
    pad = bins - len(fmt_scalar(lo)) - len(fmt_scalar(hi))
    lines.append(fmt_scalar(lo) + " " * max(1, pad) + fmt_scalar(hi))
    return "\n".join(lines)


def hover_text(a, title: str = "") -> str:
    """Full numbers for a small tensor, summary and histogram for a large one (plain text)."""
    if a is None:
        return f"{title}: not computed yet" if title else "not computed yet"
    a = np.asarray(a)
    head = f"{title} " if title else ""
    if a.ndim == 0:
        return f"{title} = {full_numbers(a)}" if title else full_numbers(a)
    if a.size <= SMALL:
        first = " ".join(t for t in (title, "" if a.ndim == 0 else fmt_shape(a.shape)) if t)
        return f"{first}\n{full_numbers(a)}" if first else full_numbers(a)
    mean, norm = summary(a)
    f = np.asarray(a, dtype=np.float64)
    lines = [f"{head}{fmt_shape(a.shape)}: mean {fmt_scalar(mean)}, norm {fmt_scalar(norm)}, "
             f"min {fmt_scalar(np.nanmin(f))}, max {fmt_scalar(np.nanmax(f))}",
             histogram_text(a)]
    return "\n".join(lines)


def html_pre(text: str) -> str:
    """Wrap plain text for a rich-text tooltip in a monospace block (histograms need alignment)."""
    esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<pre style='font-family: monospace'>{esc}</pre>"
