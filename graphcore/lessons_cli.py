"""`lessons`: list the shipped lessons; `lessons play ID`: play one headlessly with Show me on
every step, print each step's text and explanation, and verify every check.

Exit 0 when every check passes, 1 when one fails (the step is named), 2 for an unknown id or a
lesson file that does not validate (one line on stderr, naming the file and JSON path)."""
from __future__ import annotations

import os
import sys

from .cli_common import UsageError, printable
from .lessons import LANGS, HeadlessWorld, LessonFormatError, LessonRun, LessonRuntimeError, find, load_all
from .problems import GraphError, NumericError


def cmd_lessons(args) -> int:
    if args.folder is not None and not os.path.isdir(args.folder):
        raise UsageError(f"argument --folder: {printable(args.folder)} is not a folder")
    if args.action is None:
        steps = WORDS.get(args.lang, WORDS["en"])["steps"]
        for les in load_all(args.folder):
            print(f"{les.id:24s} {len(les.steps):2d} {steps}  {les.title[args.lang]}")
        return 0
    if args.action != "play" or not args.id:
        raise UsageError("usage: lessons [play ID] [--lang en|zh]")
    try:
        lesson = find(args.id, args.folder)
    except KeyError:
        ids = ", ".join(les.id for les in load_all(args.folder))
        if not ids:
            raise UsageError(f"argument --folder: {printable(args.folder)} holds no lesson files") from None
        raise UsageError(f"no lesson with the id {args.id[:80]!r}; the lessons are: {ids}") from None
    return play(lesson, args.lang)


WORDS = {  # the player's own lines, in the language of the lesson's texts
    "en": {"show_failed": "FAIL step {n} ({id}): Show me failed: {why}",
           "check_failed": "FAIL step {n} ({id}): the check does not hold after Show me",
           "ok": "ok: {steps} steps, every check passed", "steps": "steps"},
    "zh": {"show_failed": "失败：第 {n} 步（{id}）：演示出错：{why}",
           "check_failed": "失败：第 {n} 步（{id}）：演示之后检查仍不成立",
           "ok": "完成：共 {steps} 步，每一步的检查都通过了", "steps": "步"},
}


def play(lesson, lang: str, out=None) -> int:
    """Show me and verify every step; 0 when all pass, 1 at the first that does not."""
    out = out or sys.stdout
    run = LessonRun(lesson, HeadlessWorld(), lang)
    words = WORDS.get(lang, WORDS["en"])
    run.open()
    print(f"# {run.title}", file=out)
    while True:
        n = f"{run.index + 1}/{len(lesson.steps)}"
        print(f"\n[{n}] {run.text()}", file=out)
        try:
            run.show_me()
        except (LessonRuntimeError, GraphError, NumericError, ValueError) as exc:  # ValueError: a train
            # action on a graph that cannot train (ConfigError), as the dock catches it
            print(words["show_failed"].format(n=n, id=run.step.id, why=printable(exc)), file=out)
            return 1
        if not run.passed():
            print(words["check_failed"].format(n=n, id=run.step.id), file=out)
            return 1
        if run.step.explain:
            print(f"  -> {run.explanation()}", file=out)
        if run.at_last:
            break
        run.next()
    print("\n" + words["ok"].format(steps=len(lesson.steps)), file=out)
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("lessons", help="list the guided lessons; 'lessons play ID' plays one headlessly",
                       description="Without arguments: list the lessons (id, steps, title). 'play ID': open the "
                                   "lesson's graph, do Show me on every step, print each step's text and "
                                   "explanation with the real numbers and verify its check; exit 0 when all "
                                   "pass, 1 when one fails, 2 for a bad id or lesson file.")
    p.add_argument("action", nargs="?", choices=("play",), help="play one lesson")
    p.add_argument("id", nargs="?", help="the lesson's id (see the list)")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of the texts")
    p.add_argument("--folder", metavar="DIR", help="read lessons from this folder (default: the shipped ones)")
    p.set_defaults(fn=cmd_lessons, errors=(LessonFormatError,))


__all__ = ["add_commands", "play"]
