"""`python main.py render FILE --out graph.png`: draw a graph file's canvas to PNG or SVG, offscreen.

No window is shown; the same scene and view as the editor draw the picture. By default the
picture carries every value and gradient (a backward pass), or the values alone when the
graph has no single output to differentiate. This module imports Qt only when a picture is
drawn, so registering the command (`add_commands`) costs main.py nothing.
"""
from __future__ import annotations

import argparse
import os
import sys

PASSES = ("auto", "none", "forward", "backward")
EXTS = (".png", ".svg")


def add_commands(sub) -> None:
    """Register `render` on main.py's subparsers (no Qt import here)."""
    p = sub.add_parser("render", help="draw the canvas (PNG or SVG) offscreen, with values and gradients",
                       description="Draw a graph file's canvas to an image with the editor's own scene, "
                                   "offscreen (no display needed).")
    _arguments(p)
    p.set_defaults(fn=cmd_render, errors=(ValueError,))


def _arguments(p: argparse.ArgumentParser) -> None:
    from graphcore.cli_common import add_memory_limit

    p.add_argument("file", help="graph file (.json)")
    p.add_argument("--out", required=True, metavar="IMAGE", help="output image: .png or .svg")
    p.add_argument("--theme", choices=("light", "dark"), default="light", help="colours")
    p.add_argument("--pass", dest="pass_", choices=PASSES, default="auto",
                   help="labels on the wires: backward = values and gradients, forward = values, none = "
                        "bare graph; auto = backward, or forward when the graph has no single output")
    add_memory_limit(p)


def cmd_render(args) -> int:
    from graphcore.cli_common import check_output

    import graphcore as gc

    check_output(args.out, "--out", EXTS)
    args.graph = gc.load(args.file)  # kept on args so an error can name nodes by name
    drawn, why = render(args.file, args.out, args.theme, args.pass_, graph=args.graph)
    if why:
        print(f"note: {why}", file=sys.stderr)
    print(args.out)
    return 0


def auto_pass(graph) -> tuple[str, str]:
    """backward when the graph has one output to differentiate (as the Run toolbar picks it), else forward."""
    if not graph.nodes:
        return "none", "the graph is empty"
    sinks = graph.sinks()
    losses = [s for s in sinks if (sp := graph.nodes[s].spec) is not None and sp.category == "losses"]
    if len(sinks) == 1 or len(losses) == 1:
        return "backward", ""
    names = ", ".join(graph.nodes[s].name for s in sinks)
    return "forward", f"drew values only: no single output to differentiate ({names}) (--pass none draws the graph without values)"


def render(path: str, out: str, theme_name: str = "light", pass_: str = "auto", graph=None) -> tuple[str, str]:
    """Draw `path` into `out`; returns (the pass drawn, why auto chose less than backward, or "").

    Raises GraphFormatError / ValueError / OSError with a readable message."""
    import graphcore as gc
    from graphcore.uilimits import check_graph

    ext = os.path.splitext(out)[1].lower()
    if ext not in EXTS:
        raise ValueError(f"{out}: the output must end in .png or .svg")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise OSError(f"{out}: the folder {folder} does not exist")
    graph = gc.load(path) if graph is None else graph
    check_graph(graph, file=path)  # positions far off the canvas: refused before Qt sizes anything
    which, why = auto_pass(graph) if pass_ == "auto" else (pass_, "")
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:  # headless by definition, display or not
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # the offscreen platform warns about window hints it ignores; a command-line tool stays quiet
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    from PySide6.QtGui import QUndoStack

    from . import application, theme
    from .canvas.scene import GraphScene
    from .canvas.view import GraphView

    app = application()
    before = app.property("backpropTheme")  # an open window's theme is not the picture's business
    theme.apply_theme(theme_name, app)
    try:
        stack = QUndoStack()
        scene = GraphScene(graph, stack)
        view = GraphView(scene)
        if which != "none":
            apply_pass(graph, scene, which)
        result = view.export_image(out)
    finally:
        if before in theme.THEMES:
            theme.apply_theme(before, app)
    if result is False or not os.path.exists(out) or os.path.getsize(out) == 0:
        raise OSError(f"{out}: could not write the image")
    return which, why


def apply_pass(graph, scene, which: str) -> None:
    """Overlay a forward or backward pass on the wires (the run view's labels, issue 5)."""
    from .run.render_pass import apply_pass as run_pass

    run_pass(graph, scene, which)


def main(argv: list[str] | None = None) -> int:
    """`render` alone (tests and scripts); main.py reaches the same cmd_render through its one parser."""
    from graphcore.cli_common import Parser, run_command

    p = Parser(prog="main.py render", description="Draw a graph file's canvas to an image, offscreen.")
    _arguments(p)
    p.set_defaults(fn=cmd_render, errors=(ValueError,))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    return run_command(args, args.errors)
