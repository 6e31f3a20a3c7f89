"""A node's tooltip during a pass: its registry gradient rule, then the rule with the actual numbers.

Every number comes from the recorded pass (graphcore computed it); this module only words it:
mul shows "upstream × other input = result", add shows the gradient passing unchanged, max/min
show which input won.
"""
from __future__ import annotations

import graphcore as gc

from .formatting import fmt_array
from .record import PassRecord


def node_tooltip(graph: gc.Graph, nid: str, rec: PassRecord | None, cursor: int) -> str:
    node = graph.nodes[nid]
    spec = node.spec
    head = f"{node.name} — " + (spec.tooltip() if spec is not None else f"unknown op {node.op!r}")
    if rec is None:
        return head
    lines = [head]
    value = rec.value(nid, cursor)
    if value is not None:
        lines.append(f"value: {fmt_array(value)}")
    up = rec.upstream(nid, cursor)
    if nid == rec.target and rec.seed_grad(cursor) is not None:
        lines.append(f"seed: d{node.name}/d{node.name} = {fmt_array(rec.seed_grad(cursor))}")
    elif up is not None:
        lines.append(f"upstream gradient: {fmt_array(up)}")
    if spec is None or up is None:
        return "\n".join(lines)
    ports = [p.name for p in spec.inputs]
    srcs = {p: graph.input_edge(nid, p) for p in ports}
    for p in ports:
        edge = srcs[p]
        if edge is None:
            continue
        g = rec.edge_grad(edge, cursor)
        if g is None:
            continue
        lines.append(_port_line(graph, spec.name, p, ports, srcs, rec, cursor, up, g))
    return "\n".join(lines)


def _port_line(graph, op, port, ports, srcs, rec, cursor, up, g) -> str:
    others = [q for q in ports if q != port and srcs[q] is not None]
    if op == "mul" and len(others) == 1:
        other = others[0]
        ov = rec.value(srcs[other].src, cursor)
        return (f"d/d{port}: upstream × other input = result: "
                f"{fmt_array(up)} × {fmt_array(ov)} = {fmt_array(g)}")
    if op == "add":
        return f"d/d{port}: upstream passes unchanged: {fmt_array(up)} → {fmt_array(g)}"
    if op in ("max", "min") and len(others) == 1:
        mine = rec.value(srcs[port].src, cursor)
        theirs = rec.value(srcs[others[0]].src, cursor)
        word = "larger" if op == "max" else "smaller"
        from .flow import magnitude_and_sign

        zero = magnitude_and_sign(g)[2]
        if mine is not None and getattr(mine, "ndim", 0) > 0 and not zero:
            return f"d/d{port}: upstream where {port} is the {word}, 0 elsewhere → {fmt_array(g)}"
        verdict = f"lost (not the {word}): gets 0" if zero else f"won (the {word}): gets the upstream"
        return (f"d/d{port}: {port} = {fmt_array(mine)} vs {others[0]} = {fmt_array(theirs)}, "
                f"{verdict} → {fmt_array(g)}")
    return f"d/d{port}: {fmt_array(g)}"
