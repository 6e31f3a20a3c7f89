"""LessonRun: the current step of a lesson, its check, its texts filled with live numbers, Show me.

The run never holds the graph: it reads everything through the world (checks.State) and acts
through it (World), so the GUI and the headless player share this code.
"""
from __future__ import annotations

from . import actions as A
from . import checks as C
from . import quantities as Q
from . import templates as T
from .format import LANGS, Lesson, Step
from .world import World


class LessonRun:
    def __init__(self, lesson: Lesson, world: World, lang: str = "en") -> None:
        if lang not in LANGS:
            raise ValueError(f"language {lang!r}: one of {', '.join(LANGS)}")
        self.lesson, self.world, self.lang = lesson, world, lang
        self.index = 0
        self._start: dict = {}
        self._texts: dict = {}

    # ---------------------------------------------------------------- moving
    def open(self, index: int = 0) -> None:
        """Open the lesson's graph in the world and enter step `index` (0: the first)."""
        self.world.open_graph(self.lesson.load_graph(), self.lesson.title[self.lang])
        self.enter(index)

    def resume(self, index: int) -> None:
        """Open the lesson and bring it to step `index` by doing Show me for every step before it
        (a saved lesson resumes where the student left it, with the state its checks expect)."""
        self.open(0)
        for i in range(max(0, min(int(index), len(self.lesson.steps) - 1))):
            self.show_me()
            self.enter(i + 1)

    def enter(self, index: int) -> None:
        """Make `index` the current step and remember its start values (for start:/delta: numbers)."""
        self.index = max(0, min(int(index), len(self.lesson.steps) - 1))
        self._start = {}
        for q in self.step.quantities():
            if q.prefix:
                base = Q.Quantity(None, q.kind, q.arg, q.stat)
                self._start[base.text()] = Q.current(base, self.world)  # type: ignore[arg-type]
        # the instruction keeps the numbers it was given (a Show me that changes them would make
        # "z beat w" read wrong); the explanation follows the live numbers
        self._texts = {lang: T.fill(parts, self.number) for lang, parts in self.step.text.items()}

    def next(self) -> bool:
        """The next step, when this one's check passes and there is one. True when it moved."""
        if not self.passed() or self.at_last:
            return False
        self.enter(self.index + 1)
        return True

    def back(self) -> bool:
        if self.index == 0:
            return False
        self.enter(self.index - 1)
        return True

    def show_me(self) -> None:
        """Perform the step's actions: what the student was asked to do."""
        for action in self.step.show_me:
            A.perform(action, self.world)

    # ---------------------------------------------------------------- reading
    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    @property
    def at_last(self) -> bool:
        return self.index == len(self.lesson.steps) - 1

    def _ctx(self) -> C.Context:
        return C.Context(self.world, self._start, self.step.numbers)  # type: ignore[arg-type]

    def passed(self) -> bool:
        return C.holds(self.step.check, self._ctx())

    def number(self, q: Q.Quantity) -> float | None:
        return self._ctx().number(q)

    def text(self) -> str:
        """The step's instruction, with the numbers as they were when the step began."""
        return self._texts[self.lang]

    def explanation(self) -> str:
        parts = self.step.explain.get(self.lang)
        return T.fill(parts, self.number) if parts else ""

    @property
    def title(self) -> str:
        return self.lesson.title[self.lang]
