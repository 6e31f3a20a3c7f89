"""Autosave every few edits, and find what a crashed session left behind.

Each running window writes `<data dir>/autosave/<session>.json` (the graph, via
graphcore's atomic save) plus `<session>.meta.json` (the original file name, the
time, the process id). A clean save or a clean close deletes both, so a pair that
is still there at the next start, from a process that is no longer running and
newer than the file it belongs to, means a crash: the app offers to recover it.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

import graphcore as gc

from .settings import data_dir

DEFAULT_EVERY = 5  # edits between autosaves
IDLE_MS = 30_000  # also autosave pending edits after this much quiet time
_LIVE: set[str] = set()  # autosave files owned by Autosavers alive in this process


def autosave_dir() -> str:
    path = os.path.join(data_dir(), "autosave")
    os.makedirs(path, exist_ok=True)
    return path


@dataclass(frozen=True)
class Recovery:
    file: str  # the autosaved graph
    meta_file: str
    original_path: str | None  # the file the user was editing, or None if untitled
    saved_at: float  # time.time() of the autosave

    @property
    def display_name(self) -> str:
        return os.path.basename(self.original_path) if self.original_path else "Untitled"

    def load(self) -> gc.Graph:
        """The autosaved graph, remembering the user's file (not the autosave folder) as where it came
        from: its training data paths are resolved from, and confined to, that file's folder."""
        g = gc.load(self.file)
        g.file = os.path.abspath(self.original_path) if self.original_path else None
        return g

    def discard(self) -> None:
        for f in (self.file, self.meta_file):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else
    return True


def find_recoverable() -> list[Recovery]:
    """Autosaves left by sessions that ended without cleaning up, newest first.

    Stale ones (older than the file they belong to, or unreadable) are deleted.
    """
    folder = autosave_dir()
    found: list[Recovery] = []
    for name in os.listdir(folder):
        if not name.endswith(".meta.json"):
            continue
        meta_file = os.path.join(folder, name)
        graph_file = meta_file[: -len(".meta.json")] + ".json"
        if os.path.abspath(graph_file) in _LIVE:
            continue
        try:
            with open(meta_file, encoding="utf-8") as f:
                meta = json.load(f)
            pid = int(meta.get("pid", 0))
            saved_at = float(meta["saved_at"])
            original = meta.get("path") or None
        except (OSError, ValueError, KeyError, TypeError):
            Recovery(graph_file, meta_file, None, 0.0).discard()
            continue
        if pid != os.getpid() and _pid_alive(pid):
            continue  # another running instance owns it
        rec = Recovery(graph_file, meta_file, original, saved_at)
        if not os.path.exists(graph_file):
            rec.discard()
            continue
        if original and os.path.exists(original) and os.path.getmtime(original) >= saved_at:
            rec.discard()  # the file was saved after this autosave: nothing to recover
            continue
        found.append(rec)
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return found


class Autosaver(QObject):
    """Watches one Document's undo stack and writes it every `every` edits."""

    saved = Signal(str)  # the autosave file written
    failed = Signal(str)  # a message, e.g. for the status bar

    def __init__(self, document, every: int = DEFAULT_EVERY, idle_ms: int = IDLE_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.every = max(1, int(every))
        self.pending = 0  # edits since the last autosave
        session = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        folder = autosave_dir()
        self.file = os.path.abspath(os.path.join(folder, session + ".json"))
        self.meta_file = os.path.join(folder, session + ".meta.json")
        _LIVE.add(self.file)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(idle_ms)
        self._idle.timeout.connect(self._on_idle)
        document.undo_stack.indexChanged.connect(self._on_edit)
        document.modified_changed.connect(self._on_modified)
        outside = getattr(document, "edited_outside_stack", None)
        if outside is not None:  # trained weights never pass the undo stack: write them at once
            outside.connect(self._on_outside_edit)

    def _on_edit(self, *_args) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(self.document):
            return
        if not self.document.modified:
            return
        self.pending += 1
        if self.pending >= self.every:
            self.save_now()
        else:
            self._idle.start()

    def _on_outside_edit(self) -> None:
        if shiboken6.isValid(self) and shiboken6.isValid(self.document) and self.document.modified:
            self.save_now()

    def _on_idle(self) -> None:
        if self.pending and self.document.modified:
            self.save_now()

    def _on_modified(self, modified: bool) -> None:
        if not modified:  # saved (or undone back to the saved state): nothing to recover
            self.pending = 0
            self._remove_files()

    def save_now(self) -> bool:
        """Write the autosave pair now; returns False (and emits failed) on an OS error."""
        self._idle.stop()
        try:
            gc.save(self.document.graph, self.file)
            meta = {"path": self.document.path, "saved_at": time.time(), "pid": os.getpid()}
            tmp = self.meta_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(meta, f)
            os.replace(tmp, self.meta_file)
        except Exception as exc:  # noqa: BLE001 - a background save must never crash the editor
            self.failed.emit(f"Autosave failed: {exc}")
            return False
        self.pending = 0
        self.saved.emit(self.file)
        return True

    def _remove_files(self) -> None:
        for f in (self.file, self.meta_file):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
            except OSError:
                pass

    def close(self) -> None:
        """The document is closed on purpose: forget its autosave."""
        self._idle.stop()
        try:
            self.document.undo_stack.indexChanged.disconnect(self._on_edit)
            self.document.modified_changed.disconnect(self._on_modified)
            if hasattr(self.document, "edited_outside_stack"):
                self.document.edited_outside_stack.disconnect(self._on_outside_edit)
        except (RuntimeError, TypeError):
            pass
        self._remove_files()
        _LIVE.discard(self.file)
