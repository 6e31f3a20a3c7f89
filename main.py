"""Backprop Studio: `main.py [FILE]` opens the editor; `main.py COMMAND ...` runs headless.

One argparse parser, built from each package's `add_commands(subparsers)`: graphcore's
run, check, train, sanity and search, and the app's render (which imports Qt only when
it draws). `main.py --help` lists them; `main.py help COMMAND` shows one command's flags.
"""
from __future__ import annotations

import os
import sys

DESCRIPTION = "Wire gates and layers into a computational graph and watch backpropagation happen."
EPILOG = ("With no COMMAND, opens the editor (with FILE when given: an existing path or a name ending in "
          ".json). Bad input prints one line starting 'error:' on stderr and exits 2.")

# Qt's xcb platform plugin loads these; PySide6 wheels do not ship them (soname, Debian/Ubuntu package)
XCB_LIBS = (("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
            ("libxcb-icccm.so.4", "libxcb-icccm4"), ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
            ("libxcb-shape.so.0", "libxcb-shape0"), ("libxcb-xkb.so.1", "libxcb-xkb1"),
            ("libxcb-randr.so.0", "libxcb-randr0"), ("libxcb-render-util.so.0", "libxcb-render-util0"),
            ("libxcb-image.so.0", "libxcb-image0"))


def version() -> str:
    """The installed distribution's version; the source tree's when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("backprop-studio")
    except PackageNotFoundError:
        from graphcore import __version__

        return __version__


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "backprop-studio" if name == "backprop-studio" else "main.py"


def build_parser(prog: str | None = None):
    """The whole command line (no Qt import: render's command imports it when it runs)."""
    from app.render import add_commands as app_commands
    from graphcore.cli import add_commands as core_commands
    from graphcore.cli_common import Parser

    prog = prog or _prog()
    p = Parser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
               usage=f"{prog} [-h] [-V] [FILE]\n       {prog} COMMAND [options] FILE")
    p.add_argument("-V", "--version", action="version", version=f"backprop-studio {version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=Parser, prog=prog)
    core_commands(sub)
    app_commands(sub)
    h = sub.add_parser("help", help="show this help, or one command's (help train)")
    h.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to explain")
    sub.add_parser("version", help="print the version (like --version)")
    return p


def _subparsers(parser):
    return next(a for a in parser._actions if a.dest == "command").choices


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return open_editor(None)
    parser = build_parser()
    commands = _subparsers(parser)
    first = argv[0]
    if first not in commands and not first.startswith("-"):
        if os.path.exists(first) or first.lower().endswith(".json"):
            if len(argv) > 1:
                parser.print_usage(sys.stderr)
                print(f"error: the editor opens one FILE; unexpected {' '.join(argv[1:])!r}", file=sys.stderr)
                return 2
            return open_editor(first)
        parser.print_usage(sys.stderr)
        print(f"error: unknown command {first!r} (choose from {', '.join(commands)}); "
              f"to open a graph in the editor give an existing file or a .json name", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "help":
        if args.topic is None:
            parser.print_help()
        elif args.topic in commands:
            commands[args.topic].print_help()
        else:
            print(f"error: argument COMMAND: unknown command {args.topic!r} (choose from {', '.join(commands)})",
                  file=sys.stderr)
            return 2
        return 0
    if args.command == "version":
        print(f"backprop-studio {version()}")
        return 0
    from graphcore.cli_common import run_command

    return run_command(args, getattr(args, "errors", ()))


def open_editor(path: str | None) -> int:
    problem = display_problem() or missing_platform_libraries()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from app import run_gui

    return run_gui(path)


def display_problem() -> str | None:
    """Qt aborts the process when it finds no screen; say so in one line instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display found (DISPLAY and WAYLAND_DISPLAY are unset); run it in a desktop session, "
            f"or use `{_command()} render FILE --out graph.png` to draw a graph without one")


def _command() -> str:
    """How the user started this program: the installed script, or the source tree's main.py."""
    return "backprop-studio" if _prog() == "backprop-studio" else "python main.py"


def qt_platform() -> str:
    """The platform plugin Qt will pick on Linux: QT_QPA_PLATFORM, else wayland in a Wayland session, else xcb."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY") and os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def can_load(soname: str) -> bool:
    """What Qt's plugin loader will find: the dynamic loader's answer for this exact soname."""
    import ctypes

    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def missing_platform_libraries() -> str | None:
    """Qt's "could not load the Qt platform plugin xcb" names no library; name it and its package."""
    if not sys.platform.startswith("linux") or qt_platform() != "xcb":
        return None
    missing = [(so, pkg) for so, pkg in XCB_LIBS if not can_load(so)]
    if not missing:
        return None
    one = len(missing) == 1
    names = ", ".join(so for so, _ in missing)
    return (f"Qt's xcb platform plugin needs {names}, which {'is' if one else 'are'} not installed; "
            f"on Debian/Ubuntu install {'it' if one else 'them'} with: "
            f"sudo apt-get install {' '.join(pkg for _, pkg in missing)}")


if __name__ == "__main__":
    sys.exit(main())
