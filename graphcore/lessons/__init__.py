"""Guided lessons: data files that open a graph, ask the student to do something, check it
declaratively, and explain the result with the live numbers (docs/lessons.md). Qt-free."""
from . import actions_extra  # noqa: F401  (registers the training lessons' actions)
from .catalog import find, lesson_files, lessons_dir, load_all
from .errors import LessonFormatError, LessonRuntimeError
from .format import LANGS, Lesson, Step, load, loads
from .headless import HeadlessWorld
from .player import LessonRun
from .world import World

__all__ = ["HeadlessWorld", "LANGS", "Lesson", "LessonFormatError", "LessonRun", "LessonRuntimeError", "Step", "World",
           "find", "lesson_files", "lessons_dir", "load", "load_all", "loads"]
