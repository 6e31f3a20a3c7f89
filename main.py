"""Backprop Studio: `python main.py [FILE]` opens the editor; subcommands run headless.

    python main.py run FILE          forward + backward, print a table of values and gradients
    python main.py check FILE        validate and gradient-check (exit 0 ok, 1 failed, 2 bad file)
    python main.py train FILE ...    train the graph with the settings stored in it
    python main.py render FILE ...   draw the graph to an image, offscreen
"""
from __future__ import annotations

import sys

HEADLESS = {"run", "check", "train", "render", "search", "sanity"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HEADLESS:
        if argv[0] == "render":
            from app.render import main as render_main

            return render_main(argv[1:])
        from graphcore.cli import main as cli_main

        return cli_main(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    problem = _display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from app import run_gui

    return run_gui(argv[0] if argv else None)


def _display_problem() -> str | None:
    """Qt aborts the process when it finds no screen; say so in one line instead."""
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display found (DISPLAY and WAYLAND_DISPLAY are unset); run it in a desktop session, "
            "or use `python main.py render FILE --out graph.png` to draw a graph without one")


if __name__ == "__main__":
    sys.exit(main())
