"""The Code dock: the graph as the CS231n notes' staged numpy code, beside the canvas.

The text comes from graphcore.export.numpy_code (nothing is computed here). While stepping, the
line of the current event is highlighted: a node's forward line, the seed, or the gradient line of
the wire the event sends back along, so the number on the wire and the line of code are one thing.
The dock follows the current document and regenerates the code (debounced, only while shown)
when the graph changes.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import QCheckBox, QDockWidget, QHBoxLayout, QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from graphcore import GraphError
from graphcore.export.numpy_code import StagedCode, staged_numpy
from graphcore.export.plan import ExportError

REFRESH_MS = 250  # graph edits come in bursts (a drag, a paste): regenerate once they pause
HIGHLIGHT = QColor(255, 214, 64, 110)  # the current event's line, readable in both themes


class CodeDock(QDockWidget):
    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Code", parent)
        self.setObjectName("codeDock")
        self.controller = controller
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.caption = QLabel("Staged numpy code (CS231n style): forward line by line, then backward in reverse.",
                              body)
        self.caption.setObjectName("codeCaption")
        self.caption.setWordWrap(True)
        # the staged lines alone by default; the whole runnable file (imports, printing) on request
        self.whole_file = QCheckBox("Whole file", body)
        self.whole_file.setObjectName("codeWholeFile")
        self.whole_file.setToolTip("Show the whole runnable file (what File > Export > Staged numpy writes), "
                                   "not only the staged forward and backward lines")
        self.whole_file.toggled.connect(lambda _on: self.refresh())
        self.editor = QPlainTextEdit(body)
        self.editor.setObjectName("codeView")
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(font)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.whole_file)
        lay.addLayout(top)
        lay.addWidget(self.editor, 1)
        self.setWidget(body)
        self.code: StagedCode | None = None
        self.highlighted_line: int | None = None  # 1-based in the file, None when no event is shown
        self._first = 1  # the file line shown on the editor's first line
        self._graph = None
        self._stale = True
        self._target = None
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self.refresh)
        controller.position_changed.connect(self._position_changed)
        self.editor.installEventFilter(self)  # a new size or font moves the highlighted line: centre it again
        self.editor.viewport().installEventFilter(self)
        self.set_graph(controller.graph)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.FontChange, QEvent.Type.StyleChange) \
                and self.highlighted_line is not None:
            QTimer.singleShot(0, self, self._recentre)
        return super().eventFilter(obj, event)

    def _recentre(self) -> None:
        """The highlighted line in view again (presentation mode's larger type left it below the dock)."""
        if self.highlighted_line is not None and self.isVisible():
            self.editor.centerCursor()
            self.editor.horizontalScrollBar().setValue(0)

    # ------------------------------------------------------------ the document and its edits
    def set_graph(self, graph) -> None:
        """Follow a new document's graph (unsubscribing from the old one)."""
        if self._graph is not None:
            for ev in self._events(self._graph):
                ev.unsub(self._graph_edited)
        self._graph = graph
        for ev in self._events(graph):
            ev.sub(self._graph_edited)
        self.code = None
        self.highlighted_line = None
        self._stale = True
        if self.isVisible():  # a new document is no burst of edits: its code at once
            self.refresh()

    @staticmethod
    def _events(graph):
        return (graph.node_added, graph.node_removed, graph.edge_added, graph.edge_removed, graph.node_changed,
                graph.weights_changed)

    def _graph_edited(self, *args) -> None:
        if len(args) == 2 and args[1] == "ui":  # a node moved: the code is the same
            return
        self._mark_stale()

    def _mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self._refresh.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Generate the code for the current graph and target, keeping the scroll position."""
        self._refresh.stop()
        self._stale = False
        graph = self._graph
        rec = self.controller.rec
        target = rec.target if rec is not None and rec.target in graph.nodes else self.controller.target
        self._target = target
        bar = self.editor.verticalScrollBar().value()
        self._first = 1
        try:
            self.code = staged_numpy(graph, target) if graph.nodes else None
            text = self.code.text if self.code else "# An empty graph: add nodes and their code appears here."
        except (ExportError, GraphError, ValueError) as exc:
            self.code = None
            text = "# No code yet: " + " ".join(str(exc).split())
        if self.code is not None and not self.whole_file.isChecked():
            first, last = self.code.body_lines
            text = "\n".join(text.split("\n")[first - 1:last]) + "\n"
            self._first = first
        if text != self.editor.toPlainText():
            self.editor.setPlainText(text)
            self.editor.verticalScrollBar().setValue(bar)
        self._show_position(self.controller.cursor)

    # ------------------------------------------------------------ following the step
    def _position_changed(self, cursor: int, _total: int, _desc: str) -> None:
        rec = self.controller.rec
        if rec is not None and rec.target != self._target and rec.target in self._graph.nodes:
            self._stale = True  # the pass differentiates another node: its backward lines differ
        if not self.isVisible():
            return
        if self._stale:
            self.refresh()
        else:
            self._show_position(cursor)

    def line_of(self, cursor: int) -> int | None:
        """The 1-based line of event `cursor` of the controller's recorded pass."""
        rec, code = self.controller.rec, self.code
        if rec is None or code is None or not 0 <= cursor < rec.total:
            return None
        ev = rec.events[cursor]
        if ev.phase == "forward":
            return code.forward_lines.get(ev.node)
        if ev.phase == "seed":
            return code.seed_line
        return code.edge_lines.get(ev.edge.key) if ev.edge is not None else None

    def highlighted_text(self) -> str:
        if self.highlighted_line is None:
            return ""
        return self.editor.document().findBlockByNumber(self.highlighted_line - self._first).text()

    def _show_position(self, cursor: int) -> None:
        line = self.line_of(cursor)
        self.highlighted_line = line
        if line is None:
            self.editor.setExtraSelections([])
            return
        block = self.editor.document().findBlockByNumber(line - self._first)
        sel = QTextEdit.ExtraSelection()
        sel.format.setBackground(HIGHLIGHT)
        sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        sel.cursor = QTextCursor(block)
        self.editor.setExtraSelections([sel])
        c = QTextCursor(block)
        self.editor.setTextCursor(c)
        self.editor.centerCursor()
        self.editor.horizontalScrollBar().setValue(0)
