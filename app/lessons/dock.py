"""The lesson dock (objectName lessonDock): the lessons with their progress, the current step's
text, Back / Show me / Next, and the explanation once the check passes.

The dock never polls the model: it re-evaluates the step when the graph, the shown pass, the
selection or a training run changes (coalesced by a 0-ms single-shot timer), and a light timer
only keeps the control highlights over their widgets."""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QLocale, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDockWidget, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QFrame, QMessageBox, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

import graphcore.lessons as L
from graphcore.problems import GraphError, NumericError

from .. import settings as app_settings
from ..train.attach import put_away_plots
from . import progress
from .highlight import Highlighter
from .stage import bring_plots
from .words import LANG_NAMES, UI
from .world import GuiWorld

LIST_MIN_ROWS = 4  # the lesson list's least height, in rows (at 1280x720 the step needs the rest)
LIST_SPARE_H = 620  # px of window height the rest of the window needs before the list grows past that


def default_lang() -> str:
    saved = app_settings.settings().value("lessons/lang")
    if saved in L.LANGS:
        return saved
    return "zh" if QLocale.system().language() == QLocale.Language.Chinese else "en"


class LessonDock(QDockWidget):
    room_wanted = Signal()  # the step shown changed, or the lesson ended: the column is split again

    def __init__(self, window) -> None:
        super().__init__("Lessons", window)
        self.setObjectName("lessonDock")
        self.window_ = window
        self.world = GuiWorld(window)
        self.highlighter = Highlighter(window)
        self._watched_view = None  # the canvas whose resizes re-show the step's nodes (_show_step_nodes)
        self.lessons: list[L.Lesson] = []
        self.load_error = ""
        self.run: L.LessonRun | None = None
        self._list_for_run = False  # the list's height was fitted for a running lesson (_fit_list)
        self.progress = progress.load()
        self.lang = default_lang()
        self._shown_key: tuple | None = None  # (lesson, step, passed, language) last shown
        self._build()
        self._eval_timer = QTimer(self)
        self._eval_timer.setSingleShot(True)
        self._eval_timer.setInterval(0)
        self._eval_timer.timeout.connect(self.refresh)
        self._follow_timer = QTimer(self)  # only moves the control frames with their widgets
        self._follow_timer.setInterval(250)
        self._follow_timer.timeout.connect(self.highlighter.follow)
        self._graph = None
        self._training_hooked = False
        window.document_changed.connect(self._document_changed)
        self.toggleViewAction().toggled.connect(self._opened_or_closed)
        self._hook_run_view()
        self._document_changed(window.document)
        self.reload()

    # ---------------------------------------------------------------- building
    def _build(self) -> None:
        body = QWidget(self)
        lay = QVBoxLayout(body)
        top = QHBoxLayout()
        self.list = QListWidget(body)
        self.list.setObjectName("lessonList")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(lambda _item: self.start())
        self.list.currentRowChanged.connect(lambda _row: self.schedule())
        self.lang_box = QComboBox(body)
        self.lang_box.setObjectName("lessonLanguage")
        for code in L.LANGS:
            self.lang_box.addItem(LANG_NAMES[code], code)
        self.lang_box.setCurrentIndex(L.LANGS.index(self.lang))
        self.lang_box.currentIndexChanged.connect(lambda i: self.set_language(L.LANGS[i]))
        self.start_button = QPushButton(body)
        self.start_button.setObjectName("lessonStart")
        self.start_button.clicked.connect(lambda _checked=False: self.start())
        top.addWidget(self.start_button)
        top.addStretch(1)
        top.addWidget(self.lang_box)
        lay.addLayout(top)
        lay.addWidget(self.list)
        self.title = QLabel(body)
        self.title.setObjectName("lessonTitle")
        self.title.setWordWrap(True)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.step_label = QLabel(body)
        self.step_label.setObjectName("lessonStepLabel")
        self.text = QLabel(body)
        self.text.setObjectName("lessonText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.explain = QLabel(body)
        self.explain.setObjectName("lessonExplain")
        self.explain.setWordWrap(True)
        self.explain.setTextFormat(Qt.TextFormat.PlainText)
        self.explain.setStyleSheet("QLabel#lessonExplain { border-left: 3px solid #3fa34d; padding-left: 6px; }")
        # the step scrolls in its own area: at 1280x720 the dock shares its column with other panels
        page = QWidget()
        page_lay = QVBoxLayout(page)
        page_lay.setContentsMargins(0, 0, 4, 0)
        for w in (self.title, self.step_label, self.text, self.explain):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            page_lay.addWidget(w)
        page_lay.addStretch(1)
        self.step_scroll = QScrollArea(body)
        self.step_scroll.setObjectName("lessonStepScroll")
        self.step_scroll.setWidgetResizable(True)
        self.step_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.step_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.step_scroll.setWidget(page)
        self.step_scroll.setMinimumHeight(110)
        lay.addWidget(self.step_scroll, 1)
        row = QHBoxLayout()
        self.back_button = QPushButton(body)
        self.back_button.setObjectName("lessonBack")
        self.back_button.clicked.connect(self.back)
        self.show_button = QPushButton(body)
        self.show_button.setObjectName("lessonShowMe")
        self.show_button.clicked.connect(self.show_me)
        self.next_button = QPushButton(body)
        self.next_button.setObjectName("lessonNext")
        self.next_button.clicked.connect(self.next)
        for b in (self.back_button, self.show_button, self.next_button):
            row.addWidget(b)
        lay.addLayout(row)
        self.setWidget(body)

    # ---------------------------------------------------------------- subscriptions
    def _hook_run_view(self) -> None:
        rv = getattr(self.window_, "run_view", None)
        if rv is not None:
            rv.controller.position_changed.connect(self.schedule)
            rv.controller.cleared.connect(self.schedule)

    def hook_training(self, controller) -> None:
        self._training_hooked = True
        controller.finished.connect(self._training_finished)
        controller.running_changed.connect(self._training_running)

    def _training_running(self, on: bool) -> None:
        if on:
            self.world.training_started()
            thread = getattr(self.window_.train_controller, "thread", None)
            if thread is not None:
                thread.chunk.connect(self.schedule)  # live metrics: checks on the loss, dead units...
        self.schedule()

    def _training_finished(self, result: dict) -> None:
        self.world.training_finished(result)
        if self._alive() and self.isVisible():
            self.raise_()  # a run brought the Train tab to the front: the explanation comes back
        self.schedule()

    def _document_changed(self, doc) -> None:
        if self._graph is not None:
            self._graph.changed.unsub(self._graph_changed)
        self._graph = doc.graph if doc is not None else None
        if self._graph is not None:
            self._graph.changed.sub(self._graph_changed)
        scene = self.window_.scene
        if scene is not None:
            scene.selectionChanged.connect(self.schedule)
        self.highlighter.clear()
        self.schedule()

    def _opened_or_closed(self, opened: bool) -> None:
        """Closing the dock closes the lesson's highlights with it; reopening shows them again."""
        if not opened:
            self.highlighter.clear()
            self._follow_timer.stop()
        self.schedule()

    def _graph_changed(self, *_args) -> None:
        self.world.graph_changed()
        self.schedule()

    def schedule(self, *_args) -> None:
        if shiboken6.isValid(self):
            if not self._training_hooked and getattr(self.window_, "train_controller", None) is not None:
                self.hook_training(self.window_.train_controller)  # the Train view is built after the window
            self._eval_timer.start()

    # ---------------------------------------------------------------- lessons
    def reload(self) -> None:
        try:
            self.lessons = L.load_all()
            self.load_error = ""
        except L.LessonFormatError as exc:
            self.lessons, self.load_error = [], str(exc)
        self._fill_list()
        self.refresh()

    def _fill_list(self) -> None:
        row = max(0, self.list.currentRow())
        self.list.clear()
        for i, les in enumerate(self.lessons):
            p = self.progress.get(les.id, {})
            step = min(p.get("step", 0), len(les.steps) - 1)  # a progress file from an older lesson may say more
            mark = " ✓" if p.get("done") else (f"  {step + 1}/{len(les.steps)}" if p else "")
            item = QListWidgetItem(f"{les.order}. {les.title[self.lang]}{mark}")
            item.setData(Qt.ItemDataRole.UserRole, les.id)
            item.setToolTip(les.summary.get(self.lang, ""))
            self.list.addItem(item)
        if self.lessons:
            self.list.setCurrentRow(min(row, len(self.lessons) - 1))
        self._fit_list()

    def _fit_list(self) -> None:
        """Choosing a lesson: every lesson in view when the window has the height (all 15 at
        1920x1080), never fewer than LIST_MIN_ROWS, the window's height beyond LIST_SPARE_H going to
        the list. While a lesson runs the list keeps LIST_MIN_ROWS: its step's text needs the room."""
        rows = [self.list.sizeHintForRow(i) for i in range(self.list.count())]
        self._list_for_run = self._alive()
        if not rows:
            return
        frame = 2 * self.list.frameWidth() + 2
        every = sum(rows) + frame + max(rows)  # a row of slack: a title that wraps once still fits
        least = sum(sorted(rows)[-LIST_MIN_ROWS:]) + frame + max(rows)  # the same slack: no row cut in half
        height = least if self._list_for_run else max(least, min(every, self.window_.height() - LIST_SPARE_H))
        if height != self.list.height() or self.list.minimumHeight() != height:
            self.list.setFixedHeight(height)
        current = self.list.currentItem()
        if current is not None:  # the lesson that runs (or is chosen) stays in view
            self.list.scrollToItem(current)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name): the window was resized (or the column)
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._fit_list)  # once the list has its new width (rows wrap to it)

    def select_lesson(self, lesson_id: str) -> None:
        for i, les in enumerate(self.lessons):
            if les.id == lesson_id:
                self.list.setCurrentRow(i)
        self.refresh()

    def start(self, unsaved: str | None = None) -> bool:
        """Open the selected lesson's graph as a new document (asking about unsaved changes, as Open
        does, unless `unsaved` answers: "save", "discard" or "cancel") and go to its saved step
        (Show me replays the steps before it)."""
        row = self.list.currentRow()
        if not 0 <= row < len(self.lessons):
            return False
        B = QMessageBox.StandardButton
        answer = {None: None, "save": B.Save, "discard": B.Discard, "cancel": B.Cancel}[unsaved]
        if not self.window_.maybe_save(answer):
            return False
        lesson = self.lessons[row]
        saved = self.progress.get(lesson.id, {})
        step = 0 if saved.get("done") else saved.get("step", 0)
        self.run = L.LessonRun(lesson, self.world, self.lang)
        try:
            self.run.resume(step)
        except (L.LessonRuntimeError, GraphError, NumericError, ValueError) as exc:
            self.window_.show_status(f"Lesson: {exc}")
            self.run.open(0)
        self._save_progress()
        self.refresh()
        return True

    # ---------------------------------------------------------------- buttons
    def _alive(self) -> bool:
        """A lesson runs, and the document it opened (at its start or by a Show me) is the one shown."""
        return self.run is not None and self.world.last_opened is self.window_.document

    def next(self) -> None:
        if self._alive() and self.run.next():
            self._save_progress()
        self.refresh()

    def back(self) -> None:
        if self._alive() and self.run.back():
            self._save_progress()
        self.refresh()

    def show_me(self) -> None:
        if not self._alive():
            return
        try:
            self.run.show_me()
        except (L.LessonRuntimeError, GraphError, NumericError, ValueError) as exc:
            self.window_.show_status(f"Show me: {exc}")
        self.refresh()

    def set_language(self, lang: str) -> None:
        if lang not in L.LANGS:
            return
        self.lang = lang
        s = app_settings.settings()
        s.setValue("lessons/lang", lang)
        if self.lang_box.currentIndex() != L.LANGS.index(lang):
            self.lang_box.setCurrentIndex(L.LANGS.index(lang))
        if self.run is not None:
            self.run.lang = lang
        self._fill_list()
        self.refresh()

    def _save_progress(self) -> None:
        r = self.run
        done = r.at_last and r.passed()
        old = self.progress.get(r.lesson.id, {})
        self.progress[r.lesson.id] = {"step": r.index, "done": bool(done or old.get("done"))}
        try:
            progress.save(self.progress)
        except OSError as exc:
            self.window_.show_status(f"Could not save the lesson progress: {exc.strerror or exc}")
        self._fill_list()

    # ---------------------------------------------------------------- showing
    def refresh(self) -> None:
        if not shiboken6.isValid(self):
            return
        if self._alive() != self._list_for_run:  # a lesson started or ended: the list's height follows
            self._fit_list()
        ui = UI[self.lang]
        self.setWindowTitle(ui["lessons"])
        self.back_button.setText(ui["back"])
        self.next_button.setText(ui["next"])
        self.show_button.setText(ui["show"])
        row = self.list.currentRow()
        saved = self.progress.get(self.lessons[row].id, {}) if 0 <= row < len(self.lessons) else {}
        self.start_button.setText(ui["resume"] if saved and not saved.get("done") and saved.get("step") else ui["open"])
        self._narrate_in(self.lang if self._alive() and self.toggleViewAction().isChecked() else "en")
        if not self._alive():
            self.title.setText(self.load_error or "")
            self.step_label.setText("")
            self.text.setText(ui["gone"] if self.run is not None else ui["pick"])
            self.explain.hide()
            for b in (self.back_button, self.show_button, self.next_button):
                b.setEnabled(False)
            self.highlighter.clear()
            self._follow_timer.stop()
            if self._shown_key is not None:
                self._shown_key = None
                self.room_wanted.emit()
            return
        r = self.run
        try:
            passed = r.passed()
        except (L.LessonRuntimeError, GraphError, NumericError, ValueError):
            passed = False
        self.title.setText(r.title)
        self.step_label.setText(ui["step"].format(i=r.index + 1, n=len(r.lesson.steps)) if not (r.at_last and passed)
                                else ui["done"])
        self.text.setText(r.text())
        explanation = r.explanation() if passed else ""
        self.explain.setText(explanation if explanation else ("" if passed else ui["todo"]))
        self.explain.setVisible(True)
        self.explain.setStyleSheet("" if not passed else
                                   "QLabel#lessonExplain { border-left: 3px solid #3fa34d; padding-left: 6px; }")
        self.back_button.setEnabled(r.index > 0)
        self.show_button.setEnabled(bool(r.step.show_me))
        self.next_button.setEnabled(passed and not r.at_last)
        if passed and r.at_last and not self.progress.get(r.lesson.id, {}).get("done"):
            self._save_progress()
        h = r.step.highlight
        if self.toggleViewAction().isChecked():
            # a finished lesson asks for no more clicks: its last step keeps the canvas glow, not the frames
            controls = [] if (r.at_last and passed) else h["controls"]
            self.highlighter.show(self.world.graph, h["nodes"], h["wires"], controls)
            self._follow_timer.start()
            QTimer.singleShot(0, self, self.highlighter.follow)  # once the tabs a step raised are laid out
        else:  # closed: nothing of the lesson stays drawn over the window
            self.highlighter.clear()
            self._follow_timer.stop()
        key = (r.lesson.id, r.index, passed, self.lang)
        if key != self._shown_key:
            new_step = self._shown_key is None or key[:2] != self._shown_key[:2]
            if new_step:
                bring_plots(self.window_, r.step.plots) or put_away_plots(self.window_)
            self._shown_key = key
            self.room_wanted.emit()
            if new_step:  # once the room is laid out: the nodes the step names, readable
                QTimer.singleShot(0, self, self._show_step_nodes)

    def _show_step_nodes(self) -> None:
        """The nodes the step names, readable; again whenever the canvas changes size while the lesson
        runs (the docks around it settle after the step is shown)."""
        view = getattr(self.window_, "view", None)
        if view is None or not shiboken6.isValid(view):
            return
        if view is not self._watched_view:
            view.resized.connect(self._canvas_resized)
            self._watched_view = view
        if self.highlighter.nodes and self.wants_room():
            view.bring_into_view(self.highlighter.nodes)

    def _canvas_resized(self) -> None:
        if shiboken6.isValid(self) and self.highlighter.nodes and self.wants_room():
            QTimer.singleShot(0, self, self._show_step_nodes)  # once the resize is done

    def _narrate_in(self, lang: str) -> None:
        """The Narration dock speaks the running lesson's language, and English again once it ends."""
        rv = getattr(self.window_, "run_view", None)
        narration = getattr(rv, "narration", None)
        if narration is not None and shiboken6.isValid(narration):
            narration.set_language(lang)

    # ---------------------------------------------------------------- room
    def wants_room(self) -> bool:
        """A lesson runs in this dock and the person has not closed it."""
        return shiboken6.isValid(self) and self.toggleViewAction().isChecked() and self._alive()

    def wanted_height(self) -> int:
        """The dock's height with the whole step (text and explanation) in view, no scrolling."""
        page = self.step_scroll.widget()
        width = max(80, self.step_scroll.viewport().width())
        lay = page.layout()
        content = lay.heightForWidth(width) if lay.hasHeightForWidth() else page.sizeHint().height()
        body = self.widget().layout().sizeHint().height()  # the list and the buttons at their full height
        title = self.height() - self.widget().height()
        tab_bar = 32  # resizeDocks counts the tab bar of the group the dock sits in
        return title + body - self.step_scroll.sizeHint().height() + content + tab_bar

    @property
    def passed(self) -> bool:
        return self._alive() and self.run.passed()
