"""Colours of the training plots, taken from the application palette (dark or light theme)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGraphicsItem


def plot_colors(widget) -> dict:
    """{"bg", "fg", "dim", "legend"}: plot background, axis text, grid/guide colour, legend fill."""
    pal = widget.palette()
    bg = pal.color(QPalette.ColorRole.Base)
    fg = pal.color(QPalette.ColorRole.Text)
    dim = pal.color(QPalette.ColorRole.PlaceholderText)
    legend = pg.mkColor(bg)
    legend.setAlpha(130)
    return {"bg": bg, "fg": fg, "dim": dim, "legend": legend}


def style_plot(plot: pg.PlotItem, colors: dict, title: str | None = None) -> None:
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setPen(pg.mkPen(colors["dim"]))
        ax.setTextPen(pg.mkPen(colors["fg"]))
        # an axis replays its text (a QPicture) on every repaint of the area it shares with the
        # curves, about 2 ms each; cached as a pixmap it is redrawn only when its range or style changes
        ax.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    if title is not None:
        plot.setTitle(title, color=colors["fg"].name(), size="10pt")
    if plot.legend is not None:
        plot.legend.setBrush(colors["legend"])
        plot.legend.setLabelTextColor(colors["fg"])


class LogFriendlyAxis(pg.AxisItem):
    """A left axis whose log-mode labels stay readable: 1, 2 and 5 times a power of ten only,
    and only the powers of ten when the plot is too short for more."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph name)
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        strings = super().tickStrings(values, scale, spacing)
        lo, hi = self.range
        decades = max(hi - lo, 1e-9)
        roomy = self.height() / decades > 90
        out = []
        for v, text in zip(values, strings):
            mant = 10 ** (v - np.floor(v + 1e-9))
            keep = abs(mant - 1) < 1e-6 or (roomy and (abs(mant - 2) < 1e-6 or abs(mant - 5) < 1e-6))
            out.append(text if keep else "")
        return out
