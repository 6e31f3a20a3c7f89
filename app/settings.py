"""Where the app keeps its preferences (QSettings) and its data (autosaves).

One place decides the locations so tests can redirect both: QSettings is always
an INI file in the user scope (tests call QSettings.setPath(IniFormat, UserScope,
tmp)), and the data directory honours BACKPROP_STUDIO_DATA_DIR.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QSettings

ORG = "backprop-studio"
APP = "backprop-studio"
DATA_DIR_ENV = "BACKPROP_STUDIO_DATA_DIR"
MAX_RECENT = 10


def settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


def data_dir() -> str:
    """The user's data directory (created on demand)."""
    path = os.environ.get(DATA_DIR_ENV)
    if not path:
        import platformdirs

        path = platformdirs.user_data_dir(APP, appauthor=False)
    os.makedirs(path, exist_ok=True)
    return path


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def recent_files() -> list[str]:
    return _as_list(settings().value("recentFiles"))


def add_recent_file(path: str) -> list[str]:
    """Put `path` first in the recent list (deduplicated, capped); returns the list."""
    path = os.path.abspath(path)
    files = [f for f in recent_files() if os.path.abspath(f) != path]
    files.insert(0, path)
    files = files[:MAX_RECENT]
    s = settings()
    s.setValue("recentFiles", files)
    s.sync()
    return files


def remove_recent_file(path: str) -> list[str]:
    path = os.path.abspath(path)
    files = [f for f in recent_files() if os.path.abspath(f) != path]
    s = settings()
    s.setValue("recentFiles", files)
    s.sync()
    return files


def clear_recent_files() -> None:
    s = settings()
    s.setValue("recentFiles", [])
    s.sync()


def theme_name() -> str:
    name = settings().value("theme", "dark")
    return name if name in ("dark", "light") else "dark"


def set_theme_name(name: str) -> None:
    s = settings()
    s.setValue("theme", name)
    s.sync()


def memory_limit() -> int | None:
    """The memory budget of a plan in bytes (None: graphcore's default, a quarter of the machine's)."""
    from graphcore import limits

    value = settings().value("memoryLimit", "")
    if not value:
        return None
    try:
        return limits.parse_size(str(value))
    except ValueError:
        return None


def set_memory_limit(text: str | None) -> int | None:
    """Store a budget such as '4G' ('' or None: the default) and apply it to this process and the
    processes it starts (training, search); raises ValueError naming what is accepted."""
    from graphcore import limits

    nbytes = limits.parse_size(text) if text else None
    s = settings()
    s.setValue("memoryLimit", str(text) if text else "")
    s.sync()
    apply_memory_limit()
    return nbytes


_env_before: list = []  # the environment's budget before the app first set its own (restored on reset)


def apply_memory_limit() -> None:
    """Hand the stored budget to graphcore (startup and after a change); without one, the
    environment's (if the user set one) or graphcore's default applies."""
    from graphcore import limits

    nbytes = memory_limit()
    if nbytes is not None:
        if not _env_before:
            _env_before.append(os.environ.get(limits.MEMORY_ENV))
        limits.set_memory_limit(nbytes)
        return
    limits.set_memory_limit(None, children=False)
    if _env_before:
        env = _env_before.pop()
        if env is None:
            os.environ.pop(limits.MEMORY_ENV, None)
        else:
            os.environ[limits.MEMORY_ENV] = env
