"""The lesson list and the Babysit dock get the room the window has: every lesson in view at
1920x1080 (at least four rows at 1280x720), and several Babysit cards in view at 1280x720 while the
dock is in front, the panel below yielding and getting its share back when another tab is chosen."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect

from app import window_layout
from backprop_studio_resources import example_path
from graphcore.train.checks import TITLES
from main_window_helpers import shown_window


def make(qtbot, width, height):
    w = shown_window(qtbot, width, height)
    qtbot.waitUntil(lambda: w.train_view is not None)
    return w


def rows_in_view(lst) -> int:
    vp = lst.viewport().rect()
    return sum(1 for i in range(lst.count()) if vp.contains(lst.visualItemRect(lst.item(i))))


@pytest.mark.parametrize("size, least", [((1920, 1080), None), ((1280, 720), 4)])
def test_the_lesson_list_shows_every_lesson_when_the_window_has_the_height(qtbot, tmp_path, monkeypatch, size, least):
    """Choosing a lesson, the list shows them all when the window has the height; once one runs, the
    list keeps four rows (it scrolls) and the step's text gets the room (all of it in view at 1920)."""
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    w = make(qtbot, *size)
    dock = w.lesson_view.open()
    dock.set_language("en")
    lst = dock.list
    n = lst.count()
    assert n == len(dock.lessons) >= 10
    want = n if least is None else least
    qtbot.waitUntil(lambda: rows_in_view(lst) >= want)
    if least is None:
        assert lst.verticalScrollBar().maximum() == 0  # nothing hidden below
    dock.select_lesson("dead-relus")  # the longest steps
    assert dock.start(unsaved="discard")
    qtbot.waitUntil(lambda: rows_in_view(lst) >= 4 and lst.height() < 200)
    if size == (1920, 1080):
        for _ in range(5):  # every step of the lesson reads whole, in English and in Chinese
            for lang in ("en", "zh"):
                dock.set_language(lang)
                qtbot.waitUntil(lambda: dock.step_scroll.verticalScrollBar().maximum() == 0, timeout=3000)
            dock.show_me()
            dock.next()
    qtbot.waitUntil(lambda: window_layout.state_fits(w))
    w.document.mark_saved()


def verdict(check: str) -> dict:
    return {"check": check, "verdict": "pass",
            "explanation": "The loss starts at 1.0986 against log(3) = 1.0986 (1.00x): as small random weights "
                           "give: every class about equally likely.",
            "numbers": {"loss": 1.0986, "expected": 1.0986, "classes": 3, "ratio": 1.0},
            "rule": "initial loss within 10% of log C"}


def cards_in_view(dock) -> int:
    vp = dock.scroll.viewport()
    area = QRect(QPoint(0, 0), vp.size())
    return sum(1 for c in dock.cards.values()
               if area.contains(QRect(c.mapTo(vp, QPoint(0, 0)), c.size())))


def test_the_babysit_dock_in_front_gets_room_for_its_cards_at_1280x720(qtbot):
    w = make(qtbot, 1280, 720)
    w.open_file(example_path("spiral_2layer.json"))
    boundary = w.train_view.boundary_dock
    qtbot.waitUntil(lambda: boundary.isVisible() and not boundary.visibleRegion().isEmpty())
    qtbot.wait(50)
    default_top = boundary.geometry().top()
    bv = w.train_view.babysit
    bv.actionBabysit.trigger()
    dock = bv.dock
    for check in TITLES:  # what a finished run shows: every card with its explanation and numbers
        dock._on_verdict(verdict(check))
    card = next(iter(dock.cards.values())).height()
    # two whole cards and most of a third (it was not one whole card): the chips above list them all
    qtbot.waitUntil(lambda: cards_in_view(dock) >= 2 and dock.scroll.viewport().height() >= 2.5 * card, timeout=3000)
    assert boundary.height() >= 120 and boundary.geometry().top() > default_top + 60  # it yields, not vanishes
    assert window_layout.state_fits(w)
    w.train_view.train_dock.raise_()  # another tab in front: the panel below gets its share back
    qtbot.waitUntil(lambda: abs(boundary.geometry().top() - default_top) <= 4, timeout=3000)
    w.document.mark_saved()
