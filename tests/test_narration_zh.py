"""A lesson played in Chinese is narrated in Chinese: the sentences (with the same numbers as the
English ones), the Narration dock's title and idle text while the lesson runs, and the closing line
of `lessons play --lang zh`."""
from __future__ import annotations

import io
import re

import pytest

import graphcore as gc
import graphcore.lessons as L
from app.run.narration import BACKWARD, BACKWARD_ZH, sentence
from app.run.record import record
from backprop_studio_resources import example_path
from graphcore.lessons_cli import WORDS, play
from main_window_helpers import shown_window

CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def recorded(name: str):
    g = gc.load(example_path(name))
    return g, record(gc.Executor(g, mode="eval"), None)


@pytest.mark.parametrize("name", ["cs231n_circuit.json", "sigmoid_neuron.json", "add_mul.json",
                                  "spiral_2layer.json"])
def test_every_event_has_a_chinese_sentence_with_the_english_numbers(name):
    g, rec = recorded(name)
    assert rec.total > 5
    for k in range(rec.total):
        en, zh = sentence(g, rec, k, "en"), sentence(g, rec, k, "zh")
        assert CJK.search(zh) or zh.split(" ", 1)[0] in {"输入", "常量", "参数"} or "=" in zh, zh
        assert not CJK.search(en), en
        # the same figures (Chinese word order may move one): the wording changes, never a number
        assert sorted(NUMBER.findall(zh.replace("²", ""))) == sorted(NUMBER.findall(en.replace("²", ""))), (en, zh)


def test_the_circuit_reads_the_notes_numbers_in_chinese():
    g, rec = recorded("cs231n_circuit.json")
    zh = [sentence(g, rec, k, "zh") for k in range(rec.total)]
    assert zh[0] == "输入 x = 3.00"
    assert zh[5] == "mul 门 xy：x × y = 3.00 × -4.00 = -12.00"
    assert zh[14] == "max 门 m：z（2.00）胜过 w（-1.00），所以 z 得到全部 2.00，w 得到 0"
    assert zh[16] == "mul 门 xy：x 收到上游梯度 2.00 乘以 y 的值 -4.00 = -8.00（乘法门交换两个输入）"


def test_every_op_with_an_english_sentence_has_a_chinese_one():
    assert set(BACKWARD) == set(BACKWARD_ZH)


def test_lessons_play_ends_in_the_chosen_language():
    assert set(WORDS) == set(L.LANGS) and all(set(w) == set(WORDS["en"]) for w in WORDS.values())
    out = io.StringIO()
    assert play(L.find("gates"), "zh", out) == 0
    last = out.getvalue().strip().splitlines()[-1]
    n = len(L.find("gates").steps)
    assert last == f"完成：共 {n} 步，每一步的检查都通过了" and "ok" not in last
    out = io.StringIO()
    assert play(L.find("gates"), "en", out) == 0
    assert out.getvalue().strip().splitlines()[-1] == f"ok: {n} steps, every check passed"


def test_the_narration_dock_follows_a_chinese_lesson_and_speaks_english_after_it(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    w = shown_window(qtbot, 1280, 720)
    narration = w.run_view.narration
    dock = w.lesson_view.open()
    dock.set_language("zh")
    dock.select_lesson("gates")
    assert dock.start(unsaved="discard")
    narration.show()
    narration.raise_()
    qtbot.waitUntil(lambda: narration.windowTitle() == "讲解")
    assert CJK.search(narration.text())  # the idle line before any pass
    ctl = w.run_view.controller
    ctl.backward()
    qtbot.waitUntil(lambda: bool(narration.sentences() and CJK.search(narration.text())))
    assert all(CJK.search(s) or s.startswith(("输入", "常量")) for s in narration.sentences())
    assert narration.sentences()[-1] == sentence(ctl.graph, ctl.rec, ctl.cursor, "zh")
    dock.set_language("en")  # the student switches the lesson to English: the pass is worded again
    qtbot.waitUntil(lambda: narration.windowTitle() == "Narration")
    assert narration.sentences() == [sentence(ctl.graph, ctl.rec, k, "en") for k in range(ctl.cursor + 1)]
    dock.set_language("zh")
    qtbot.waitUntil(lambda: narration.windowTitle() == "讲解")
    w.document.undo_stack.setClean()
    dock.toggleViewAction().trigger()  # the lesson ends
    dock.refresh()
    assert narration.windowTitle() == "Narration" and not CJK.search(narration.text())
    w.document.mark_saved()
