"""The palette dock: every registered op, grouped by category, to drag or double-click onto the canvas."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QDrag, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QDockWidget, QHeaderView, QLineEdit, QStyle, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from graphcore import registry

MIME_OP = "application/x-backprop-op"
OP_ROLE = Qt.ItemDataRole.UserRole
CATEGORY_TITLES = {
    "inputs": "Inputs", "gates": "Gates", "activations": "Activations", "reductions": "Reductions",
    "layers": "Layers", "losses": "Losses", "regularizers": "Regularizers",
}


def wrap_name(name: str, room: int, advance) -> list[str]:
    """`name` on as few lines as fit `room` pixels, broken only after underscores
    ("softmax_cross_" / "entropy"): an op name elided to "softm…" could not be read."""
    lines: list[str] = []
    for chunk in name.replace("_", "_\0").split("\0"):
        if lines and advance(lines[-1] + chunk) <= room:
            lines[-1] += chunk
        else:
            lines.append(chunk)
    return lines


class OpTree(QTreeWidget):
    """A tree whose op rows start a drag carrying the op name; its names are never elided: the
    symbol column shows only when every name still fits beside it, and long names wrap."""

    def viewportEvent(self, event) -> bool:  # noqa: N802 (Qt name)
        """The viewport, not the tree: a scroll bar appearing narrows it without resizing the tree."""
        if event.type() == QEvent.Type.Resize:
            self.fit_names()
        return super().viewportEvent(event)

    def text_room(self, column_width: int) -> int:
        """Pixels for an op name's text in a column-0 cell `column_width` wide (an op row sits one
        level in, with the root's branch decoration; the style pads the text on both sides; 6 px spare:
        with 2, a name measured to fit exactly was still elided at 1920x1080, "cross_entro…")."""
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        return column_width - 2 * self.indentation() - 2 * margin - 6

    def fit_names(self) -> None:
        items = [self.topLevelItem(i).child(j) for i in range(self.topLevelItemCount())
                 for j in range(self.topLevelItem(i).childCount())]
        if not items:
            return
        fm = self.fontMetrics()
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        symbols = max(fm.horizontalAdvance(it.text(1)) for it in items) + 2 * margin + 4
        width = self.viewport().width()
        names = [it.data(0, OP_ROLE) for it in items]

        def fits(room: int) -> bool:
            return all(len(ls) <= 2 and max(map(fm.horizontalAdvance, ls)) <= room
                       for ls in (wrap_name(n, room, fm.horizontalAdvance) for n in names))
        show = fits(self.text_room(width - symbols))
        self.setColumnHidden(1, not show)
        if show:
            self.header().resizeSection(1, symbols)
        room = self.text_room(width - symbols if show else width)
        for item, name in zip(items, names):
            text = "\n".join(wrap_name(name, room, fm.horizontalAdvance))
            if item.text(0) != text:
                item.setText(0, text)

    def startDrag(self, actions) -> None:  # noqa: N802 (Qt name)
        item = self.currentItem()
        op = item.data(0, OP_ROLE) if item is not None else None
        if not op:
            return
        mime = QMimeData()
        mime.setData(MIME_OP, op.encode("utf-8"))
        mime.setText(op)
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction)


ICON = 10  # the category dot; with the indentation below, "Regularizers" fits a 140 px palette (1280x720)


def _category_icon(category: str) -> QIcon:
    """A dot in the colour the canvas gives this category's node headers."""
    try:
        from .canvas import look

        color = look.palette().category(category)
    except ImportError:  # pragma: no cover - only while the canvas is being written
        return QIcon()
    pix = QPixmap(ICON, ICON)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(0, 0, ICON, ICON, 3, 3)
    p.end()
    return QIcon(pix)


def op_symbol(spec: registry.OpSpec) -> str:
    """The canvas title when it differs from the name (`*` for mul), shown dimmed beside it."""
    title = spec.title or spec.name
    return "" if title.lower() == spec.name.lower() else title


SYMBOL_WIDTH = 40


class PaletteDock(QDockWidget):
    """Emits op_activated(op) on double-click or Enter; drags carry MIME_OP."""

    op_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Palette", parent)
        self.setObjectName("paletteDock")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.filter = QLineEdit(body)
        self.filter.setObjectName("paletteFilter")
        self.filter.setPlaceholderText("Filter ops…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.filter.returnPressed.connect(self._activate_first_visible)
        self.tree = OpTree(body)
        self.tree.setObjectName("paletteTree")
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # a fixed symbol column: sized to its longest title it left the names as "..." in a narrow dock
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.tree.header().resizeSection(1, SYMBOL_WIDTH)  # until fit_names sizes it to the symbols
        self.tree.header().setMinimumSectionSize(20)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setIndentation(10)
        self.tree.setIconSize(QSize(ICON, ICON))
        self.tree.setDragEnabled(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(False)  # a wrapped name takes two lines
        self.tree.itemActivated.connect(self._on_activated)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.setWidget(body)
        self.populate()

    def populate(self) -> None:
        """(Re)build the list from the registry; also called when the theme changes (dim colour)."""
        self.tree.clear()
        dim = self.palette().color(QPalette.ColorRole.PlaceholderText)
        for category, specs in registry.by_category().items():
            group = QTreeWidgetItem(self.tree, [CATEGORY_TITLES.get(category, category.title())])
            group.setFirstColumnSpanned(True)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setData(0, Qt.ItemDataRole.UserRole + 1, category)
            group.setIcon(0, _category_icon(category))
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.name, op_symbol(spec)])
                item.setData(0, OP_ROLE, spec.name)
                item.setToolTip(0, spec.tooltip())
                item.setToolTip(1, spec.tooltip())
                item.setForeground(1, dim)
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            group.setExpanded(True)
        self.apply_filter(self.filter.text())
        self.tree.fit_names()

    def op_items(self) -> list[QTreeWidgetItem]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            out.extend(group.child(j) for j in range(group.childCount()))
        return out

    def item_for(self, op: str) -> QTreeWidgetItem | None:
        for item in self.op_items():
            if item.data(0, OP_ROLE) == op:
                return item
        return None

    def visible_ops(self) -> list[str]:
        return [it.data(0, OP_ROLE) for it in self.op_items() if not it.isHidden() and not it.parent().isHidden()]

    def apply_filter(self, text: str) -> None:
        """Show ops whose name, title or category contains every word typed."""
        words = text.lower().split()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            category = group.data(0, Qt.ItemDataRole.UserRole + 1) or ""
            shown = 0
            for j in range(group.childCount()):
                item = group.child(j)
                spec = registry.get(item.data(0, OP_ROLE))
                hay = " ".join([spec.name, spec.title, category]).lower() if spec else ""
                hit = all(w in hay for w in words)
                item.setHidden(not hit)
                shown += hit
            group.setHidden(shown == 0)
            if words and shown:
                group.setExpanded(True)

    def _on_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        op = item.data(0, OP_ROLE)
        if op:
            self.op_activated.emit(op)

    def _activate_first_visible(self) -> None:
        """Enter adds the first match of a filter; with no filter typed it adds nothing."""
        if not self.filter.text().strip():
            return
        ops = self.visible_ops()
        if ops:
            self.op_activated.emit(ops[0])
