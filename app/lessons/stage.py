"""What a lesson step brings to the front: the training plots it talks about (a step's "plots"),
so a step on dead units shows the Units plot without the student hunting for its toggle; and what
it puts away (app.train.attach.put_away_plots): a circuit lesson has no training, so empty training
plots left in front by an earlier lesson (or the default layout) give their place to the Narration."""
from __future__ import annotations


def _show(dock) -> None:
    """Show a dock the person may have closed (docked tabs need the action, not show()) and raise it."""
    if not dock.toggleViewAction().isChecked():
        dock.toggleViewAction().trigger()
    dock.raise_()


def bring_plots(window, names: list[str]) -> list[str]:
    """Show the named plots (keys of the plots dock's toggles, or "histograms" for the per-layer
    histograms of "What the net sees"); returns the names shown (none before the training docks exist)."""
    train = getattr(window, "train_view", None)
    if train is None or not names:
        return []
    shown = []
    plots = [n for n in names if n in train.plots_dock.plot_buttons]
    if plots:
        for key in plots:
            train.plots_dock.show_plot(key, True)
        _show(train.plots_dock)
        shown += plots
    if "histograms" in names:
        dock = train.boundary_dock
        _show(dock)
        dock.tabs.setCurrentIndex(dock.tabs.indexOf(dock.hist_view.parentWidget()))
        shown.append("histograms")
    return shown
