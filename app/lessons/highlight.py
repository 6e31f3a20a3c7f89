"""What a lesson step talks about, outlined: nodes and wires on the canvas (an amber glow drawn
with the scene), and controls (actions, widgets, docks found by objectName) in a frame drawn
over the window. A name the window does not have (yet) is skipped: nothing is highlighted."""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAction, QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QDockWidget, QGraphicsPathItem, QTabBar, QWidget

AMBER = QColor(255, 176, 32)
MARK = "lessonHighlight"  # item.data(0) of every canvas highlight (tests find them by it)


class ControlFrame(QWidget):
    """A see-through amber frame over one control; mouse events go through it."""

    def __init__(self, window, target: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("lessonControlHighlight")
        self.target = target
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.follow()  # shows it only when its control is in sight

    def follow(self) -> None:
        t = self.target
        dock = isinstance(t, QDockWidget)
        # a control inside a tab behind another (Train's button behind the lesson) is "visible" to Qt but
        # moved out of sight: no frame, or it would sit off the window or over whatever is in front
        if not shiboken6.isValid(t) or (not dock and (not t.isVisible() or t.visibleRegion().isEmpty())):
            self.hide()
            return
        rect = QRect(t.mapTo(self.parentWidget(), t.rect().topLeft()), t.size())
        if dock and (not t.isVisible() or t.visibleRegion().isEmpty()):
            rect = self._tab_of(t)  # a dock behind another tab: frame its tab, not the one in front
            if rect is None:
                self.hide()
                return
        self.setGeometry(rect.adjusted(-3, -3, 3, 3))
        self.show()
        self.raise_()

    def _tab_of(self, dock: QDockWidget) -> QRect | None:
        """Where the window's tab bars show this dock's tab (matched by its title), in window coordinates."""
        window = self.parentWidget()
        for bar in window.findChildren(QTabBar):
            if bar.parentWidget() is not window or not bar.isVisible():
                continue
            for i in range(bar.count()):
                if bar.tabText(i) == dock.windowTitle():
                    r = bar.tabRect(i)
                    return QRect(bar.mapTo(window, r.topLeft()), r.size())
        return None

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(AMBER, 3))
        p.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 4, 4)


class Highlighter:
    def __init__(self, window) -> None:
        self.window = window
        self.items: list = []
        self.frames: list[ControlFrame] = []
        self.nodes: list[str] = []  # ids outlined now
        self.wires: list[tuple[str, str]] = []  # (node id, port) outlined now
        self.controls: list[str] = []  # objectNames framed now

    def clear(self) -> None:
        for it in self.items:
            if shiboken6.isValid(it) and it.scene() is not None:
                it.scene().removeItem(it)
        for f in self.frames:
            if shiboken6.isValid(f):
                # off the window now, deleted later: a script (or Show me's training loop) that moves through
                # steps without returning to the outer event loop piled up the old frames as its children
                f.hide()
                f.setParent(None)
                f.deleteLater()
        self.items, self.frames, self.nodes, self.wires, self.controls = [], [], [], [], []

    def show(self, graph, node_names: list[str], wire_names: list[str], controls: list[str]) -> None:
        self.clear()
        scene = self.window.scene
        by_name = {n.name: nid for nid, n in graph.nodes.items()}
        for name in node_names:
            nid = by_name.get(name)
            item = scene.node_item(nid) if nid is not None and scene is not None else None
            if item is None:
                continue
            path = QPainterPath()
            path.addRoundedRect(item.boundingRect().adjusted(-6, -6, 6, 6), 10, 10)
            self._add(scene, item.mapToScene(path), 5, 2.5)
            self.nodes.append(nid)
        for ref in wire_names:
            name, _, port = ref.rpartition(".")
            nid = by_name.get(name)
            item = scene.edge_item((nid, port)) if nid is not None and scene is not None else None
            if item is None:
                continue
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._add(scene, item.mapToScene(stroker.createStroke(item.path())), 2, 0.5)
            self.wires.append((nid, port))
        for name in controls:
            target = self._widget(name)
            if target is not None:
                self.frames.append(ControlFrame(self.window, target))
                self.controls.append(name)

    def _add(self, scene, path: QPainterPath, width: float, z: float) -> None:
        it = QGraphicsPathItem(path)
        c = QColor(AMBER)
        it.setPen(QPen(c, width))
        c.setAlpha(60)
        it.setBrush(c)
        it.setZValue(z)
        it.setData(0, MARK)
        it.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        scene.addItem(it)
        self.items.append(it)

    def _widget(self, name: str) -> QWidget | None:
        """The visible widget showing an action (its toolbar button), or a widget or dock by name."""
        w = self.window
        action = w.findChild(QAction, name)
        if action is not None:
            for obj in action.associatedObjects():
                if isinstance(obj, QWidget) and obj.isVisible() and not obj.inherits("QMenu") \
                        and obj.window() is w and not obj.inherits("QToolBar"):
                    return obj
            for obj in action.associatedObjects():  # a toolbar holds it: its button
                if obj.inherits("QToolBar") and obj.isVisible():
                    btn = obj.widgetForAction(action)
                    if btn is not None and btn.isVisible():
                        return btn
            return None
        widget = w.findChild(QWidget, name)
        if isinstance(widget, QDockWidget):  # shown, or a tab behind another: ControlFrame frames its tab
            return widget
        return widget if widget is not None and widget.isVisible() else None

    def follow(self) -> None:
        for f in self.frames:
            if shiboken6.isValid(f):
                f.follow()
