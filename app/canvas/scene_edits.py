"""SceneEdits: the editing half of GraphScene (add, delete, copy, cut, paste, duplicate, rename,
auto layout). Each edit is an undo command; a refused one says why through status_message.

A mixin so the scene's mirror of the graph and its editing verbs live in files of their own; it
relies on GraphScene's graph, undo_stack, _nodes, selection helpers and status_message.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QLineEdit

from graphcore import fileformat
from graphcore.fileformat import GraphFormatError

from .. import commands as cmds
from . import look
from .layout import layered_positions
from .value_edit import EscapeFilter


class SceneEdits:
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
