"""Lesson files written to hurt, found by the adversary pass: each is refused on load with the file
and the JSON path (or fails its step cleanly in `lessons play`), never a traceback and never a
terminal escape code printed raw."""
from __future__ import annotations

import copy
import io
import json

import pytest

import graphcore.lessons as L
from graphcore import lessons_cli
from graphcore.lessons import format as lf


def _gates() -> dict:
    with open(L.find("gates").file, encoding="utf-8") as f:
        return json.load(f)


def _with_step(**fields) -> dict:
    doc = _gates()
    doc["steps"] = [dict(copy.deepcopy(doc["steps"][0]), **fields)]
    return doc


def _refused(tmp_path, doc, path_fragment, *words):
    p = tmp_path / "hostile.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(L.LessonFormatError) as info:
        lf.load(p)
    msg = str(info.value)
    assert str(p) in msg and path_fragment in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


def _nest(kind: str, depth: int) -> dict:
    c = {"read": True}
    for _ in range(depth):
        c = {kind: c} if kind == "not" else {kind: [c]}
    return c


@pytest.mark.parametrize("kind", ["any", "all", "not"])
def test_checks_nested_beyond_the_limit_are_refused_on_load(tmp_path, kind):
    # before: any nested 300 deep loaded, then evaluating it raised RecursionError (a traceback)
    _refused(tmp_path, _with_step(check=_nest(kind, 300)), "steps[0].check", "nest at most 8 deep")


def test_checks_nested_to_the_limit_still_load(tmp_path):
    p = tmp_path / "ok.json"
    p.write_text(json.dumps(_with_step(check=_nest("all", 8))), encoding="utf-8")
    assert lf.load(p).steps[0].check[0] == "all"


def test_a_set_value_of_more_dimensions_than_a_graph_holds_is_refused_on_load(tmp_path):
    # before: a 40-deep list of one number passed (1 element) and numpy raised RuntimeError in the pass
    v = 1.0
    for _ in range(40):
        v = [v]
    doc = _with_step(show_me=[{"set_value": {"node": "x", "value": v}}, {"forward": {}}])
    _refused(tmp_path, doc, "steps[0].show_me[0].set_value.value", "at most 8 dimensions, got 40")


@pytest.mark.parametrize("where, text", [("title", "\x1b[2J\x1b[31mEVIL"), ("text", "hi \x1b]0;pwned\x07"),
                                         ("title", "abc\u202edcba"), ("text", "a\rb")])
def test_control_characters_and_bidi_overrides_in_lesson_text_are_refused(tmp_path, where, text):
    doc = _gates() if where == "title" else _with_step()
    (doc if where == "title" else doc["steps"][0])[where] = {"en": text, "zh": "好"}
    _refused(tmp_path, doc, f"{where}.en" if where == "title" else "steps[0].text.en", "control characters")


def test_line_breaks_and_chinese_are_fine_in_lesson_text(tmp_path):
    doc = _with_step(text={"en": "line one\nline two\tindented", "zh": "第一行\n第二行"})
    p = tmp_path / "ok.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert lf.load(p).steps[0].text["en"] == ["line one\nline two\tindented"]


def _play(tmp_path, doc) -> tuple[int, str]:
    p = tmp_path / "play.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()
    return lessons_cli.play(lf.load(p), "en", out), out.getvalue()


def test_a_train_action_on_a_graph_that_cannot_train_fails_its_step_cleanly(tmp_path):
    # before: ConfigError ("name the loss node to train") escaped `lessons play` as a traceback
    rc, out = _play(tmp_path, _with_step(show_me=[{"train": {"epochs": 3}}]))
    assert rc == 1
    assert "FAIL step 1/1 (forward): Show me failed: meta.training" in out


def test_a_refused_action_never_prints_an_escape_code(tmp_path):
    # a param the op lacks is refused when the file loads (it used to fail "Show me"), quoted escaped
    p = tmp_path / "play.json"
    doc = _with_step(show_me=[{"set_param": {"node": "f", "param": "p\x1b[31m", "value": 1}}])
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(lf.LessonFormatError) as info:
        lf.load(p)
    assert "\x1b" not in str(info.value) and "p\\x1b[31m" in str(info.value), str(info.value)
