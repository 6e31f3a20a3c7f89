"""Colours of the training plots, taken from the application palette (dark or light theme)."""
from __future__ import annotations

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
