"""A running lesson at 1280x720: its step is read without scrolling (the panels below the lesson
yield and get their share back when it ends), and a step that talks about a plot shows it."""
from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest

import app
from app import window_layout


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(tmp_path))
    return tmp_path


def start_lesson(qtbot, lesson_id):
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.train_view is not None)
    w.lesson_view.action.trigger()
    dock = w.lesson_view.dock
    dock.set_language("en")
    dock.select_lesson(lesson_id)
    QTest.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)
    boundary = w.train_view.boundary_dock
    qtbot.waitUntil(lambda: boundary.isVisible() and not boundary.visibleRegion().isEmpty())
    return w, dock


def overflow(dock) -> int:
    """Pixels of the step (text and explanation) out of view."""
    return dock.step_scroll.verticalScrollBar().maximum()


def close(w):
    w.document.mark_saved()
    w.close()


def test_a_running_lesson_gets_the_room_its_step_needs_and_gives_it_back(qtbot, data_dir):
    w, dock = start_lesson(qtbot, "dead-relus")  # a training lesson: "What the net sees" shares the column
    boundary = w.train_view.boundary_dock
    # the split is made by layout passes and timers: each state is waited for (a loaded machine is slower),
    # and a state that never comes fails the wait
    qtbot.waitUntil(lambda: overflow(dock) == 0 and dock.height() > 300)
    assert boundary.height() >= 120  # it yields, it does not vanish
    qtbot.waitUntil(lambda: window_layout.state_fits(w))  # the canvas keeps its share
    widths = window_layout.column_sizes(w)
    QTest.mouseClick(dock.next_button, Qt.MouseButton.LeftButton)  # a "read" step: Next passes it
    qtbot.waitUntil(lambda: dock.run.index == 1 and overflow(dock) == 0)
    w.reset_layout()  # View > Reset Layout during a lesson keeps the lesson's room
    qtbot.waitUntil(lambda: overflow(dock) == 0 and dock.isVisible()
                    and window_layout.column_sizes(w) == pytest.approx(widths, abs=4))
    lesson_top = boundary.geometry().top()
    dock.toggleViewAction().trigger()  # the lesson ends: the column's default split comes back
    usable = w.height() - 120
    qtbot.waitUntil(lambda: boundary.geometry().top() < lesson_top - 60)
    qtbot.waitUntil(lambda: boundary.height() >= int(usable * 0.55))  # its default 62%, near enough
    qtbot.waitUntil(lambda: window_layout.state_fits(w))
    close(w)


def test_a_step_shows_the_plots_it_talks_about(qtbot, data_dir):
    w, dock = start_lesson(qtbot, "dead-relus")
    plots = w.train_view.plots_dock
    assert "units" not in plots.visible_plots()  # step 1 reads about ReLU; nothing to show yet
    QTest.mouseClick(dock.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "units" in plots.visible_plots())  # step 2: the dead units' plot
    assert plots.plot_buttons["units"].isChecked()
    assert not plots.visibleRegion().isEmpty()  # in front of Problems and Narration
    assert w.train_view.train_dock.visibleRegion().isEmpty()  # behind the lesson's tab: its tab is framed

    def train_tab_frame():  # the step's frames are made again when it refreshes: look the frame up each time
        return next((f for f in dock.highlighter.frames
                     if shiboken6.isValid(f) and f.target is w.train_view.train_dock), None)

    # the frames follow their controls (at once, then every 250 ms): the tab is framed once the tabs are laid out
    qtbot.waitUntil(lambda: (f := train_tab_frame()) is not None and f.isVisible() and f.height() < 60, timeout=3000)
    train_frame = train_tab_frame()
    step_area = QRect(dock.step_scroll.mapTo(w, QPoint(0, 0)), dock.step_scroll.size())
    assert not train_frame.geometry().intersects(step_area)
    plots.show_plot("units", False)  # the student hides it: going back and forth on the lesson's
    QTest.mouseClick(dock.back_button, Qt.MouseButton.LeftButton)  # steps shows it again
    QTest.mouseClick(dock.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "units" in plots.visible_plots())
    close(w)


def test_the_initialisation_lesson_opens_the_histograms(qtbot, data_dir):
    w, dock = start_lesson(qtbot, "initialization")
    tabs = w.train_view.boundary_dock.tabs
    hist = w.train_view.boundary_dock.hist_view
    qtbot.waitUntil(lambda: tabs.currentWidget() is hist.parentWidget())
    assert hist.isVisible()
    close(w)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_running_lesson_is_in_view_in_a_list_of_whole_rows(qtbot, data_dir, size):
    """The list kept 3.5 rows at 1920 (the first title wrapped), and at 1280 lesson 6 was scrolled out."""
    from app.lessons.dock import LIST_MIN_ROWS

    w, dock = start_lesson(qtbot, "dead-relus")
    w.resize(*size)
    lst = dock.list

    def whole(item) -> bool:
        return lst.viewport().rect().contains(lst.visualItemRect(item))
    qtbot.waitUntil(lambda: whole(lst.currentItem())
                    and sum(whole(lst.item(i)) for i in range(lst.count())) >= LIST_MIN_ROWS)
    assert lst.currentItem().text().startswith("6. Dead ReLUs")
    close(w)
