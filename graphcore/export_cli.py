"""`main.py export FILE --to FORMAT --out PATH` and `main.py import MODEL.onnx --out GRAPH.json`.

EXPORTERS maps each format to `callable(graph, out_path, target=None) -> list of written paths`;
`--to` offers exactly those and the GUI's File > Export menu uses the same table. Bad input is
one `error:` line and exit 2, decided before writing.
"""
from __future__ import annotations

import os
import sys

from .cli_common import UsageError, add_common, check_output, emit_json, load_valid_graph, printable
from .export.onnx_support import OnnxUnavailable
from .train import datapath

# what an imported graph lacks, said on the command line and in the app (README: ONNX)
ONNX_NOTICE = ("ONNX carries no data set or training settings: choose them in the app's Train panel, or run "
               "main.py train GRAPH --data FILE (default settings; --epochs, --lr, --batch-size change them)")


def _onnx(graph, out_path, target=None):
    """ONNX, opset 17, float32 (the type every runtime runs); the Python API also writes float64."""
    from .export.onnx_export import export_onnx

    export_onnx(graph, out_path)
    return [out_path]


def _numpy(graph, out_path, target=None):
    from .export.numpy_code import export_numpy

    return export_numpy(graph, out_path, target)


def _torch(graph, out_path, target=None):
    from .export.torch_code import export_torch

    return export_torch(graph, out_path, target)


EXPORTERS = {"onnx": _onnx, "numpy": _numpy, "torch": _torch}
SUFFIXES = {"numpy": (".py",), "torch": (".py",), "onnx": (".onnx",)}


def cmd_export(args) -> int:
    check_output(args.out, "--out", SUFFIXES.get(args.to, ()))
    graph = load_valid_graph(args.file, args)
    if args.target is not None:
        if args.to == "onnx":
            raise UsageError("argument --target: ONNX exports every output of the graph; --target is for numpy and torch")
        _check_target(graph, args.target)
    try:
        written = EXPORTERS[args.to](graph, args.out, args.target)
    except OnnxUnavailable as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        emit_json({"command": "export", "file": args.file, "to": args.to, "out": args.out,
                   "written": list(written)})
    else:
        for path in written:
            print(f"wrote {printable(path)}")
    return 0


def _check_target(graph, name: str) -> None:
    from .problems import GraphError

    try:
        graph.find(name)
    except GraphError as exc:
        raise UsageError(f"argument --target: {exc}") from None


def cmd_import(args) -> int:
    from .export.onnx_import import OnnxImportError, import_onnx
    from .fileformat import save

    check_output(args.out, "--out", exts=(".json",))
    policy = datapath.DataPolicy(max_bytes=args.data_limit) if args.data_limit else datapath.DataPolicy()
    try:
        g = import_onnx(args.file, policy)
    except (OnnxImportError, OnnxUnavailable) as exc:
        raise UsageError(str(exc)) from None
    save(g, args.out)
    if args.json:
        emit_json({"command": "import", "file": args.file, "out": args.out, "nodes": len(g.nodes)})
    else:
        print(f"wrote {printable(args.out)}: {len(g.nodes)} nodes from {printable(os.path.basename(args.file))}")
    print(f"note: {ONNX_NOTICE}", file=sys.stderr)
    return 0


def _size(text: str) -> int:
    import argparse

    try:
        return datapath.parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_size.__name__ = "size"


def add_commands(sub) -> None:
    from .export.plan import ExportError

    e = sub.add_parser("export", help="write the graph for another tool (" + ", ".join(EXPORTERS) + ")",
                       description="onnx: opset 17, float32, inputs, weights as initializers, node names kept "
                                   "(docs/onnx.md); numpy: the CS231n notes' staged forward and backward pass, "
                                   "which prints the table `run` prints; torch: a standalone PyTorch file with "
                                   "build_model(), the optimizer and a training loop. Large arrays go into an "
                                   ".npz beside a code file.")
    e.add_argument("file", help="graph file (.json)")
    e.add_argument("--to", required=True, choices=sorted(EXPORTERS), help="the format to write")
    e.add_argument("--out", required=True, metavar="PATH", help="the file to write (replaced atomically)")
    e.add_argument("--target", metavar="NODE", help="numpy, torch: the node to differentiate and return "
                   "(default: the only output, else the one loss among the outputs)")
    add_common(e)
    e.set_defaults(fn=cmd_export, errors=(ExportError,))
    i = sub.add_parser("import", help="read an ONNX model into a graph file",
                       description="Read an ONNX model (the ops in docs/onnx.md) and write it as a graph file, "
                                   "laid out left to right with its weights. Unsupported op types are listed "
                                   "and refused (exit 2).")
    i.add_argument("file", help="ONNX model (.onnx)")
    i.add_argument("--out", required=True, metavar="FILE", help="the graph file to write (.json)")
    i.add_argument("--data-limit", type=_size, metavar="SIZE",
                   help=f"largest model or external data file read, such as 512M (default: "
                        f"{datapath.fmt_size(datapath.MAX_BYTES)}, as for data sets)")
    add_common(i)
    i.set_defaults(fn=cmd_import)
