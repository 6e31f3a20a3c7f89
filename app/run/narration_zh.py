"""The narration's sentences in Chinese (中文), for a lesson played in Chinese.

The same events, numbers and rules as narration.py's English tables, worded for the ops the circuit
lessons use (add, sub, mul, div, max, min, neg, exp, log, pow, sigmoid, tanh, abs, relu, total_loss)
and the seed. Any other op gets a generic Chinese sentence that quotes its registry gradient rule,
which OpSpec states in English only."""
from __future__ import annotations

from typing import Callable

from .formatting import fmt_array

KIND = {"gates": "门", "activations": "门", "layers": "层", "losses": "损失", "reductions": "归约",
        "regularizers": "正则项", "inputs": ""}
SOURCE = {"input": "输入", "const": "常量", "param": "参数"}
UI = {  # the dock's own words
    "title": "讲解",
    "idle": "按“Step ▶”（F10）逐个事件走一遍：每个事件都在这里解释。",  # the button keeps its English label
    "start": "一遍传播的开始：共 {total} 个事件。",
}


def head(c) -> str:
    """"mul 门 xy": the op keeps its name (as on the node), the kind is said in Chinese."""
    kind = KIND.get(c.spec.category, "") if c.spec is not None else "节点"
    return " ".join(t for t in (c.op, kind, c.name(c.gate)) if t)


# ---------------------------------------------------------------- forward
def _infix(symbol: str):
    def say(c) -> str | None:
        ports = c.wired()
        if len(ports) != 2:
            return None
        a, b = (c.src_of(p) for p in ports)
        return (f"{head(c)}：{c.name(a)} {symbol} {c.name(b)} = {c.value(a)} {symbol} {c.value(b)} "
                f"= {c.value(c.gate)}")
    return say


def _call(fn: str):
    def say(c) -> str | None:
        ports = c.wired()
        if not ports:
            return None
        names = ", ".join(c.name(c.src_of(p)) for p in ports)
        vals = ", ".join(c.value(c.src_of(p)) for p in ports)
        return f"{head(c)}：{fn}({names}) = {fn}({vals}) = {c.value(c.gate)}"
    return say


FORWARD: dict[str, Callable] = {
    "add": _infix("+"), "sub": _infix("−"), "mul": _infix("×"), "div": _infix("/"),
    "max": _call("max"), "min": _call("min"),
}


# ---------------------------------------------------------------- backward
def _add(c) -> str:
    n = len(c.wired())
    where = "两个输入" if n == 2 else ("它的输入" if n == 1 else f"全部 {n} 个输入")
    return f"{head(c)}：把上游梯度 {c.up} 原样传给{where}，所以 {c.recv} 得到 {c.g}"


def _sub(c) -> str:
    if c.port == "a":
        return f"{head(c)}：把上游梯度 {c.up} 原样传给 {c.recv}（被减数），所以 {c.recv} 得到 {c.g}"
    return f"{head(c)}：{c.recv} 是减数，所以它得到取反的上游梯度 {c.up}：{c.g}"


def _mul(c) -> str | None:
    o = c.other()
    if o is None:
        return None
    other = c.src_of(o)
    return (f"{head(c)}：{c.recv} 收到上游梯度 {c.up} 乘以 {c.name(other)} 的值 {c.value(other)} "
            f"= {c.g}（乘法门交换两个输入）")


def _div(c) -> str | None:
    o = c.other()
    if o is None:
        return None
    other = c.src_of(o)
    if c.port == "a":
        return f"{head(c)}：{c.recv} 收到上游梯度 {c.up} 除以 {c.name(other)} 的值 {c.value(other)} = {c.g}"
    mine = c.ev.edge.src
    return (f"{head(c)}：{c.recv} 是除数，所以它得到 −上游 × {c.name(other)} / {c.recv}² "
            f"= −{c.up} × {c.value(other)} / ({c.value(mine)})² = {c.g}")


def _route(word: str, duel: Callable):
    """max/min：赢的输入拿走全部上游梯度，输的得到 0（相等时给第一个输入）。"""
    def say(c) -> str | None:
        d = duel(c, word == "较大")
        if d is None:
            return None
        if d == "each":
            return (f"{head(c)}：在每个位置把上游梯度 {c.up} 送给{word}的输入，另一个得到 0，"
                    f"所以 {c.recv} 得到 {c.g}")
        me, w, lo, tied = d
        verb = "等于" if tied else "胜过"
        tie = "（相等时给第一个输入）" if tied else ""
        duel_text = f"{head(c)}：{c.name(w)}（{c.value(w)}）{verb} {c.name(lo)}（{c.value(lo)}）{tie}"
        if w == me:
            return f"{duel_text}，所以 {c.name(w)} 得到全部 {c.up}，{c.name(lo)} 得到 0"
        return f"{duel_text}，所以 {c.name(lo)} 得到 0（{c.up} 全部给了 {c.name(w)}）"
    return say


def _unary(local: Callable) -> Callable:
    def say(c) -> str:
        return f"{head(c)}：{c.recv} 得到上游梯度 {c.up} 乘以 {local(c)} = {c.g}"
    return say


def _relu(c) -> str:
    x = c.raw_value(c.ev.edge.src)
    if x is not None and getattr(x, "size", 0) == 1:
        if float(x.reshape(-1)[0]) > 0:
            return f"{head(c)}：它的输入 {c.recv} = {c.value(c.ev.edge.src)} > 0，所以上游梯度 {c.up} 通过：{c.g}"
        return f"{head(c)}：它的输入 {c.recv} = {c.value(c.ev.edge.src)} ≤ 0，所以梯度被挡住：{c.recv} 得到 {c.g}"
    return f"{head(c)}：在 {c.recv} > 0 的位置让上游梯度 {c.up} 通过，其余位置挡住：{c.g}"


def backward_table(duel: Callable, param: Callable) -> dict[str, Callable]:
    return {
        "add": _add, "sub": _sub, "mul": _mul, "div": _div,
        "max": _route("较大", duel), "min": _route("较小", duel), "total_loss": _add,
        "neg": lambda c: f"{head(c)}：把上游梯度 {c.up} 取反，所以 {c.recv} 得到 {c.g}",
        "exp": _unary(lambda c: f"门自己的输出 e^x = {c.value(c.gate)}"),
        "log": _unary(lambda c: f"1/x，x = {c.value(c.ev.edge.src)}"),
        "pow": _unary(lambda c: f"p·x^(p−1)，p = {param(c, 'p')}，x = {c.value(c.ev.edge.src)}"),
        "sigmoid": _unary(lambda c: f"s(1 − s)，s = {c.value(c.gate)}"),
        "tanh": _unary(lambda c: f"1 − t²，t = {c.value(c.gate)}"),
        "abs": _unary(lambda c: f"sign({c.recv})，{c.recv} = {c.value(c.ev.edge.src)}"),
        "relu": _relu,
    }


def backward_generic(c) -> str:
    rule = c.spec.grad_rule if c.spec is not None else "这个版本不认识的运算"
    return f"{head(c)}：{c.recv}（端口 {c.port}）得到 {c.g}，来自上游梯度 {c.up}；规则：{c.op} {rule}"


def seed(c) -> str:
    n = c.name(c.ev.node)
    return f"种子：反向传播从 {n} 开始，d{n}/d{n} = {fmt_array(c.ev.grad)}（{n} 对自己的梯度）"
