"""The window's central widget: it stays put for the window's life while documents come and go.

Replacing the central widget on every New/Open made QMainWindow hand the canvas's space to
the docks (a 55 px strip); here only the graph view inside is swapped. Above the view sits
the training banner ("Training: Stop to edit the graph" with a Stop button), shown while a
run holds the graph.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

BANNER_TEXT = "Training: Stop to edit the graph"


class CanvasHost(QWidget):
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasHost")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.banner = QFrame(self)
        self.banner.setObjectName("trainingBanner")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(10, 4, 6, 4)
        self.banner_label = QLabel(BANNER_TEXT, self.banner)
        self.banner_label.setObjectName("trainingBannerLabel")
        self.stop_button = QPushButton("Stop", self.banner)
        self.stop_button.setObjectName("trainingBannerStop")
        self.stop_button.clicked.connect(self.stop_requested)
        row.addWidget(self.banner_label, 1)
        row.addWidget(self.stop_button)
        self.banner.hide()  # over the view's top edge, not in the layout: the view keeps its size
        self.banner.setAutoFillBackground(True)
        self.view: QWidget | None = None

    def set_view(self, view: QWidget) -> None:
        """Show `view` in place of the current one (which is deleted)."""
        old = self.view
        self.view = view
        view.setParent(self)
        if old is None:
            self._layout.addWidget(view, 1)
        else:
            self._layout.replaceWidget(old, view)
            old.hide()
            old.deleteLater()
        view.show()
        self.banner.raise_()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._place_banner()

    def _place_banner(self) -> None:
        self.banner.setGeometry(0, 0, self.width(), self.banner.sizeHint().height())

    def set_banner(self, on: bool) -> None:
        self._place_banner()
        self.banner.setVisible(on)
        self.banner.raise_()
