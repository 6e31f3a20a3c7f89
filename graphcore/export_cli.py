"""`main.py export FILE --to TARGET --out PATH`: a graph as staged numpy code or PyTorch code.

EXPORTERS maps each target to `callable(graph, out_path) -> list of written paths`; the GUI's
File > Export menu uses the same table.
"""
from __future__ import annotations

from .cli_common import UsageError, check_output, load_valid_graph


def _numpy(graph, out_path, target=None):
    from .export.numpy_code import export_numpy

    return export_numpy(graph, out_path, target)


def _torch(graph, out_path, target=None):
    from .export.torch_code import export_torch

    return export_torch(graph, out_path, target)


EXPORTERS = {"numpy": _numpy, "torch": _torch}
SUFFIXES = {"numpy": (".py",), "torch": (".py",), "onnx": (".onnx",)}


def cmd_export(args) -> int:
    check_output(args.out, "--out", SUFFIXES.get(args.to, ()))
    graph = load_valid_graph(args.file, args)
    exporter = EXPORTERS.get(args.to)
    if exporter is None:  # pragma: no cover - argparse's choices come from EXPORTERS
        raise UsageError(f"argument --to: no exporter for {args.to!r}")
    if args.target is not None:
        _check_target(graph, args.target)
    extra = {"target": args.target} if args.target is not None and args.to in ("numpy", "torch") else {}
    for path in exporter(graph, args.out, **extra):
        print(f"wrote {path}")
    return 0


def _check_target(graph, name: str) -> None:
    from .problems import GraphError

    try:
        graph.find(name)
    except GraphError as exc:
        raise UsageError(f"argument --target: {exc}") from None


def add_commands(sub) -> None:
    from .export.plan import ExportError

    e = sub.add_parser("export", help="write the graph as code (staged numpy, PyTorch) or a model file",
                       description="numpy: the CS231n notes' staged forward and backward pass, which prints "
                                   "the table `run` prints; torch: a standalone PyTorch file with "
                                   "build_model(), the optimizer and a training loop. Large arrays go into "
                                   "an .npz beside the file.")
    e.add_argument("file", help="graph file (.json)")
    e.add_argument("--to", required=True, choices=sorted(EXPORTERS), help="what to write")
    e.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    e.add_argument("--target", metavar="NODE", help="numpy, torch: the node to differentiate and return "
                   "(default: the only output, else the one loss among the outputs)")
    e.set_defaults(fn=cmd_export, errors=(ExportError,))
