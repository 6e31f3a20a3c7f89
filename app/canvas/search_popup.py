"""The Tab search menu: type part of an op's name, Enter adds it where the cursor was."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from graphcore import registry

from .look import palette


def rank_ops(text: str) -> list[str]:
    """Op names matching `text`, best first: name prefix, title prefix, substring, then doc."""
    q = text.strip().lower()
    scored = []
    for name, spec in registry.ops().items():
        title = (spec.title or "").lower()
        if not q:
            score = 5
        elif name.startswith(q):
            score = 0
        elif title.startswith(q):
            score = 1
        elif any(part.startswith(q) for part in name.split("_")):
            score = 2
        elif q in name or (title and q in title):
            score = 3
        elif q in spec.doc.lower() or q in spec.category:
            score = 4
        else:
            continue
        scored.append((score, len(name), name))
    return [n for _, _, n in sorted(scored)]


class OpSearchPopup(QFrame):
    """A line edit over a list of ops; emits op_chosen(name) on Enter or a click."""

    op_chosen = Signal(str)

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.setObjectName("opSearch")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("opSearchEdit")
        self.edit.setPlaceholderText("Search ops…")
        self.list = QListWidget(self)
        self.list.setObjectName("opSearchList")
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.setFocusProxy(self.edit)
        self.edit.textChanged.connect(self._refill)
        self.edit.installEventFilter(self)
        self.list.itemActivated.connect(lambda item: self._choose(item))
        self.list.itemClicked.connect(lambda item: self._choose(item))
        self.resize(260, 300)
        self.hide()
        self._refill("")

    def _restyle(self) -> None:
        pal = palette()
        self.setStyleSheet(
            f"#opSearch {{ background: {pal.body}; border: 1px solid {pal.border_hover}; border-radius: 7px; }}"
            f"#opSearchEdit {{ font-size: 15px; padding: 5px 6px; color: {pal.text}; background: {pal.background};"
            f" border: 1px solid {pal.border}; border-radius: 5px; }}"
            f"#opSearchList {{ font-size: 14px; border: none; background: transparent; color: {pal.text};"
            f" outline: none; }}"
            f"#opSearchList::item {{ padding: 4px 6px; border-radius: 4px; }}"
            f"#opSearchList::item:selected {{ background: {pal.categories['gates']}; color: #ffffff; }}")

    def _fit(self) -> None:
        rows = min(max(self.list.count(), 1), 10)
        row_h = self.list.sizeHintForRow(0) if self.list.count() else 24
        self.list.setFixedHeight(rows * max(row_h, 20) + 6)
        self.adjustSize()
        self.resize(300, self.sizeHint().height())

    def open_at(self, pos: QPoint) -> None:
        """Show with its top-left at pos (viewport coordinates), kept inside the parent."""
        self._restyle()
        self.edit.clear()
        self._refill("")
        parent = self.parentWidget()
        self.show()
        self._fit()
        x = min(max(pos.x(), 0), max(parent.width() - self.width(), 0))
        y = min(max(pos.y(), 0), max(parent.height() - self.height(), 0))
        self.move(x, y)
        self.raise_()
        self.edit.setFocus()

    def current_op(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _refill(self, text: str) -> None:
        self.list.clear()
        for name in rank_ops(text):
            spec = registry.get(name)
            label = f"{name}  ({spec.title})" if spec.title and spec.title.lower() != name else name
            item = QListWidgetItem(f"{label}  ·  {spec.category}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(spec.tooltip())
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        if self.isVisible():
            self._fit()

    def _choose(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        self.hide()
        self.op_chosen.emit(name)

    def _key(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._choose(self.list.currentItem())
            return True
        if key == Qt.Key.Key_Escape:
            self.hide()
            self.parentWidget().setFocus()
            return True
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
            if 0 <= row < self.list.count():
                self.list.setCurrentRow(row)
            return True
        return False

    def eventFilter(self, obj, event) -> bool:
        if obj is self.edit and event.type() == QEvent.Type.KeyPress and self._key(event):
            return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:
        """Keys sent to the frame itself go to the line edit (tests may type at the popup)."""
        if self._key(event):
            return
        self.edit.event(event)
