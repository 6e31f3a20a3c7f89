"""The window's dock layout, built around the canvas: it keeps at least CANVAS_SHARE of the
window's width and height (the graph view's own size) at any size from 1024x640 up.

The layout belongs to the window, not to documents: New, Open and closing a graph never
touch it. `apply_default` places every dock the window knows (the training docks once they
exist) and sizes the columns as fractions of the window; `enforce` shrinks the dock columns
again when a resize, a restored layout or a dock that grew would leave the canvas too small.
"""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow

CANVAS_SHARE = 0.60  # the floor the issue sets, measured on the graph view itself
TARGET_SHARE = 0.62  # what `enforce` restores to: a few pixels above the floor, so rounding never
# crosses it, and no more (at 1280x720 each pixel of height the canvas gives up goes to the plots)
LEFT, RIGHT, BOTTOM = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
                       Qt.DockWidgetArea.BottomDockWidgetArea)
# Default column sizes as fractions of the window (the rest is the canvas).
LEFT_FRACTION, RIGHT_FRACTION, BOTTOM_FRACTION = 0.11, 0.27, 0.28
LESSON_SHARE = 0.72  # the most of the right column a running lesson's step takes from the panels below it


def _dock(window: QMainWindow, name: str) -> QDockWidget | None:
    return window.findChild(QDockWidget, name)


def docks_in(window: QMainWindow, area: Qt.DockWidgetArea) -> list[QDockWidget]:
    """The visible, docked (not floating) docks of one area."""
    return [d for d in window.findChildren(QDockWidget)
            if d.parent() is window and d.isVisible() and not d.isFloating() and window.dockWidgetArea(d) == area
            and not d.visibleRegion().isEmpty()]  # a tab behind another keeps a stale size


def canvas_share(window: QMainWindow) -> tuple[float, float]:
    """(width, height) of the graph view as fractions of the window's."""
    view = getattr(window, "view", None)
    if view is None or window.width() <= 0 or window.height() <= 0:
        return 0.0, 0.0
    return view.width() / window.width(), view.height() / window.height()


def apply_default(window: QMainWindow, keep_closed: bool = False) -> None:
    """Palette on the left; inspector, Train and history tabbed on the right above "What the net
    sees"; problems and the training plots tabbed below the canvas. Every dock is shown again
    unless `keep_closed` (the training docks arriving after the person closed one)."""
    names = ["paletteDock", "inspectorDock", "trainDock", "historyDock", "boundaryDock", "problemsDock",
             "plotsDock"]
    d = {n: _dock(window, n) for n in names}
    for dock in d.values():
        if dock is not None:
            dock.setFloating(False)
    window.setCorner(Qt.Corner.BottomLeftCorner, LEFT)
    window.setCorner(Qt.Corner.BottomRightCorner, RIGHT)
    place = [("paletteDock", LEFT), ("inspectorDock", RIGHT), ("problemsDock", BOTTOM)]
    for name, area in place:
        if d[name] is not None:
            window.addDockWidget(area, d[name])
    if d["boundaryDock"] is not None:
        window.addDockWidget(RIGHT, d["boundaryDock"])
        window.splitDockWidget(d["inspectorDock"], d["boundaryDock"], Qt.Orientation.Vertical)
    for name in ("trainDock", "historyDock"):
        if d[name] is not None:
            window.tabifyDockWidget(d["inspectorDock"], d[name])
    if d["plotsDock"] is not None:
        window.tabifyDockWidget(d["problemsDock"], d["plotsDock"])
    narration = _dock(window, "narrationDock")  # issue 9's narration, when its view is installed
    if narration is not None:
        narration.setFloating(False)
        window.tabifyDockWidget(d["problemsDock"], narration)
    code = _dock(window, "codeDock")  # issue 12's staged code, when its view is installed
    if code is not None:
        code.setFloating(False)
        window.tabifyDockWidget(d["inspectorDock"], code)
    for dock in d.values():
        # a closed dock comes back; show() on a docked tab Qt keeps hidden would draw it over its neighbour
        if dock is not None and not keep_closed and not dock.toggleViewAction().isChecked():
            dock.toggleViewAction().trigger()
    d["inspectorDock"].raise_()
    if d["plotsDock"] is not None:
        d["plotsDock"].raise_()
    size_columns(window)


def size_columns(window: QMainWindow) -> None:
    w, h = window.width(), window.height()
    horizontal = [(docks_in(window, LEFT), LEFT_FRACTION), (docks_in(window, RIGHT), RIGHT_FRACTION)]
    docks, sizes = [], []
    for group, frac in horizontal:
        if group:
            docks.append(group[0])
            sizes.append(int(w * frac))
    if docks:
        window.resizeDocks(docks, sizes, Qt.Orientation.Horizontal)
    bottom = docks_in(window, BOTTOM)
    if bottom:
        window.resizeDocks([bottom[0]], [int(h * BOTTOM_FRACTION)], Qt.Orientation.Vertical)
    split_right(window)


def split_right(window: QMainWindow) -> None:
    """Settings above, the boundary below: the boundary gets the larger share of the right column
    (nothing to split while the boundary is hidden for a graph that does not train). A running
    lesson in the top tab group (or the Babysit dock in front there) takes the height it needs, up to
    LESSON_SHARE of the column: the panels below yield while it runs and get their share back when it ends."""
    right = _column(window, RIGHT)
    if len(right) >= 2:
        usable = window.height() - 120
        top = int(usable * 0.38)
        wanted = [room_for(right[0]) for room_for in _room_askers(window)]
        wanted = max((x for x in wanted if x), default=None)
        if wanted:
            top = max(top, min(wanted, int(usable * LESSON_SHARE)))
        window.resizeDocks(right[:2], [top, usable - top], Qt.Orientation.Vertical)


def _room_askers(window: QMainWindow) -> list:
    """The views whose dock may ask for more of the right column's top: a running lesson, the Babysit
    dock in front (each `room_for(top)` returns a height or None)."""
    train = getattr(window, "train_view", None)
    views = (getattr(window, "lesson_view", None), getattr(train, "babysit", None))
    return [v.room_for for v in views if v is not None and hasattr(v, "room_for")]


def _column(window: QMainWindow, area: Qt.DockWidgetArea) -> list[QDockWidget]:
    """One visible dock per stacked position of an area (tabbed docks count once), top to bottom."""
    seen: list[QDockWidget] = []
    for dock in sorted(docks_in(window, area), key=lambda x: x.y()):
        if any(dock in window.tabifiedDockWidgets(s) for s in seen):
            continue
        if not any(abs(s.y() - dock.y()) < 4 for s in seen):
            seen.append(dock)
    return seen


def enforce(window: QMainWindow) -> bool:
    """Shrink the dock columns when the canvas has less than CANVAS_SHARE; True if it resized."""
    view = getattr(window, "view", None)
    if view is None or not window.isVisible():
        return False
    _settle(window)
    fw, fh = canvas_share(window)
    changed = False
    if fw < CANVAS_SHARE:
        changed |= _shrink(window, Qt.Orientation.Horizontal, [LEFT, RIGHT], window.width(), lambda: view.width())
    if fh < CANVAS_SHARE:
        changed |= _shrink(window, Qt.Orientation.Vertical, [BOTTOM], window.height(), lambda: view.height())
    return changed


def _settle(window: QMainWindow) -> None:
    """Lay the docks and the canvas out now: after a resizeDocks the view keeps its old size until the
    event loop runs, and measuring that stale size made two calls in one turn shrink the docks twice."""
    for widget in (window, window.centralWidget()):
        if widget is not None and widget.layout() is not None:
            widget.layout().activate()


def _shrink(window: QMainWindow, orientation, areas, total: int, canvas) -> bool:
    """Take the missing pixels from the areas' docks in proportion to their sizes, until the canvas
    (`canvas()`, its current length) is at TARGET_SHARE. resizeDocks on a tabbed group lands short
    or long by its tab bar, so the request is corrected from what the canvas measures after each."""
    target = int(total * TARGET_SHARE)
    if target - canvas() <= 0:
        return False
    groups = []
    for area in areas:
        docks = docks_in(window, area)
        if docks:
            groups.append((docks[0], _length(window, area, docks)))
    total_docks = sum(s for _, s in groups)
    if total_docks <= 0:
        return False
    docks = [dock for dock, _ in groups]
    asked = [float(s) for _, s in groups]
    for _ in range(4):
        missing = target - canvas()
        if abs(missing) <= 2:
            break
        asked = [max(40.0, a - missing * a / sum(asked)) for a in asked]
        window.resizeDocks(docks, [int(a) for a in asked], orientation)
        _settle(window)
    return True


def column_sizes(window: QMainWindow) -> dict:
    """{area: px}: the width of the left and right dock columns and the height of the bottom one."""
    out = {}
    for area in (LEFT, RIGHT, BOTTOM):
        docks = docks_in(window, area)
        out[area] = _length(window, area, docks) if docks else 0
    return out


def _length(window: QMainWindow, area, docks: list[QDockWidget]) -> int:
    """A column's width, or the bottom area's height as resizeDocks counts it: with the tab bar of
    tabbed docks (a dock's own height leaves it out, and sizing by it lost the bar's height each time)."""
    if area != BOTTOM:
        return max(d.width() for d in docks)
    top = min(d.geometry().top() for d in docks)
    bar = window.statusBar() if window.statusBar().isVisible() else None
    bottom = bar.geometry().top() if bar is not None else window.height()
    return max(max(d.height() for d in docks), bottom - top)


class LayoutKeeper(QObject):
    """Keeps each dock column at the fraction of the window the user gave it, across resizes.

    Docks keep their pixel size when a QMainWindow resizes, so shrinking to 800x600 and growing
    back used to leave them crushed. The fractions are read whenever a dock changes size while the
    window does not (a splitter drag, a dock shown), and only at MIN_SIZE or more: a crushed
    small-window layout never becomes the intent."""

    MIN_SIZE = (1024, 640)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.intent: dict | None = None
        self.size = None  # the window size the layout was last settled at

    def watch(self, dock: QDockWidget) -> None:
        dock.removeEventFilter(self)
        dock.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if not shiboken6.isValid(self.window):
            return False
        if event.type() == QEvent.Type.Resize and self.size is not None and self.window.size() == self.size:
            self.remember()
        return False

    def remember(self) -> None:
        w = self.window
        if w.width() < self.MIN_SIZE[0] or w.height() < self.MIN_SIZE[1] or not w.isVisible():
            return
        px = column_sizes(w)
        self.intent = {a: px[a] / (w.width() if a != BOTTOM else w.height()) for a in px}

    def restore(self) -> None:
        """Size the columns to the remembered fractions, then make sure the canvas keeps its share."""
        w = self.window
        self.size = None
        if self.intent is not None:
            docks, sizes = [], []
            for area in (LEFT, RIGHT):
                group = docks_in(w, area)
                if group and self.intent.get(area):
                    docks.append(group[0])
                    sizes.append(int(self.intent[area] * w.width()))
            if docks:
                w.resizeDocks(docks, sizes, Qt.Orientation.Horizontal)
            bottom = docks_in(w, BOTTOM)
            if bottom and self.intent.get(BOTTOM):
                w.resizeDocks([bottom[0]], [int(self.intent[BOTTOM] * w.height())], Qt.Orientation.Vertical)
        enforce(w)
        QTimer.singleShot(0, self, self._settled)

    def _settled(self) -> None:
        self.size = self.window.size()


def state_fits(window: QMainWindow) -> bool:
    """True when the current layout leaves the canvas its share (call after a layout pass)."""
    fw, fh = canvas_share(window)
    return fw >= CANVAS_SHARE and fh >= CANVAS_SHARE

