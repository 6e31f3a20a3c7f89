"""Shared by the canvas tests: the CS231n circuit, the `editor` fixture and real mouse/key events.

A drag needs hand-built QMouseEvents that carry the held button (QTest.mouseMove
does not: pytest-qt issue #260), sent to view.viewport().
"""

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QUndoStack
from PySide6.QtWidgets import QApplication

import graphcore as gc
from app.canvas import GraphScene, GraphView

L = Qt.MouseButton.LeftButton
M = Qt.MouseButton.MiddleButton
NOB = Qt.MouseButton.NoButton


def circuit():
    g = gc.Graph()
    x = g.add("input", name="x", value=3.0, ui={"x": 0, "y": 0})
    y = g.add("input", name="y", value=-4.0, ui={"x": 0, "y": 120})
    z = g.add("input", name="z", value=2.0, ui={"x": 0, "y": 240})
    w = g.add("input", name="w", value=-1.0, ui={"x": 0, "y": 360})
    xy = g.add("mul", name="xy", inputs={"a": x, "b": y}, ui={"x": 240, "y": 40})
    m = g.add("max", name="m", inputs={"a": z, "b": w}, ui={"x": 240, "y": 280})
    s = g.add("add", name="s", inputs={"a": xy, "b": m}, ui={"x": 480, "y": 160})
    two = g.add("const", name="two", value=2.0, ui={"x": 480, "y": 360})
    f = g.add("mul", name="f", inputs={"a": s, "b": two}, ui={"x": 720, "y": 240})
    return g, dict(x=x, y=y, z=z, w=w, xy=xy, m=m, s=s, two=two, f=f)


@pytest.fixture
def editor(qtbot):
    g, n = circuit()
    stack = QUndoStack()
    scene = GraphScene(g, stack)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    view.centerOn(QPointF(450, 250))
    messages = []
    scene.status_message.connect(messages.append)
    yield g, n, scene, view, stack, messages
    scene.detach()


# ---------------------------------------------------------------- event helpers
def send_mouse(view, kind, scene_pt, button, buttons, mods=Qt.KeyboardModifier.NoModifier):
    vp = view.mapFromScene(scene_pt)
    glob = view.viewport().mapToGlobal(vp)
    ev = QMouseEvent(kind, QPointF(vp), QPointF(glob), button, buttons, mods)
    QApplication.sendEvent(view.viewport(), ev)


def drag(view, a, b, steps=6, button=L, mods=Qt.KeyboardModifier.NoModifier):
    a, b = QPointF(a), QPointF(b)
    send_mouse(view, QEvent.Type.MouseButtonPress, a, button, button, mods)
    for k in range(1, steps + 1):
        p = a + (b - a) * (k / steps)
        send_mouse(view, QEvent.Type.MouseMove, p, NOB, button, mods)
    send_mouse(view, QEvent.Type.MouseButtonRelease, b, button, NOB, mods)


def click(view, pt, mods=Qt.KeyboardModifier.NoModifier):
    send_mouse(view, QEvent.Type.MouseButtonPress, QPointF(pt), L, L, mods)
    send_mouse(view, QEvent.Type.MouseButtonRelease, QPointF(pt), L, NOB, mods)


def key(widget, k, mods=Qt.KeyboardModifier.NoModifier, text=""):
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, k, mods, text))
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyRelease, k, mods, text))


def out_pos(scene, nid):
    return scene.node_item(nid).output.scene_center()


def in_pos(scene, nid, port):
    return scene.node_item(nid).inputs[port].scene_center()


def body_pos(scene, nid):
    """A point on the node's header, away from ports."""
    r = scene.node_item(nid).sceneBoundingRect()
    return QPointF(r.center().x(), r.top() + 16)


def add_at(g, op, x, y, **kw):
    return g.add(op, ui={"x": x, "y": y}, **kw)
