"""The live training plots dock ("plotsDock"): its widgets, its plot toggles and its runs.

Six pyqtgraph plots (loss, accuracy, learning rate, per-layer gradient norms,
update/weight ratio with the 1e-3 guide line, dead-ReLU and saturated-unit
fractions) drawn from the growing buffers of a RunHistory. A QTimer at about
30 Hz redraws what changed (plot_drawing.py); data never triggers a draw by
itself. A finished run can be kept: its curves stay, dashed, under the next.
What each plot shows and how long series are reduced is in plot_data.py.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QDockWidget, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSizePolicy, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget)

from .look import LogFriendlyAxis, plot_colors, style_plot
from .plot_data import (DEAD_RELU, EPOCH_TRAIN_ACC, EPOCH_TRAIN_LOSS, EPOCH_VAL_ACC, EPOCH_VAL_LOSS,  # noqa: F401
                        GRAD_NORM, MAX_POINTS, PALETTE, SATURATED, STEP_LOSS, STEP_LR, STEP_REG_LOSS, UPDATE_RATIO,
                        envelope, moving_average)
from .plot_drawing import FPS, ORDER, ROTATION, PlotDrawing  # noqa: F401  (names tests and tools import from here)
from .series import RunHistory

MIN_PLOT_WIDTH = 170  # a row of plots scrolls sideways rather than squeezing each below this
SHOWN_BY_DEFAULT = ("loss", "acc")  # the two a student reads while training; the rest are one click away
SHORT_NAMES = {"loss": "Loss", "acc": "Accuracy", "lr": "LR", "grad": "Grads", "ratio": "Ratio",
               "units": "Units"}  # the toggles' text: the title row at 1280x720 has room for short words only
LONG_NAMES = {"loss": "loss", "acc": "accuracy", "lr": "learning rate", "grad": "gradient norm per layer",
              "ratio": "update / weight ratio", "units": "dead ReLU / saturated units"}
TITLE_HEIGHT = 16
GRID_HEIGHT = 300  # a plots view at least this tall shows the chosen plots in two rows


KEPT_NAMES = {"validation": "val"}  # a kept run's curve names in the titles


class PlotsDock(PlotDrawing, QDockWidget):
    """Live plots of the current run plus any kept runs."""

    kept_changed = Signal(int)  # number of kept runs

    def __init__(self, parent=None) -> None:
        super().__init__("Training plots", parent)
        self.setObjectName("plotsDock")
        self.history = RunHistory()
        self.kept: list[RunHistory] = []
        self._curves: dict[tuple[int, str, str], pg.PlotDataItem] = {}  # (run, plot, series) -> item
        self._bounds: dict[tuple[int, str], tuple[float, float, float, float]] = {}  # data box per run and plot
        self.draws = 0  # how many timer ticks actually redrew (tests and the bench read it)
        self._reducers: dict = {}  # (curve key, Smoother | Envelope) -> its cache (plot_drawing._reducer)
        self._plot_version: dict[str, tuple] = {}  # what each plot last showed (see _signature)
        self._turn = 0
        self._tick = 0
        self._first: str | None = None  # a plot just toggled on: drawn before the others
        self._only: set | None = None

        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(2, 0, 2, 2)
        bar = QHBoxLayout()
        self.shown: set[str] = set(SHOWN_BY_DEFAULT)
        self.plot_buttons: dict[str, QToolButton] = {}
        picks = QHBoxLayout()
        picks.setContentsMargins(0, 0, 0, 0)
        picks.setSpacing(2)
        for key in ORDER:
            b = QToolButton()
            b.setObjectName(f"plotToggle_{key}")
            b.setText(SHORT_NAMES[key])
            b.setCheckable(True)
            b.setChecked(key in self.shown)
            b.setAutoRaise(True)
            b.setToolTip(f"Show or hide the {LONG_NAMES[key]} plot")
            b.toggled.connect(lambda on, k=key: self.show_plot(k, on))
            self.plot_buttons[key] = b
            picks.addWidget(b)
        self.log_check = QCheckBox("Log loss")
        self.log_check.setObjectName("logLossCheck")
        self.log_check.setChecked(True)
        self.log_check.setToolTip("Log-scale loss axis")
        self.smooth_spin = QSpinBox()
        self.smooth_spin.setObjectName("smoothingSpin")
        self.smooth_spin.setRange(1, 500)
        self.smooth_spin.setValue(10)
        self.smooth_spin.setMaximumWidth(64)  # three digits; the title row has no width to spare
        self.smooth_spin.setToolTip("Moving-average window for the training loss, in steps (1 = raw)")
        self.keep_button = QPushButton("Keep")
        self.keep_button.setObjectName("keepRunButton")
        self.keep_button.setToolTip("Keep this run: its curves stay on the plots, dashed, under the next run "
                                    "(compare ReLU with tanh, SGD with Adam)")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearKeptButton")
        self.clear_button.setToolTip("Remove the kept runs' dashed curves")
        bar.addLayout(picks)
        bar.addSpacing(6)
        bar.addWidget(self.log_check)
        bar.addWidget(QLabel("Smooth"))
        bar.addWidget(self.smooth_spin)
        bar.addWidget(self.keep_button)
        bar.addWidget(self.clear_button)
        self.runs_label = QLabel("")
        self.runs_label.setObjectName("runsLabel")
        self.runs_label.setMinimumWidth(0)  # the buttons before it stay in view; the label is cut (its
        self.runs_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # tooltip
        bar.addSpacing(8)  # has it whole)
        bar.addWidget(self.runs_label, 1)
        # in a scroll area: the bar's full width must not set the window's minimum width
        bar_box = QWidget()
        bar.setContentsMargins(0, 0, 0, 0)
        bar_box.setLayout(bar)
        bar_scroll = QScrollArea()
        bar_scroll.setObjectName("plotsBarScroll")
        bar_scroll.setFrameShape(QFrame.Shape.NoFrame)
        bar_scroll.setWidgetResizable(True)
        bar_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar_scroll.setWidget(bar_box)
        bar_scroll.setFixedHeight(bar_box.sizeHint().height())
        bar_scroll.setMinimumWidth(60)
        self.setTitleBarWidget(self._title_bar(bar_scroll))  # the controls share the title's row: the
        # default layout at 1280x720 leaves the plots about 150 px of height, none to spare for a bar

        self.view = pg.GraphicsLayoutWidget()
        self.view.setObjectName("plotsView")
        self.view.ci.setContentsMargins(2, 2, 2, 0)  # pyqtgraph's 9 px margins and 6 px spacing cost a
        self.view.ci.setSpacing(4)  # short dock a quarter of its curve height
        self.view.setMinimumSize(60, 20)  # the dock must not force the window taller than small screens allow
        self.view.setToolTip("x axis: iteration (optimizer steps); validation points at the end of each epoch")
        # in a scroll area: a row of plots wider than a narrow dock scrolls instead of being cut off
        self.view_scroll = QScrollArea()
        self.view_scroll.setObjectName("plotsScroll")
        self.view_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.view_scroll.setWidgetResizable(True)
        self.view_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view_scroll.setWidget(self.view)
        lay.addWidget(self.view_scroll, 1)
        self.setWidget(body)

        self.plots: dict[str, pg.PlotItem] = {}
        self.titles: dict[str, str] = {}
        self._home: dict[str, tuple] = {}  # each plot's (x, y) range before any run: clear() goes back to it
        self.legends: dict[str, pg.LegendItem] = {}  # none: curve names go in the titles (see _titles)
        self._keyed: dict[str, bool] = {}
        self._title_html: dict[str, str] = {}
        self._rows = 0
        self._make_plot("loss", "Loss", row=0, col=0, legend=True)
        self._make_plot("acc", "Accuracy", row=0, col=1, legend=True)
        self._make_plot("lr", "Learning rate", row=0, col=2, legend=False)
        self._make_plot("grad", "Gradient norm per layer", row=1, col=0, legend=True, logy=True)
        self._make_plot("ratio", "Update / weight ratio", row=1, col=1, legend=True, logy=True)
        self._make_plot("units", "Dead ReLU / saturated units", row=1, col=2, legend=True)
        guide = pg.InfiniteLine(pos=-3.0, angle=0, pen=pg.mkPen("#bbbbbb", width=1, style=Qt.PenStyle.DashLine),
                                label="1e-3", labelOpts={"position": 0.05, "color": "#bbbbbb"})
        guide.setZValue(-10)
        self.ratio_guide = guide
        self.plots["ratio"].addItem(guide)
        self._apply_log()
        self.apply_theme()
        self._arrange()

        self.log_check.toggled.connect(self._apply_log)
        self.smooth_spin.valueChanged.connect(self._invalidate)
        self.keep_button.clicked.connect(self.keep_run)
        self.clear_button.clicked.connect(self.clear_kept)

        self.timer = QTimer(self)
        self.timer.setObjectName("plotsTimer")
        self.timer.setInterval(int(1000 / FPS))
        self.timer.timeout.connect(self._on_tick)
        self.timer.start()

    # ------------------------------------------------------------ construction
    def _title_bar(self, controls: QWidget) -> QWidget:
        """"Training plots", the plot controls, and the float and close buttons a dock title has."""
        bar = QWidget(self)
        bar.setObjectName("plotsTitleBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 1, 2, 1)
        row.setSpacing(6)
        title = QLabel("Plots", bar)  # the dock's tab says "Training plots"; the row is for the controls
        title.setObjectName("plotsTitle")
        title.setVisible(self.isFloating())  # a floating dock has no tab to name it
        self.topLevelChanged.connect(title.setVisible)
        row.addWidget(title)
        row.addWidget(controls, 1)
        style = self.style()
        for name, icon, slot, tip in (
                ("plotsFloatButton", QStyle.StandardPixmap.SP_TitleBarNormalButton,
                 lambda: self.setFloating(not self.isFloating()), "Float or dock the plots"),
                ("plotsCloseButton", QStyle.StandardPixmap.SP_TitleBarCloseButton, self.close, "Close the plots")):
            b = QToolButton(bar)
            b.setObjectName(name)
            b.setIcon(style.standardIcon(icon))
            b.setAutoRaise(True)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            row.addWidget(b)
        return bar

    def _make_plot(self, key: str, title: str, row: int, col: int, legend: bool, logy: bool = False) -> None:
        p = self.view.addPlot(row=row, col=col, title=title, axisItems={"left": LogFriendlyAxis("left")})
        self.titles[key] = title
        p.showGrid(x=False, y=False)
        # no pyqtgraph downsampling or clipToView: curves get at most two points per pixel already
        # (plot_data.Envelope), and with either on every x-range step re-processed every curve
        p.getAxis("bottom").setHeight(16)  # x is the iteration everywhere (said in the dock's tooltip)
        p.titleLabel.setMaximumHeight(TITLE_HEIGHT)  # a short dock (the default at 1280x720) keeps its height
        p.layout.setRowFixedHeight(0, TITLE_HEIGHT)  # for the curves
        p.setMenuEnabled(False)
        p.getAxis("left").enableAutoSIPrefix(False)
        p.getAxis("left").setWidth(52)  # room for labels such as 0.0035 (auto width clips them)
        p.vb.disableAutoRange()  # ranges move in steps (_fit): a moving axis repaints its labels every frame
        if logy:
            p.setLogMode(False, True)
        if key in ("acc", "units"):  # fractions: three labels stay legible in a short plot
            p.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")], []])
        # no LegendItem: one over the curves hid them, and adding its entries mid-run stalled the GUI;
        # the title names each curve in its colour instead (set only when the names change)
        self._keyed[key] = legend
        self.plots[key] = p
        self._home[key] = tuple(tuple(r) for r in p.vb.viewRange())

    def apply_theme(self) -> None:
        """Match the application palette (called again when the theme changes)."""
        c = plot_colors(self)
        self.view.setBackground(c["bg"])
        self._title_html.clear()
        for key, p in self.plots.items():
            style_plot(p, c, self.titles[key])
        self._titles()
        self.ratio_guide.setPen(pg.mkPen(c["dim"], width=1, style=Qt.PenStyle.DashLine))
        self.ratio_guide.label.setColor(c["dim"])

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "ratio_guide"):
            self.apply_theme()
        super().changeEvent(event)

    def _apply_log(self) -> None:
        p = self.plots["loss"]
        p.setLogMode(False, self.log_check.isChecked())
        p.vb.setYRange(0, 1)  # the next refresh fits the range in the new scale
        self._invalidate()

    def _titles(self) -> None:
        """Each plot's title followed by its curves' names in their colours (a legend beside, not over),
        then the kept runs' after "kept:" in their dashed colours (names shortened, and left out when
        several runs are kept: at 1280x720 a longer title widened its plot past the dock)."""
        fg = plot_colors(self)["fg"].name()
        for key, p in self.plots.items():
            runs: dict[int, list] = {}
            if self._keyed.get(key):
                for (run, plot, _), item in self._curves.items():
                    label = item.opts.get("name")
                    if plot == key and label:
                        label = label.removesuffix(self._run_label(run, plot)) if run < len(self.kept) else label
                        runs.setdefault(run, []).append((label, item.opts["pen"].color().name()))
            keys = " ".join(f"<span style='color:{col}'>&#9644;&nbsp;{n}</span>"
                            for n, col in runs.get(len(self.kept), [])[:6])
            for run in sorted(r for r in runs if r < len(self.kept)):  # short: the title sets the plot's width
                one = len(self.kept) == 1
                keys += f"&nbsp;&nbsp;kept{'' if one else f' {run + 1}'}:" + "".join(
                    f"&nbsp;<span style='color:{col}'>&#9476;{f'&nbsp;{KEPT_NAMES.get(n, n)}' if one else ''}</span>"
                    for n, col in runs[run][:3])
            html = f"{self.titles[key]}&nbsp;&nbsp;{keys}" if keys else self.titles[key]
            if self._title_html.get(key) != html:
                self._title_html[key] = html
                p.setTitle(html, color=fg, size="8pt")
                p.layout.setRowFixedHeight(0, TITLE_HEIGHT)  # setTitle makes the row 30 px tall again
                p.titleLabel.setMinimumHeight(TITLE_HEIGHT)  # and the label as tall as its text's box
                p.titleLabel.setMaximumHeight(TITLE_HEIGHT)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._arrange()

    def show_plot(self, key: str, on: bool = True) -> None:
        """Show or hide one plot (its toggle in the title row follows); hidden plots are not redrawn."""
        if on:
            self.shown.add(key)
            self._first = key  # its history is drawn on the next tick, even if no new data come
        else:
            self.shown.discard(key)
        b = self.plot_buttons[key]
        if b.isChecked() != on:
            b.blockSignals(True)
            b.setChecked(on)
            b.blockSignals(False)
        self._rows = 0
        self._arrange()

    def visible_plots(self) -> list[str]:
        return [k for k in ORDER if k in self.shown]

    def _arrange(self) -> None:
        """The chosen plots side by side (the default layout at 1280x720 gives them one short row);
        two rows once the view is tall enough (a floated or enlarged dock)."""
        keys = self.visible_plots()
        rows = 2 if self.view_scroll.height() >= GRID_HEIGHT and len(keys) > 2 else 1
        if rows == self._rows and keys == getattr(self, "_arranged", None):
            return
        self._rows = rows
        self._arranged = keys
        for key in ORDER:
            p = self.plots[key]
            if p.scene() is not None and p in self.view.ci.items:
                self.view.ci.removeItem(p)
            p.setVisible(key in keys)
        cols = max(1, -(-len(keys) // rows))
        for i, key in enumerate(keys):
            self.view.ci.addItem(self.plots[key], row=i // cols, col=i % cols)
        self.view.setMinimumWidth(cols * MIN_PLOT_WIDTH if rows == 1 else 60)

    def _invalidate(self) -> None:
        self._plot_version.clear()
        self._reducers.clear()

    # ------------------------------------------------------------ runs
    def start_run(self, label: str = "") -> None:
        """Clear the current run's curves (kept runs stay) and start a new history.

        Without kept runs the curve items are emptied and reused: creating items and legend
        entries is the slow part of a redraw."""
        run = len(self.kept)
        self.note_no_accuracy(False)
        if self.kept:
            self._remove_run_curves(run)
        else:
            for key, item in self._curves.items():
                if key[0] == run:
                    item.setData([], [])
            self._bounds = {k: v for k, v in self._bounds.items() if k[0] != run}
        self.history = RunHistory(label)
        self._invalidate()
        self._update_runs_label()

    def clear(self) -> None:
        """Another document: its runs, kept or current, are not this graph's, nor are their axes."""
        self.clear_kept()
        self.start_run("")
        for key, p in self.plots.items():
            x, y = self._home[key]
            p.vb.setRange(xRange=x, yRange=y, padding=0)
        self.note_no_accuracy(False)

    def add_chunk(self, chunk: dict) -> None:
        """Append a chunk packed by the worker; drawing waits for the timer."""
        self.history.add_chunk(chunk)

    def keep_run(self) -> None:
        """Freeze the current run's curves (dashed) and start a fresh history for the next run."""
        if not self.history.series:
            return
        idx = len(self.kept)
        self._remove_run_curves(idx)
        self.kept.append(self.history)
        self.history = RunHistory()
        self._draw_run(idx, self.kept[idx])
        self._invalidate()
        self._update_runs_label()
        self.kept_changed.emit(len(self.kept))

    def clear_kept(self) -> None:
        for i in range(len(self.kept) + 1):
            self._remove_run_curves(i)
        self.kept.clear()
        self._invalidate()
        self._update_runs_label()
        self.kept_changed.emit(0)

    def _remove_run_curves(self, run: int) -> None:
        self._bounds = {k: v for k, v in self._bounds.items() if k[0] != run}
        for key in [k for k in self._curves if k[0] == run]:
            item = self._curves.pop(key)
            plot = self.plots[key[1]]
            plot.removeItem(item)
        self._titles()

    def _update_runs_label(self) -> None:
        if not self.kept:
            self.runs_label.setText("")
            self.runs_label.setToolTip("")
            return
        parts = [f"dashed{'' if len(self.kept) == 1 else f' {i + 1}'}: {h.label or 'run'}"
                 for i, h in enumerate(self.kept)]
        parts.append(f"solid: {self.history.label or 'next run'}")
        self.runs_label.setText(" · ".join(parts))
        self.runs_label.setToolTip("\n".join(parts))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.timer.stop()
        super().closeEvent(event)
