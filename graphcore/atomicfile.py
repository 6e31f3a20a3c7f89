"""Write a file all at once or not at all: a temp file beside it, flushed, renamed over.

Graph files (fileformat.save) and exports (graphcore.export) share these rules: an existing
target must be a regular file (renaming over a device or a pipe would replace it) and keeps its
permissions; a new file gets what open() would give it, not mkstemp's 0600.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace `path` with `data` atomically; an existing target must be a regular file and keeps
    its permissions (the same rules as fileformat.save)."""
    write_with(path, lambda f: f.write(data))


def write_with(path: str | os.PathLike, fill) -> None:
    """write_bytes, with `fill(binary file)` writing the content (large arrays straight to disk)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "not a regular file (a device, pipe or socket); not replaced", path)
    if st is not None:
        mode = stat.S_IMODE(st.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".~" + os.path.basename(path), suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
