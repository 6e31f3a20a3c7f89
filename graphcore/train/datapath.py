"""Data files named by a graph: where they may be, what may be read, and how much.

A graph file is data someone else may have written, so the path it names for its
training data is resolved relative to the graph file's folder and may not leave it
(absolute paths, `..`, a symlink pointing out). The user lifts that for one path by
naming it themselves (`--data PATH`, confirming it once in the GUI, or a script's
`DataPolicy().allowing(path)`): such paths are the policy's `allow` list. Only regular
files are read (never a device, FIFO, folder or socket), and at most `max_bytes` of them,
even if the file grows while it is read.

A policy is an explicit argument all the way down (Trainer, TrainJob, the GUI's training
process, a search's workers): no process-wide state, so nothing a parent's environment
holds can widen what a child reads. A call given no policy gets the defaults.
"""
from __future__ import annotations

import codecs
import itertools
import os
import stat
from dataclasses import dataclass, field, replace

from ..limits import EXCERPT, excerpt, fmt_bytes
from ..limits import parse_size as parse_any_size

MAX_BYTES = 256 * 1024 * 1024  # a data file, and the float64 array built from it or generated
MAX_POINTS = 1_000_000  # examples (rows) in a data set
MAX_CLASSES = 10_000  # class labels are 0 .. MAX_CLASSES - 1
API_HINT = ("allow it (Trainer(g, policy=DataPolicy().allowing(PATH))) or hand the data over yourself "
            "(Trainer(g, dataset=datasets.load_csv(PATH)))")
GRAPH_FOLDER = "the graph file's folder"
CURRENT_FOLDER = "the current folder (the graph was not loaded from a file)"
_KIND = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
         (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


class DatasetError(ValueError):
    """A dataset that cannot be built or read; the message names the file, row and column."""


@dataclass(frozen=True)
class DataPolicy:
    """Bounds on training data, and the data paths the user named themselves (real paths).

    `hint` says how the user of this front end allows a refused path (a flag, a dialog, a call);
    it only shapes the refusal's message. Frozen and plain, so it pickles into child processes."""

    max_bytes: int = MAX_BYTES
    max_points: int = MAX_POINTS
    max_classes: int = MAX_CLASSES
    allow: tuple[str, ...] = ()
    hint: str = field(default=API_HINT, compare=False)

    def allowing(self, *paths: str) -> "DataPolicy":
        """This policy plus `paths` (files the user named themselves), by real path."""
        return replace(self, allow=tuple(dict.fromkeys(self.allow + tuple(os.path.realpath(p) for p in paths))))


# ---------------------------------------------------------------- quoting and sizes
quote = excerpt  # repr() of a value from a file, cut to about EXCERPT characters (graphcore.limits)


def quote_list(items, limit: int = EXCERPT) -> str:
    """'a', 'b', 'c' cut to about `limit` characters, saying how many were left out."""
    items = list(items)
    out, used = [], 0
    for i, it in enumerate(items):
        q = quote(it, 40)
        if used + len(q) > limit and out:
            return ", ".join(out) + f" and {len(items) - i} more"
        out.append(q)
        used += len(q) + 2
    return ", ".join(out) or "none"


def short_path(path) -> str:
    """A path for a message: the end of it (the file name) when it is long."""
    text = str(path)
    return text if len(text) <= EXCERPT else "..." + text[-(EXCERPT - 3):]


def parse_size(text: str) -> int:
    """'256M', '2G', '4096' (bytes) -> bytes: limits.parse_size with any size of at least 1 byte."""
    return parse_any_size(text, minimum=1)


fmt_size = fmt_bytes


# ---------------------------------------------------------------- where a file may be
def folder_for(graph_file: str | None, base_dir: str | None = None) -> tuple[str, str]:
    """Where a graph's data paths start and may not leave, and how a message names that folder:
    `base_dir` when the caller says where the graph lives, else the folder of the file the graph
    was loaded from (Graph.file), else the current folder."""
    if base_dir is not None:
        return os.path.abspath(base_dir), GRAPH_FOLDER
    if graph_file:
        return os.path.dirname(os.path.abspath(graph_file)), GRAPH_FOLDER
    return os.getcwd(), CURRENT_FOLDER


def resolve(value, base_dir: str | None, policy: DataPolicy | None = None, key: str = "path",
            where: str = GRAPH_FOLDER) -> str:
    """The file a dataset spec's `path` names, as a real path; DatasetError if it may not be read.

    `base_dir` is the graph's folder (`where` names it in messages): relative paths start there
    and must stay inside it unless `policy` allows the file. With no `base_dir` the path is the
    caller's own (a script's direct datasets.load call), taken as given."""
    policy = policy or DataPolicy()
    if not isinstance(value, str) or not value:
        raise DatasetError(f"{key} must be a file name, got {quote(value)}")
    if "\0" in value or len(value) > 4096:
        raise DatasetError(f"{key} {quote(value)} is not a usable file name")
    if base_dir is None:
        return os.path.realpath(value)
    base = os.path.realpath(base_dir)
    real = os.path.realpath(os.path.join(base, value))  # an absolute value replaces base
    if real in policy.allow:
        return real
    if os.path.isabs(value):
        why = "is an absolute path"
    elif os.path.commonpath([base, real]) != base:
        lexical = os.path.normpath(os.path.join(base, value))
        inside = os.path.commonpath([base, lexical]) == base
        why = f"leads out of {where} through a symbolic link" if inside else f"leads out of {where}"
    else:
        return real
    raise DatasetError(f"{key} {quote(value)} {why}; a graph names its data by a relative path inside {where}. "
                       f"To use this file, {policy.hint}")


def describe(path: str) -> str | None:
    """'a FIFO (named pipe)' etc. for something that is not a regular file, None for a regular file."""
    st = os.stat(path)
    if stat.S_ISREG(st.st_mode):
        return None
    return next((what for test, what in _KIND if test(st.st_mode)), "not a regular file")


_read = os.read  # one name for the reads, so a test can grow the file between them


def _open_regular(path: str, shown: str, policy: DataPolicy) -> int:
    """A read-only descriptor of a regular file of at most policy.max_bytes (DatasetError otherwise)."""
    try:
        kind = describe(path)
        if kind is not None:
            raise DatasetError(f"{shown}: is {kind}, not a regular file; only regular files are read")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise DatasetError(f"{shown}: cannot read the file: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced between the stat and the open
            raise DatasetError(f"{shown}: not a regular file; only regular files are read")
        if st.st_size > policy.max_bytes:
            raise DatasetError(_too_big(shown, policy).replace("larger than",
                                                               f"{fmt_size(st.st_size)}, larger than"))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _too_big(shown: str, policy: DataPolicy) -> str:
    return f"{shown}: the file is larger than the data limit of {fmt_size(policy.max_bytes)} (raise it with --data-limit)"


def _chunks(fd: int, shown: str, policy: DataPolicy):
    """The file's bytes, 1 MB at a time, at most policy.max_bytes of them (a growing file is refused)."""
    limit, total = policy.max_bytes, 0
    try:
        while True:
            chunk = _read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                return
            total += len(chunk)
            if total > limit:
                raise DatasetError(_too_big(shown, policy) + " (it grew while it was read)")
            yield chunk
    except OSError as exc:
        raise DatasetError(f"{shown}: cannot read the file: {exc.strerror or exc}") from None


def read_bytes(path: str, shown: str | None = None, policy: DataPolicy | None = None) -> bytes:
    """The whole of a regular file of at most policy.max_bytes; never blocks on a FIFO, never reads on
    from a device or a file that keeps growing."""
    policy = policy or DataPolicy()
    shown = short_path(shown if shown is not None else path)
    fd = _open_regular(path, shown, policy)
    try:
        return b"".join(_chunks(fd, shown, policy))
    finally:
        os.close(fd)


def text_lines(path: str, shown: str | None = None, policy: DataPolicy | None = None):
    """The lines of a UTF-8 text file (a BOM dropped), each with its '\\n', read and decoded as they
    are asked for: a reader that stops at its row limit never holds the rest of the file. The same
    bounds as read_bytes; DatasetError naming the first byte that is not UTF-8. The file is opened
    (and a bad one refused) at the call, and closed when the lines end or are dropped."""
    policy = policy or DataPolicy()
    shown = short_path(shown if shown is not None else path)
    fd = _open_regular(path, shown, policy)
    return _decoded_lines(fd, shown, policy)


def _decoded_lines(fd: int, shown: str, policy: DataPolicy):
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    done, tail = 0, ""  # bytes decoded before this chunk; text after the last newline
    try:
        for chunk in itertools.chain(_chunks(fd, shown, policy), [None]):
            try:
                text = decoder.decode(chunk or b"", final=chunk is None)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                at = done - pending + exc.start + 1
                raise DatasetError(f"{shown}: not a UTF-8 text file (byte {at} is not text)") from None
            done += len(chunk or b"")
            lines = (tail + text).split("\n")
            tail = lines.pop()
            for line in lines:
                yield line + "\n"
        if tail:
            yield tail
    finally:
        os.close(fd)


__all__ = ["API_HINT", "CURRENT_FOLDER", "DataPolicy", "DatasetError", "GRAPH_FOLDER", "MAX_BYTES", "MAX_CLASSES",
           "MAX_POINTS", "fmt_size", "folder_for", "parse_size", "quote", "quote_list", "read_bytes", "resolve",
           "short_path", "text_lines"]
