"""Drawing the training plots: which plot a timer tick redraws, and how.

A mixin of PlotsDock (plots.py), which owns the widgets and the runs. About 30 times a
second the timer redraws at most one shown plot whose series changed (see `refresh`);
ranges move in steps with hysteresis, so the axes are not redrawn every frame, and each
curve gets at most two points per pixel of its plot's width.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from .pacing import PACER
from .plot_data import (DEAD_RELU, EPOCH_TRAIN_ACC, EPOCH_TRAIN_LOSS, EPOCH_VAL_ACC, EPOCH_VAL_LOSS, GRAD_NORM,
                        MAX_POINTS, PALETTE, PLOT_SERIES, SATURATED, STEP_LOSS, STEP_LR, STEP_REG_LOSS, UPDATE_RATIO,
                        Envelope, Smoother)
from .series import RunHistory

FPS = 30
ROTATION = ("acc", "grad", "ratio", "lr", "units")  # plots redrawn in turn, one per tick
ORDER = ("loss", "acc", "lr", "grad", "ratio", "units")


class PlotDrawing:
    """Timer-driven drawing of the current run (and, once, of a kept run) into PlotsDock's plots."""

    def _on_tick(self) -> None:
        if not PACER.busy():  # the boundary view has just redrawn: not in the same frame (pacing.py)
            self.refresh()

    def refresh(self, everything: bool = False) -> None:
        """Timer tick: redraw one shown plot whose data changed since it was last drawn.

        The loss plot takes every other tick (15 Hz); the other shown plots take turns in the
        remaining ticks, so no tick repaints more than one plot (all six cost tens of ms). A
        hidden plot is not drawn at all: it catches up, first in line, when it is shown.
        `everything` draws every stale plot, shown or hidden, at once."""
        h = self.history
        sig = {k: self._signature(k, h) for k in ORDER if everything or k in self.shown}
        stale = [k for k in sig if self._plot_version.get(k) != sig[k]]
        if not stale:
            return
        if everything:
            only = set(stale)
        else:
            self._tick += 1
            if self._first in stale:  # a plot just toggled on shows its history on the next tick
                only = {self._first}
            elif "loss" in stale and (self._tick % 2 or len(stale) == 1):
                only = {"loss"}
            else:
                others = [k for k in ROTATION if k in stale] or stale
                k = min(others, key=lambda key: (ROTATION.index(key) - self._turn) % len(ROTATION)
                        if key in ROTATION else -1)
                if k in ROTATION:
                    self._turn = (ROTATION.index(k) + 1) % len(ROTATION)
                only = {k}
        self._first = None
        self._draw_run(len(self.kept), h, only)
        for key in only:
            self._fit(key)
            self._plot_version[key] = sig[key]
        self.draws += 1

    @staticmethod
    def _signature(key: str, h: RunHistory) -> tuple:
        """What a plot would show: its series' names and lengths. A plot is redrawn only when this
        changes (the accuracy plot gets a point per epoch, not per chunk)."""
        prefixes = PLOT_SERIES[key]
        return (id(h),) + tuple((name, len(s)) for name, s in h.series.items() if name.startswith(prefixes))

    def _fit(self, key: str) -> None:
        """Move a plot's range only when its data leave it or shrink well inside it (hysteresis).

        Bounds come from the buffers, as the curves hold only their envelope."""
        boxes = [b for (run, plot), b in self._bounds.items() if plot == key]
        if not boxes:
            return
        x0 = min(b[0] for b in boxes)
        x1 = max(b[1] for b in boxes)
        y0 = min(b[2] for b in boxes)
        y1 = max(b[3] for b in boxes)
        vb = self.plots[key].vb
        (vx0, vx1), (vy0, vy1) = vb.viewRange()
        fixed_y = key in ("acc", "units")
        if fixed_y:
            y0, y1 = 0.0, 1.0
        span_y = max(y1 - y0, 1e-9)
        need_x = x1 > vx1 or x0 < vx0 or (x1 - x0) < 0.5 * (vx1 - vx0)
        need_y = y1 > vy1 or y0 < vy0 or span_y < 0.5 * (vy1 - vy0)
        if fixed_y:  # fractions: always 0..1 with room above 1 (a curve at 1.0 must not sit on the edge)
            need_y = abs(vy1 - 1.06) > 1e-6 or abs(vy0 + 0.06) > 1e-6
        if need_x:
            vb.setXRange(x0, x0 + max(x1 - x0, 1.0) * 1.3, padding=0.02)
        if not all(np.isfinite(v) for v in (x0, x1, y0, y1)):
            return
        if need_y:
            pad = 0.06 if fixed_y else 0.12 * span_y  # fractions: a curve at 1.0 (all units dead) stays in view
            if not fixed_y and y1 - y0 < 1e-12 * max(abs(y0), 1e-300):
                pad = 0.1 * abs(y0) if y0 else 1.0  # a constant (the learning rate): a band around it
            vb.setYRange(y0 - pad, y1 + pad, padding=0)

    def _grow_bounds(self, run: int, plot: str, x: np.ndarray, y: np.ndarray) -> None:
        if plot in ("loss", "grad", "ratio") and self.plots[plot].ctrl.logYCheck.isChecked():
            y = y[np.isfinite(y) & (y > 0)]
            if y.size == 0:
                return
            y = np.log10(y)
        else:
            y = y[np.isfinite(y)]
        if y.size == 0 or x.size == 0:
            return
        box = (float(x[0]), float(x[-1]), float(y.min()), float(y.max()))
        old = self._bounds.get((run, plot))
        if old is not None:
            box = (min(old[0], box[0]), max(old[1], box[1]), min(old[2], box[2]), max(old[3], box[3]))
        self._bounds[(run, plot)] = box

    def _curve(self, run: int, plot: str, name: str, color: str, label: str, width: float = 1.0,
               symbol: str | None = None, series_len: int = 0) -> pg.PlotDataItem:
        key = (run, plot, name)
        item = self._curves.get(key)
        if item is not None:
            if symbol and series_len > 60 and item.opts.get("symbol") is not None:
                item.setSymbol(None)  # markers only while there are few epochs
            return item
        kept = run < len(self.kept)
        style = Qt.PenStyle.DashLine if kept else Qt.PenStyle.SolidLine
        c = pg.mkColor(color)
        if kept:
            c.setAlpha(170)
        pen = pg.mkPen(c, width=width, style=style)
        kw = {}
        if symbol and series_len <= 60:
            kw = dict(symbol=symbol, symbolSize=5, symbolBrush=c, symbolPen=None)
        run_label = self._run_label(run, plot)
        item = pg.PlotDataItem(pen=pen, name=f"{label}{run_label}" if label else None, **kw)
        self.plots[plot].addItem(item)
        self._curves[key] = item
        self._titles()
        return item

    def _run_label(self, run: int, plot: str) -> str:
        """" (kept)" on the dashed curves of kept runs; the runs themselves are named in runsLabel."""
        if run < len(self.kept) and plot in ("loss", "acc", "lr"):
            return f" (kept {run + 1})" if len(self.kept) > 1 else " (kept)"
        return ""

    def _set(self, run, plot, name, series, color, label, smooth=1, **kw) -> None:
        if series is None or len(series) == 0 or (self._only is not None and plot not in self._only):
            return
        x, y = series.view()
        key = (run, plot, name)
        if smooth > 1:
            y = self._reducer(key, Smoother).update(series, y, smooth)
        x, y = self._reducer(key, Envelope).update(series, x, y, self._points(plot))
        if not np.isfinite(y).all():  # an exploding run: Inf/NaN leave a gap instead of breaking the range
            y = np.where(np.isfinite(y), y, np.nan)
        self._curve(run, plot, name, color, label, series_len=len(series), **kw).setData(x, y, connect="finite")
        self._grow_bounds(run, plot, x, y)

    def _reducer(self, key: tuple, kind: type):
        """The curve's incremental smoother or envelope (plot_data.py): a redraw costs the new points."""
        r = self._reducers.get((key, kind))
        if r is None:
            r = self._reducers[(key, kind)] = kind()
        return r

    def _points(self, plot: str) -> int:
        """Points worth handing to a curve: two per pixel of the plot's width (a block's min and max),
        at most MAX_POINTS; a narrow plot redraws and paints fewer."""
        width = int(self.plots[plot].vb.width())
        return max(200, min(MAX_POINTS, 2 * width)) if width > 0 else MAX_POINTS

    def _draw_run(self, run: int, h: RunHistory, only: set | None = None) -> None:
        for key in [k for k in self._bounds if k[0] == run and (only is None or k[1] in only)]:
            del self._bounds[key]
        self._only = only
        kept = run < len(self.kept)
        shift = run % len(PALETTE)
        col = (lambda i: PALETTE[(i + 2 * shift) % len(PALETTE)])
        step_loss = h.get(STEP_LOSS)
        if step_loss is not None and len(step_loss):
            smooth = self.smooth_spin.value()
            if not kept and smooth > 1 and (self._only is None or "loss" in self._only):
                raw = pg.mkColor(col(0))
                raw.setAlpha(60)
                self._curve(run, "loss", "raw", raw.name(pg.QtGui.QColor.NameFormat.HexArgb), "", width=1)\
                    .setData(*self._reducer((run, "loss", "raw"), Envelope)
                             .update(step_loss, *step_loss.view(), self._points("loss")))
            self._set(run, "loss", "smooth", step_loss, col(0), "train", smooth=smooth)
        self._set(run, "loss", "val", h.get(EPOCH_VAL_LOSS), col(1), "validation", symbol="o")
        reg = h.get(STEP_REG_LOSS)
        if not kept and reg is not None and len(reg) and reg.last():  # the L2/L1 part of the total, on its own
            self._set(run, "loss", "reg", reg, col(4), "regularisation", smooth=self.smooth_spin.value())
        acc = h.get(EPOCH_TRAIN_ACC)
        self._set(run, "acc", "train", acc, col(0), "train", symbol="o")
        self._set(run, "acc", "val", h.get(EPOCH_VAL_ACC), col(1), "validation", symbol="o")
        if not kept:  # epochs ended and no accuracy: a regression loss (mse) has none to plot
            epochs = h.get(EPOCH_TRAIN_LOSS)
            self.note_no_accuracy(epochs is not None and len(epochs) > 0 and (acc is None or not len(acc)))
        self._set(run, "lr", "lr", h.get(STEP_LR), col(2), "lr")
        if kept:
            return  # per-layer plots show the current run only: overlays would be unreadable
        for i, (name, s) in enumerate(sorted(h.group(GRAD_NORM).items())):
            self._set(run, "grad", "g:" + name, s, PALETTE[i % len(PALETTE)], name)
        for i, (name, s) in enumerate(sorted(h.group(UPDATE_RATIO).items())):
            self._set(run, "ratio", "r:" + name, s, PALETTE[i % len(PALETTE)], name)
        units = sorted(h.group(DEAD_RELU).items())
        for i, (name, s) in enumerate(units):
            self._set(run, "units", "d:" + name, s, PALETTE[i % len(PALETTE)], f"dead {name}")
        for i, (name, s) in enumerate(sorted(h.group(SATURATED).items())):
            self._set(run, "units", "s:" + name, s, PALETTE[(i + len(units)) % len(PALETTE)], f"saturated {name}")

    def note_no_accuracy(self, show: bool) -> None:
        """Say, in the empty Accuracy plot, why it is empty (a regression run)."""
        note = getattr(self, "_no_acc", None)
        if note is None:
            if not show:
                return
            vb = self.plots["acc"].vb
            note = self._no_acc = pg.TextItem("no accuracy: the loss is a regression loss", anchor=(0.5, 0.5),
                                              color=self.plots["acc"].getAxis("left").textPen().color())
            note.setParentItem(vb)  # in the view's own pixels: it stays centred whatever the ranges
            vb.sigResized.connect(lambda *_: note.setPos(vb.width() / 2, vb.height() / 2))
            note.setPos(vb.width() / 2, vb.height() / 2)
        note.setVisible(show)

    def accuracy_note(self) -> str | None:
        """The Accuracy plot's note when shown (tests)."""
        note = getattr(self, "_no_acc", None)
        return note.toPlainText() if note is not None and note.isVisible() else None

    # ------------------------------------------------------------ queries (tests)
    def curve_count(self, plot: str = "loss") -> int:
        return sum(1 for k in self._curves if k[1] == plot)

    def curves(self, plot: str) -> list[pg.PlotDataItem]:
        return [v for k, v in self._curves.items() if k[1] == plot]
