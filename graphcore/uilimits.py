"""Bounds on what a graph file says about its drawing: node positions on the canvas.

A position is a canvas coordinate in scene units; nothing a person lays out by hand comes near
a million, while 1e15 or inf would overflow the view's and the image export's integer maths.
fileformat calls `check_position` on every node's ui (and `check_graph` serves any graph built
elsewhere), so the canvas and `render` never see a coordinate outside this extent."""
from __future__ import annotations

import math

from .limits import excerpt
from .tensorfile import GraphFormatError

MAX_COORD = 1e6  # |x|, |y| of a node on the canvas, in scene units


def check_position(ui: dict, path: str, file: str | None = None) -> None:
    """Raise GraphFormatError naming `path`.ui.x / .y when a position is not a finite number in range."""
    for k in ("x", "y"):
        if k not in ui:
            continue
        v = ui[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise GraphFormatError(f"must be a number, got {excerpt(v)}", f"{path}.ui.{k}", file)
        if abs(v) > MAX_COORD or not math.isfinite(v):  # abs first: isfinite(10**400) overflows
            raise GraphFormatError(f"a canvas position must be a finite number between {-MAX_COORD:g} and "
                                   f"{MAX_COORD:g}, got {excerpt(v)}", f"{path}.ui.{k}", file)


def check_graph(graph, file: str | None = None) -> None:
    """Every node's position, named by its place in the file's node list (nodes[i])."""
    for i, node in enumerate(graph.nodes.values()):
        check_position(node.ui or {}, f"nodes[{i}]", file)


MAX_SIDE = 16384  # pixels per side of a raster export: a larger drawing is scaled down to fit


def raster_size(width: float, height: float, scale: float, budget: int | None = None,
                max_side: int = MAX_SIDE) -> tuple[int, int, float]:
    """(pixels wide, pixels high, scale used) for a `width` x `height` scene drawn at `scale`.

    A drawing larger than `max_side` is scaled down to fit; an image (and its PNG encoding, as much
    again) that would still not fit the memory budget is refused with a ValueError naming the flag."""
    from .limits import fmt_bytes, memory_limit

    if not (math.isfinite(width) and math.isfinite(height) and math.isfinite(scale)) or scale <= 0:
        raise ValueError(f"cannot size an image of {width!r} x {height!r} scene units at scale {scale!r}")
    longest = max(width, height) * scale
    if longest > max_side:
        scale *= max_side / longest
    w = min(max_side, max(1, math.ceil(width * scale)))
    h = min(max_side, max(1, math.ceil(height * scale)))
    need = 2 * 4 * w * h  # ARGB32 pixels, and about as much again while the PNG is encoded
    budget = memory_limit() if budget is None else budget
    if need > budget:
        raise ValueError(f"the image would be {w} x {h} pixels and need about {fmt_bytes(need)}, more than the "
                         f"memory budget of {fmt_bytes(budget)} (--memory-limit, or Run > Memory limit in the app); export .svg instead")
    return w, h, scale
