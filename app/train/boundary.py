"""The "boundaryDock": what the net currently answers.

For 2-D data, a decision-boundary heatmap with the data points over it (as in
TensorFlow Playground): each class has a colour, blended towards the background
as the net grows unsure. For image data, a grid of sample images captioned
with the predicted class (green when right, red when wrong) and the first
layer's filters. A second tab shows weight and activation histograms per layer.
All arrays arrive ready-made from the worker (graphcore.predict computed them);
this module only maps them to colours and items.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from .look import plot_colors, style_plot
from .pacing import PACER

CLASS_COLORS = np.array([[78, 155, 230], [242, 142, 43], [89, 161, 79], [225, 87, 89], [176, 122, 161],
                         [118, 183, 178], [237, 201, 72], [255, 157, 167], [156, 117, 95], [186, 176, 172]],
                        dtype=np.float64)
BACKGROUND = np.array([32.0, 33.0, 36.0])
SAMPLE_PX = 62  # digit thumbnails at least 48 px plus their spacing and padding
FILTER_PX = 40
HIST_COLORS = ["#4e9be6", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7"]


def class_image(classes: np.ndarray, confidence: np.ndarray, n_classes: int,
                background: np.ndarray = BACKGROUND) -> np.ndarray:
    """(res, res, 3) uint8: each cell in its class colour, faded towards the background when unsure."""
    cols = CLASS_COLORS[classes % len(CLASS_COLORS)]
    floor = 1.0 / max(n_classes, 2)
    conf = np.nan_to_num(confidence, nan=0.0)  # a diverged net answers NaN: draw it as "unsure"
    a = np.clip((conf - floor) / (1.0 - floor), 0.0, 1.0)[..., None]
    a = 0.12 + 0.48 * a
    return (background * (1 - a) + cols * a).astype(np.uint8)


def value_image(value: np.ndarray) -> np.ndarray:
    """(res, res, 3) uint8 for a regression output: blue (low) to orange (high)."""
    value = np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(value.min()), float(value.max())
    t = np.clip((value - lo) / (hi - lo if hi > lo else 1.0), 0, 1)[..., None]
    return (CLASS_COLORS[0] * (1 - t) + CLASS_COLORS[1] * t).astype(np.uint8)


class BoundaryDock(QDockWidget):
    """Decision boundary (2-D data) or sample predictions and filters (images), plus histograms."""

    def __init__(self, parent=None) -> None:
        super().__init__("What the net sees", parent)
        self.setObjectName("boundaryDock")
        self.updates = 0
        self.last_image: np.ndarray | None = None
        self._mode: str | None = None
        self._points_key = None

        self.tabs = QTabWidget()
        self.tabs.setObjectName("boundaryTabs")
        self.setWidget(self.tabs)
        self.tabs.setMinimumSize(60, 40)  # a dock must not force the window taller than small screens allow

        self.output_view = pg.GraphicsLayoutWidget()
        self.output_view.setObjectName("boundaryView")
        self.output_view.setMinimumSize(40, 20)
        # until a run draws something, the Output tab says what will appear there (an empty plot said nothing)
        self.hint = QLabel("Train a net to see its decision boundary (2-D data) or its predictions (images).")
        self.hint.setObjectName("boundaryHint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setMargin(12)
        self.output_stack = QStackedWidget()
        self.output_stack.addWidget(self.hint)
        self.output_stack.addWidget(self.output_view)
        self.tabs.addTab(self.output_stack, "Output")

        hist_box = QWidget()
        hl = QVBoxLayout(hist_box)
        hl.setContentsMargins(0, 0, 0, 0)
        self.hist_view = pg.GraphicsLayoutWidget()
        self.hist_view.setObjectName("histogramView")
        self.hist_view.setMinimumSize(40, 20)
        hl.addWidget(self.hist_view)
        self.tabs.addTab(hist_box, "Histograms")
        self.weight_plot = self.hist_view.addPlot(row=0, col=0, title="Weights per layer")
        self.act_plot = self.hist_view.addPlot(row=1, col=0, title="Activations per layer")
        for p in (self.weight_plot, self.act_plot):
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setMenuEnabled(False)
        self._hist_curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._hist_fresh = False
        self._latest: dict | None = None
        self._output_drawn: dict | None = None
        self._hist_drawn: dict | None = None
        self._points_cache = None
        self._points_new = False

        # 2-D mode items (created on first use)
        self.plot: pg.PlotItem | None = None
        self.image: pg.ImageItem | None = None
        self.scatter: pg.ScatterPlotItem | None = None
        self.val_scatter: pg.ScatterPlotItem | None = None
        # image mode items
        self._sample_boxes: list[tuple[pg.ViewBox, pg.ImageItem, pg.LabelItem]] = []
        self._image_cols: tuple[int, int] | None = None
        self._filter_boxes: list[tuple[pg.ViewBox, pg.ImageItem]] = []
        self.apply_theme()
        self.tabs.currentChanged.connect(self._draw_latest)

    def apply_theme(self) -> None:
        """Match the application palette (called again when the theme changes)."""
        c = plot_colors(self)
        for view in (self.output_view, self.hist_view):
            view.setBackground(c["bg"])
        self.hint.setStyleSheet(f"QLabel#boundaryHint {{ background: {c['bg'].name()}; color: {c['fg'].name()}; }}")
        style_plot(self.weight_plot, c, "Weights per layer")
        style_plot(self.act_plot, c, "Activations per layer")
        for p in (self.weight_plot, self.act_plot):
            p._bp_title = None
        if self._hist_curves:
            self._hist_titles()
        if self.plot is not None:
            style_plot(self.plot, c, None if self._mode == "2d" else "Prediction (line) against the data "
                                                                      "(dots; rings: validation)")

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "weight_plot"):
            self.apply_theme()
        super().changeEvent(event)

    # ------------------------------------------------------------ modes
    def _clear_output(self) -> None:
        self.output_view.clear()
        self.plot = self.image = self.scatter = self.val_scatter = None
        self.curve_item = None
        self._bounds = None
        self._sample_boxes = []
        self._filter_boxes = []
        self._points_key = None

    def _ensure_2d(self) -> None:
        if self._mode == "2d":
            return
        self._clear_output()
        self._mode = "2d"
        p = self.output_view.addPlot()  # no title: the dock and its tab say what it is, the pixels go to the map
        p.setAspectLocked(True)
        p.setMenuEnabled(False)
        p.hideButtons()
        p.getAxis("left").setWidth(30)
        p.getAxis("bottom").setHeight(20)
        self.output_view.ci.setContentsMargins(2, 2, 6, 2)
        self.image = pg.ImageItem()
        p.addItem(self.image)
        self.scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen(255, 255, 255, 200, width=0.8))
        p.addItem(self.scatter)
        self.val_scatter = pg.ScatterPlotItem(size=7)
        p.addItem(self.val_scatter)
        self.plot = p
        style_plot(p, plot_colors(self))

    def _ensure_curve(self) -> None:
        if self._mode == "curve":
            return
        self._clear_output()
        self._mode = "curve"
        p = self.output_view.addPlot(title="Prediction")
        p.setMenuEnabled(False)
        p.hideButtons()
        p.showGrid(x=True, y=True, alpha=0.15)
        self.scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(*CLASS_COLORS[0].astype(int), 170))
        self.val_scatter = pg.ScatterPlotItem(size=6, brush=None,
                                              pen=pg.mkPen(*CLASS_COLORS[1].astype(int), width=1.4))
        self.curve_item = pg.PlotDataItem(pen=pg.mkPen("#f2f2f2" if plot_colors(self)["bg"].lightness() < 128
                                                       else "#202020", width=2.2))
        for item in (self.scatter, self.val_scatter, self.curve_item):
            p.addItem(item)
        self.plot = p
        style_plot(p, plot_colors(self), "Prediction (line) against the data (dots; rings: validation)")

    def _show_curve(self, curve: dict, points) -> None:
        self._ensure_curve()
        if points is not None:
            xt, yt, xv, yv = points
            self.scatter.setData(x=xt, y=yt)
            self.val_scatter.setData(x=xv, y=yv)
        y = np.nan_to_num(curve["y"], nan=0.0, posinf=0.0, neginf=0.0)
        self.curve_item.setData(curve["x"], y)
        self.last_image = np.asarray(y)

    def image_columns(self) -> tuple[int, int]:
        """(sample columns, filter columns) for the view's width: thumbnails of at least
        48 px (SAMPLE_PX with the spacing), and filters of FILTER_PX, every one of them shown."""
        w = max(self.output_view.width(), 120)
        return max(2, w // SAMPLE_PX), max(4, w // FILTER_PX)

    def sample_count(self, n_samples: int, n_filters: int) -> int:
        """How many samples fit at SAMPLE_PX once every filter has its row (the rest are not shown)."""
        scols, fcols = self.image_columns()
        filter_h = ((n_filters + fcols - 1) // fcols) * FILTER_PX + 18 if n_filters else 0
        free = max(self.output_view.height(), 120) - filter_h - 18
        rows = max(1, free // (SAMPLE_PX + 18))
        return min(n_samples, rows * scols)

    def _ensure_images(self, n_samples: int, n_filters: int) -> None:
        n_samples = self.sample_count(n_samples, n_filters)
        cols = self.image_columns()
        if self._mode == "images" and len(self._sample_boxes) == n_samples \
                and len(self._filter_boxes) == n_filters and self._image_cols == cols:
            return
        self._clear_output()
        self._mode = "images"
        self._image_cols = cols
        scols, fcols = cols
        v = self.output_view
        v.ci.layout.setSpacing(2)
        v.ci.setContentsMargins(2, 2, 2, 2)
        v.addLabel("Predicted / true label (green right, red wrong)", row=0, col=0, size="8pt")
        samples = v.addLayout(row=1, col=0)  # its own grid: sample and filter columns differ in width
        samples.setContentsMargins(0, 0, 0, 0)
        samples.layout.setSpacing(2)
        for i in range(n_samples):
            r, c = divmod(i, scols)
            sub = samples.addLayout(row=r, col=c)
            sub.setContentsMargins(0, 0, 0, 0)
            sub.layout.setSpacing(0)
            lab = sub.addLabel("", row=0, col=0, size="8pt")
            lab.setMinimumWidth(10)
            vb = sub.addViewBox(row=1, col=0, lockAspect=True, enableMouse=False)
            vb.invertY(True)
            img = pg.ImageItem()
            vb.addItem(img)
            self._sample_boxes.append((vb, img, lab))
        sample_rows = (n_samples + scols - 1) // scols
        v.ci.layout.setRowStretchFactor(1, max(1, sample_rows) * (SAMPLE_PX + 14))
        if n_filters:
            v.addLabel(f"First-layer filters ({n_filters})", row=2, col=0, size="8pt")
            filters = v.addLayout(row=3, col=0)
            filters.setContentsMargins(0, 0, 0, 0)
            filters.layout.setSpacing(2)
            for i in range(n_filters):
                r, c = divmod(i, fcols)
                vb = filters.addViewBox(row=r, col=c, lockAspect=True, enableMouse=False)
                vb.invertY(True)
                img = pg.ImageItem()
                vb.addItem(img)
                self._filter_boxes.append((vb, img))
            v.ci.layout.setRowStretchFactor(3, ((n_filters + fcols - 1) // fcols) * FILTER_PX)

    # ------------------------------------------------------------ updates
    def show_snapshot(self, snap: dict) -> None:
        """Take one snapshot from the worker (keys: grid | curve | samples, points, filters, hist).

        Only the tab on show is drawn; the other catches up when it is opened."""
        if snap.get("points") is not None:  # sent once per run
            self._points_cache = snap["points"]
            self._points_new = True
        self._latest = snap
        self.updates += 1
        self._draw_latest()

    def _draw_latest(self, *_args) -> None:
        snap = self._latest
        if snap is None:
            return
        if self.tabs.currentIndex() == 0 and self._output_drawn is not snap:
            self._output_drawn = snap
            self.output_stack.setCurrentWidget(self.output_view)
            PACER.drew()  # the plots' next tick waits a frame (see pacing.py)
            points = self._points_cache if self._points_new else None
            self._points_new = False
            grid = snap.get("grid")
            if grid is not None:
                self._show_grid(grid, points, int(snap.get("n_classes") or 0))
            elif snap.get("curve") is not None:
                self._show_curve(snap["curve"], points)
            elif snap.get("samples") is not None:
                self._show_images(snap["samples"], snap.get("filters"), snap.get("class_names"))
        elif self.tabs.currentIndex() == 1 and self._hist_drawn is not snap and snap.get("hist") is not None:
            self._hist_drawn = snap
            self._show_hist(snap["hist"])

    def _show_grid(self, grid: dict, points, n_classes: int) -> None:
        self._ensure_2d()
        if grid.get("classes") is not None:
            bg = plot_colors(self)["bg"]
            rgb = class_image(grid["classes"], grid["confidence"], n_classes,
                              np.array([bg.red(), bg.green(), bg.blue()], np.float64))
        else:
            rgb = value_image(grid["value"])
        self.last_image = rgb
        x0, x1, y0, y1 = grid["bounds"]
        self.image.setImage(np.ascontiguousarray(rgb.transpose(1, 0, 2)), autoLevels=False, levels=(0, 255))
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if points is not None:
            self._set_points(*points)
        if grid["bounds"] != self._bounds:  # the same for the whole run: re-ranging costs a relayout
            self._bounds = grid["bounds"]
            self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def _set_points(self, X_train, y_train, X_val=None, y_val=None) -> None:
        """Training points filled in their class colour, validation points as rings (one brush per class)."""
        def per_class(y, make):
            if y is None or len(y) == 0:
                return []
            if y.ndim == 1 and y.dtype.kind in "iu":
                cache = {}
                out = []
                for c in (y % len(CLASS_COLORS)).tolist():
                    item = cache.get(c)
                    if item is None:
                        r, g, b = (int(v) for v in CLASS_COLORS[c])
                        item = cache[c] = make(r, g, b)
                    out.append(item)
                return out
            return [make(200, 200, 200)] * len(y)

        self.scatter.setData(x=X_train[:, 0], y=X_train[:, 1], size=6, symbol="o",
                             pen=pg.mkPen(255, 255, 255, 230, width=1.0), brush=per_class(y_train, pg.mkBrush))
        if X_val is not None and len(X_val):
            self.val_scatter.setData(x=X_val[:, 0], y=X_val[:, 1], size=7, symbol="o",
                                     brush=pg.mkBrush(20, 20, 24, 220),
                                     pen=per_class(y_val, lambda r, g, b: pg.mkPen(r, g, b, width=1.6)))
        else:
            self.val_scatter.clear()

    def _show_images(self, samples: dict, filters, class_names) -> None:
        imgs = samples["images"]
        n_f = 0 if filters is None else len(filters)
        self._ensure_images(len(imgs), n_f)  # as many samples as fit at 48 px or more
        for (vb, item, lab), im, y, p, pr in zip(self._sample_boxes, imgs, samples["labels"], samples["pred"],
                                                 samples["prob"]):
            item.setImage(np.ascontiguousarray(np.asarray(im).T), autoLevels=True)
            name = class_names[int(p)] if class_names else str(int(p))
            true = class_names[int(y)] if class_names else str(int(y))
            color = "#59c15f" if int(p) == int(y) else "#ff5c5c"
            lab.setText(f"{name} / {true}", color=color, size="8pt")
        if filters is not None:
            for (vb, item), f in zip(self._filter_boxes, filters):
                item.setImage(np.ascontiguousarray(np.asarray(f).T), autoLevels=False, levels=(0, 1))
        self.last_image = np.asarray(imgs)

    def show_histograms(self, hist: dict) -> None:
        """Histograms from outside a run (the editor's pass): layers the graph no longer has are dropped."""
        self._hist_fresh = True
        self._show_hist(hist)

    def _show_hist(self, hist: dict) -> None:
        if self._hist_fresh:
            self._hist_fresh = False
            self._drop_hist_curves({(g, n) for g in ("weights", "activations") for n in hist.get(g, {})})
        for group, plot in (("weights", self.weight_plot), ("activations", self.act_plot)):
            items = hist.get(group, {})
            for i, (name, (edges, counts)) in enumerate(items.items()):
                key = (group, name)
                curve = self._hist_curves.get(key)
                if curve is None:
                    c = pg.mkColor(HIST_COLORS[i % len(HIST_COLORS)])
                    fill = pg.mkColor(c)
                    fill.setAlpha(50)
                    curve = pg.PlotDataItem(stepMode="center", pen=pg.mkPen(c, width=1.4), fillLevel=0,
                                            brush=fill, name=name)
                    plot.addItem(curve)
                    self._hist_curves[key] = curve
                total = counts.sum() or 1.0
                curve.setData(edges, counts / total)
        self._hist_titles()

    def _hist_titles(self) -> None:
        """Titles name each layer in its curve's colour (a legend would cover the histograms)."""
        c = plot_colors(self)
        for group, plot, title in (("weights", self.weight_plot, "Weights"),
                                   ("activations", self.act_plot, "Activations")):
            names = [(n, HIST_COLORS[i % len(HIST_COLORS)])
                     for i, (g, n) in enumerate(k for k in self._hist_curves if k[0] == group)]
            text = ", ".join(f"<span style='color:{col}'>{n}</span>" for n, col in names)
            html = f"{title}: {text}" if text else f"{title} per layer"
            if getattr(plot, "_bp_title", None) != html:
                plot._bp_title = html
                plot.setTitle(html, color=c["fg"].name(), size="9pt")

    def reset(self) -> None:
        """A new run: histogram curves of layers that the next run lacks are dropped on its first snapshot
        (the others are reused: creating items is the slow part)."""
        self._hist_fresh = True
        self.updates = 0

    def clear(self) -> None:
        """Another document: nothing of the last graph's boundary, predictions, filters or histograms stays."""
        self._clear_output()
        self.output_stack.setCurrentWidget(self.hint)
        self._mode = None
        self._latest = self._output_drawn = self._hist_drawn = None
        self._points_cache = None
        self._points_new = False
        self.last_image = None
        self._drop_hist_curves(set())
        self._hist_titles()
        self.reset()

    def _drop_hist_curves(self, keep: set) -> None:
        for key in [k for k in self._hist_curves if k not in keep]:
            curve = self._hist_curves.pop(key)
            plot = self.weight_plot if key[0] == "weights" else self.act_plot
            if plot.legend is not None:
                plot.legend.removeItem(curve)
            plot.removeItem(curve)
