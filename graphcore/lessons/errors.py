"""The one error a lesson file raises: it names the file and the JSON path, like a graph file's."""
from __future__ import annotations

from ..tensorfile import GraphFormatError


class LessonFormatError(GraphFormatError):
    """A lesson file that is not valid; `str()` reads `file: json.path: message`.

    A GraphFormatError, so the command line's error handling reports it in one line, exit 2."""


class LessonRuntimeError(RuntimeError):
    """A lesson that was valid on load but cannot run against the world it was given
    (a node it names was deleted by the student, a number is not computed yet)."""
