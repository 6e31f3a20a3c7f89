"""The shipped lessons: resources/lessons/*.json (installed as backprop_studio_resources/lessons)."""
from __future__ import annotations

import os

from .errors import LessonFormatError
from .format import Lesson, load


def lessons_dir() -> str:
    from backprop_studio_resources import root

    return os.path.join(root(), "lessons")


def lesson_files(folder: str | None = None) -> list[str]:
    folder = folder or lessons_dir()
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".json")]


def load_all(folder: str | None = None) -> list[Lesson]:
    """Every lesson, in their `order`; a bad file raises LessonFormatError naming it; ids are unique."""
    lessons = [load(p) for p in lesson_files(folder)]
    seen: dict = {}
    for les in lessons:
        if les.id in seen:
            raise LessonFormatError(f"the lesson id {les.id!r} is also used by {seen[les.id]}", "id", file=les.file)
        seen[les.id] = les.file
    return sorted(lessons, key=lambda les: (les.order, les.id))


def find(lesson_id: str, folder: str | None = None) -> Lesson:
    """The lesson with this id (KeyError when none has it). Every file is validated, so a bad file
    is reported even when another lesson is asked for, and ids stay unique."""
    folder = folder or lessons_dir()
    for les in load_all(folder):
        if les.id == lesson_id:
            return les
    raise KeyError(lesson_id)
