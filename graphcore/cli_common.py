"""What every subcommand shares: the parser, flag checks, output-path checks, errors, JSON, progress.

The rule of the command line: bad input (a flag, a file, a graph) is one line on stderr
starting `error: ` and exit 2, decided before any work starts, never a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import tempfile

import numpy as np

from . import limits
from .fileformat import GraphFormatError, load
from .numfmt import fmt_number
from .problems import GraphError, NumericError, node_label

PROG = "main.py"


def command_prefix() -> str:
    """How to run this program again, in a line the user may paste: the installed `backprop-studio`
    command when that is what ran, else `python main.py` (from the repository root)."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "backprop-studio" if name == "backprop-studio" else f"python {PROG}"


class UsageError(ValueError):
    """A bad flag value or output path: one line naming the flag, exit 2."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows '(default: X)' for options whose default says something (not None, not a False switch)."""

    def _get_help_string(self, action):
        text = action.help or ""
        quiet = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "%(default)" in text or "default:" in text or quiet:
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line, exit 2 (argparse's code), like every other bad input
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


# ---------------------------------------------------------------- flag value types
def whole(lo: int):
    """An argparse type: an integer >= lo; the message names the value (argparse adds the flag)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {lo}, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {lo}, got {text!r}")
        return v
    parse.__name__ = f"whole number >= {lo}"
    return parse


def nonnegative(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return v


def positive(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return v


def memory_size(text: str) -> int:
    """An argparse type: a size such as 4G, 512M or 2000000 (bytes), at least 1M."""
    try:
        return limits.parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


memory_size.__name__ = "size"


def check_order(lo_flag: str, lo: float, hi_flag: str, hi: float) -> None:
    if lo > hi:
        raise UsageError(f"argument {lo_flag}: {fmt_number(lo)} is above {hi_flag} {fmt_number(hi)}")


def check_output(path: str | None, flag: str, exts: tuple[str, ...] = (), regular: bool = True) -> None:
    """Refuse an output path that cannot be written, before the work that would fill it.

    With `regular` (files saved atomically, by renaming over the target) an existing target must
    be a regular file: renaming over a pipe or a device node would replace it with a file."""
    if path is None:
        return
    if path == "":
        raise UsageError(f"argument {flag}: an empty path; give a file name")
    if exts and os.path.splitext(path)[1].lower() not in exts:
        raise UsageError(f"argument {flag}: {printable(path)} must end in {' or '.join(exts)}")
    if os.path.isdir(path):
        raise UsageError(f"argument {flag}: {printable(path)} is a folder; give a file name")
    if regular and os.path.islink(path) and not os.path.exists(path):
        raise UsageError(f"argument {flag}: {printable(path)} is a dangling symbolic link (to "
                         f"{printable(os.readlink(path))}, which does not exist); give a file name")
    if regular and os.path.lexists(path) and not os.path.isfile(path):
        raise UsageError(f"argument {flag}: {printable(path)} is not a regular file (a device, pipe or socket); "
                         f"give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"argument {flag}: {printable(path)}: the folder {printable(folder)} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"argument {flag}: {printable(path)}: not writable (permission denied)")
    if regular or not os.path.exists(path):
        # the one sure test (os.access says yes to root on a read-only or pseudo file system such as
        # /proc): create a file beside the target, as the atomic save will, and remove it
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise UsageError(f"argument {flag}: {printable(path)}: cannot create a file in {printable(folder)} "
                             f"({exc.strerror or exc})") from None


def same_file(a: str | None, b: str | None) -> bool:
    """Do two output paths name one file (an existing one through any link, or the same new path)?"""
    if not a or not b:
        return False
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text) -> str:
    """Text for a terminal: control characters (newlines, escape codes) shown as escapes, never sent raw."""
    text = str(text)
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


# ---------------------------------------------------------------- graphs and their errors
def load_valid_graph(path: str, args=None):
    """Load a graph file and refuse it (GraphError, exit 2) when the graph has problems.

    With `args`, the graph is remembered on it so later errors can name nodes by name."""
    g = load(path)
    if args is not None:
        args.graph = g
    problems = g.validate()
    if problems:
        raise GraphError(problems)
    return g


def check_training_memory(graph, cfg, data, workers: int = 1) -> None:
    """Refuse, before training starts, a net whose batches would not fit the memory budget
    (shared by `workers` processes): the plan sized for the largest batch training feeds it."""
    from .tensorcheck import check_plan
    from .train.config import ConfigError
    from .train.trainer import detect_roles

    roles = detect_roles(graph, cfg)
    n_train = len(data.X_train)
    batch = n_train if not cfg.batch_size else min(cfg.batch_size, n_train)
    n = max(batch, min(cfg.eval_batch, max(n_train, len(getattr(data, "X_val", ())))))
    rows = {roles[r]: n for r in ("features", "labels") if roles.get(r)}
    x = data.X_train
    cfg.check_images(x.shape)
    budget = limits.memory_limit() // max(1, workers)
    costs = check_plan(graph, np.dtype(cfg.dtype), budget, rows=rows)
    if x.ndim == 4 and (cfg.augment.get("shift") or cfg.augment.get("flip")):
        # preprocess.augment: the augmented batch and its zero mask (and the mask's inverse)
        aug = batch * math.prod(x.shape[1:]) * (x.itemsize + 2)
        plan = sum(c.nbytes for c in costs)
        if plan + aug > budget:
            raise ConfigError(f"meta.training.augment: the augmented batches need about {limits.fmt_bytes(aug)} "
                              f"besides the graph's {limits.fmt_bytes(plan)}, over the budget of "
                              f"{limits.fmt_bytes(budget)} (--memory-limit)")


@contextlib.contextmanager
def shared_memory(workers: int):
    """A search's workers each get budget / workers (they inherit it through the environment)."""
    if workers <= 1:
        yield
        return
    with memory_limit(limits.memory_limit() // workers):
        yield


def names_only(text: str, graph) -> str:
    """Drop " (id 'n7')" after a node's name in a message when the name alone is unambiguous."""
    if graph is None:
        return text
    for nid, node in graph.nodes.items():
        if f"{node.name!r} (id {nid!r})" in text and node_label(graph, nid) == repr(node.name):
            text = text.replace(f"{node.name!r} (id {nid!r})", repr(node.name))
    return text


def describe_graph_error(exc: GraphError, graph) -> str:
    return "; ".join(p.describe(graph) for p in exc.problems)


def run_command(args, extra_errors: tuple = ()) -> int:
    """Call args.fn(args); every expected failure becomes one `error:` line and exit 2."""
    args.graph = None
    path = getattr(args, "file", None)
    prefix = f"{path}: " if path else ""
    try:
        with memory_limit(getattr(args, "memory_limit", None)):
            return int(args.fn(args) or 0)
    except UsageError as exc:
        msg = str(exc)
    except GraphFormatError as exc:  # names the file and the JSON path already
        msg = str(exc)
    except GraphError as exc:
        msg = prefix + describe_graph_error(exc, args.graph)
    except NumericError as exc:
        msg = prefix + names_only(str(exc), args.graph)
    except extra_errors as exc:
        msg = prefix + names_only(str(exc), args.graph)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a shell tool does
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        except (OSError, ValueError):
            pass
        return 141  # 128 + SIGPIPE
    except OSError as exc:  # writing an output after all (disk full, removed folder)
        msg = f"{exc.filename or path}: {exc.strerror or exc}"
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print("error: " + printable(clip_quoted(msg.replace("\n", " "))), file=sys.stderr)
    return 2


# a repr in either quoting style (Python picks "..." for a text holding an apostrophe), not "graph's"
_QUOTED = re.compile(r"""(?<!\w)(?:'(?:[^'\\]|\\.){%d,}'|"(?:[^"\\]|\\.){%d,}")(?!\w)"""
                     % (limits.EXCERPT + 1, limits.EXCERPT + 1))


def clip_quoted(message: str) -> str:
    """The last guard of the one error line: any quoted value longer than the excerpt is cut."""
    return _QUOTED.sub(lambda m: m.group(0)[: limits.EXCERPT - 4] + "..." + m.group(0)[0], message)


@contextlib.contextmanager
def memory_limit(nbytes: int | None):
    """--memory-limit for the duration of one command (also for the processes it starts)."""
    if nbytes is None:
        yield
        return
    saved, env = limits._budget, os.environ.get(limits.MEMORY_ENV)
    limits.set_memory_limit(nbytes)
    try:
        yield
    finally:
        limits.set_memory_limit(saved, children=False)
        if env is None:
            os.environ.pop(limits.MEMORY_ENV, None)
        else:
            os.environ[limits.MEMORY_ENV] = env


# ---------------------------------------------------------------- output
def jsonable(v):
    """Plain JSON values: numpy scalars to Python, NaN/Inf to null (JSON has no NaN)."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def emit_json(doc: dict) -> None:
    print(json.dumps(jsonable(doc), allow_nan=False, indent=2))


def progress(total: int, desc: str, unit: str, quiet: bool):
    """A tqdm bar on stderr (with ETA); stdout stays for results and --json."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet, dynamic_ncols=True,
                leave=True, mininterval=0.1 if sys.stderr.isatty() else 1.0)


def add_memory_limit(p) -> None:
    """--memory-limit on every command that builds a plan (run, check, train, sanity, search, render)."""
    p.add_argument("--memory-limit", type=memory_size, metavar="SIZE",
                   help="refuse a graph whose buffers would need more than this, such as 4G or 512M "
                        f"(default: a quarter of this machine's memory, {limits.fmt_bytes(limits.default_budget())}, "
                        f"or ${limits.MEMORY_ENV})"
                        + ("; a search divides it among its workers" if p.prog.split()[-1] == "search" else ""))


def add_common(p, *, json_flag: bool = True, quiet: bool = False) -> None:
    add_memory_limit(p)
    if json_flag:
        p.add_argument("--json", action="store_true",
                       help="print one JSON document on stdout instead of text (schema: docs/cli.md)")
    if quiet:
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar on stderr")
