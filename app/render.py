"""`python main.py render FILE --out graph.png`: draw a graph file's canvas to PNG or SVG, offscreen.

No window is shown; the same scene and view as the editor draw the picture. A bad
file prints one line to stderr and exits with 2.
"""
from __future__ import annotations

import argparse
import os
import sys

PASSES = ("none", "forward", "backward")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"render: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py render", description="Draw a graph file's canvas to an image, offscreen.")
    p.add_argument("file", help="graph file (.json)")
    p.add_argument("--out", required=True, help="output image: .png or .svg")
    p.add_argument("--theme", choices=("light", "dark"), default="light", help="colours (default: light)")
    p.add_argument("--pass", dest="pass_", choices=PASSES, default="none",
                   help="overlay values (forward) or gradients (backward) on the wires")
    return p


def render(path: str, out: str, theme_name: str = "light", pass_: str = "none") -> None:
    """Draw `path` into `out`; raises GraphFormatError / ValueError / OSError with a readable message."""
    import graphcore as gc

    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".svg"):
        raise ValueError(f"{out}: the output must end in .png or .svg")
    graph = gc.load(path)
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
    theme.apply_theme(theme_name, app)
    stack = QUndoStack()
    scene = GraphScene(graph, stack)
    view = GraphView(scene)
    if pass_ != "none":
        apply_pass(graph, scene, pass_)
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise OSError(f"{out}: the folder {folder} does not exist")
    result = view.export_image(out)
    if result is False or not os.path.exists(out) or os.path.getsize(out) == 0:
        raise OSError(f"{out}: could not write the image")


def apply_pass(graph, scene, which: str) -> None:
    """Overlay a forward or backward pass on the wires (the run view's labels, issue 5)."""
    from .run.render_pass import apply_pass as run_pass

    run_pass(graph, scene, which)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        render(args.file, args.out, args.theme, args.pass_)
    except (ValueError, OSError) as exc:  # GraphFormatError is a ValueError and names the file and JSON path
        msg = str(exc).replace("\n", " ")
        print(f"render: {msg}", file=sys.stderr)
        return 2
    print(args.out)
    return 0
