"""What a teacher needs to project the canvas: zoom actions, a UI scale, and presentation mode.

Presentation mode (View > Presentation, F11) hides the palette and the inspector, scales the UI font
and the canvas text (node cards and wire labels), makes the gradient pulses larger and slower,
shows the narration in large type and frames the graph; leaving it restores the window exactly as
it was (dock state, visibility, zoom, fonts). The UI scale (100 % to 200 %) applies always and is kept in the settings.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QAction, QActionGroup, QFont, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget

from . import settings as app_settings
from .canvas import look as it

UI_SCALES = (100, 125, 150, 175, 200)  # percent
PRESENT_TEXT = 1.5  # presentation mode multiplies the UI scale by this for fonts and canvas text
PRESENT_PULSE = 1.6  # ...and the pulses' size and duration by this
PRESENT_FRAME_ZOOM = 3.0  # framing may zoom this far in presentation mode (1.5 otherwise)
HIDDEN_WHEN_PRESENTING = ("paletteDock", "inspectorDock", "historyDock", "trainDock", "problemsDock")
TRAINING_DOCKS = ("plotsDock", "boundaryDock")  # hidden too when the graph has no training set up
SETTINGS_KEY = "ui/scale"


def saved_ui_scale() -> int:
    try:
        v = int(app_settings.settings().value(SETTINGS_KEY, 100))
    except (TypeError, ValueError):
        return 100
    return v if v in UI_SCALES else 100


class ViewExtras(QObject):
    """Adds the zoom, UI scale and presentation actions to a main window's View menu."""

    def __init__(self, window, run_view=None) -> None:
        super().__init__(window)
        self.window = window
        self.run_view = run_view
        self.presenting = False
        self._saved: dict | None = None
        app = QApplication.instance()
        self._base_font = QFont(app.font())
        self.ui_scale = saved_ui_scale()

        def action(name: str, text: str, slot, keys=(), tip: str = "", checkable: bool = False) -> QAction:
            a = QAction(text, window)
            a.setObjectName(name)
            if keys:
                a.setShortcuts([QKeySequence(k) for k in keys])
            a.setToolTip(tip or text.replace("&", ""))
            a.setStatusTip(tip)
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            window.addAction(a)  # works with the menu bar hidden
            return a

        self.actionZoomIn = action("actionZoomIn", "Zoom &In", lambda: self._zoom(1.25), ("Ctrl++", "Ctrl+="),
                                   "Zoom in on the canvas")
        self.actionZoomOut = action("actionZoomOut", "Zoom &Out", lambda: self._zoom(0.8), ("Ctrl+-",),
                                    "Zoom out of the canvas")
        self.actionZoom100 = action("actionZoom100", "&Actual Size (100%)", self._zoom_100, ("Ctrl+0",),
                                    "Show the canvas at 100 %")
        self.actionPresentation = action("actionPresentation", "&Presentation Mode", self.set_presenting,
                                         ("F11",), "Large text and pulses for a projector; the side panels hide",
                                         checkable=True)
        self.scale_group = QActionGroup(self)
        self.scale_actions: dict[int, QAction] = {}
        for pct in UI_SCALES:
            a = action(f"actionUiScale{pct}", f"{pct} %", lambda _=False, p=pct: self.set_ui_scale(p),
                       checkable=True)
            self.scale_group.addAction(a)
            self.scale_actions[pct] = a
        self.scale_actions[self.ui_scale].setChecked(True)
        self._add_to_menu(window.menus["view"])
        window.installEventFilter(self)
        window.document_changed.connect(self._document_changed)
        self._apply_scale()

    def _add_to_menu(self, menu) -> None:
        first = menu.actions()[0] if menu.actions() else None
        menu.insertActions(first, [self.actionZoomIn, self.actionZoomOut, self.actionZoom100])
        menu.insertSeparator(first)
        sub = menu.addMenu("UI &Scale")
        sub.setObjectName("menuUiScale")
        sub.addActions(list(self.scale_actions.values()))
        menu.addAction(self.actionPresentation)

    # ------------------------------------------------------------------ zoom
    @property
    def view(self):
        return getattr(self.window, "view", None)

    def _zoom(self, factor: float) -> None:
        if self.view is not None:
            self.view.zoom_by(factor)

    def _zoom_100(self) -> None:
        if self.view is not None:
            self.view.reset_zoom()

    # ------------------------------------------------------------------ scale
    def text_scale(self) -> float:
        return self.ui_scale / 100.0 * (PRESENT_TEXT if self.presenting else 1.0)

    def ui_font_pt(self) -> float:
        """The UI font size now (points): the application's, times the text scale."""
        base = self._base_font.pointSizeF()
        return (base if base > 0 else 9.0) * self.text_scale()

    def set_ui_scale(self, percent: int) -> None:
        if percent not in UI_SCALES:
            raise ValueError(f"UI scale must be one of {UI_SCALES}, got {percent!r}")
        self.ui_scale = percent
        self.scale_actions[percent].setChecked(True)
        app_settings.settings().setValue(SETTINGS_KEY, percent)
        self._apply_scale()

    def _apply_scale(self) -> None:
        s = self.text_scale()
        # A style sheet on the window, not QApplication.setFont: under the app's style sheet Qt
        # ignores font changes made with setFont. The window's sheet wins over the app's.
        self.window.setStyleSheet("" if s == 1.0 else f"QWidget {{ font-size: {self.ui_font_pt():.1f}pt; }}")
        it.Fonts.set_text_scale(s)
        self._refresh_canvas()
        rv = self.run_view
        if rv is not None:
            rv.narration.set_scale(s, large=self.presenting)
            rv.controller.pulse_scale = PRESENT_PULSE * self.ui_scale / 100.0 if self.presenting else 1.0

    def _refresh_canvas(self) -> None:
        scene = getattr(self.window, "scene", None)
        if scene is None:
            return
        from .run import decor

        scene.fonts_changed()  # the node cards and the wire labels
        for n in scene.node_items():
            decor.refresh_fonts(n)

    # ------------------------------------------------------------------ presentation
    def set_presenting(self, on: bool) -> None:
        on = bool(on)
        self.actionPresentation.setChecked(on)
        if on == self.presenting:
            return
        w = self.window
        if on:
            view = self.view
            self._saved = {
                "state": w.saveState(),
                "visible": {d.objectName(): d.isVisible() for d in w.findChildren(QDockWidget)},
                "transform": view.transform() if view is not None else None,
                "center": view.mapToScene(view.viewport().rect().center()) if view is not None else None,
            }
            self.presenting = True
            hide = set(HIDDEN_WHEN_PRESENTING)
            doc = getattr(w, "document", None)
            if doc is None or not doc.trains:
                hide |= set(TRAINING_DOCKS)
            for d in w.findChildren(QDockWidget):
                if d.objectName() in hide:
                    d.hide()
            rv = self.run_view
            if rv is not None:
                rv.narration.show()
                rv.narration.raise_()
            self._apply_scale()
            self._set_frame_limit()
            QTimer.singleShot(0, self.frame)  # after the docks have given the canvas their space
        else:
            saved, self._saved = self._saved, None
            self.presenting = False
            self._apply_scale()
            self._set_frame_limit()
            if saved is not None:
                w.restoreState(saved["state"])
                for d in w.findChildren(QDockWidget):
                    if d.objectName() in saved["visible"]:
                        d.setVisible(saved["visible"][d.objectName()])
                view = self.view
                if view is not None and saved["transform"] is not None:
                    view.setTransform(saved["transform"])
                    view.centerOn(saved["center"])
            train_view = getattr(w, "train_view", None)
            if train_view is not None:  # a document opened while presenting gets its own panels
                train_view.fit_panels()

    def frame(self) -> None:
        if self.view is not None:
            self.view.frame_all()

    def _set_frame_limit(self) -> None:
        if self.view is not None:
            self.view.frame_max_zoom = PRESENT_FRAME_ZOOM if self.presenting else 1.5

    def _document_changed(self, _doc) -> None:
        self._set_frame_limit()
        self._refresh_canvas()

    def eventFilter(self, obj, event) -> bool:
        """Leave presentation mode before the window saves its layout on close."""
        if obj is self.window and event.type() == QEvent.Type.Close and self.presenting:
            self.set_presenting(False)
        return False


def install_view_extras(window, run_view=None) -> ViewExtras:
    return ViewExtras(window, run_view)
