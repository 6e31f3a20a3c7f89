"""`python main.py render FILE --pass forward|backward`: the canvas with every value (and gradient) label.

app/render.py builds the scene offscreen and calls apply_pass; the labels come from the same
RunController the toolbar drives, so the picture is what the app shows after Forward/Backward.
"""
from __future__ import annotations

from .controller import RunController


def apply_pass(graph, scene, which: str) -> RunController:
    """Run a forward (or forward + backward) pass and leave its labels on the scene's items.

    Raises ValueError with a one-line reason when the graph cannot run (NaN/Inf, several
    outputs, an invalid graph): a picture with half its labels would mislead."""
    if which not in ("forward", "backward"):
        raise ValueError(f"--pass must be forward or backward, got {which!r}")
    ctl = RunController(graph, scene)
    try:
        ctl.forward() if which == "forward" else ctl.backward()
        if ctl.rec is None:
            raise ValueError(f"--pass {which}: {ctl.last_error or 'nothing to run'}")
        err = ctl.rec.error or (ctl._no_target if which == "backward" else None)
        if err is not None:
            raise ValueError(f"--pass {which}: {err}")
    finally:
        ctl.close()  # the labels stay on the items; stop listening to the graph
    return ctl
