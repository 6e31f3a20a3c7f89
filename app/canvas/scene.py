"""GraphScene: a QGraphicsScene that mirrors one graphcore.Graph and edits it through undo commands.

The scene never holds a second copy of the truth: items are created, moved and
removed only in response to the graph's events. Edits (add, wire, move, delete,
paste, layout: scene_edits.py and wiring.py) are QUndoCommands pushed to the undo stack;
refused edits are checked first with graph.connection_problem and reported through status_message.
"""
from __future__ import annotations

import math

import shiboken6
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QUndoStack
from PySide6.QtWidgets import QGraphicsScene, QLineEdit

from graphcore.graph import Edge, Graph

from . import look
from .nodes import NodeItem
from .scene_edits import SceneEdits
from .wires import EdgeItem
from .wiring import SceneWiring, _WireDrag

SCENE_EXTENT = 100_000.0


class GraphScene(SceneEdits, SceneWiring, QGraphicsScene):
    """The mirror (items follow the graph's events), lookups, problems and the background; the
    editing verbs come from SceneEdits (scene_edits.py), mouse wiring from SceneWiring (wiring.py)."""

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
        # A discarded scene emits nothing more: clearing its items when it is deleted would otherwise emit
        # selectionChanged into a half-destroyed wrapper ("Slot 'GraphScene::' not found" was seen once).
        self._validate_timer.blockSignals(True)
        self.blockSignals(True)

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
        if what in ("name", "op", "tensor:value") or what.startswith("param:"):
            item.refresh()
            self.node_moved(nid)  # ports may have moved with the new size
            self._schedule_validation()

    def fonts_changed(self) -> None:
        """Follow Fonts.set_text_scale: every card is re-measured (its ports move with its size) and
        every wire re-routed, with its labels in the new font."""
        for item in self._nodes.values():
            item.refresh()
        for edge in self._edges.values():
            edge.update_path()
            edge.fonts_changed()
        self.update()

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
