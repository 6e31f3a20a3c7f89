"""One sentence per event of a recorded pass: the rule a gate applies, with the real numbers.

CS231n teaches backprop by saying what each gate does to the gradient ("the add gate distributes it,
the max gate routes it, the mul gate swaps its inputs"). This module words each recorded event that
way. Every number comes from the PassRecord (graphcore computed it) and is printed by the one number
formatter (graphcore.numfmt.fmt_number, through fmt_array); nothing here computes a value.

The templates are a table keyed by op name (FORWARD, BACKWARD); an op without one gets a generic
sentence built from its registry grad_rule, so every registered op can be narrated.
"""
from __future__ import annotations

from typing import Callable

import graphcore as gc

from . import narration_zh as zh
from .formatting import fmt_array
from .record import Event, PassRecord

KIND = {"gates": "gate", "activations": "gate", "layers": "layer", "losses": "loss",
        "reductions": "reduction", "regularizers": "regularizer", "inputs": ""}


class _Ctx:
    """What a template needs about one event: names and values at the event, already formatted."""

    def __init__(self, graph: gc.Graph, rec: PassRecord, k: int) -> None:
        self.graph, self.rec, self.k = graph, rec, k
        self.ev: Event = rec.events[k]
        self.gate = self.ev.edge.dst if self.ev.phase == "backward" else self.ev.node
        node = graph.nodes.get(self.gate)
        self.spec = node.spec if node is not None else None
        self.op = self.spec.name if self.spec is not None else (node.op if node is not None else "?")
        self.ports = [p.name for p in self.spec.inputs] if self.spec is not None else []
        self.srcs = {p: graph.input_edge(self.gate, p) for p in self.ports} if node is not None else {}

    def name(self, nid: str) -> str:
        node = self.graph.nodes.get(nid)
        return node.name if node is not None else nid

    @property
    def head(self) -> str:
        kind = KIND.get(self.spec.category, "") if self.spec is not None else "node"
        if kind and kind in self.op:  # "total_loss loss", not "total_loss loss loss"
            kind = ""
        return " ".join(t for t in (self.op, kind, self.name(self.gate)) if t)

    def value(self, nid: str) -> str:
        return fmt_array(self.rec.value(nid, self.k))

    def raw_value(self, nid: str):
        return self.rec.value(nid, self.k)

    def src_of(self, port: str) -> str | None:
        e = self.srcs.get(port)
        return e.src if e is not None else None

    def wired(self) -> list[str]:
        return [p for p in self.ports if self.srcs.get(p) is not None]

    # backward events
    @property
    def port(self) -> str:
        return self.ev.edge.dst_port

    @property
    def recv(self) -> str:
        return self.name(self.ev.edge.src)

    @property
    def up(self) -> str:
        return fmt_array(self.ev.upstream)

    @property
    def g(self) -> str:
        return fmt_array(self.ev.grad)

    def other(self) -> str | None:
        """The port of the one other wired input of a two-input gate."""
        others = [p for p in self.wired() if p != self.port]
        return others[0] if len(others) == 1 else None


# ---------------------------------------------------------------- forward
def _infix(symbol: str) -> Callable[[_Ctx], str | None]:
    def say(c: _Ctx) -> str | None:
        ports = c.wired()
        if len(ports) != 2:
            return None
        a, b = (c.src_of(p) for p in ports)
        return (f"{c.head}: {c.name(a)} {symbol} {c.name(b)} = {c.value(a)} {symbol} {c.value(b)} "
                f"= {c.value(c.gate)}")
    return say


def _call(fn: str) -> Callable[[_Ctx], str | None]:
    def say(c: _Ctx) -> str | None:
        ports = c.wired()
        if not ports:
            return None
        names = ", ".join(c.name(c.src_of(p)) for p in ports)
        vals = ", ".join(c.value(c.src_of(p)) for p in ports)
        return f"{c.head}: {fn}({names}) = {fn}({vals}) = {c.value(c.gate)}"
    return say


FORWARD: dict[str, Callable[[_Ctx], str | None]] = {
    "add": _infix("+"), "sub": _infix("−"), "mul": _infix("×"), "div": _infix("/"),
    "max": _call("max"), "min": _call("min"),
}


def _forward(c: _Ctx, table: dict = FORWARD, source: dict | None = None, head: str | None = None,
             colon: str = ": ") -> str:
    """A forward event's sentence from a language's table (English by default; narration_zh passes its
    table, its words for the source ops, its head and its full-width colon)."""
    nid = c.ev.node
    if c.spec is not None and c.spec.source:
        return f"{(source or {}).get(c.op, c.op)} {c.name(nid)} = {c.value(nid)}"
    say = table.get(c.op)
    text = say(c) if say is not None else None
    if text:
        return text
    args = ", ".join(f"{c.name(c.src_of(p))} = {c.value(c.src_of(p))}" for p in c.wired())
    return f"{c.head if head is None else head}{colon}{c.op}({args}) = {c.value(nid)}"


# ---------------------------------------------------------------- backward
def _add(c: _Ctx) -> str:
    n = len(c.wired())
    where = "both inputs" if n == 2 else ("its input" if n == 1 else f"all {n} inputs")
    return f"{c.head}: passes {c.up} unchanged to {where}, so {c.recv} gets {c.g}"


def _sub(c: _Ctx) -> str:
    if c.port == "a":
        return f"{c.head}: passes {c.up} unchanged to {c.recv} (the first input), so {c.recv} gets {c.g}"
    return f"{c.head}: {c.recv} is subtracted, so it gets the upstream {c.up} negated: {c.g}"


def _mul(c: _Ctx) -> str | None:
    o = c.other()
    if o is None:
        return None
    other = c.src_of(o)
    return (f"{c.head}: {c.recv} receives the upstream {c.up} times {c.name(other)}'s value {c.value(other)} "
            f"= {c.g} (a mul gate swaps its inputs)")


def _div(c: _Ctx) -> str | None:
    o = c.other()
    if o is None:
        return None
    other = c.src_of(o)
    if c.port == "a":
        return (f"{c.head}: {c.recv} receives the upstream {c.up} divided by {c.name(other)}'s value "
                f"{c.value(other)} = {c.g}")
    mine = c.ev.edge.src
    return (f"{c.head}: {c.recv} is the divisor, so it gets −upstream × {c.name(other)} / {c.recv}² "
            f"= −{c.up} × {c.value(other)} / ({c.value(mine)})² = {c.g}")


def _route(word: str) -> Callable[[_Ctx], str | None]:
    """max/min: the winner takes the whole upstream, the loser gets 0 (ties go to the first input)."""
    def say(c: _Ctx) -> str | None:
        d = duel(c, word == "larger")
        if d is None:
            return None
        if d == "each":
            return (f"{c.head}: routes the upstream {c.up} to whichever input was the {word} at each position "
                    f"and 0 to the other, so {c.recv} gets {c.g}")
        me, w, lo, tied = d
        verb = "tied with" if tied else "beat"
        tie = " (ties go to the first input)" if tied else ""
        duel_text = f"{c.head}: {c.name(w)} ({c.value(w)}) {verb} {c.name(lo)} ({c.value(lo)}){tie}"
        if w == me:
            return f"{duel_text}, so {c.name(w)} gets all of the {c.up} and {c.name(lo)} gets 0"
        return f"{duel_text}, so {c.name(lo)} gets 0 (all of the {c.up} went to {c.name(w)})"
    return say


def duel(c: _Ctx, larger: bool):
    """A max (larger) or min gate's wire, for the wording only (the gradient is graphcore's): None when
    the other input is unwired, "each" when the inputs are not scalars, else (receiving input, winner,
    loser, tied); a tie goes to the first input. Both languages word the same comparison."""
    o = c.other()
    if o is None:
        return None
    me, other = c.ev.edge.src, c.src_of(o)
    mv, ov = c.raw_value(me), c.raw_value(other)
    if mv is None or ov is None or getattr(mv, "size", 1) != 1 or getattr(ov, "size", 1) != 1:
        return "each"
    m, t = float(mv.reshape(-1)[0]), float(ov.reshape(-1)[0])
    mine = c.port == c.wired()[0] if m == t else (m > t if larger else m < t)
    w, lo = (me, other) if mine else (other, me)
    return me, w, lo, m == t


def _unary(local: Callable[[_Ctx], str]) -> Callable[[_Ctx], str]:
    def say(c: _Ctx) -> str:
        return f"{c.head}: {c.recv} gets the upstream {c.up} times {local(c)} = {c.g}"
    return say


def _param(c: _Ctx, name: str) -> str:
    node = c.graph.nodes.get(c.gate)
    v = node.params.get(name) if node is not None else None
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _relu(c: _Ctx) -> str:
    x = c.raw_value(c.ev.edge.src)
    if x is not None and getattr(x, "size", 0) == 1:
        if float(x.reshape(-1)[0]) > 0:
            return f"{c.head}: its input {c.recv} = {c.value(c.ev.edge.src)} > 0, so it passes the upstream {c.up}: {c.g}"
        return (f"{c.head}: its input {c.recv} = {c.value(c.ev.edge.src)} ≤ 0, so it blocks the gradient: "
                f"{c.recv} gets {c.g}")
    return f"{c.head}: passes the upstream {c.up} where {c.recv} > 0 and blocks it elsewhere: {c.g}"


BACKWARD: dict[str, Callable[[_Ctx], str | None]] = {
    "add": _add, "sub": _sub, "mul": _mul, "div": _div, "max": _route("larger"), "min": _route("smaller"),
    "total_loss": _add,
    "neg": lambda c: f"{c.head}: negates the upstream {c.up}, so {c.recv} gets {c.g}",
    "exp": _unary(lambda c: f"the gate's own output e^x = {c.value(c.gate)}"),
    "log": _unary(lambda c: f"1/x with x = {c.value(c.ev.edge.src)}"),
    "pow": _unary(lambda c: f"p·x^(p−1) with p = {_param(c, 'p')}, x = {c.value(c.ev.edge.src)}"),
    "sigmoid": _unary(lambda c: f"s(1 − s) with s = {c.value(c.gate)}"),
    "tanh": _unary(lambda c: f"1 − t² with t = {c.value(c.gate)}"),
    "abs": _unary(lambda c: f"sign({c.recv}) with {c.recv} = {c.value(c.ev.edge.src)}"),
    "relu": _relu,
}


def _backward(c: _Ctx) -> str:
    say = BACKWARD.get(c.op)
    text = say(c) if say is not None else None
    if text:
        return text
    rule = c.spec.grad_rule if c.spec is not None else "an op this version does not know"
    return f"{c.head}: {c.recv} (port {c.port}) receives {c.g} from the upstream {c.up}; {c.op} {rule}"


def _backward_zh(c: _Ctx) -> str:
    say = BACKWARD_ZH.get(c.op)
    text = say(c) if say is not None else None
    return text or zh.backward_generic(c)


BACKWARD_ZH = zh.backward_table(duel, _param)
LANGS = ("en", "zh")


# ---------------------------------------------------------------- entry point
def sentence(graph: gc.Graph, rec: PassRecord | None, k: int, lang: str = "en") -> str:
    """The sentence for event k of rec ("" before the first event), in English or Chinese ("zh")."""
    if rec is None or not 0 <= k < rec.total:
        return ""
    c = _Ctx(graph, rec, k)
    if lang == "zh":
        if c.ev.phase == "forward":
            return _forward(c, zh.FORWARD, zh.SOURCE, zh.head(c), "：")
        return zh.seed(c) if c.ev.phase == "seed" else _backward_zh(c)
    if c.ev.phase == "forward":
        return _forward(c)
    if c.ev.phase == "seed":
        n = c.name(c.ev.node)
        return (f"seed: the backward pass starts at {n} with d{n}/d{n} = {fmt_array(c.ev.grad)} "
                f"(the gradient of {n} with respect to itself)")
    return _backward(c)


def other_input(graph: gc.Graph, rec: PassRecord | None, k: int):
    """For a mul gradient, the wire of the other input (whose value the gradient is scaled by), else None."""
    if rec is None or not 0 <= k < rec.total or rec.events[k].phase != "backward":
        return None
    c = _Ctx(graph, rec, k)
    if c.op != "mul":
        return None
    o = c.other()
    return c.srcs.get(o) if o is not None else None
