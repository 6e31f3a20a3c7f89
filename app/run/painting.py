"""PassPainting: how a recorded pass is shown on the canvas (a mixin of RunController).

Wire labels and flow styles, node tooltips, the sink's value stub and the highlight of what event k
computes, painted from the record at a cursor, so stepping back repaints exactly the earlier state.
"""
from __future__ import annotations

from graphcore import Edge

from . import decor, flow
from .explain import node_tooltip
from .formatting import fmt_array, hover_text
from .narration import other_input


class PassPainting:
    def _jump(self, cursor: int, backward_wanted: bool = True) -> None:
        """Show the state at `cursor` at once (Forward/Backward): no highlight, no pulses."""
        self.cursor = cursor
        self._repaint_all(highlight=False)
        self._emit_position()
        if self.cursor >= self.rec.total - 1:
            self._report_end(backward_wanted)

    def _emit_position(self) -> None:
        if self.rec is None:
            self.position_changed.emit(-1, 0, "")
            return
        desc = self.rec.events[self.cursor].describe(self.graph) if self.cursor >= 0 else "start"
        self.position_changed.emit(self.cursor, self.rec.total, desc)

    def _edges_of_event(self, k: int) -> list[Edge]:
        ev = self.rec.events[k]
        if ev.phase == "forward":
            return self.graph.out_edges(ev.node)
        if ev.phase == "backward":
            return [ev.edge]
        return []

    def _nodes_of_event(self, k: int) -> list[str]:
        ev = self.rec.events[k]
        if ev.phase == "backward":
            return [ev.edge.src, ev.edge.dst]
        return [ev.node]

    def _apply(self, k: int, animate: bool) -> None:
        """Show event k on top of the state at k - 1."""
        for e in self._edges_of_event(k):
            self._paint_edge(e, k)
        for nid in self._nodes_of_event(k):
            self._paint_node(nid, k)
        self._paint_outputs(k, self._sinks_of_event(k))
        ev = self.rec.events[k]
        if animate and ev.phase == "backward":
            item = self._edge_item(ev.edge)
            if item is not None:
                decor.pulse(item, self.pulse_ms(), self.pulse_radius())
        self._highlight_event(k)

    def _unapply(self, k: int) -> None:
        """Undo event k: repaint what it touched as it was at k - 1."""
        for e in self._edges_of_event(k):
            self._paint_edge(e, k - 1)
        for nid in self._nodes_of_event(k):
            self._paint_node(nid, k - 1)
        self._paint_outputs(k - 1, self._sinks_of_event(k))
        self._highlight_event(k - 1)

    def _repaint_all(self, highlight: bool = True) -> None:
        if self.rec is None:
            return
        for e in self.graph.edges:
            self._paint_edge(e, self.cursor)
        for nid in self.graph.nodes:
            self._paint_node(nid, self.cursor)
        self._paint_outputs(self.cursor)
        if highlight:
            self._highlight_event(self.cursor)
        else:
            self._unhighlight()

    def edge_texts(self, edge: Edge, cursor: int | None = None) -> tuple[str, str]:
        """(value text, gradient text) of a wire at the cursor: what its labels show."""
        if self.rec is None:
            return "", ""
        k = self.cursor if cursor is None else cursor
        return fmt_array(self.rec.value(edge.src, k)), fmt_array(self.rec.edge_grad(edge, k))

    def _paint_edge(self, edge: Edge, k: int) -> None:
        item = self._edge_item(edge)
        if item is None:
            return
        value = self.rec.value(edge.src, k)
        grad = self.rec.edge_grad(edge, k)
        decor.set_edge_labels(item, fmt_array(value), fmt_array(grad))
        decor.set_edge_flow(item, None if grad is None else flow.style_for(grad))
        src = self.graph.nodes[edge.src].name
        dst = self.graph.nodes[edge.dst].name
        tip = [f"{src} → {dst}.{edge.dst_port}"]
        if value is not None:
            tip.append(hover_text(value, "value"))
        if grad is not None:
            tip.append(hover_text(grad, "gradient"))
        item.setToolTip(_pre("\n".join(tip)))

    def node_text(self, nid: str) -> str:
        """The node's tooltip text at the cursor (registry rule + the numbers)."""
        return node_tooltip(self.graph, nid, self.rec, self.cursor)

    def _paint_node(self, nid: str, k: int) -> None:
        item = self._node_item(nid)
        if item is None:
            return
        decor.set_node_run_tooltip(item, node_tooltip(self.graph, nid, self.rec, k))

    def _sinks_of_event(self, k: int) -> list[str]:
        ev = self.rec.events[k]
        return [ev.node] if ev.phase in ("forward", "seed") and ev.node in self._sinks else []

    def _paint_outputs(self, k: int, sinks: list[str] | None = None) -> None:
        """The sink's value and gradient have no wire to sit on: a stub after its output port."""
        if self.scene is None or self.rec is None:
            return
        for nid in self._sinks if sinks is None else sinks:
            item = self._node_item(nid)
            if item is None:
                continue
            value = self.rec.value(nid, k)
            grad = self.rec.seed_grad(k) if nid == self.rec.target else None
            decor.set_output_labels(item, fmt_array(value), fmt_array(grad))

    def highlighted(self) -> list[tuple[str, object]]:
        """What is marked as being computed now: ("node", id) and/or ("edge", Edge); for a mul
        gradient also the other input's node and ("other", its wire), whose value scales it."""
        return list(self._highlighted)

    def _set_highlight(self, kind: str, key, on: bool) -> None:
        if kind == "node":
            item = self._node_item(key)
            if item is not None:
                decor.set_node_highlight(item, on)
        elif kind == "other":
            item = self._edge_item(key)
            if item is not None:
                decor.set_edge_other(item, on)
        else:
            item = self._edge_item(key)
            if item is not None:
                decor.set_edge_highlight(item, on)

    def _unhighlight(self) -> None:
        for kind, key in self._highlighted:
            if kind == "node" and key not in self.graph.nodes:
                continue
            if kind in ("edge", "other") and self.graph.input_edge(key.dst, key.dst_port) != key:
                continue
            self._set_highlight(kind, key, False)
        self._highlighted = []

    def _highlight_event(self, k: int) -> None:
        """Mark the node computed by event k, or for a gradient the wire and the gate sending it."""
        self._unhighlight()
        if self.rec is None or k < 0:
            return
        ev = self.rec.events[k]
        marks = [("edge", ev.edge), ("node", ev.edge.dst)] if ev.phase == "backward" else [("node", ev.node)]
        other = other_input(self.graph, self.rec, k)
        if other is not None:  # mul swaps its inputs: show whose value scales this gradient
            marks += [("node", other.src), ("other", other)]
        for kind, key in marks:
            self._set_highlight(kind, key, True)
        self._highlighted = marks

    def _clear_view(self) -> None:
        self._unhighlight()
        self.cleared.emit()
        if self.scene is None:
            return
        for e in self.graph.edges:
            item = self._edge_item(e)
            if item is not None:
                decor.set_edge_labels(item, "", "")
                decor.set_edge_flow(item, None)
                item.setToolTip("")
        for nid in self.graph.nodes:
            item = self._node_item(nid)
            if item is not None:
                decor.set_node_run_tooltip(item, "")
                decor.set_output_labels(item, "", "")


def _pre(text: str) -> str:
    """Rich-text tooltip in a monospace block (keeps histogram bars aligned)."""
    esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<pre>{esc}</pre>"
