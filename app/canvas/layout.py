"""Automatic layout: topological layers left to right, ordered to keep wires short.

Pure Python over the graph's wires (no Qt), so it is easy to test. Sizes and
port offsets come from callbacks, because only the scene knows how big a node is.
"""
from __future__ import annotations

from typing import Callable

from graphcore.graph import Graph

COLUMN_GAP = 200.0  # room for a wire's value and gradient labels
ROW_GAP = 36.0


def layers(graph: Graph, ids: list[str] | None = None) -> dict[str, int]:
    """Column of each node: the longest path from a source; a source sits just left of its first consumer."""
    keep = set(graph.nodes if ids is None else ids)
    parents: dict[str, list[str]] = {n: [] for n in keep}
    children: dict[str, list[str]] = {n: [] for n in keep}
    for e in graph.edges:
        if e.src in keep and e.dst in keep:
            parents[e.dst].append(e.src)
            children[e.src].append(e.dst)
    order = _topo(keep, parents, children, list(graph.nodes))
    col: dict[str, int] = {}
    for n in order:
        col[n] = 1 + max((col.get(p, -1) for p in parents[n]), default=-1)  # a cycle: a parent may come later
    # pull sources (and chains that only feed forward) right, next to their consumers
    for n in reversed(order):
        if not parents[n] and children[n]:
            col[n] = max(0, min(col[c] for c in children[n]) - 1)
    return col


def _topo(keep, parents, children, node_order) -> list[str]:
    indeg = {n: len(parents[n]) for n in keep}
    pos = {n: i for i, n in enumerate(node_order)}
    ready = sorted((n for n in keep if indeg[n] == 0), key=pos.get)
    out = []
    while ready:
        n = ready.pop(0)
        out.append(n)
        for c in sorted(children[n], key=pos.get):
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    # a cycle: append what is left in node order so every node gets a place
    out += [n for n in node_order if n in keep and n not in set(out)]
    return out


def layered_positions(graph: Graph, size_of: Callable[[str], tuple[float, float]],
                      port_y: Callable[[str, str], float] | None = None,
                      ids: list[str] | None = None, origin: tuple[float, float] = (0.0, 0.0),
                      sweeps: int = 4) -> dict[str, tuple[float, float]]:
    """Top-left positions for the nodes: columns by layer, each column ordered by the barycentre
    of its neighbours' ports (a few sweeps each way), centred vertically on origin's y."""
    col = layers(graph, ids)
    if not col:
        return {}
    port_y = port_y or (lambda nid, port: size_of(nid)[1] / 2)
    ncols = max(col.values()) + 1
    columns: list[list[str]] = [[] for _ in range(ncols)]
    for n in graph.nodes:
        if n in col:
            columns[col[n]].append(n)
    in_edges: dict[str, list] = {n: [] for n in col}
    out_edges: dict[str, list] = {n: [] for n in col}
    for e in graph.edges:
        if e.src in col and e.dst in col:
            in_edges[e.dst].append(e)
            out_edges[e.src].append(e)
    widths = [max(size_of(n)[0] for n in c) if c else 0.0 for c in columns]
    xs, x = [], origin[0]
    for w in widths:
        xs.append(x)
        x += w + COLUMN_GAP
    y_top: dict[str, float] = {}

    def stack(c: list[str]) -> None:
        total = sum(size_of(n)[1] for n in c) + ROW_GAP * max(len(c) - 1, 0)
        y = origin[1] - total / 2
        for n in c:
            y_top[n] = y
            y += size_of(n)[1] + ROW_GAP

    for c in columns:
        stack(c)

    def out_y(n: str) -> float:
        return y_top[n] + port_y(n, "out")

    def in_y(n: str, port: str) -> float:
        return y_top[n] + port_y(n, port)

    for _ in range(sweeps):
        for k in range(1, ncols):  # left to right: follow the inputs
            c = columns[k]
            key = {}
            for i, n in enumerate(c):
                ys = [out_y(e.src) - port_y(n, e.dst_port) for e in in_edges[n]]
                key[n] = (sum(ys) / len(ys)) if ys else y_top[n]
            rank = {n: i for i, n in enumerate(c)}
            c.sort(key=lambda n: (key[n], rank[n]))
            stack(c)
        for k in range(ncols - 2, -1, -1):  # right to left: follow the consumers
            c = columns[k]
            key = {}
            for n in c:
                ys = [in_y(e.dst, e.dst_port) - port_y(n, "out") for e in out_edges[n]]
                key[n] = (sum(ys) / len(ys)) if ys else y_top[n]
            rank = {n: i for i, n in enumerate(c)}
            c.sort(key=lambda n: (key[n], rank[n]))
            stack(c)
    # a single left-to-right pass that keeps the order but lets nodes sit level with their inputs
    for k in range(ncols):
        c = columns[k]
        want = []
        for n in c:
            ys = [out_y(e.src) - port_y(n, e.dst_port) for e in in_edges[n]]
            ys += [in_y(e.dst, e.dst_port) - port_y(n, "out") for e in out_edges[n] if col[e.dst] > k]
            want.append(sum(ys) / len(ys) if ys else y_top[n])
        _place_column(c, want, size_of, y_top)
    return {n: (xs[col[n]] + (widths[col[n]] - size_of(n)[0]) / 2, y_top[n]) for n in col}


def _place_column(c: list[str], want: list[float], size_of, y_top: dict) -> None:
    """Put each node as near its wanted y as the order and the gaps allow (simple pool-adjacent pass)."""
    blocks: list[list] = []  # [start_y, [nodes], [wants], [offsets]]
    for n, w in zip(c, want):
        h = size_of(n)[1]
        blocks.append([w, [n], [w], [0.0], h])
        while len(blocks) > 1:
            a, b = blocks[-2], blocks[-1]
            if a[0] + a[4] + ROW_GAP <= b[0]:
                break
            # merge b into a: the block sits at the mean of its members' wishes
            shift = a[4] + ROW_GAP
            offs = a[3] + [o + shift for o in b[3]]
            wants = a[2] + b[2]
            start = sum(wn - o for wn, o in zip(wants, offs)) / len(wants)
            blocks[-2:] = [[start, a[1] + b[1], wants, offs, a[4] + ROW_GAP + b[4]]]
    for start, nodes, _, offs, _h in blocks:
        for n, o in zip(nodes, offs):
            y_top[n] = start + o
