"""Edit numbers on the canvas itself: double-click a value or a param line to type it, drag a
scalar's value sideways to scrub it.

Every edit is an undo command (SetValueCommand / SetParamCommand from app.commands); a scrub drag
is one undo step (a macro around the merged moves). A refused edit says why in the status bar.
Editors show the full value (repr), so editing never rounds the user's data.
"""
from __future__ import annotations

import json
import math

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtWidgets import QLineEdit

from app import commands as cmds

EDIT_MAX = 16  # arrays up to this many numbers can be typed on the canvas
SCRUB_START_PX = 3.0  # a press becomes a scrub after this many pixels sideways


# ---------------------------------------------------------------- values
def editable_value(graph, nid: str) -> np.ndarray | None:
    """The value of an input/const/param node when it is small enough to type, else None."""
    node = graph.nodes.get(nid)
    spec = node.spec if node is not None else None
    v = node.tensors.get("value") if node is not None else None
    if spec is None or not spec.source or v is None or v.size > EDIT_MAX or v.dtype.kind not in "fiu":
        return None
    return v


def scalar_value(graph, nid: str) -> float | None:
    v = editable_value(graph, nid)
    if v is None or v.size != 1 or v.dtype.kind != "f":
        return None
    return float(v.reshape(-1)[0])


def value_text(v: np.ndarray) -> str:
    """The full value: 3.0, -0.007, [1.0, 2.0] (the shortest text that reads back exactly)."""
    if v.ndim == 0:
        return repr(v.item())
    return json.dumps(v.tolist())


def parse_value(text: str, old: np.ndarray, name: str) -> np.ndarray:
    """The typed text as an array of the old dtype and shape, or ValueError saying what is wrong."""
    t = text.strip()
    quoted = t if len(t) <= 80 else t[:77] + "..."
    try:
        data = json.loads(t) if t.startswith("[") else float(t)
        arr = np.asarray(data, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name}: {quoted!r} is not a number") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: {quoted!r} is not a finite number")
    if arr.size != old.size:
        raise ValueError(f"{name} holds {old.size} number{'s' * (old.size != 1)}; {quoted!r} has {arr.size}")
    if old.dtype.kind in "iu":
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} holds integers; {quoted!r} is not one")
    return arr.astype(old.dtype).reshape(old.shape)


# ---------------------------------------------------------------- params
def param_text(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return "" if value is None else (repr(value) if isinstance(value, float) else str(value))


def parse_param(text: str, pspec, name: str):
    """The typed text as the param's kind; the registry's validate has the final word."""
    t = text.strip()
    quoted = t if len(t) <= 80 else t[:77] + "..."
    k = pspec.kind
    try:
        if k == "bool":
            low = t.lower()
            if low not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return low in ("on", "true", "1", "yes")
        if k == "int":
            return int(t)
        if k == "float":
            return float(t)
        if k == "axis":
            return None if t.lower() in ("", "none", "null") else int(t)
        if k in ("choice", "str"):
            return t
        return json.loads(t)
    except (ValueError, TypeError):
        raise ValueError(f"{name}: {quoted!r} is not a valid {k}") from None


# ---------------------------------------------------------------- the inline editor
class EscapeFilter(QObject):
    """Escape in an inline editor on the canvas (a value, a param, a rename) cancels the edit."""

    def __init__(self, parent, on_escape) -> None:
        super().__init__(parent)
        self._on_escape = on_escape

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.KeyPress and ev.key() == Qt.Key.Key_Escape:
            self._on_escape()
            return True
        return False


def _editor_over(scene, item, rect: QRectF, text: str, name: str) -> QLineEdit | None:
    views = scene.views()
    if not views:
        return None
    view = views[0]
    r = view.mapFromScene(item.mapRectToScene(rect)).boundingRect()
    editor = QLineEdit(view.viewport())
    editor.setObjectName(name)
    editor.setText(text)
    editor.selectAll()
    editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
    w = max(r.width(), 90)
    editor.setGeometry(int(r.center().x() - w / 2), int(r.center().y() - 14), int(w), 28)
    return editor


def begin_edit(scene, item, index: int) -> QLineEdit | None:
    """A line editor over the node's centre line `index`: its value, or the param on that line.
    Enter applies (one undo step), Escape or focus loss without Enter cancels."""
    graph = scene.graph
    nid = item.node_id
    node = graph.nodes[nid]
    param = item.param_at_line(index)
    if param is None:
        old = editable_value(graph, nid)
        if old is None:
            return None
        text = value_text(old)
    else:
        text = param_text(node.params.get(param))
    rect = item.center_line_rect(index)
    editor = _editor_over(scene, item, rect, text, "valueEditor" if param is None else "paramEditor")
    if editor is None:
        return None
    editor.setFont(item.center_font(index))
    state = {"done": False}

    def finish(apply: bool) -> None:
        if state["done"]:
            return
        state["done"] = True
        typed = editor.text()
        editor.hide()
        editor.deleteLater()
        if apply and nid in graph.nodes:
            apply_text(scene, nid, param, typed)

    editor.returnPressed.connect(lambda: finish(True))
    editor.editingFinished.connect(lambda: finish(False))
    editor.installEventFilter(EscapeFilter(editor, lambda: finish(False)))
    editor.show()
    editor.setFocus()
    scene._value_editor = editor
    return editor


def apply_text(scene, nid: str, param: str | None, text: str) -> bool:
    """Parse and push the edit; a bad text or a refused edit is reported, nothing changes."""
    graph = scene.graph
    node = graph.nodes[nid]
    try:
        if param is None:
            old = node.tensors["value"]
            cmd = cmds.SetValueCommand(graph, nid, parse_value(text, old, node.name))
        else:
            pspec = node.spec.param(param)
            cmd = cmds.SetParamCommand(graph, nid, param, parse_param(text, pspec, f"{node.name}.{param}"))
    except ValueError as exc:
        scene.status_message.emit(str(exc))
        return False
    return scene._push(cmd)  # the scene's one way to push: a refusal says why


# ---------------------------------------------------------------- scrubbing
def scrub_step(v0: float) -> float:
    """Value change per screen pixel: 1/20 of the value's order of magnitude (3.0 moves 0.05 a pixel)."""
    unit = 10.0 ** math.floor(math.log10(abs(v0))) if v0 != 0 else 1.0
    return max(unit, 1e-6) / 20.0


class Scrub:
    """One sideways drag on a scalar's value: every move is a SetValueCommand inside one macro."""

    def __init__(self, scene, nid: str, v0: float, x0: float) -> None:
        self.scene, self.nid, self.v0, self.x0 = scene, nid, v0, x0
        self.step = scrub_step(v0)
        self.decimals = max(0, -math.floor(math.log10(self.step)))
        self.started = False
        self.refused = False
        self.moves = 0

    def move(self, x: float, fine: bool = False) -> None:
        dx = x - self.x0
        if self.refused:
            return
        if not self.started:
            if abs(dx) < SCRUB_START_PX:
                return
            lock = getattr(self.scene.undo_stack, "edit_lock", None)
            if lock:  # a training run holds the graph: say so once, not on every move
                self.refused = True
                self.scene.status_message.emit(f"Scrub refused: {lock}")
                return
            self.started = True
            name = self.scene.graph.nodes[self.nid].name
            self.scene.undo_stack.beginMacro(f"Scrub {name}")
        step = self.step / 10.0 if fine else self.step
        value = round(self.v0 + dx * step, self.decimals + (1 if fine else 0))
        old = self.scene.graph.nodes[self.nid].tensors["value"]
        if float(old.reshape(-1)[0]) == value:
            return
        arr = np.asarray(value, dtype=old.dtype).reshape(old.shape)
        err = cmds.push_command(self.scene.undo_stack, cmds.SetValueCommand(self.scene.graph, self.nid, arr))
        if err:
            self.scene.status_message.emit(f"Scrub refused: {err}")
        else:
            self.moves += 1

    def finish(self) -> bool:
        """End the drag; True when it changed the value (one undo step)."""
        if self.started:
            self.scene.undo_stack.endMacro()
            if self.moves == 0:  # an empty macro: take it back off the stack
                self.scene.undo_stack.undo()
        return self.started and self.moves > 0


# ---------------------------------------------------------------- the node card's side
class CanvasEditing:
    """Mixed into NodeItem: hit tests on its centre lines (center_rects, param_at_line, line_at come
    from the item) and the mouse handling of typing and scrubbing."""

    def edit_at(self, event) -> bool:
        """A double-click on a value or param line opens its editor; True when it did."""
        line = self._editable_line(event.pos())
        if line is None:
            return False
        # the editor opens under the cursor and takes the button's release: let go of the mouse
        # now, or the next move would drag this node
        self.ungrabMouse()
        begin_edit(self.graph_scene, self, line)
        event.accept()
        return True

    def _editable_line(self, pos: QPointF) -> int | None:
        """A line a double-click edits: a source's value, or a param line of another node."""
        i = self.line_at(pos)
        if i is None:
            return None
        spec = self.node.spec
        if spec is not None and spec.source:
            return i if editable_value(self.graph_scene.graph, self.node_id) is not None else None
        return i if self.param_at_line(i) is not None else None

    def _scrubbable(self, pos: QPointF) -> float | None:
        """The scalar value under pos when this is a source node (drag it sideways to scrub)."""
        spec = self.node.spec
        if spec is None or not spec.source or self.line_at(pos) is None:
            return None
        return scalar_value(self.graph_scene.graph, self.node_id)

    def _view_x(self, event) -> float:
        """The event's x in view pixels (the scrub speed is per screen pixel at any zoom)."""
        views = self.scene().views() if self.scene() is not None else []
        zoom = views[0].transform().m11() if views else 1.0
        return event.scenePos().x() * zoom

    def hoverMoveEvent(self, event) -> None:
        if self._scrubbable(event.pos()) is not None:
            self.setCursor(Qt.CursorShape.SizeHorCursor)
        elif self._editable_line(event.pos()) is not None:
            self.setCursor(Qt.CursorShape.IBeamCursor)
        else:
            self.unsetCursor()
        super().hoverMoveEvent(event)

    def mousePressEvent(self, event) -> None:
        v = self._scrubbable(event.pos()) if event.button() == Qt.MouseButton.LeftButton else None
        if v is not None and not event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                                       | Qt.KeyboardModifier.ShiftModifier):
            scene = self.graph_scene
            if not self.isSelected():
                scene.clearSelection()
                self.setSelected(True)
            self._scrub = Scrub(scene, self.node_id, v, self._view_x(event))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        scrub = getattr(self, "_scrub", None)
        if scrub is not None:
            scrub.move(self._view_x(event), fine=bool(event.modifiers() & Qt.KeyboardModifier.AltModifier))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        scrub = getattr(self, "_scrub", None)
        if scrub is not None:
            self._scrub = None
            scrub.finish()
            event.accept()
            return
        super().mouseReleaseEvent(event)

