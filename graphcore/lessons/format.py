"""Lesson files: JSON in resources/lessons/*.json, validated on load like graph files.

Bounded size, duplicate keys refused, every error names the file and the JSON path and quotes
at most a short excerpt. Nothing in a lesson is evaluated: checks and show-me actions are
parsed into plain tuples, texts into templates that can only name live numbers. The format is
specified in docs/lessons.md.
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

from .. import fileformat, jsonkeys
from ..graph import Graph
from ..limits import excerpt
from ..tensorfile import GraphFormatError
from . import actions as A
from . import checks as C
from . import quantities as Q
from . import templates as T
from .errors import LessonFormatError
from .param_checks import check_action_params

FORMAT = "backprop-studio-lesson"
FORMAT_VERSION = 1
LANGS = ("en", "zh")
MAX_LESSON_BYTES = 4 << 20
MAX_STEPS = 30
MAX_ACTIONS = 16
MAX_LESSON_TEXT = 4000
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CONTROL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
# terminal escapes and other control characters (a line break is fine) and the bidirectional
# overrides that make text read differently from how it is stored
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_EXAMPLE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.json$")
# what a step may bring to the front while it is shown: the training plots (by their toggle's key in
# the plots dock) and the per-layer histograms of "What the net sees"
PLOTS = ("loss", "acc", "lr", "grad", "ratio", "units", "histograms")


@dataclass
class Step:
    id: str
    text: dict  # lang -> template parts
    explain: dict  # lang -> template parts
    check: tuple
    show_me: list
    highlight: dict  # nodes: [names], wires: ["NODE.PORT"], controls: [objectNames]
    numbers: dict = field(default_factory=dict)  # name -> parsed expression
    plots: list = field(default_factory=list)  # names from PLOTS brought to the front for this step

    def quantities(self) -> list[Q.Quantity]:
        qs = C.quantities_in(self.check)
        for parts in list(self.text.values()) + list(self.explain.values()):
            qs += T.quantities(parts)
        for e in self.numbers.values():
            qs += Q.expr_quantities(e)
        return qs


@dataclass
class Lesson:
    id: str
    order: int
    title: dict  # lang -> str
    summary: dict
    graph_source: dict  # {"example": name} | {"inline": graph document}
    steps: list[Step]
    file: str | None = None

    def load_graph(self) -> Graph:
        return load_graph_source(self.graph_source, self.file)


def _err(msg: str, path: str, file: str | None) -> LessonFormatError:
    return LessonFormatError(msg, path, file=file)


def load_graph_source(src: dict, file: str | None = None, path: str = "graph") -> Graph:
    if "example" in src:
        from backprop_studio_resources import example_path

        path = example_path(src["example"])
        try:
            return fileformat.load(path)
        except GraphFormatError as exc:
            raise _err(f"the example {src['example']!r} does not load: {exc}", f"{path}.example", file) from None
    try:
        return fileformat.from_dict(src["inline"])
    except GraphFormatError as exc:
        inner = exc.json_path if exc.json_path != "$" else ""
        raise _err(exc.message, f"{path}.inline" + ("." + inner if inner else ""), file) from None


def check_graph_source(raw: Any, path: str, error: type) -> dict:
    """{"example": FILE} or {"inline": GRAPH}; raises error(message, json path)."""
    if not isinstance(raw, dict) or len(raw) != 1 or not set(raw) <= {"example", "inline"}:
        raise error("either {\"example\": FILE} or {\"inline\": GRAPH}", path)
    if "example" in raw and (not isinstance(raw["example"], str) or not _EXAMPLE.match(raw["example"])):
        raise error(f"a shipped example's file name like 'cs231n_circuit.json', not {excerpt(raw['example'])}",
                    f"{path}.example")
    if "inline" in raw and not isinstance(raw["inline"], dict):
        raise error("a graph document (an object)", f"{path}.inline")
    return dict(raw)


# ---------------------------------------------------------------- reading
def load(path: str | os.PathLike) -> Lesson:
    path = os.fspath(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise _err("cannot read the file: not a regular file", "", path)
        if st.st_size > MAX_LESSON_BYTES:
            raise _err(f"the file is too large ({st.st_size:,} bytes); the limit is {MAX_LESSON_BYTES:,}", "", path)
        with open(path, "rb") as f:
            data = f.read(MAX_LESSON_BYTES + 1)
    except OSError as exc:
        raise _err(f"cannot read the file: {exc.strerror or exc}", "", path) from None
    return loads(data, file=path)


def loads(data: str | bytes, file: str | None = None) -> Lesson:
    if len(data) > MAX_LESSON_BYTES:
        raise _err(f"the file is too large ({len(data):,} bytes); the limit is {MAX_LESSON_BYTES:,}", "", file)
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        doc, repeat = jsonkeys.loads(text)
    except UnicodeDecodeError as exc:
        raise _err(f"not UTF-8 text (byte {exc.start})", "", file) from None
    except json.JSONDecodeError as exc:
        raise _err(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "", file) from None
    except (RecursionError, ValueError):
        raise _err("not valid JSON (nested too deeply or a huge number)", "", file) from None
    if repeat is not None:
        raise _err(f"the key {excerpt(repeat[1])} appears more than once; each key may appear only once",
                   repeat[0], file)
    return from_dict(doc, file)


def _obj(v: Any, path: str, file, required: tuple, optional: tuple = ()) -> dict:
    if not isinstance(v, dict):
        raise _err(f"expected an object, found {type(v).__name__} {excerpt(v)}", path or "$", file)
    for k in required:
        if k not in v:
            raise _err(f"the key {k!r} is missing", path or "$", file)
    for k in v:
        if k not in required + optional:
            raise _err(f"unknown key {excerpt(k)}; allowed: " + ", ".join(required + optional), path or "$", file)
    return v


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _texts(v: Any, path: str, file, template: bool) -> dict:
    _obj(v, path, file, LANGS)
    out = {}
    for lang in LANGS:
        s = v[lang]
        if not isinstance(s, str) or not s.strip():
            raise _err("a non-empty string", f"{path}.{lang}", file)
        if len(s) > MAX_LESSON_TEXT:
            raise _err(f"{len(s):,} characters; the limit is {MAX_LESSON_TEXT:,} (it starts {excerpt(s[:40])})",
                       f"{path}.{lang}", file)
        m = _UNPRINTABLE.search(s)
        if m:
            code = m.group(0).encode("unicode_escape").decode("ascii")
            raise _err(f"control characters are not allowed in lesson text (found {code} at character "
                       f"{m.start() + 1}); they would reach the terminal or reorder what is shown",
                       f"{path}.{lang}", file)
        if template:
            try:
                out[lang] = T.parse(s)
            except T.TemplateError as exc:
                raise _err(str(exc), f"{path}.{lang}", file) from None
        else:
            out[lang] = s
    return out


def from_dict(doc: Any, file: str | None = None) -> Lesson:
    _obj(doc, "", file, ("format", "format_version", "id", "order", "title", "graph", "steps"), ("summary",))
    if doc["format"] != FORMAT:
        raise _err(f"not a lesson file: format is {excerpt(doc['format'])}, expected {FORMAT!r}", "format", file)
    if doc["format_version"] != FORMAT_VERSION:
        raise _err(f"format_version {excerpt(doc['format_version'])} is not supported (this app reads {FORMAT_VERSION})",
                   "format_version", file)
    lid = doc["id"]
    if not isinstance(lid, str) or not _ID.match(lid):
        raise _err(f"an id of lowercase letters, digits, '_' and '-' (up to 64), not {excerpt(lid)}", "id", file)
    order = doc["order"]
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 10_000:
        raise _err("a whole number from 0 to 10000 (lessons are listed in this order)", "order", file)
    title = _texts(doc["title"], "title", file, template=False)
    summary = _texts(doc["summary"], "summary", file, template=False) if "summary" in doc else {}
    try:
        src = check_graph_source(doc["graph"], "graph", ValueError)
    except ValueError as exc:
        raise _err(exc.args[0], exc.args[1], file) from None
    steps_raw = doc["steps"]
    if not isinstance(steps_raw, list) or not 1 <= len(steps_raw) <= MAX_STEPS:
        raise _err(f"a list of 1 to {MAX_STEPS} steps", "steps", file)
    steps = [_step(s, f"steps[{i}]", file) for i, s in enumerate(steps_raw)]
    seen: set = set()
    for i, s in enumerate(steps):
        if s.id in seen:
            raise _err(f"the step id {s.id!r} is used twice", f"steps[{i}].id", file)
        seen.add(s.id)
    lesson = Lesson(lid, order, title, summary, dict(src), steps, file)
    graphs = [lesson.load_graph()]
    for i, s in enumerate(steps):  # a step may open another graph: names may come from any of them
        for j, (kind, arg) in enumerate(s.show_me):
            if kind == "open_graph":
                graphs.append(load_graph_source(arg, file, f"steps[{i}].show_me[{j}].open_graph"))
    _check_names(lesson, graphs)
    check_action_params(lesson, graphs)
    return lesson


def _step(raw: Any, path: str, file) -> Step:
    _obj(raw, path, file, ("id", "text", "check"), ("explain", "show_me", "highlight", "numbers", "plots"))
    sid = raw["id"]
    if not isinstance(sid, str) or not _ID.match(sid):
        raise _err(f"a step id of lowercase letters, digits, '_' and '-', not {excerpt(sid)}", f"{path}.id", file)
    text = _texts(raw["text"], f"{path}.text", file, template=True)
    explain = _texts(raw["explain"], f"{path}.explain", file, template=True) if "explain" in raw else {}
    try:
        check = C.parse(raw["check"], f"{path}.check")
    except C.CheckError as exc:
        raise _err(exc.args[0], exc.args[1], file) from None
    acts = raw.get("show_me", [])
    if not isinstance(acts, list) or len(acts) > MAX_ACTIONS:
        raise _err(f"a list of at most {MAX_ACTIONS} actions", f"{path}.show_me", file)
    try:
        show_me = [A.parse(a, f"{path}.show_me[{i}]") for i, a in enumerate(acts)]
    except A.ActionError as exc:
        raise _err(exc.args[0], exc.args[1], file) from None
    hl = _obj(raw.get("highlight", {}), f"{path}.highlight", file, (), ("nodes", "wires", "controls"))
    highlight = {}
    for k in ("nodes", "wires", "controls"):
        v = hl.get(k, [])
        if not isinstance(v, list) or len(v) > 64 or not all(isinstance(x, str) and 0 < len(x) <= 200 for x in v):
            raise _err("a list of up to 64 names", f"{path}.highlight.{k}", file)
        for j, x in enumerate(v):
            if k == "controls" and not _CONTROL.match(x):
                raise _err(f"an objectName (letters, digits, '_'), not {excerpt(x)}", f"{path}.highlight.{k}[{j}]", file)
            if k == "wires" and "." not in x.strip("."):
                raise _err(f"a wire is named NODE.PORT, not {excerpt(x)}", f"{path}.highlight.{k}[{j}]", file)
        highlight[k] = list(v)
    nums_raw = _obj(raw.get("numbers", {}), f"{path}.numbers", file, (), tuple(raw.get("numbers", {}) or ()))
    if len(nums_raw) > 16:
        raise _err("at most 16 named numbers", f"{path}.numbers", file)
    numbers = {}
    for name, e in nums_raw.items():
        if not _ID.match(name):
            raise _err(f"a number's name is lowercase letters, digits and '_', not {excerpt(name)}", f"{path}.numbers", file)
        try:
            numbers[name] = Q.parse_expr(e, f"{path}.numbers.{name}")
        except Q.QuantityError as exc:
            raise _err(exc.args[0], exc.args[1] if len(exc.args) > 1 else f"{path}.numbers.{name}", file) from None
        if any(q.kind == "num" for q in Q.expr_quantities(numbers[name])):
            raise _err("a named number may not name another (num:...)", f"{path}.numbers.{name}", file)
    plots = raw.get("plots", [])
    if not isinstance(plots, list) or len(plots) > len(PLOTS):
        raise _err(f"a list of plot names ({', '.join(PLOTS)})", f"{path}.plots", file)
    for j, name in enumerate(plots):
        if name not in PLOTS:
            raise _err(f"names no plot: {excerpt(name)}; a plot is one of {', '.join(PLOTS)}", f"{path}.plots[{j}]", file)
    step = Step(sid, text, explain, check, show_me, highlight, numbers, list(dict.fromkeys(plots)))
    for q in step.quantities():
        if q.kind == "num" and q.arg not in numbers:
            raise _err(f"'num:{q.arg}' names no number in this step's \"numbers\"", path, file)
    return step


def _check_names(lesson: Lesson, graphs: list[Graph]) -> None:
    """Every node, port and weight a lesson names exists in a graph it opens."""
    names = {n.name: n for graph in reversed(graphs) for n in graph.nodes.values()}
    for i, s in enumerate(lesson.steps):
        path = f"steps[{i}]"
        refs = [(q.nodes[0], q) for q in s.quantities() if q.nodes]
        refs += [(n, None) for a in s.show_me for n in A.node_names(a)]
        refs += [(n, None) for n in s.highlight["nodes"]]
        wires = list(s.highlight["wires"])
        if s.check[0] == "selected" and s.check[1][0] == "wire":
            wires.append(s.check[1][1])
        for sel in (a[1] for a in s.show_me if a[0] == "select" and a[1][0] == "wire"):
            wires.append(sel[1])
        refs += [(w.rpartition(".")[0], ("wire", w.rpartition(".")[2])) for w in wires]
        for name, how in refs:
            node = names.get(name)
            if node is None:
                raise _err(f"names the node {excerpt(name)}, which the lesson's graph does not have "
                           f"(it has: {', '.join(sorted(names))[:200]})", path, lesson.file)
            port = None
            if isinstance(how, tuple):
                port = how[1]
            elif isinstance(how, Q.Quantity) and how.kind == "wire":
                port = how.arg.rpartition(".")[2]
            spec = node.spec
            if port is not None and spec is not None and port not in [p.name if hasattr(p, "name") else p
                                                                       for p in spec.inputs]:
                raise _err(f"names the wire into {name}.{excerpt(port)}, but {name} ({node.op}) has no input "
                           f"port {excerpt(port)}", path, lesson.file)
