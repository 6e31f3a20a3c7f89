"""GraphScene: a QGraphicsScene that mirrors one graphcore.Graph and edits it through undo commands.

The scene never holds a second copy of the truth: items are created, moved and
removed only in response to the graph's events. Edits (add, wire, move, delete,
paste, layout) are QUndoCommands pushed to the undo stack; refused edits are
checked first with graph.connection_problem and reported through status_message.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QUndoStack
from PySide6.QtWidgets import QGraphicsScene, QLineEdit

from graphcore import fileformat
from graphcore.fileformat import GraphFormatError
from graphcore.graph import Edge, Graph

from .. import commands as cmds
from . import look
from .nodes import NodeItem
from .ports import PortItem
from .wires import EdgeItem, TempWireItem
from .layout import layered_positions
from .value_edit import EscapeFilter

SCENE_EXTENT = 100_000.0
DRAG_THRESHOLD = 6.0


@dataclass
class _WireDrag:
    """A wire being dragged: `fixed` stays put, the other end follows the cursor."""

    fixed: PortItem
    reroute: Edge | None = None  # the existing wire whose other end was picked up
    target: PortItem | None = None
    target_problem: str | None = None

    @property
    def want_input(self) -> bool:
        return self.fixed.is_output


class GraphScene(QGraphicsScene):
    status_message = Signal(str)
    selection_ids_changed = Signal(list)

    def __init__(self, graph: Graph, undo_stack: QUndoStack, parent=None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.undo_stack = undo_stack
        self.snap_to_grid = False
        self.grid_size = 20
        self.exporting = False
        self.syncing = False
        self.auto_validate = True
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[tuple[str, str], EdgeItem] = {}
        self._wires_of: dict[str, set[tuple[str, str]]] = {}  # node id -> keys of its wires' items
        self._wire: _WireDrag | None = None
        self._temp = None
        self._pending_edge: tuple[EdgeItem, QPointF] | None = None
        self._move_start: dict[str, QPointF] | None = None
        self._extra_problems: list = []
        self._validation_problems: list = []
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(0)
        self._validate_timer.timeout.connect(self.revalidate)
        self._rename_editor: QLineEdit | None = None
        self.setSceneRect(-SCENE_EXTENT / 2, -SCENE_EXTENT / 2, SCENE_EXTENT, SCENE_EXTENT)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self._subs = [
            (graph.node_added, self._on_node_added), (graph.node_removed, self._on_node_removed),
            (graph.edge_added, self._on_edge_added), (graph.edge_removed, self._on_edge_removed),
            (graph.node_changed, self._on_node_changed),
        ]
        for ev, cb in self._subs:
            ev.sub(cb)
        look.add_palette_listener(self)
        self.selectionChanged.connect(self._on_selection_changed)
        self._build()
        self.revalidate()

    # ------------------------------------------------------------------ mirror
    def detach(self) -> None:
        """Stop mirroring the graph (call when the scene is discarded)."""
        for ev, cb in self._subs:
            ev.unsub(cb)
        self._subs = []
        self._validate_timer.stop()

    def _alive(self) -> bool:
        if shiboken6.isValid(self):
            return True
        for ev, cb in self._subs:
            ev.unsub(cb)
        return False

    def _build(self) -> None:
        missing = [nid for nid, n in self.graph.nodes.items() if "x" not in n.ui or "y" not in n.ui]
        for nid in self.graph.nodes:
            self._make_node(nid)
        if missing:
            pos = self.layout_positions()
            self.syncing = True
            for nid in missing:
                self._nodes[nid].setPos(*pos[nid])
            self.syncing = False
        for e in self.graph.edges:
            self._make_edge(e)

    def _make_node(self, nid: str) -> NodeItem:
        item = NodeItem(self, nid)
        ui = self.graph.nodes[nid].ui
        self.syncing = True
        if "x" in ui and "y" in ui:
            item.setPos(float(ui["x"]), float(ui["y"]))
        else:
            r = self.nodes_rect()
            item.setPos(r.right() + 60 if not r.isEmpty() else 0.0, r.top() if not r.isEmpty() else 0.0)
        self.addItem(item)
        self.syncing = False
        self._nodes[nid] = item
        return item

    def _make_edge(self, e: Edge) -> EdgeItem | None:
        if e.src not in self._nodes or e.dst not in self._nodes:
            return None
        dst = self._nodes[e.dst]
        if e.dst_port not in dst.inputs or self._nodes[e.src].output is None:
            return None
        item = EdgeItem(self, e)
        self.addItem(item)
        key = (e.dst, e.dst_port)
        self._edges[key] = item
        self._wires_of.setdefault(e.src, set()).add(key)
        self._wires_of.setdefault(e.dst, set()).add(key)
        dst.inputs[e.dst_port].set_connected(True)
        self._nodes[e.src].output.set_connected(True)
        return item

    def _on_node_added(self, nid: str) -> None:
        if not self._alive():
            return
        self._make_node(nid)
        if len(self._nodes) == 1:
            self._repaint_views()  # the view's "empty graph" hint goes away
        self._schedule_validation()

    def _repaint_views(self) -> None:
        for view in self.views():
            view.viewport().update()

    def _on_node_removed(self, nid: str) -> None:
        if not self._alive():
            return
        item = self._nodes.pop(nid, None)
        self._wires_of.pop(nid, None)
        if item is not None:
            if self._wire is not None and self._wire.fixed.node is item:
                self._cancel_wire()
            self.removeItem(item)
        if not self._nodes:
            self._repaint_views()
        self._schedule_validation()

    def _on_edge_added(self, e: Edge) -> None:
        if not self._alive():
            return
        self._make_edge(e)
        self._schedule_validation()

    def _on_edge_removed(self, e: Edge) -> None:
        if not self._alive():
            return
        key = (e.dst, e.dst_port)
        item = self._edges.pop(key, None)
        if item is not None:
            self.removeItem(item)
            for nid in (e.src, e.dst):
                self._wires_of.get(nid, set()).discard(key)
        dst = self._nodes.get(e.dst)
        if dst is not None and e.dst_port in dst.inputs:
            dst.inputs[e.dst_port].set_connected(False)
        src = self._nodes.get(e.src)
        if src is not None and src.output is not None:
            src.output.set_connected(any(k[0] != e.src for k in self._wires_of.get(e.src, ())))
        self._schedule_validation()

    def _on_node_changed(self, nid: str, what: str) -> None:
        if not self._alive():
            return
        item = self._nodes.get(nid)
        if item is None:
            return
        if what == "ui":
            ui = self.graph.nodes[nid].ui
            if "x" in ui and "y" in ui:
                p = QPointF(float(ui["x"]), float(ui["y"]))
                if item.pos() != p:
                    self.syncing = True
                    item.setPos(p)
                    self.syncing = False
            return
        if what == "name" or what.startswith("param:") or what == "tensor:value":
            item.refresh()
            self.node_moved(nid)  # ports may have moved with the new size
            self._schedule_validation()

    def node_moved(self, nid: str) -> None:
        """Keep the wires of a node attached while it moves."""
        for key in self._wires_of.get(nid, ()):
            edge = self._edges.get(key)
            if edge is not None:
                edge.update_path()

    # ------------------------------------------------------------------ lookups
    def node_item(self, node_id: str) -> NodeItem:
        return self._nodes[node_id]

    def node_items(self) -> list[NodeItem]:
        return list(self._nodes.values())

    def edge_item(self, edge) -> EdgeItem | None:
        """The wire item for an Edge, a (dst, port) pair, or an edge key string."""
        if isinstance(edge, Edge):
            key = (edge.dst, edge.dst_port)
        elif isinstance(edge, str):
            key = next(((e.dst, e.dst_port) for e in self.graph.edges if e.key == edge), None)
        else:
            key = tuple(edge)
        return self._edges.get(key)

    def edge_items(self) -> list[EdgeItem]:
        return list(self._edges.values())

    def selected_ids(self) -> list[str]:
        """Selected node ids in graph order."""
        sel = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.graph.nodes if n in sel]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_ids(self, ids, center: bool = False) -> None:
        self.blockSignals(True)
        self.clearSelection()
        for nid in ids:
            if nid in self._nodes:
                self._nodes[nid].setSelected(True)
        self.blockSignals(False)
        self._on_selection_changed()
        if center and ids:
            for view in self.views():
                view.centerOn(self.items_rect(list(ids)).center())

    def select_all(self) -> None:
        self.select_ids(list(self._nodes))

    def _on_selection_changed(self) -> None:
        if shiboken6.isValid(self):
            self.selection_ids_changed.emit(self.selected_ids())

    def nodes_rect(self, ids=None) -> QRectF:
        r = QRectF()
        for nid, item in self._nodes.items():
            if ids is None or nid in ids:
                r = r.united(item.sceneBoundingRect())
        return r

    def items_rect(self, ids=None, margin: float = 0.0) -> QRectF:
        """Bounding rectangle of the given nodes (or all nodes and wires), plus a margin."""
        r = self.nodes_rect(ids)
        if ids is None:
            for e in self._edges.values():
                r = r.united(e.sceneBoundingRect())
            for item in (*self._nodes.values(), *self._edges.values()):  # wire labels, output stubs
                r = r.united(item.mapRectToScene(item.childrenBoundingRect()))
        return r.adjusted(-margin, -margin, margin, margin) if not r.isEmpty() else r

    # ------------------------------------------------------------------ problems
    def set_problems(self, problems) -> None:
        """Outline the nodes these problems name (in addition to what graph.validate() finds)."""
        self._extra_problems = list(problems)
        self._apply_problems()

    def problems(self) -> list:
        return self._validation_problems + [p for p in self._extra_problems if p not in self._validation_problems]

    def _schedule_validation(self) -> None:
        if self.auto_validate:
            self._validate_timer.start()

    def revalidate(self) -> None:
        if not shiboken6.isValid(self):
            return
        self._validation_problems = self.graph.validate() if self.auto_validate else []
        self._apply_problems()

    def _apply_problems(self) -> None:
        by_node: dict[str, list[str]] = {}
        for p in self.problems():
            if p.node is not None:
                msg = f"{p.port}: {p.message}" if p.port and p.port not in p.message else p.message
                if msg not in by_node.setdefault(p.node, []):
                    by_node[p.node].append(msg)
        for nid, item in self._nodes.items():
            item.set_problems(by_node.get(nid, []))

    # ------------------------------------------------------------------ edits
    def _push(self, cmd) -> bool:
        """Push `cmd`; a refusal says why. The text is read first: the stack deletes a refused command."""
        text = cmd.text()
        err = cmds.push_command(self.undo_stack, cmd)
        if err:
            self.status_message.emit(f"{text} refused: {err}")
            return False
        return True

    def add_node(self, op: str, scene_pos, params: dict | None = None, name: str | None = None) -> str | None:
        """Add an `op` node with its top-left at scene_pos (snapped if snapping is on); returns its id."""
        x, y = cmds._xy(scene_pos)
        if self.snap_to_grid:
            g = self.grid_size
            x, y = round(x / g) * g, round(y / g) * g
        cmd = cmds.AddNodeCommand(self.graph, op, (x, y), params, name)
        if not self._push(cmd):
            return None
        self.select_ids([cmd.node_id])
        return cmd.node_id

    def delete_selected(self) -> bool:
        ids = self.selected_ids()
        doomed = set(ids)
        wires = [e for e in self.selected_edges() if e.src not in doomed and e.dst not in doomed]
        if not ids and not wires:
            self.status_message.emit("Nothing selected to delete")
            return False
        if not ids and len(wires) == 1:
            e = wires[0]
            return self._push(cmds.DisconnectCommand(self.graph, e.dst, e.dst_port, "Delete wire"))
        return self._push(cmds.RemoveNodesCommand(self.graph, ids, wires))

    def copy_selected(self) -> str:
        """The selected nodes (and the wires among them) as file-format JSON; "" if nothing is selected."""
        ids = self.selected_ids()
        return fileformat.dumps(self.graph, ids) if ids else ""

    def cut_selected(self) -> str:
        text = self.copy_selected()
        if text:
            self.undo_stack.beginMacro("Cut")
            self.delete_selected()
            self.undo_stack.endMacro()
        return text

    def paste(self, text: str, scene_pos=None, label: str = "Paste") -> list[str]:
        """Paste graph JSON; its top-left lands at scene_pos (or 30 px down-right of where it was)."""
        if not text or not text.strip():
            self.status_message.emit("Nothing to paste")
            return []
        try:
            probe = fileformat.loads(text)
        except GraphFormatError as exc:
            self.status_message.emit(f"Cannot paste: the clipboard does not hold a graph ({exc})")
            return []
        if not probe.nodes:
            self.status_message.emit("Nothing to paste")
            return []
        if scene_pos is None:
            offset = (30.0, 30.0)
        else:
            xs = [float(n.ui.get("x", 0.0)) for n in probe.nodes.values()]
            ys = [float(n.ui.get("y", 0.0)) for n in probe.nodes.values()]
            px, py = cmds._xy(scene_pos)
            offset = (px - min(xs), py - min(ys))
        cmd = cmds.PasteCommand(self.graph, text, offset, label)
        if not self._push(cmd):
            return []
        self.select_ids(cmd.new_ids)
        return list(cmd.new_ids)

    def duplicate_selected(self) -> list[str]:
        text = self.copy_selected()
        if not text:
            self.status_message.emit("Nothing selected to duplicate")
            return []
        return self.paste(text, None, "Duplicate")

    def rename_node(self, node_id: str, name: str) -> bool:
        name = name.strip()
        if not name:
            self.status_message.emit("A name cannot be empty")
            return False
        if name == self.graph.node(node_id).name:
            return True
        return self._push(cmds.RenameCommand(self.graph, node_id, name))

    def begin_rename(self, node_id: str | None = None) -> QLineEdit | None:
        """An inline editor over the node's title (F2 or a double-click); Enter renames, Escape cancels."""
        if node_id is None:
            ids = self.selected_ids()
            if len(ids) != 1:
                self.status_message.emit("Select one node to rename")
                return None
            node_id = ids[0]
        views = self.views()
        if not views or node_id not in self._nodes:
            return None
        view = views[0]
        item = self._nodes[node_id]
        self.end_rename()
        rect = view.mapFromScene(item.mapRectToScene(item.header_rect())).boundingRect()
        editor = QLineEdit(view.viewport())
        editor.setObjectName("renameEditor")
        editor.setText(self.graph.node(node_id).name)
        editor.selectAll()
        editor.setGeometry(rect.adjusted(4, 3, -4, -3))
        editor.setFont(look.Fonts.get().name)

        def commit() -> None:
            if self._rename_editor is editor:
                self._rename_editor = None
                text = editor.text()
                editor.deleteLater()
                if node_id in self.graph.nodes:
                    self.rename_node(node_id, text)

        editor.returnPressed.connect(commit)
        editor.editingFinished.connect(commit)
        editor.installEventFilter(EscapeFilter(editor, self.end_rename))
        editor.show()
        editor.setFocus()
        self._rename_editor = editor
        return editor

    def end_rename(self) -> None:
        """Close the inline rename editor without renaming."""
        if self._rename_editor is not None:
            ed, self._rename_editor = self._rename_editor, None
            ed.hide()
            ed.deleteLater()

    def layout_positions(self, ids=None) -> dict[str, tuple[float, float]]:
        def size_of(n):
            return self._nodes[n].size()

        def port_y(n, port):
            p = self._nodes[n].port(port)
            return p.pos().y() if p is not None else self._nodes[n].size()[1] / 2

        return layered_positions(self.graph, size_of, port_y, ids)

    def auto_layout(self, ids=None) -> bool:
        """Arrange the graph left to right in topological layers (one undo step)."""
        if not self._nodes:
            return False
        pos = self.layout_positions(ids)
        old_center = self.nodes_rect(ids).center()
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        new_center = QPointF((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
        dx = round((old_center.x() - new_center.x()) / self.grid_size) * self.grid_size
        dy = round((old_center.y() - new_center.y()) / self.grid_size) * self.grid_size
        moves = {}
        for nid, (x, y) in pos.items():
            x, y = round(x + dx, 1), round(y + dy, 1)
            ui = self.graph.nodes[nid].ui
            old = (ui["x"], ui["y"]) if "x" in ui and "y" in ui else None
            if old is None or (float(old[0]), float(old[1])) != (x, y):
                moves[nid] = (old, (x, y))
        if not moves:
            self.status_message.emit("The layout is already tidy")
            return False
        return self._push(cmds.MoveNodesCommand(self.graph, moves, "Auto layout"))

    # ------------------------------------------------------------------ palette / export
    def palette_changed(self) -> None:
        if not shiboken6.isValid(self):
            return
        for e in self._edges.values():
            e.palette_changed()
        for n in self._nodes.values():
            n.update()
            for p in list(n.inputs.values()) + ([n.output] if n.output else []):
                p.update()
        self.update()
        for v in self.views():
            v.resetCachedContent()
            v.viewport().update()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        pal = look.palette()
        painter.fillRect(rect, pal.color("background"))
        if self.exporting:
            return
        t = painter.worldTransform()
        scale = abs(t.m11()) or 1.0
        g = self.grid_size
        painter.save()
        painter.resetTransform()
        dev = t.mapRect(rect).toAlignedRect()
        if g * scale >= 7:
            self._grid_lines(painter, t, rect, dev, g, pal.color("grid_minor"), skip=5)
        if g * 5 * scale >= 6:
            self._grid_lines(painter, t, rect, dev, g * 5, pal.color("grid_major"))
        painter.restore()

    @staticmethod
    def _grid_lines(painter: QPainter, t, rect: QRectF, dev, step: float, color: QColor, skip: int = 0) -> None:
        """One-pixel lines as filled rectangles in device space: much faster than stroking."""
        sx, sy, dx, dy = t.m11(), t.m22(), t.dx(), t.dy()
        for i in range(math.floor(rect.left() / step), math.ceil(rect.right() / step) + 1):
            if not (skip and i % skip == 0):
                painter.fillRect(round(sx * i * step + dx), dev.top(), 1, dev.height(), color)
        for j in range(math.floor(rect.top() / step), math.ceil(rect.bottom() / step) + 1):
            if not (skip and j % skip == 0):
                painter.fillRect(dev.left(), round(sy * j * step + dy), dev.width(), 1, color)

    # ------------------------------------------------------------------ wiring by mouse
    def port_at(self, pos: QPointF, radius: float = look.PORT_HIT_R) -> PortItem | None:
        """The port nearest pos within radius (ports win over the node under them)."""
        area = QRectF(pos.x() - radius, pos.y() - radius, 2 * radius, 2 * radius)
        best, best_d = None, radius * radius
        for item in self.items(area):
            if isinstance(item, PortItem) and item.isVisible():
                c = item.scene_center()
                d = (c.x() - pos.x()) ** 2 + (c.y() - pos.y()) ** 2
                if d <= best_d:
                    best, best_d = item, d
        return best

    def edge_at(self, pos: QPointF) -> EdgeItem | None:
        for item in self.items(pos):
            if isinstance(item, EdgeItem):
                return item
            if isinstance(item, NodeItem):
                return None
        return None

    def mousePressEvent(self, event) -> None:
        if self._rename_editor is not None:
            self.end_rename()
        if event.button() == Qt.MouseButton.LeftButton and self._wire is None:
            pos = event.scenePos()
            port = self.port_at(pos)
            if port is not None:
                self._start_wire_from_port(port, pos)
                event.accept()
                return
            edge = self.edge_at(pos)
            if edge is not None:
                self._pending_edge = (edge, pos)
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._move_start = {i.node_id: QPointF(i.pos()) for i in self.selectedItems()
                                if isinstance(i, NodeItem)}

    def mouseMoveEvent(self, event) -> None:
        if self._wire is not None:
            self._drag_wire_to(event.scenePos())
            event.accept()
            return
        if self._pending_edge is not None and event.buttons() & Qt.MouseButton.LeftButton:
            edge, start = self._pending_edge
            d = event.scenePos() - start
            if math.hypot(d.x(), d.y()) >= DRAG_THRESHOLD:
                self._pending_edge = None
                self._pick_up_wire(edge, start, event.scenePos())
                event.accept()
                return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        self._pending_edge = None
        if self._wire is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drop_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self._move_start:
            self._finish_move()

    def _finish_move(self) -> None:
        start, self._move_start = self._move_start, None
        moves = {}
        for nid, old_pos in start.items():
            item = self._nodes.get(nid)
            if item is None or item.pos() == old_pos:
                continue
            ui = self.graph.nodes[nid].ui
            old = (ui["x"], ui["y"]) if "x" in ui and "y" in ui else None
            moves[nid] = (old, (item.pos().x(), item.pos().y()))
        if moves:
            self._push(cmds.MoveNodesCommand(self.graph, moves))

    def _start_wire_from_port(self, port: PortItem, pos: QPointF) -> None:
        if not port.is_output:
            existing = self.graph.input_edge(port.node_id, port.name)
            if existing is not None:  # pick up the wire's input end
                self._begin_wire(self._nodes[existing.src].output, existing, pos)
                return
        self._begin_wire(port, None, pos)

    def _pick_up_wire(self, edge_item: EdgeItem, press: QPointF, pos: QPointF) -> None:
        """Drag an existing wire by whichever end is nearer the press."""
        e = edge_item.edge
        a, b = edge_item.endpoints()
        if (press - b).manhattanLength() <= (press - a).manhattanLength():
            self._begin_wire(self._nodes[e.src].output, e, pos)  # moving the input end
        else:
            self._begin_wire(self._nodes[e.dst].inputs[e.dst_port], e, pos)  # moving the output end

    def _begin_wire(self, fixed: PortItem, reroute: Edge | None, pos: QPointF) -> None:
        grabber = self.mouseGrabberItem()
        if grabber is not None:  # a wire picked up by its body had grabbed the mouse on press
            grabber.ungrabMouse()
        self.clearSelection()
        self._wire = _WireDrag(fixed, reroute)
        if reroute is not None and (reroute.dst, reroute.dst_port) in self._edges:
            self._edges[(reroute.dst, reroute.dst_port)].setVisible(False)
        self._temp = TempWireItem()
        self.addItem(self._temp)
        self._mark_candidates()
        self._drag_wire_to(pos)

    def _mark_candidates(self) -> None:
        """Light up the ports this wire could go to; dim the rest (cheap checks only)."""
        w = self._wire
        fixed = w.fixed
        children: dict[str, list[str]] = {}
        parents: dict[str, list[str]] = {}
        for e in self.graph.edges:
            if w.reroute is not None and e == w.reroute:
                continue
            children.setdefault(e.src, []).append(e.dst)
            parents.setdefault(e.dst, []).append(e.src)
        if w.want_input:  # a cycle appears if the target reaches the source
            blocked = _reach(fixed.node_id, parents)
        else:
            blocked = _reach(fixed.node_id, children)
        for nid, item in self._nodes.items():
            if w.want_input:
                for name, port in item.inputs.items():
                    occupied = (nid, name) in self._edges and not (
                        w.reroute is not None and (w.reroute.dst, w.reroute.dst_port) == (nid, name))
                    port.set_drag_state("dim" if nid in blocked or occupied else "ok")
                if item.output is not None:
                    item.output.set_drag_state("dim")
            else:
                for port in item.inputs.values():
                    port.set_drag_state("dim")
                if item.output is not None:
                    item.output.set_drag_state("dim" if nid in blocked else "ok")
        fixed.set_drag_state(None)

    def _clear_candidates(self) -> None:
        for item in self._nodes.values():
            for port in item.inputs.values():
                port.set_drag_state(None)
            if item.output is not None:
                item.output.set_drag_state(None)

    def _connection_problem(self, src: str, dst: str, port: str) -> str | None:
        """Why src -> dst.port is refused, judged as if the wire being re-routed were already gone."""
        w = self._wire
        if w is not None and w.reroute is not None:
            if (w.reroute.src, w.reroute.dst, w.reroute.dst_port) == (src, dst, port):
                return None
            trial = self.graph.copy()
            trial.disconnect(w.reroute.dst, w.reroute.dst_port)
            return trial.connection_problem(src, dst, port)
        return self.graph.connection_problem(src, dst, port)

    def _wire_ends(self, target: PortItem | None, w: _WireDrag | None = None) -> tuple[str, str, str] | None:
        """(src, dst, port) the drop on target would make."""
        w = w or self._wire
        if target is None or target.is_output == w.want_input:
            return None
        if w.want_input:
            return w.fixed.node_id, target.node_id, target.name
        return target.node_id, w.fixed.node_id, w.fixed.name

    def _drag_wire_to(self, pos: QPointF) -> None:
        w = self._wire
        target = self.port_at(pos, radius=look.PORT_HIT_R + 6)
        if target is not None and (target is w.fixed or target.is_output == w.want_input):
            target = None
        if target is not w.target:
            if w.target is not None:
                w.target.set_drag_state("ok" if w.target.drag_state in ("target", "bad") else w.target.drag_state)
            w.target = target
            w.target_problem = None
            if target is not None:
                src, dst, port = self._wire_ends(target)
                w.target_problem = self._connection_problem(src, dst, port)
                target.set_drag_state("bad" if w.target_problem else "target")
        end = target.scene_center() if target is not None else pos
        start = w.fixed.scene_center()
        if w.want_input:
            self._temp.set_ends(start, end)
        else:
            self._temp.set_ends(end, start)
        self._temp.set_state(None if target is None else ("bad" if w.target_problem else "ok"))

    def _drop_wire(self, pos: QPointF) -> None:
        self._drag_wire_to(pos)
        w = self._wire
        target, problem = w.target, w.target_problem
        self._end_wire()
        if target is None:
            if w.reroute is not None:
                e = w.reroute
                self._push(cmds.DisconnectCommand(self.graph, e.dst, e.dst_port))
                self.status_message.emit(f"Disconnected {self._name(e.src)} from "
                                         f"{self._name(e.dst)}.{e.dst_port}")
            return
        src, dst, port = self._wire_ends(target, w)
        if problem:
            self.status_message.emit(f"Cannot connect {self._name(src)} to {self._name(dst)}.{port}: {problem}")
            return
        r = w.reroute
        if r is not None and (r.src, r.dst, r.dst_port) == (src, dst, port):
            return  # dropped back where it was
        if r is None:
            ok = self._push(cmds.ConnectCommand(self.graph, src, dst, port))
        elif (r.dst, r.dst_port) == (dst, port):  # same input, new source: one replace
            ok = self._push(cmds.ConnectCommand(self.graph, src, dst, port, "Re-route wire"))
        else:
            self.undo_stack.beginMacro("Re-route wire")
            self._push(cmds.DisconnectCommand(self.graph, r.dst, r.dst_port))
            ok = self._push(cmds.ConnectCommand(self.graph, src, dst, port))
            self.undo_stack.endMacro()
            if not ok:  # graphcore refused after all: put the old wire back
                self.undo_stack.undo()
        if ok:
            self.status_message.emit(f"Connected {self._name(src)} to {self._name(dst)}.{port}")

    def _end_wire(self) -> None:
        w = self._wire
        self._wire = None
        self._clear_candidates()
        if self._temp is not None:
            self.removeItem(self._temp)
            self._temp = None
        if w is not None and w.reroute is not None:
            item = self._edges.get((w.reroute.dst, w.reroute.dst_port))
            if item is not None:
                item.setVisible(True)

    def _cancel_wire(self) -> None:
        if self._wire is not None:
            self._end_wire()

    def cancel_interaction(self) -> None:
        """Escape: drop a wire being dragged without changing anything."""
        self._cancel_wire()
        self.end_rename()

    def is_wiring(self) -> bool:
        return self._wire is not None

    def _name(self, nid: str) -> str:
        n = self.graph.nodes.get(nid)
        return repr(n.name) if n is not None else nid


def _reach(start: str, adj: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for nxt in adj.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen

