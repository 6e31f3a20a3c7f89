"""Lesson files are validated on load: errors name the file and the JSON path, templates can only
name live numbers (no str.format tricks), the size is bounded, duplicate keys are refused."""
import copy
import json

import pytest

import graphcore.lessons as L
from graphcore.lessons import checks, format as lf, templates

GATES = {
    "format": "backprop-studio-lesson", "format_version": 1, "id": "tiny", "order": 9,
    "title": {"en": "Tiny", "zh": "小"},
    "graph": {"example": "cs231n_circuit.json"},
    "steps": [
        {"id": "run", "text": {"en": "Press Backward.", "zh": "按 Backward。"},
         "explain": {"en": "dx = {grad:x}", "zh": "dx = {grad:x}"},
         "check": {"has": "grads"}, "show_me": [{"backward": {}}]},
        {"id": "edit", "text": {"en": "Set x.", "zh": "设 x。"},
         "check": {"compare": {"left": "value:x", "op": "==", "right": 5, "tol": 1e-9}},
         "show_me": [{"set_value": {"node": "x", "value": 5}}],
         "highlight": {"nodes": ["x"], "wires": ["xy.a"], "controls": ["actionForward"]}},
    ],
}


def write(tmp_path, doc, name="lesson.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(p)


def refused(tmp_path, doc) -> L.LessonFormatError:
    path = write(tmp_path, doc)
    with pytest.raises(L.LessonFormatError) as info:
        L.load(path)
    assert str(info.value).startswith(path + ": "), str(info.value)
    return info.value


def changed(**edits):
    doc = copy.deepcopy(GATES)
    for path, value in edits.items():
        node = doc
        keys = path.split("/")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        node[int(last) if isinstance(node, list) else last] = value
    return doc


def test_the_minimal_lesson_loads(tmp_path):
    les = L.load(write(tmp_path, GATES))
    assert les.id == "tiny" and len(les.steps) == 2
    assert les.steps[1].highlight == {"nodes": ["x"], "wires": ["xy.a"], "controls": ["actionForward"]}


def test_a_step_names_the_plots_it_shows(tmp_path):
    les = L.load(write(tmp_path, changed(**{"steps/1/plots": ["units", "histograms", "units"]})))
    assert les.steps[1].plots == ["units", "histograms"] and les.steps[0].plots == []


@pytest.mark.parametrize("edit, where, words", [
    ({"steps/1/check": {"compare": {"left": "valu:x", "op": "==", "right": 1}}}, "steps[1].check.compare.left",
     "unknown quantity kind"),
    ({"steps/1/check": {"compare": {"left": "value:x", "op": "=~", "right": 1}}}, "steps[1].check.compare.op", "one of"),
    ({"steps/0/check": {"exec": "import os"}}, "steps[0].check", "unknown check kind"),
    ({"steps/0/show_me": [{"eval": "1"}]}, "steps[0].show_me[0]", "unknown action"),
    ({"steps/1/show_me": [{"set_value": {"node": "x", "value": "nan"}}]}, "steps[1].show_me[0].set_value.value",
     "number"),
    ({"steps/1/highlight": {"nodes": ["nobody"]}}, "steps[1]", "'nobody'"),
    ({"steps/1/highlight": {"wires": ["xy.q"]}}, "steps[1]", "no input port"),
    ({"steps/1/highlight": {"controls": ["a b"]}}, "steps[1].highlight.controls[0]", "objectName"),
    ({"graph": {"example": "../../etc/passwd.json"}}, "graph.example", "file name"),
    ({"title": {"en": "only English"}}, "title", "'zh' is missing"),
    ({"steps/0/id": "run", "steps/1/id": "run"}, "steps[1].id", "used twice"),
    ({"steps/0/text/en": "dx = {num:missing}"}, "steps[0]", "num:missing"),
    ({"format_version": 99}, "format_version", "not supported"),
    ({"steps/1/plots": ["units", "weights"]}, "steps[1].plots[1]", "names no plot"),
    ({"steps/1/plots": "units"}, "steps[1].plots", "a list of plot names"),
    ({"steps/1/plots": [{"units": 1}]}, "steps[1].plots[0]", "names no plot"),
])
def test_an_error_names_the_file_and_the_json_path(tmp_path, edit, where, words):
    exc = refused(tmp_path, changed(**edit))
    assert exc.json_path == where, str(exc)
    assert words in str(exc)


def test_an_inline_graph_is_validated_like_a_graph_file(tmp_path):
    doc = changed(graph={"inline": {"format": "backprop-studio-graph", "format_version": 1,
                                     "nodes": [{"id": "a", "op": "input", "name": 7}], "edges": []}})
    exc = refused(tmp_path, doc)
    assert exc.json_path.startswith("graph.inline.nodes[0].name"), str(exc)


@pytest.mark.parametrize("text", ["{0.__class__}", "{x[0]}", "{}", "{grad:x.__class__.__mro__}",
                                  "{value:x|{0}}", "{value:x!r}", "{value:x|.2f}", "a } b", "{value:{x}}",
                                  "{__import__('os')}"])
def test_template_injection_is_refused_on_load(tmp_path, text):
    exc = refused(tmp_path, changed(**{"steps/0/explain/en": text}))
    assert exc.json_path in ("steps[0].explain.en", "steps[0]"), str(exc)
    assert len(str(exc)) < 600  # quotes a short excerpt, not the file


def test_placeholders_are_filled_by_the_scanner_not_str_format():
    parts = templates.parse("{{literal}} {grad:x|d3} and {metric:val_acc|pct}")
    out = templates.fill(parts, lambda q: {"grad": -8.0, "metric": 0.875}[q.kind])
    assert out == "{literal} -8.000 and 87.5%"
    assert templates.fill(templates.parse("{grad:x}"), lambda q: None) == "?"


def test_a_duplicate_key_is_refused_with_its_path(tmp_path):
    text = json.dumps(GATES).replace('"id": "run",', '"id": "run", "id": "again",', 1)
    p = tmp_path / "dup.json"
    p.write_text(text)
    with pytest.raises(L.LessonFormatError) as info:
        L.load(str(p))
    assert info.value.json_path == "steps[0]" and "'id'" in str(info.value)


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    p = tmp_path / "big.json"
    p.write_bytes(b" " * (lf.MAX_LESSON_BYTES + 1))
    with pytest.raises(L.LessonFormatError) as info:
        L.load(str(p))
    assert "too large" in str(info.value) and str(p) in str(info.value)


def test_a_folder_is_not_a_lesson(tmp_path):
    with pytest.raises(L.LessonFormatError, match="not a regular file"):
        L.load(str(tmp_path))


def test_a_check_kind_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        checks.register("compare", checks.CHECKS["compare"])


def test_every_shipped_lesson_validates_in_both_languages_with_a_step_to_do():
    lessons = L.load_all()
    assert len(lessons) >= 5
    assert len({les.id for les in lessons}) == len(lessons)
    for les in lessons:
        assert 4 <= len(les.steps) <= 10, les.id
        assert set(les.title) == {"en", "zh"}
        assert any(s.check[0] != "read" and s.show_me for s in les.steps), les.id
        for s in les.steps:
            assert set(s.text) == {"en", "zh"} and (not s.explain or set(s.explain) == {"en", "zh"})
