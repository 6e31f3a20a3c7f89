"""TrainController: ties the train dock, the worker thread, the plots and the boundary view
to the open document and its scene.

On the GUI thread it only copies arrays it receives into views: metric chunks into
the plots' buffers, snapshots into the boundary view and onto the wires
(EdgeItem.set_flow), the final weights into the document graph (one batch of
set_tensor calls, after the run; the document is then marked modified).
"""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

import graphcore as gc
from graphcore.train.session import graph_reg_strength

from .boundary import BoundaryDock
from .dock import TrainDock
from .plots import PlotsDock
from .worker import TrainThread

EXPLODE_PREFIX = "The loss is exploding"  # graphcore.train.session's warning
STATUS_TEXT = {"finished": "Training finished", "stopped": "Training stopped",
               "early_stopped": "Training stopped early"}


class TrainController(QObject):
    status_message = Signal(str)  # for the status bar
    node_requested = Signal(str)  # select and centre this node (a NaN's origin)
    running_changed = Signal(bool)
    finished = Signal(dict)  # the worker's result dict, after it has been applied
    trajectory = Signal(object)  # the current run's path on the loss landscape's plane ({"steps", "xy"})

    def __init__(self, dock: TrainDock, plots: PlotsDock, boundary: BoundaryDock, parent=None) -> None:
        super().__init__(parent)
        self.dock = dock
        self.plots = plots
        self.boundary = boundary
        self.document = None
        self.scene = None
        self.thread: TrainThread | None = None
        self.last_result: dict | None = None
        self.flow_updates = 0
        self._label = ""
        self.plane_provider = None  # () -> the loss landscape's Plane or None (landscape_view.py)
        self._pause_on_explode = True  # the current run's choice
        self.inline = False  # tests: train on the worker thread itself (with graphcore.kernels.use("numpy"))
        dock.actionTrain.triggered.connect(self.train)
        dock.actionPause.toggled.connect(self.set_paused)
        dock.actionStepEpoch.triggered.connect(self.step_epoch)
        dock.actionStop.triggered.connect(self.stop)
        dock.live_settings_changed.connect(self.send_settings)

    # ------------------------------------------------------------ document
    def set_document(self, document, scene=None) -> None:
        """Follow a new document: stop any run (its weights belong to the old graph), load its settings."""
        if self.thread is not None:
            self._discard(self.thread)
            self.thread = None
            self.dock.set_running(False)
            self.running_changed.emit(False)
        self.document = document
        self.scene = scene
        self.last_result = None
        self.plots.clear()
        self.boundary.clear()
        self.dock.show_progress(0, 0, 0, 0)
        self.dock.set_status("")
        graph = document.graph if document is not None else None
        if graph is None:
            self.dock.load_settings(None)
            return
        problem = self.dock.load_checked(graph.meta.get("training"), reg_strength=graph_reg_strength(graph))
        if problem:
            self._say(problem)

    @property
    def graph(self) -> gc.Graph | None:
        return self.document.graph if self.document is not None else None

    def _discard(self, t: TrainThread) -> None:
        """Stop a run whose results no longer have a home (another document is open now)."""
        for sig in (t.chunk, t.progress, t.snapshot, t.event, t.warning, t.trajectory, t.done):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass
        t.request_stop()
        if not t.wait(10000):
            return
        t.deleteLater()

    def is_running(self) -> bool:
        return self.thread is not None

    # ------------------------------------------------------------ actions
    def train(self, pause_after_epoch: bool = False, fresh: bool | None = None, lesson: bool = False) -> bool:
        """Start a run with the dock's settings; False (and a message) when it cannot start.
        `fresh` overrides the dock's "Fresh weights from the seed" box (a lesson's train action continues);
        a `lesson` run does not pause when the loss explodes (lesson 6 means it to, as the headless player)."""
        if self.thread is not None or self.graph is None:
            return False
        try:
            s = self.dock.settings()
        except ValueError as exc:
            self._say(f"Cannot train: {exc}")
            return False
        gui = dict(s["gui"], pause_after_epoch=pause_after_epoch,
                   pause_on_explode=self.dock.pause_explode_check.isChecked() and not lesson)
        self._pause_on_explode = gui["pause_on_explode"]
        if fresh is not None:
            gui["fresh"] = bool(fresh)
            if not fresh:
                gui["init"] = None  # an initializer choice would redraw the weights too
        plane = self.plane_provider() if self.plane_provider is not None else None
        if plane is not None:  # the run projects its weights onto it: two numbers per step come back
            gui["landscape"] = plane
        path = getattr(self.document, "path", None)
        base_dir = os.path.dirname(path) if path else None
        t = TrainThread(self.graph, s["training"], gui, base_dir=base_dir, inline=self.inline, parent=self)
        t.chunk.connect(self._on_chunk)
        t.progress.connect(self._on_progress)
        t.snapshot.connect(self._on_snapshot)
        t.event.connect(self._on_event)
        t.warning.connect(self._on_warning)
        t.trajectory.connect(self._on_trajectory)
        t.done.connect(self._on_done)
        self.thread = t
        o = s["training"]["optimizer"]
        acts = sorted({n.op for n in self.graph.nodes.values() if n.op in ("relu", "tanh", "sigmoid", "leaky_relu",
                                                                         "elu", "maxout")})
        self._label = f"{'/'.join(acts) or 'linear'}, {o['kind']} lr {o['lr']:g}"
        self.plots.start_run(self._label)
        self.boundary.reset()
        self.dock.set_running(True)
        self.dock.show_progress(0, s["training"]["epochs"], 0, 0)
        self._say(f"Training {self._label}…")
        self.running_changed.emit(True)
        t.start()
        return True

    def set_paused(self, on: bool) -> None:
        if self.thread is None:
            return
        self.thread.request_pause(on)
        self.dock.set_running(True, paused=on)
        self._say("Paused: press Resume to go on" if on else "Resumed")

    def step_epoch(self) -> None:
        if self.thread is None:
            self.train(pause_after_epoch=True)
            return
        self.thread.request_epoch()
        self.dock.set_running(True, paused=False)

    def send_settings(self) -> None:
        """While a run goes on: the dock's learning rate, optimizer hyperparameters, schedule and λ go to it
        and apply from its next step (the run answers with a "settings" or "settings_refused" event)."""
        if self.thread is None:
            return
        try:
            s = self.dock.settings()
        except ValueError as exc:
            self._say(f"New settings not sent: {exc}")
            return
        t = s["training"]
        self.thread.request_settings({"optimizer": t["optimizer"], "schedule": t["schedule"],
                                      "reg_strength": s["gui"]["reg_strength"]})

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.request_stop()

    def wait(self, ms: int = 10000) -> bool:
        """Block until the current run's thread ends (tests, closing the window)."""
        t = self.thread
        return True if t is None else t.wait(ms)

    def shutdown(self) -> None:
        """Stop and join the worker (window closing)."""
        t = self.thread
        if t is not None:
            t.request_stop()
            t.wait(10000)

    # ------------------------------------------------------------ from the worker
    def _say(self, text: str) -> None:
        self.dock.set_status(text)
        self.status_message.emit(text)

    def _current_sender(self) -> TrainThread | None:
        """The run that sent this signal when it is still the current one, else None.

        A discarded run's signals may already be queued when it is disconnected, and once
        its thread object is deleted sender() is None: both must be told from the current run."""
        t = self.thread
        return t if t is not None and self.sender() is t else None

    def _on_chunk(self, chunk: dict) -> None:
        if self._current_sender() is not None:
            self.plots.add_chunk(chunk)

    def _on_trajectory(self, path: dict) -> None:
        if self._current_sender() is not None:
            self.trajectory.emit(path)

    def _on_progress(self, p: dict) -> None:
        if self._current_sender() is not None:
            self.dock.show_progress(p["epoch"], p["epochs"], p["iteration"], p["iterations"])

    def _on_snapshot(self, snap: dict) -> None:
        t = self._current_sender()
        if t is None:
            return
        self.boundary.show_snapshot(snap)
        flow = snap.get("flow")
        scene = self.scene
        if flow and scene is not None and self.graph is not None \
                and t.source_version == self.graph.structure_version:
            for edge, (mag, sign, zero) in flow.items():
                item = scene.edge_item(edge)
                if item is not None:
                    item.set_flow(mag, sign, zero)
            self.flow_updates += 1

    def _on_event(self, ev: dict) -> None:
        if self._current_sender() is None:
            return
        kind = ev.get("type")
        if kind == "paused":
            self.dock.set_running(True, paused=True)
            self._say(f"Paused after epoch {ev.get('epoch')}, iteration {ev.get('step')}")
        elif kind == "resumed":
            self.dock.set_running(True, paused=False)
        elif kind in ("early_stop", "settings", "settings_refused"):
            self._say(ev.get("message", kind.replace("_", " ")))

    def _on_warning(self, text: str) -> None:
        if self._current_sender() is None:
            return
        if text.startswith(EXPLODE_PREFIX) and self._pause_on_explode:
            # the run has already paused itself (gui["pause_on_explode"]); this shows it
            self.dock.actionPause.setChecked(True)
            text += " Paused: lower the learning rate (it applies from the next step), then Resume or Stop."
        self._say(text)

    def _on_done(self, result: dict) -> None:
        t = self._current_sender()
        if t is None:
            return  # a discarded run
        t.wait(2000)
        t.deleteLater()
        self.thread = None
        self.last_result = result
        self.dock.set_running(False)
        status = result["status"]
        if status == "diverged":
            nid = result.get("node")
            name = self.graph.nodes[nid].name if self.graph is not None and nid in self.graph.nodes else nid
            self._select(nid)
            self._say(f"Training stopped: {result['message']}. Node {name!r} is selected; "
                      "lower the learning rate or check its inputs.")
        elif result.get("ended_by"):  # Stop had to end the process: the user's own request, not an error
            self._say(f"Training stopped: {result['message'].splitlines()[0]}.")
        elif status == "error":
            self._say(f"Cannot train: {result['message'].splitlines()[0]}")
        else:
            applied = self._apply(result)
            final = result.get("final") or {}
            bits = [f"{k.replace('_', ' ')} {v:.3f}" for k, v in final.items() if isinstance(v, float)]
            msg = f"{STATUS_TEXT.get(status, status)} after {result['epochs']} epochs ({result['steps']} steps)"
            if bits:
                msg += ": " + ", ".join(bits)
            if not applied:
                msg += ". The graph changed while training, so the learned weights were not copied into it."
            self._say(msg)
        self.running_changed.emit(False)
        self.finished.emit(result)

    def _select(self, nid: str | None) -> None:
        if not nid:
            return
        scene = self.scene
        if scene is not None and hasattr(scene, "select_ids"):
            scene.select_ids([nid], center=True)
        self.node_requested.emit(nid)

    def _apply(self, result: dict) -> bool:
        """Copy the learned arrays into the document graph (GUI thread, one edit per array), as the run
        left them: `Trainer.run()` gives a float32 run's arrays back as float64 copies, in the child as
        headless, so the next Forward here equals the headless one."""
        g = self.graph
        tensors = result.get("tensors")
        if g is None or tensors is None or result.get("source_version") != g.structure_version:
            return False
        for nid, arrays in tensors.items():
            node = g.nodes.get(nid)
            if node is None:
                continue
            for w, arr in arrays.items():
                g.set_tensor(nid, w, arr)
        g.opt_state.clear()
        g.opt_state.update(result.get("opt_state") or {})
        if result.get("training_state"):
            g.meta["training_state"] = result["training_state"]
        if hasattr(self.document, "mark_modified"):
            self.document.mark_modified()
        return True
