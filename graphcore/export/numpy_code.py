"""Staged numpy code, the way the CS231n notes write backprop for the sigmoid neuron.

The forward pass line by line, variables named after the nodes, then the backward pass line by
line in reverse, each line commented with its gate's rule. Running the file prints every node's
value and gradient in the table `main.py run` prints (eval mode), with the same formatting
functions copied in, so the file needs nothing but numpy.

`staged_numpy` also says which line belongs to which event of a stepped pass (the Code dock
highlights it): each node's forward line, the seed line, and each wire's gradient line.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import np_helpers
from .atomic import write_code
from .coderule import EACH_TARGET, render
from .plan import SMALL, ExportPlan, build_plan, literal


@dataclass
class StagedCode:
    text: str
    forward_lines: dict[str, int] = field(default_factory=dict)  # node id -> line (1-based)
    seed_line: int | None = None
    edge_lines: dict[str, int] = field(default_factory=dict)  # Edge.key -> line of its gradient
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # what goes into the .npz
    # the staged part (sources, forward, backward) as 1-based (first, last) lines: what the Code dock
    # shows by default, without the imports above it and the printing code below it
    body_lines: tuple[int, int] = (1, 1)


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str = "", comment: str = "") -> int:
        """Append a line (a comment is flattened to one line); return its 1-based number."""
        if comment:
            comment = " ".join(str(comment).split())
            text = f"{text}  # {comment}" if text else f"# {comment}"
        self.lines.append(text)
        return len(self.lines)

    def extend(self, block: str) -> None:
        self.lines.extend(block.rstrip("\n").split("\n"))


def _helper_sources(names: set[str]) -> str:
    todo, seen = list(names), []
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.append(n)
        todo.extend(np_helpers.HELPER_DEPS.get(n, ()))
    order = [n for n in vars(np_helpers) if n in seen]  # the module's own order
    return "\n\n".join(inspect.getsource(getattr(np_helpers, n)) for n in order)


def _printer_source() -> str:
    """The table of `main.py run`, from the very functions it uses (copied, not imported)."""
    from .. import cli, cli_common, numfmt

    parts = [f"FIXED_MIN = {numfmt.FIXED_MIN!r}", f"FIXED_MAX = {numfmt.FIXED_MAX!r}",
             f"_CONTROL = re.compile({cli_common._CONTROL.pattern!r})", "",
             inspect.getsource(numfmt.fmt_number), inspect.getsource(cli.fmt), inspect.getsource(cli_common.printable)]
    table = '''
def print_table():
    """Every node's value and gradient, as `python main.py run` prints them."""
    rows = [("node", "op", "value", "gradient")]
    rows += [(printable(name), printable(op), fmt(values[key]),
              "-" if grads[key] is None else fmt(grads[key])) for key, name, op in NODES]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
'''
    return "\n".join(parts) + "\n" + table


def _source_line(plan: ExportPlan, out: _Lines, code: StagedCode, var: str, a: np.ndarray, what: str) -> int:
    if a.size <= SMALL:
        return out.add(f"{var} = {literal(a)}", what)
    code.arrays[var] = a
    return out.add(f"{var} = WEIGHTS[{var!r}]", f"{what}, shape {list(a.shape)}")


def staged_numpy(graph, target: str | None = None, npz_name: str = "weights.npz") -> StagedCode:
    plan = build_plan(graph, target)
    g = graph
    code = StagedCode("")
    out = _Lines()
    helpers: set[str] = set()
    for nid in plan.order:
        helpers.update(plan.rule(nid).helpers)
    tv, tname = plan.var[plan.target], g.nodes[plan.target].name
    body = _Lines()
    body.add("# ---- inputs, constants and weights")
    for nid in plan.order:
        spec = plan.spec(nid)
        if spec.source:
            code.forward_lines[nid] = _source_line(plan, body, code, plan.var[nid], plan.values[nid], spec.name)
        for w in plan.weights(nid):
            _source_line(plan, body, code, plan.wvar[(nid, w)], plan.array(nid, w), f"{w} of {plan.var[nid]}")
    body.add()
    body.add("# ---- forward pass, in topological order")
    for nid in plan.order:
        spec = plan.spec(nid)
        if spec.source:
            continue
        rule = plan.rule(nid)
        code.forward_lines[nid] = body.add(f"{plan.var[nid]} = {plan.forward_text(nid)}",
                                           rule.comment or f"{spec.name}: {spec.doc.split(':')[0]}")
    body.add()
    body.add(f"# ---- backward pass, in reverse: d<name> is the gradient of {tv} with respect to <name>")
    seed = "1.0" if plan.values[plan.target].ndim == 0 else f"np.ones_like({tv})"
    code.seed_line = body.add(f"{plan.dvar[plan.target]} = {seed}", f"the seed: d{tv}/d{tv} = 1")
    assigned = {plan.target}
    pos = plan.order.index(plan.target)
    for nid in reversed(plan.order[:pos + 1]):
        spec = plan.spec(nid)
        if spec.source or nid not in assigned:
            continue
        rule = plan.rule(nid)
        m = plan.mapping(nid)
        for port, template, comment in rule.grads:
            if port == EACH_TARGET:
                for t, tvar in zip(plan.targets(nid), m["_targets"]):
                    expr = render(template, dict(m, t=tvar))
                    _accumulate(body, plan, assigned, t, expr, comment)
                continue
            if spec.weight(port) is not None:
                _accumulate(body, plan, assigned, (nid, port), render(template, m), comment)
                continue
            e = g.input_edge(nid, port)
            if e is None or plan.integer(e.src):
                continue
            expr = render(template, m)
            shape = plan.values[e.src].shape
            if spec.elementwise and shape != plan.values[nid].shape:
                expr = f"_unbroadcast({expr}, {shape!r})"
                helpers.add("_unbroadcast")
            code.edge_lines[e.key] = _accumulate(body, plan, assigned, e.src, expr, comment)
    missing = [n for n in plan.order if n not in assigned and not plan.integer(n)]
    if missing:
        body.add()
        body.add("# ---- nodes the target does not depend on get a zero gradient")
        for nid in missing:
            body.add(f"{plan.dvar[nid]} = np.zeros(np.shape({plan.var[nid]}))")

    keys = node_keys(g, plan.order)
    out.add('"""Staged backprop (forward pass line by line, then backward in reverse), generated by Backprop Studio.')
    out.add("")
    out.add("Run it: python THIS_FILE prints every node's value and gradient as `main.py run` does (eval mode).")
    out.add('"""')
    out.add("import math")
    out.add("import re")
    out.add("from pathlib import Path")
    out.add("")
    out.add("import numpy as np")
    out.add("")
    out.add(f"TITLE = {str(g.meta.get('title', ''))!r}")
    out.add("# each node of the graph (by name) and the variable that holds it here")
    out.add("NAMES = {" + ", ".join(f"{keys[n]!r}: {plan.var[n]!r}" for n in plan.order) + "}")
    out.add("# (key in values and grads, node name, op) in the order `main.py run` prints them")
    out.add("NODES = [" + ", ".join(f"({keys[n]!r}, {g.nodes[n].name!r}, {g.nodes[n].op!r})" for n in plan.order) + "]")
    out.add(f"TARGET = {tname!r}")
    if helpers:
        out.add("")
        out.extend("\n" + _helper_sources(helpers))
    out.add("")
    if code.arrays:
        out.add(f"WEIGHTS = np.load(Path(__file__).with_name({npz_name!r}))  # the arrays too large to write here")
        out.add("")
    offset = len(out.lines)
    out.lines.extend(body.lines)
    code.forward_lines = {k: v + offset for k, v in code.forward_lines.items()}
    code.edge_lines = {k: v + offset for k, v in code.edge_lines.items()}
    code.seed_line += offset
    code.body_lines = (offset + 1, offset + len(body.lines))
    out.add("")
    out.add("# every node's value and gradient, by its name in the graph (None: integer labels get no gradient)")
    out.add("values = {" + ", ".join(f"{keys[n]!r}: {plan.var[n]}" for n in plan.order) + "}")
    out.add("grads = {" + ", ".join(f"{keys[n]!r}: {plan.dvar.get(n, 'None')}" for n in plan.order) + "}")
    wg = [(k, v) for k, v in plan.wvar.items() if k in plan.dvar and _was(plan, assigned, k)]
    out.add("weight_grads = {" + ", ".join(f"({g.nodes[k[0]].name!r}, {k[1]!r}): {plan.dvar[k]}" for k, _ in wg) + "}")
    out.add("")
    out.extend("\n" + _printer_source())
    out.add("")
    out.add('if __name__ == "__main__":')
    out.add("    print_table()")
    code.text = "\n".join(out.lines) + "\n"
    return code


def node_keys(graph, order) -> dict[str, str]:
    """Each node's key in the generated `values` and `grads`: its name, or its id when the name is shared."""
    count: dict[str, int] = {}
    for n in order:
        count[graph.nodes[n].name] = count.get(graph.nodes[n].name, 0) + 1
    return {n: graph.nodes[n].name if count[graph.nodes[n].name] == 1 else n for n in order}


def _was(plan, assigned, key) -> bool:
    return key in assigned


def _accumulate(body: _Lines, plan: ExportPlan, assigned: set, key, expr: str, comment: str) -> int:
    """d<key> = expr the first time, d<key> = d<key> + expr after (a node used twice sums its gradients)."""
    d = plan.dvar[key]
    if key in assigned:
        return body.add(f"{d} = {d} + {expr}", comment)
    assigned.add(key)
    return body.add(f"{d} = {expr}", comment)


def export_numpy(graph, out_path, target: str | None = None) -> list[Path]:
    """Write the staged code to `out_path` (and its arrays to an .npz beside it); return the paths."""
    out_path = Path(out_path)
    npz = out_path.with_suffix(".npz")
    code = staged_numpy(graph, target, npz.name)
    return write_code(out_path, code.text, npz, code.arrays or None)
