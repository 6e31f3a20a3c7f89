"""`main.py export FILE --to FORMAT --out PATH` and `main.py import MODEL.onnx --out GRAPH.json`.

Each export format is one entry of EXPORTERS (name -> callable(graph, out_path)); `--to`
offers exactly those. Bad input is one `error:` line and exit 2, decided before writing.
"""
from __future__ import annotations

import os

from .cli_common import UsageError, add_common, check_output, emit_json, load_valid_graph, printable
from .export.onnx_support import OnnxUnavailable
from .train import datapath


def export_onnx_file(graph, out_path: str) -> None:
    """ONNX, opset 17, float32 (the type every runtime runs); the Python API also writes float64."""
    from .export.onnx_export import export_onnx

    export_onnx(graph, out_path)


EXPORTERS = {"onnx": export_onnx_file}


def cmd_export(args) -> int:
    check_output(args.out, "--out")
    g = load_valid_graph(args.file, args)
    try:
        EXPORTERS[args.to](g, args.out)
    except OnnxUnavailable as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        emit_json({"command": "export", "file": args.file, "to": args.to, "out": args.out})
    else:
        print(f"wrote {printable(args.out)} ({args.to})")
    return 0


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
    return 0


def _size(text: str) -> int:
    import argparse

    try:
        return datapath.parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_size.__name__ = "size"


def add_commands(sub) -> None:
    e = sub.add_parser("export", help="write the graph in another format (" + ", ".join(EXPORTERS) + ")",
                       description="Write the graph for another tool: onnx (opset 17, float32: inputs, weights "
                                   "as initializers, node names kept; docs/onnx.md).")
    e.add_argument("file", help="graph file (.json)")
    e.add_argument("--to", required=True, choices=sorted(EXPORTERS), help="the format to write")
    e.add_argument("--out", required=True, metavar="PATH", help="the file to write (replaced atomically)")
    add_common(e)
    e.set_defaults(fn=cmd_export)
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
