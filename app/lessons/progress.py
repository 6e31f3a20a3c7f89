"""Each user's lesson progress: a small JSON file in the user data dir, written atomically.

{"version": 1, "lessons": {ID: {"step": N, "done": bool}}}. A file that does not parse or has the
wrong shape is ignored (progress starts over) rather than stopping the dock from opening.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile

from .. import settings as app_settings

FILE = "lesson-progress.json"
MAX_BYTES = 1 << 20


def path() -> str:
    return os.path.join(app_settings.data_dir(), FILE)


def load() -> dict[str, dict]:
    try:
        # O_NONBLOCK: a FIFO at the path would block open() (and the GUI) until someone writes to it
        with os.fdopen(os.open(path(), os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return {}
            raw = f.read(MAX_BYTES + 1)
        doc = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_BYTES else None
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested deeper than the stack
        return {}
    lessons = doc.get("lessons") if isinstance(doc, dict) else None
    if not isinstance(lessons, dict):
        return {}
    out = {}
    for lid, p in list(lessons.items())[:1000]:
        if isinstance(lid, str) and isinstance(p, dict) and isinstance(p.get("step"), int) \
                and not isinstance(p.get("step"), bool) and 0 <= p["step"] <= 1000:
            out[lid] = {"step": p["step"], "done": p.get("done") is True}
    return out


def save(progress: dict[str, dict]) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    target = path()
    fd, tmp = tempfile.mkstemp(prefix=".lesson-progress-", suffix=".tmp", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "lessons": progress}, f, ensure_ascii=False, indent=1)
        os.replace(tmp, target)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
