"""The headless command line: run, check, train. Errors are one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from .executor import Executor
from .fileformat import GraphFormatError, load
from .gradcheck import gradcheck
from .problems import GraphError, NumericError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, like every other bad input
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def fmt(a: np.ndarray | None, width: int = 0) -> str:
    """Scalars with two decimals (CS231n style); tensors as shape and summary."""
    if a is None:
        return "-"
    a = np.asarray(a)
    if a.ndim == 0 or a.size == 1:
        v = float(a.reshape(-1)[0]) if a.dtype.kind == "f" else int(a.reshape(-1)[0])
        return f"{v:.2f}" if isinstance(v, float) else str(v)
    if a.dtype.kind != "f":
        return f"{a.dtype}{list(a.shape)}"
    return f"{list(a.shape)} mean {a.mean():.3g} norm {np.linalg.norm(a):.3g}"


def load_valid_graph(path: str):
    """Load a graph file and refuse it (GraphError, exit 2) when the graph has problems."""
    g = load(path)
    problems = g.validate()
    if problems:
        raise GraphError(problems)
    return g


def cmd_run(args) -> int:
    g = load_valid_graph(args.file)
    ex = Executor(g, mode=args.mode)
    ex.forward()
    target = args.target
    if target is None and len(g.sinks()) != 1:
        target = _loss_like(g)
    ex.backward(target)
    rows = [("node", "op", "value", "gradient")]
    for nid in g.topo_order():
        n = g.nodes[nid]
        rows.append((n.name, n.op, fmt(ex.value(nid)), fmt(ex.grad(nid))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def _loss_like(g) -> str | None:
    sinks = g.sinks()
    for s in sinks:
        spec = g.nodes[s].spec
        if spec is not None and spec.category == "losses":
            return s
    return sinks[0] if sinks else None


def cmd_check(args) -> int:
    g = load_valid_graph(args.file)
    target = args.target
    if target is None and len(g.sinks()) != 1:
        target = _loss_like(g)
    Executor(g).forward()  # a NaN/Inf is a bad graph (exit 2 naming the node), not a failed check
    report = gradcheck(g, target=target, tolerance=args.tolerance)
    bad = 0
    print(f"{'array':30s} rel. error")
    for key, err in sorted(report.errors.items(), key=lambda kv: -kv[1]):
        flag = "ok" if err < args.tolerance else "FAIL"
        bad += flag == "FAIL"
        print(f"{report.names.get(key, key):30s} {err:.2e}  {flag}")
    print(f"{len(report.errors)} arrays checked, {bad} failed (tolerance {args.tolerance:g})")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py", description="Backprop Studio command line")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="forward and backward; print values and gradients")
    r.add_argument("file")
    r.add_argument("--target", help="node (name or id) to backpropagate from; default: the only sink")
    r.add_argument("--mode", choices=("train", "eval"), default="eval")
    r.set_defaults(fn=cmd_run)
    c = sub.add_parser("check", help="validate and gradient-check; exit 1 if a check fails")
    c.add_argument("file")
    c.add_argument("--target")
    c.add_argument("--tolerance", type=float, default=1e-6)
    c.set_defaults(fn=cmd_check)
    try:
        from . import train_cli
    except ImportError:
        train_cli = None
    if train_cli is not None:
        train_cli.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (GraphFormatError, GraphError, NumericError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
