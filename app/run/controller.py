"""Run, step and animate a pass over the current graph (issue 5, "Run and step").

The controller owns one graphcore.Executor for the graph. A pass is recorded once as the list
of events of Executor.steps() (copied, see record.py); Forward, Backward, Step, Step back, Play
and Reset only move a cursor over that list and repaint what changed. So a step never skips an
event, stepping back restores exactly the previous labels, and nothing is computed in app/.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

import graphcore as gc
from graphcore import Edge, GraphError

from .errors import RunErrors, _Tracking
from .painting import PassPainting
from .record import PassRecord, record

LIVE_INTERVAL_MS = 33  # live re-run throttle: about 30 Hz
DEFAULT_SPEED = 4.0  # Play: events per second
PULSE_PX = 7.0  # the gradient pulse's radius on screen, in pixels (presentation mode scales it)
# Forward in the editor shows inference, as `main.py run` (default --mode eval) and the headless lesson
# player do: batchnorm normalises with its running statistics and dropout is the identity. A train-mode
# pass would write new running statistics into the document on every Forward (lesson 11's GUI numbers
# differed from the headless player's by exactly those two extra updates).
EDITOR_MODE = "eval"


class RunController(PassPainting, RunErrors, QObject):
    """Drives the run toolbar: a recorded pass plus a cursor (index of the last shown event).
    Painting comes from PassPainting (painting.py), error reports from RunErrors (errors.py)."""

    position_changed = Signal(int, int, str)  # cursor, total, description of the current event
    status_message = Signal(str)
    problems_found = Signal(list)  # list[gc.Problem]: why the last pass failed ([] once one runs); the Problems dock
    select_node = Signal(str)  # a node to select (NaN/Inf, a bad graph)
    playing_changed = Signal(bool)
    finished = Signal()  # Play reached the end
    cleared = Signal()  # labels were cleared (a new pass or Reset): drop other overlays too

    def __init__(self, graph: gc.Graph, scene=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.scene = None
        self.executor = gc.Executor(graph, mode=EDITOR_MODE)
        self.rec: PassRecord | None = None
        self.cursor = -1
        self.target: str | None = None  # node to differentiate; None: the only sink (or the only loss)
        self.selection: list[str] = []
        self.live = False
        self.speed = DEFAULT_SPEED
        self.pulse_scale = 1.0  # presentation mode: larger, slower pulses
        self._highlighted: list[tuple[str, object]] = []
        self._reported = False
        self._play = QTimer(self)
        self._play.timeout.connect(self._tick)
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._live_rerun)
        self._forced = False
        self._sinks: set[str] = set()  # the recorded pass's outputs (they get a label stub)
        self.live_runs = 0  # how many live re-runs happened (tests, status)
        self.last_error: Exception | None = None  # the last NumericError/GraphError reported
        self._no_target: GraphError | None = None  # why the recorded pass has no backward part
        self._subscribe()
        if scene is not None:
            self.set_scene(scene)
        self._set_interval()

    # ------------------------------------------------------------------ wiring to the model and view
    def _subscribe(self) -> None:
        g = self.graph
        g.node_changed.sub(self._on_node_changed)
        for ev in (g.node_added, g.node_removed, g.edge_added, g.edge_removed):
            ev.sub(self._on_structure_changed)

    def _unsubscribe(self) -> None:
        g = self.graph
        g.node_changed.unsub(self._on_node_changed)
        for ev in (g.node_added, g.node_removed, g.edge_added, g.edge_removed):
            ev.unsub(self._on_structure_changed)

    def close(self) -> None:
        """Stop timers and unsubscribe from the graph (call when the document is discarded)."""
        self.pause()
        self._live_timer.stop()
        self._unsubscribe()

    def set_document(self, graph: gc.Graph, scene) -> None:
        """Follow another graph (File > Open / New): a new executor, nothing shown yet."""
        self.pause()
        self._live_timer.stop()
        self._unsubscribe()
        self.graph = graph
        self.executor = gc.Executor(graph, mode=EDITOR_MODE)
        self.rec = None
        self.cursor = -1
        self.target = None
        self.selection = []
        self._highlighted = []
        self._no_target = None
        self.last_error = None
        self.problems_found.emit([])
        self._subscribe()
        self.set_scene(scene)
        self.position_changed.emit(-1, 0, "")
        if self.live:
            self._live_timer.start()

    def set_scene(self, scene) -> None:
        self.scene = scene
        self._highlighted = []
        if self.rec is not None:
            self._repaint_all()

    def set_selection(self, ids: list[str]) -> None:
        self.selection = list(ids)

    def _node_item(self, nid: str):
        if self.scene is None:
            return None
        try:
            return self.scene.node_item(nid)
        except KeyError:  # the scene has not mirrored this node (yet)
            return None

    def _edge_item(self, edge: Edge):
        if self.scene is None:
            return None
        return self.scene.edge_item(edge)

    # ------------------------------------------------------------------ public actions
    @property
    def total(self) -> int:
        return self.rec.total if self.rec is not None else 0

    @property
    def at_end(self) -> bool:
        return self.rec is not None and self.cursor >= self.rec.total - 1

    def state_text(self) -> str:
        """Where the shown pass is, for the status bar: "Backward pass: event 16 of 18 (m.b → w)",
        "Forward pass complete: ...", "Pass ready: ..."; "" when no pass is shown."""
        if self.rec is None or not self.rec.total:
            return ""
        n = self.rec.total
        if self.cursor < 0:
            return f"Pass ready: {n} events, Step shows the first"
        ev = self.rec.events[self.cursor]
        phase = "Forward" if ev.phase == "forward" else "Backward"
        done = self.cursor == n - 1 or (phase == "Forward" and self.cursor == self.rec.forward_end)
        what = ev.describe(self.graph).split(": ", 1)[-1]
        return f"{phase} pass{' complete' if done else ''}: event {self.cursor + 1} of {n} ({what})"

    def forward(self) -> None:
        """Show every value: a fresh pass, cursor at its last forward event."""
        self.pause()
        if not self._new_record():
            return
        self._jump(self.rec.forward_end, backward_wanted=False)

    def backward(self) -> None:
        """Show every value and gradient: a fresh pass, cursor at its end."""
        self.pause()
        if not self._new_record():
            return
        self._jump(self.rec.total - 1)

    def step(self) -> bool:
        """Advance one event (starting a pass if none is shown). False at the end."""
        if self.rec is None:
            if not self._new_record():
                return False
            self._clear_view()
            self.cursor = -1
        if self.cursor >= self.rec.total - 1:
            self._report_end()
            return False
        self.cursor += 1
        self._apply(self.cursor, animate=True)
        self._emit_position()
        if self.cursor == self.rec.total - 1:
            self._report_end()
        return True

    def step_back(self) -> bool:
        """Go to the previous event, restoring its labels. False at the start."""
        self.pause()
        if self.rec is None or self.cursor < 0:
            return False
        k = self.cursor
        self.cursor -= 1
        self._unapply(k)
        self._emit_position()
        return True

    def play(self) -> None:
        """Animate the pass at `speed` events per second (from the start if at the end)."""
        if self.rec is None or self.at_end:
            if not self._new_record():
                return
            self._clear_view()
            self.cursor = -1
            self._emit_position()
        self._set_interval()
        self._play.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self._play.isActive():
            self._play.stop()
            self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        if self._play.isActive():
            self.pause()
        else:
            self.play()

    @property
    def playing(self) -> bool:
        return self._play.isActive()

    def reset(self) -> None:
        """Clear every label, highlight and flow style."""
        self.pause()
        self._clear_view()
        self.rec = None
        self.cursor = -1
        self.position_changed.emit(-1, 0, "")

    def set_speed(self, events_per_second: float) -> None:
        self.speed = max(0.1, float(events_per_second))
        self._set_interval()

    def set_live(self, on: bool) -> None:
        """Live mode: every value/param edit re-runs forward + backward (throttled to ~30 Hz)."""
        self.live = bool(on)
        if self.live:
            self._live_timer.start()

    # ------------------------------------------------------------------ recording
    def _pick_target(self) -> str | None:
        if self.target is not None and self.target in self.graph.nodes:
            return self.target
        sinks = self.graph.sinks()
        if len(sinks) == 1:
            return sinks[0]
        chosen = [s for s in self.selection if s in sinks]
        if len(chosen) == 1:
            return chosen[0]
        losses = [s for s in sinks if (sp := self.graph.nodes[s].spec) is not None and sp.category == "losses"]
        if len(losses) == 1:
            return losses[0]
        return None

    def _new_record(self) -> bool:
        """Record a whole pass. False (with a status message) when nothing can run."""
        self._play.stop()
        target = self._pick_target()
        sinks = self.graph.sinks()
        if not self.graph.nodes:
            self.status_message.emit("Nothing to run: the graph is empty")
            return False
        tracked = _Tracking(self.executor)
        try:
            rec = record(tracked, target, backward=target is not None)
        except Exception as exc:  # noqa: BLE001 - not a GraphError/NumericError: still shown, never swallowed
            self.rec = None
            self._clear_view()
            self.position_changed.emit(-1, 0, "")
            self._report_unexpected(exc, tracked)
            return False
        if target is None and rec.error is None and rec.events:
            names = ", ".join(self.graph.nodes[s].name for s in sinks)
            self._no_target = GraphError(f"backward needs one output: the graph has {len(sinks)} ({names}); "
                                         f"select the one to differentiate and press Backward again")
        else:
            self._no_target = None
        if not rec.events:
            self._report_error(rec.error)
            self.rec = None
            return False
        self._clear_view()
        self.rec = rec
        self._sinks = set(sinks)
        self.cursor = -1
        self._reported = False
        self.last_error = None
        if rec.error is None:
            self.problems_found.emit([])
        return True

    # ------------------------------------------------------------------ play and live
    def pulse_ms(self) -> int:
        """A pulse lasts 1.6 Play intervals (400 ms at the default 4 events/s, 1.6 s at 1/s; bounded), so
        the slider slows it down for a class; presentation mode (pulse_scale > 1) makes it slower as
        well as larger. Consecutive events pulse along different wires, so an overlap is harmless."""
        return int(min(2000, max(200, 1.6 * 1000.0 / self.speed)) * self.pulse_scale)

    def pulse_radius(self) -> float:
        """The dot's radius in scene units: PULSE_PX on screen at any zoom, larger when presenting."""
        zoom = 1.0
        views = self.scene.views() if self.scene is not None else []
        if views:
            zoom = max(0.05, views[0].transform().m11())
        return PULSE_PX * self.pulse_scale / zoom

    def _set_interval(self) -> None:
        self._play.setInterval(max(1, int(round(1000.0 / self.speed))))

    def _tick(self) -> None:
        if not self.step():
            self.pause()
        if self.at_end:
            self.pause()
            self.finished.emit()

    def _on_node_changed(self, node_id: str, what: str) -> None:
        if not self.live:
            return
        if what == "tensor:value" or what.startswith("param:"):
            if not self._live_timer.isActive():
                self._live_timer.start()

    def rerun_soon(self) -> None:
        """Re-run forward + backward shortly (throttled to ~30 Hz) even when Live is off:
        the scrub slider calls this on every move."""
        self._forced = True
        if not self._live_timer.isActive():
            self._live_timer.start()

    def _live_rerun(self) -> None:
        forced, self._forced = self._forced, False
        if not (self.live or forced):
            return
        self.live_runs += 1
        self.backward()

    def _on_structure_changed(self, *args) -> None:
        """Wires or nodes changed: the recorded pass no longer matches the picture."""
        if self.rec is not None:
            self.pause()
            self._clear_view()
            self.rec = None
            self.cursor = -1
            self.position_changed.emit(-1, 0, "")
        if self.live:
            self._live_timer.start()
