"""The headless command line: `run` and `check` here, `train`, `sanity`, `search` in train_cli,
`lessons` in lessons_cli.

main.py builds the one parser from `add_commands` (and the app's render); `main(argv)` here
parses the headless commands alone, for scripts and tests that must not touch Qt.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from .cli_common import (PROG, Parser, UsageError, add_common, emit_json, load_valid_graph, positive,
                         printable, run_command)
from .executor import Executor
from .gradcheck import gradcheck
from .numfmt import fmt_number
from .problems import GraphError

try:  # the gradient check's own default, once it documents one
    from .gradcheck import DEFAULT_TOLERANCE
except ImportError:
    DEFAULT_TOLERANCE = 1e-6

__all__ = ["add_commands", "build_parser", "fmt", "load_valid_graph", "main"]


def fmt(a: np.ndarray | None) -> str:
    """Scalars through the one number formatter; tensors as shape and summary."""
    if a is None:
        return "-"
    a = np.asarray(a)
    if a.size == 1:
        v = a.reshape(-1)[0]
        return fmt_number(v) if a.dtype.kind == "f" else str(v)
    if a.dtype.kind != "f":
        return f"{a.dtype}{list(a.shape)}"
    return f"{list(a.shape)} mean {fmt_number(a.mean())} norm {fmt_number(np.linalg.norm(a))}"


def as_json(a: np.ndarray | None):
    """A number for a one-element array, {shape, dtype, mean, norm} for a tensor, None if not computed."""
    if a is None:
        return None
    a = np.asarray(a)
    if a.size == 1:
        return a.reshape(-1)[0].item()
    doc = {"shape": list(a.shape), "dtype": str(a.dtype)}
    if a.dtype.kind == "f":
        doc.update(mean=float(a.mean()), norm=float(np.linalg.norm(a)))
    return doc


def _target(g, name: str | None) -> str | None:
    """The node to backpropagate from: --target (a name or an id), else the only sink, else a loss sink."""
    if name is not None:
        hits = [nid for nid, n in g.nodes.items() if n.name == name]
        if name in g.nodes:
            others = [h for h in hits if h != name]
            if others:  # never a silent pick between an id and another node's name
                raise UsageError(f"argument --target: {name!r} is ambiguous: it is the id of node "
                                 f"{g.nodes[name].name!r} and the name of the node with id {others[0]!r}; "
                                 "rename one of them")
            return name
        if len(hits) > 1:
            raise UsageError(f"argument --target: the name {name!r} is ambiguous, {len(hits)} nodes have it; "
                             f"give one of their ids: {', '.join(hits)}")
        try:
            return g.find(name)
        except GraphError:
            raise UsageError(f"argument --target: no node named {name!r}") from None
    sinks = g.sinks()
    if not g.nodes:
        raise UsageError("the graph is empty: there is nothing to run (add nodes in the app or the file)")
    if len(sinks) != 1:
        losses = [s for s in sinks if (sp := g.nodes[s].spec) is not None and sp.category == "losses"]
        if len(losses) != 1:  # never a silent pick: the API refuses this too
            names = ", ".join(repr(g.nodes[s].name) for s in sinks[:8]) + (" ..." if len(sinks) > 8 else "")
            raise UsageError(f"argument --target: the graph has {len(sinks)} outputs ({names}) and "
                             f"{'no' if not losses else 'several'} loss among them; name the one to "
                             "backpropagate from with --target")
        return losses[0]
    return None


def _integer(ex, node: str) -> bool:
    """Class labels and other integer values: nothing is differentiable there, so no gradient is shown."""
    return ex.value(node).dtype.kind in "iub"


def cmd_run(args) -> int:
    g = load_valid_graph(args.file, args)
    ex = Executor(g, mode=args.mode)
    target = _target(g, args.target)
    ex.forward()
    ex.backward(target)
    order = g.topo_order()
    if args.json:
        emit_json({"command": "run", "file": args.file, "mode": args.mode,
                   "target": g.nodes[target].name if target else g.nodes[g.sinks()[0]].name,
                   "nodes": [{"name": g.nodes[n].name, "id": n, "op": g.nodes[n].op,
                              "value": as_json(ex.value(n)),
                              "gradient": None if _integer(ex, n) else as_json(ex.grad(n))} for n in order]})
        return 0
    rows = [("node", "op", "value", "gradient")]
    rows += [(printable(g.nodes[n].name), printable(g.nodes[n].op), fmt(ex.value(n)),
              "-" if _integer(ex, n) else fmt(ex.grad(n))) for n in order]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def cmd_check(args) -> int:
    g = load_valid_graph(args.file, args)
    target = _target(g, args.target)
    Executor(g).forward()  # a NaN/Inf is a bad graph (exit 2 naming the node), not a failed check
    report = gradcheck(g, target=target, tolerance=args.tolerance)
    arrays = []
    for key, err in sorted(report.errors.items(), key=lambda kv: -kv[1]):
        name = printable(report.names.get(key, key))
        arrays.append({"name": name, "key": key, "rel_error": err, "ok": bool(err < args.tolerance)})
    bad = sum(not a["ok"] for a in arrays)
    if args.json:
        emit_json({"command": "check", "file": args.file, "tolerance": args.tolerance, "ok": bad == 0,
                   "checked": len(arrays), "failed": bad, "arrays": arrays})
        return 1 if bad else 0
    width = max([30] + [len(a["name"]) + 1 for a in arrays])
    print(f"{'array':{width}s} rel. error")
    for a in arrays:
        print(f"{a['name']:{width}s} {fmt_number(a['rel_error']):9s}  {'ok' if a['ok'] else 'FAIL'}")
    print(f"{len(arrays)} arrays checked, {bad} failed (tolerance {args.tolerance:g})")
    return 1 if bad else 0


def add_commands(sub) -> None:
    """Register run, check, train, sanity and search on an argparse subparsers object."""
    r = sub.add_parser("run", help="forward and backward; print every node's value and gradient",
                       description="Run a forward and a backward pass and print a table of values and "
                                   "gradients (scalars with two decimals, tensors as shape, mean and norm).")
    r.add_argument("file", help="graph file (.json)")
    r.add_argument("--target", metavar="NODE",
                   help="node (name or id) to backpropagate from (default: the only output, else the one loss among the outputs; required otherwise)")
    r.add_argument("--mode", choices=("train", "eval"), default="eval",
                   help="train: dropout drops and batchnorm uses batch statistics; eval: neither")
    add_common(r)
    r.set_defaults(fn=cmd_run)
    c = sub.add_parser("check", help="validate and gradient-check; exit 1 if a check fails",
                       description="Compare every backward rule with finite differences (docs/gradcheck.md); exit 0 when every "
                                   "array's relative error is below the tolerance, 1 when one is not.")
    c.add_argument("file", help="graph file (.json)")
    c.add_argument("--target", metavar="NODE",
                   help="node (name or id) whose gradient is checked (default: the only output, else the one loss among the outputs; required otherwise)")
    c.add_argument("--tolerance", type=positive, default=DEFAULT_TOLERANCE,
                   help="largest relative error that passes")
    add_common(c)
    c.set_defaults(fn=cmd_check)
    from . import lessons_cli, train_cli

    train_cli.add_commands(sub)
    lessons_cli.add_commands(sub)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = Parser(prog=prog, description="Backprop Studio headless command line")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser, prog=prog)
    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return run_command(args, args.errors if hasattr(args, "errors") else ())
