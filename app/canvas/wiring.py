"""SceneWiring: drawing, picking up and re-routing wires with the mouse, and node moves as one
undo step. A mixin of GraphScene (it relies on the scene's _nodes, _edges, graph and _push).

While a wire is dragged the ports it could reach light up and the rest dim (cheap checks only);
the drop is judged by graphcore's connection_problem, as if the re-routed wire were already gone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt

from graphcore.graph import Edge

from .. import commands as cmds
from . import look
from .nodes import NodeItem
from .ports import PortItem
from .wires import EdgeItem, TempWireItem

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


class SceneWiring:
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
