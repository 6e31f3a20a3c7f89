"""The "lossLandscapeDock": the loss as filled contours over a plane through weight space, the
current point, each raced optimizer's path and the path of the training run, growing live.

Only widgets and drawing live here; what is computed where is app/train/landscape_view.py's business,
and the numbers come from graphcore.train.landscape. The colour (and the contour levels) follow
log10 of the loss, which spans decades between a minimum and the rim of the drawn area.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (QComboBox, QDockWidget, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from .look import plot_colors, style_plot

LEVELS = 12  # contour lines over the drawn range of log10(loss)
RACE_COLORS = {"sgd": "#e15759", "momentum": "#f28e2b", "nesterov": "#edc948", "adagrad": "#59a14f",
               "rmsprop": "#76b7b2", "adam": "#b07aa1"}
TRAINING_COLOR = "#ffffff"
MODES = (("random", "Random dirs"), ("weights", "Two weights"))  # the combo's tooltip says more


def log_loss(loss: np.ndarray) -> np.ndarray:
    """log10 of the loss for colouring; a non-finite cell takes the largest finite value."""
    z = np.log10(np.maximum(np.asarray(loss, np.float64), 1e-12))
    bad = ~np.isfinite(z)
    if bad.all():
        return np.zeros_like(z)
    if bad.any():
        z[bad] = z[~bad].max()
    return z


class AxisPicker(QWidget):
    """One axis of a two-weight plane: node, trainable weight, flat index."""

    def __init__(self, name: str, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.node = QComboBox()
        self.node.setObjectName(f"landscape{name}Node")
        self.weight = QComboBox()
        self.weight.setObjectName(f"landscape{name}Weight")
        self.index = QSpinBox()
        self.index.setObjectName(f"landscape{name}Index")
        self.index.setToolTip("Flat index into the weight array (row-major)")
        self.weight.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for w, stretch in ((self.node, 3), (self.weight, 0), (self.index, 2)):
            w.setMinimumWidth(30)
            lay.addWidget(w, stretch)
        self._weights: dict[str, list[tuple[str, str, tuple]]] = {}  # node name -> [(node id, weight, shape)]
        self.node.currentTextChanged.connect(self._node_changed)
        self.weight.currentIndexChanged.connect(self._weight_changed)

    def set_choices(self, arrays: list[tuple[str, str, str, tuple]]) -> None:
        """[(node id, node name, weight, shape)] of every trainable array."""
        self._weights = {}
        for nid, name, w, shape in arrays:
            self._weights.setdefault(name, []).append((nid, w, shape))
        self.node.blockSignals(True)
        self.node.clear()
        self.node.addItems(list(self._weights))
        self.node.blockSignals(False)
        self._node_changed(self.node.currentText())

    def _node_changed(self, name: str) -> None:
        self.weight.blockSignals(True)
        self.weight.clear()
        for _, w, shape in self._weights.get(name, []):
            self.weight.addItem(w)
        self.weight.blockSignals(False)
        self._weight_changed()

    def _weight_changed(self, *_args) -> None:
        items = self._weights.get(self.node.currentText(), [])
        k = self.weight.currentIndex()
        size = int(np.prod(items[k][2])) if 0 <= k < len(items) else 1
        self.index.setRange(0, max(size - 1, 0))
        if 0 <= k < len(items):
            self.index.setToolTip(f"Flat index into {self.node.currentText()}.{items[k][1]}, shape "
                                  f"{tuple(items[k][2])} ({size} numbers)")

    def select(self, name: str, weight: str, index: int) -> None:
        self.node.setCurrentText(name)
        self.weight.setCurrentText(weight)
        self.index.setValue(index)

    def axis(self) -> tuple[str, str, int] | None:
        """(node id, weight, index) as chosen, or None with nothing to choose."""
        items = self._weights.get(self.node.currentText(), [])
        k = self.weight.currentIndex()
        if not 0 <= k < len(items):
            return None
        return items[k][0], items[k][1], self.index.value()


class LandscapeDock(QDockWidget):
    """Contours, paths and the controls that ask for them; see the module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__("Loss landscape", parent)
        self.setObjectName("lossLandscapeDock")
        box = QWidget()
        box.setMinimumSize(60, 40)
        self.setWidget(box)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)

        top = QHBoxLayout()
        top.setSpacing(4)
        lay.addLayout(top)
        self.mode = QComboBox()
        self.mode.setObjectName("landscapeMode")
        for key, text in MODES:
            self.mode.addItem(text, key)
        self.mode.setMinimumWidth(40)
        self.mode.setToolTip("Two weights: the loss over two single weights you pick (Settings). Random directions: "
                             "over two seeded random directions through all the weights, filter-normalised")
        self.compute_button = QPushButton("Compute")
        self.compute_button.setObjectName("landscapeCompute")
        self.compute_button.setToolTip("Draw the loss around the current weights (in the background)")
        self.race_button = QPushButton("Race")
        self.race_button.setObjectName("landscapeRace")
        self.race_button.setToolTip("Race the optimizers: SGD, momentum, Nesterov, Adagrad, RMSProp and Adam from "
                                    "the same point (where the plane was made), full-batch steps on the landscape's "
                                    "batch, all at the learning rate under Settings")
        self.settings_button = QToolButton()
        self.settings_button.setObjectName("landscapeSettingsToggle")
        self.settings_button.setText("Settings")
        self.settings_button.setArrowType(Qt.ArrowType.DownArrow)  # an arrow: the row keeps room for the mode
        self.settings_button.setCheckable(True)
        self.settings_button.setToolTip("Settings: the two weights, seed, range, resolution, and the race's steps "
                                        "and learning rate")
        self.settings_button.toggled.connect(lambda on: self.settings_button.setArrowType(
            Qt.ArrowType.UpArrow if on else Qt.ArrowType.DownArrow))
        top.addWidget(self.mode, 1)
        top.addWidget(self.compute_button)
        top.addWidget(self.race_button)
        top.addWidget(self.settings_button)

        self.settings_box = QWidget()
        self.settings_box.setObjectName("landscapeSettings")
        controls = QGridLayout(self.settings_box)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setHorizontalSpacing(4)
        controls.setVerticalSpacing(3)
        lay.addWidget(self.settings_box)
        self.x_axis = AxisPicker("X")
        self.y_axis = AxisPicker("Y")
        self.x_label, self.y_label = QLabel("x"), QLabel("y")
        controls.addWidget(self.x_label, 0, 0)
        controls.addWidget(self.x_axis, 0, 1, 1, 3)
        controls.addWidget(self.y_label, 1, 0)
        controls.addWidget(self.y_axis, 1, 1, 1, 3)
        self.seed = QSpinBox()
        self.seed.setObjectName("landscapeSeed")
        self.seed.setRange(0, 1_000_000)
        self.seed.setPrefix("seed ")
        self.seed.setToolTip("The random directions (filter-normalised, as in Li et al. 2018) are drawn from this seed")
        controls.addWidget(self.seed, 2, 0, 1, 2)
        self.span = QDoubleSpinBox()
        self.span.setObjectName("landscapeSpan")
        self.span.setRange(1e-3, 1e4)
        self.span.setDecimals(3)
        self.span.setValue(1.0)
        self.span.setPrefix("± ")
        self.span.setToolTip("How far the drawn area reaches at least from the current weights along each axis "
                             "(a random direction's unit is as large as the weights); it grows to hold the paths")
        self.resolution = QSpinBox()
        self.resolution.setObjectName("landscapeResolution")
        self.resolution.setRange(3, 101)
        self.resolution.setValue(31)
        self.resolution.setPrefix("grid ")
        self.resolution.setToolTip("Grid points per axis (each one is a forward pass over the fixed batch)")
        controls.addWidget(self.span, 2, 2)
        controls.addWidget(self.resolution, 2, 3)
        self.steps = QSpinBox()
        self.steps.setObjectName("raceSteps")
        self.steps.setRange(1, 2000)
        self.steps.setValue(60)
        self.steps.setSuffix(" steps")
        self.lr = QDoubleSpinBox()
        self.lr.setObjectName("raceLr")
        self.lr.setDecimals(4)
        self.lr.setRange(1e-4, 100.0)
        self.lr.setValue(0.1)
        self.lr.setPrefix("lr ")
        self.lr.setToolTip("The learning rate every optimizer of the race gets")
        race_label = QLabel("race")
        controls.addWidget(race_label, 3, 0, 1, 2)
        controls.addWidget(self.steps, 3, 2)
        controls.addWidget(self.lr, 3, 3)
        for c, stretch in enumerate((0, 1, 2, 2)):
            controls.setColumnStretch(c, stretch)
        self.settings_box.setVisible(False)
        self.settings_button.toggled.connect(self.settings_box.setVisible)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setObjectName("landscapeView")
        self.view.setMinimumSize(40, 40)
        lay.addWidget(self.view, 1)
        self.plot = self.view.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.isocurves: list[pg.IsocurveItem] = []
        self.current = pg.ScatterPlotItem(size=13, symbol="+", pen=pg.mkPen("#ffffff", width=2.5), brush=None)
        self.current.setZValue(20)
        self.plot.addItem(self.current)
        self.training = pg.PlotDataItem(pen=pg.mkPen(TRAINING_COLOR, width=2))
        self.training.setZValue(15)
        self.race_items: dict[str, pg.PlotDataItem] = {}
        self.race_ends: dict[str, pg.ScatterPlotItem] = {}
        self.start_marker = pg.ScatterPlotItem(size=9, symbol="o", pen=pg.mkPen("#ffffff", width=1.5), brush=None)
        self.start_marker.setZValue(18)
        self.plot.addItem(self.start_marker)
        self.key = QLabel("")
        self.key.setObjectName("landscapeLegend")
        self.key.setWordWrap(True)
        self.key.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.key)
        self.status = QLabel("Compute draws the loss around the current weights.")
        self.status.setObjectName("landscapeStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self._mode_changed()
        self.draws = 0
        self.grid_drawn = False
        self.race_key: dict[str, tuple[str, str]] = {}
        self._training_keyed = False
        self.apply_colors()

    # ---------------------------------------------------------------- look
    def apply_colors(self) -> None:
        colors = plot_colors(self)
        self.view.setBackground(colors["bg"])
        style_plot(self.plot, colors)

    def mode_key(self) -> str:
        return self.mode.currentData()

    def _mode_changed(self, *_args) -> None:
        weights = self.mode_key() == "weights"
        for w in (self.x_axis, self.y_axis, self.x_label, self.y_label):
            w.setVisible(weights)
        self.seed.setEnabled(not weights)

    def set_busy(self, busy: bool) -> None:
        self.compute_button.setEnabled(not busy)
        self.race_button.setEnabled(not busy)

    # ---------------------------------------------------------------- drawing
    def clear(self) -> None:
        """Nothing drawn (a new document, or a plane that no longer fits)."""
        self.image.clear()
        for iso in self.isocurves:
            self.plot.removeItem(iso)
        self.isocurves = []
        self.clear_race()
        self.set_training(np.zeros((0, 2)))
        self.current.setData([], [])
        self.start_marker.setData([], [])
        self.plot.setLabel("bottom", "")
        self.plot.setLabel("left", "")
        self.grid_drawn = False
        self._update_key()

    def show_grid(self, xs: np.ndarray, ys: np.ndarray, loss: np.ndarray, labels: tuple[str, str]) -> None:
        z = log_loss(loss)
        self.image.setImage(z.T, autoLevels=True)  # the image is indexed [x, y]; the grid [y, x]
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
        self.image.setRect(QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys)))
        for iso in self.isocurves:
            self.plot.removeItem(iso)
        self.isocurves = []
        lo, hi = float(z.min()), float(z.max())
        if hi > lo:
            pen = pg.mkPen((255, 255, 255, 90), width=1)
            for level in np.linspace(lo, hi, LEVELS + 2)[1:-1]:
                iso = pg.IsocurveItem(data=z.T, level=float(level), pen=pen)
                iso.setParentItem(self.image)  # the image's transform: pixel -> plane coordinates
                iso.setZValue(5)
                self.isocurves.append(iso)
        self.plot.setLabel("bottom", labels[0])
        self.plot.setLabel("left", labels[1])
        self.plot.setRange(xRange=(xs[0], xs[-1]), yRange=(ys[0], ys[-1]), padding=0.02)
        self.draws += 1
        self.grid_drawn = True
        self._update_key()

    def show_current(self, xy: tuple[float, float] | None) -> None:
        self.current.setData([] if xy is None else [xy[0]], [] if xy is None else [xy[1]])

    def clear_race(self) -> None:
        for item in list(self.race_items.values()) + list(self.race_ends.values()):
            self.plot.removeItem(item)
        self.race_items, self.race_ends = {}, {}
        self.race_key = {}
        self.start_marker.setData([], [])
        self._update_key()

    def show_race(self, paths: dict) -> None:
        """{kind: Trajectory}: one line per optimizer, in the legend, with its end marked."""
        self.clear_race()
        for kind, tr in paths.items():
            color = RACE_COLORS.get(kind, "#cccccc")
            label = kind if tr.status == "ok" else f"{kind} (diverged)"
            item = pg.PlotDataItem(tr.xy[:, 0], tr.xy[:, 1], pen=pg.mkPen(color, width=2), name=label)
            item.setZValue(10)
            self.plot.addItem(item)
            end = pg.ScatterPlotItem([tr.xy[-1, 0]], [tr.xy[-1, 1]], size=7, symbol="o", pen=None,
                                     brush=pg.mkBrush(color))
            end.setZValue(11)
            self.plot.addItem(end)
            self.race_items[kind], self.race_ends[kind] = item, end
            self.race_key[kind] = (color, f"{label} {tr.loss[-1]:.3g}")
        self._update_key()
        if paths:
            first = next(iter(paths.values()))
            self.start_marker.setData([first.xy[0, 0]], [first.xy[0, 1]])

    def set_training(self, xy: np.ndarray) -> None:
        """The training run's path so far ((n, 2) plane coordinates)."""
        shown = self.training.scene() is not None
        if len(xy) and not shown:
            self.plot.addItem(self.training)
        elif not len(xy) and shown:
            self.plot.removeItem(self.training)
        if len(xy):
            self.training.setData(xy[:, 0], xy[:, 1])
            self._keep_in_view(xy)
        else:
            self.training.setData([], [])
        if bool(len(xy)) != self._training_keyed:
            self._training_keyed = bool(len(xy))
            self._update_key()

    def _keep_in_view(self, xy: np.ndarray) -> None:
        """Widen the view (never the drawn grid) when the path leaves it: the whole path stays visible."""
        (x0, x1), (y0, y1) = self.plot.viewRange()
        ok = xy[np.isfinite(xy).all(axis=1)]
        if not len(ok):
            return
        lo, hi = ok.min(axis=0), ok.max(axis=0)
        if lo[0] < x0 or hi[0] > x1 or lo[1] < y0 or hi[1] > y1:
            self.plot.setRange(xRange=(min(lo[0], x0), max(hi[0], x1)), yRange=(min(lo[1], y0), max(hi[1], y1)),
                               padding=0.05)

    def _update_key(self) -> None:
        """The legend, under the plot: a coloured line and the final loss per optimizer, the training path."""
        entries = list(getattr(self, "race_key", {}).values())
        if getattr(self, "_training_keyed", False):
            entries.append((TRAINING_COLOR, "training run"))
        if self.grid_drawn:
            entries.append((None, "+ current weights"))
        self.key_entries = [t for _, t in entries]
        self.key.setText("&nbsp;&nbsp; ".join(
            (f'<span style="color:{c}">&#9473;&#9473;</span>&nbsp;' if c else "") + t.replace(" ", "&nbsp;")
            for c, t in entries))
