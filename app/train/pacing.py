"""One heavy redraw per frame for the training view.

The plots and the boundary view each repaint a pyqtgraph scene. Two redraws that land in the
same pass of the event loop are painted in one UpdateRequest, and the GUI thread stalls for
their sum; the plots' timer therefore skips a tick that follows a boundary redraw closely
(its data wait for the next tick, 33 ms later)."""
from __future__ import annotations

import time

QUIET_SECONDS = 0.015  # about one frame: the redraw and its paint are done by then


class FramePacer:
    """When the boundary view last redrew; the plots' timer asks before it redraws."""

    def __init__(self) -> None:
        self._last = float("-inf")

    def drew(self) -> None:
        """A view has just redrawn something heavy."""
        self._last = time.perf_counter()

    def busy(self) -> bool:
        """True within QUIET_SECONDS of the last heavy redraw."""
        return time.perf_counter() - self._last < QUIET_SECONDS


PACER = FramePacer()  # shared by every training view of the process
