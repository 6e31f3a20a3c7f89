"""The Output tab of "What the net sees" says what will appear there until a run draws something,
and says it again for the next document (it used to be an empty plot: the hint was never shown)."""
from __future__ import annotations

import numpy as np

from app.train.boundary import BoundaryDock


def test_the_output_tab_shows_its_hint_until_a_run_draws_and_again_after_clear(qtbot):
    dock = BoundaryDock()
    qtbot.addWidget(dock)
    dock.resize(400, 300)
    dock.show()
    qtbot.waitExposed(dock)
    assert dock.output_stack.currentWidget() is dock.hint and dock.hint.isVisible()
    assert "decision boundary" in dock.hint.text()
    grid = {"classes": np.zeros((4, 4), np.int64), "confidence": np.ones((4, 4)), "bounds": (-1.0, 1.0, -1.0, 1.0)}
    dock.show_snapshot({"grid": grid, "n_classes": 2})
    assert dock.output_stack.currentWidget() is dock.output_view and not dock.hint.isVisible()
    assert dock.last_image is not None
    dock.clear()
    assert dock.output_stack.currentWidget() is dock.hint
