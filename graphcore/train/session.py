"""The training session, Qt-free: one run of the Trainer on a private graph, throttled metric chunks,
snapshots for the boundary view and the wires, loss-explosion warnings, and the learned arrays at the end.

Everything leaves through `emit(kind, payload)`: kinds "chunk", "progress", "snapshot", "event",
"warning", "trajectory" (the run's path on the loss landscape's plane, gui["landscape"]) and finally "done". The GUI only drives it: app/train/child.py runs a job in a child process
(so the training loop never competes with the GUI thread for the GIL) and relays its messages; tests
and tools may run one inline. Pause, resume, stop, "one more epoch" and new settings (learning rate,
optimizer hyperparameters, schedule, λ: `request_settings`) are thread-safe and take effect before the
next step; a bad value is refused with a message and the run goes on. Settings flow one way: the dock's
choices -> this session -> the Trainer.
"""
from __future__ import annotations

import math
import threading
import time
import traceback
from typing import Callable

import numpy as np

from .. import predict
from ..graph import Graph
from ..problems import GraphError, NumericError
from . import trainer as trainer_mod
from .config import ConfigError, TrainConfig
from .datapath import DataPolicy
from .datasets import DatasetError
from .job_setup import apply_reg_strength, prepare_graph
from .job_setup import graph_reg_strength  # noqa: F401  (re-exported: app code imports it from here)
from .optim import OptimizerError
from .plane import Plane, PlaneTracker
from .records import pack_records
from .schedules import ScheduleError

CHUNK_SECONDS = 1 / 30  # metrics to the GUI at most this often
SNAPSHOT_SECONDS = 0.25  # boundary image, histograms, wire flow
GRID_RES = 96
SAMPLE_IMAGES = 16
EXPLODE_FACTOR = 3.0  # loss above this multiple of the first loss: "exploding"
RISING_EPOCHS = 5  # training loss growing this many epochs in a row ...
RISING_FACTOR = 2.0  # ... to this multiple of its best so far: "diverging"


def named_problems(exc: GraphError, graph: Graph) -> str:
    """A GraphError's text with each node named by its name ("node 'fc1' port 'x': ..."), not its id."""
    out = []
    for p in exc.problems:
        node = graph.nodes.get(p.node) if p.node is not None else None
        where = ""
        if p.node is not None:
            where = f"node {(node.name if node is not None else p.node)!r}"
            where += f" port {p.port!r}: " if p.port is not None else ": "
        out.append(where + p.message)
    return "; ".join(out) or str(exc)


class TrainJob:
    """Train `graph` (owned by the job: pass a copy) with plain settings; see the module docstring.

    `base_dir` is the graph file's folder and `policy` (datapath.DataPolicy: the data limits and
    the files the user allowed out of that folder) bounds what the run reads; both are explicit
    arguments, handed to the training process by its caller, never read from the environment."""

    def __init__(self, graph: Graph, training: dict, gui: dict | None, base_dir: str | None,
                 snapshots: bool, emit: Callable[[str, object], None], policy: DataPolicy | None = None) -> None:
        self.graph = graph
        self.policy = policy
        self.training = dict(training)
        self.gui = dict(gui or {})
        self.base_dir = base_dir
        self.snapshots = snapshots
        self._emit_fn = emit
        self.trainer: trainer_mod.Trainer | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        self._pause_requested = False
        self.stop_step: int | None = None  # steps done when the stop request arrived
        self._pause_after_epoch = bool(self.gui.get("pause_after_epoch", False))
        self._records: list[tuple[float, dict]] = []
        self._epoch_records: list[tuple[float, dict]] = []
        self._last_chunk = 0.0
        self._last_snap = 0.0
        self._first_loss: float | None = None
        self._warned_explode = False
        self._rising = 0
        self._warned_rising = False
        self._best_epoch_loss = math.inf
        self._prev_epoch_loss: float | None = None
        self._diverged_node: str | None = None
        self._epochs = 0
        self._iterations = 0
        self._last_step = 0
        self._points_sent = False
        self._settings_waiting: list = []  # settings requested before the trainer exists
        self._tracker: PlaneTracker | None = None  # the path on gui["landscape"] (a Plane), when given

    def emit(self, kind: str, payload) -> None:
        self._emit_fn(kind, payload)

    # ------------------------------------------------------------ control (any thread)
    def request_stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            if self.trainer is not None:
                if self.stop_step is None:
                    self.stop_step = self.trainer.steps_done
                self.trainer.stop()

    def request_pause(self, on: bool = True) -> None:
        with self._lock:
            self._pause_requested = on
            if self.trainer is not None:
                (self.trainer.pause if on else self.trainer.resume)()

    def request_epoch(self) -> None:
        """Train until the end of the current epoch (or one more, when paused between epochs), then pause."""
        with self._lock:
            self._pause_after_epoch = True
            self._pause_requested = False
            if self.trainer is not None:
                self.trainer.resume()

    def request_settings(self, settings) -> None:
        """New settings from the dock while the run goes on: {"optimizer": {...}, "schedule": {...},
        "reg_strength": λ or None}, any key optional. Checked now; the trainer applies them before its
        next step and says so in a "settings" event. A bad value is refused with a "settings_refused"
        event naming it, and the run goes on with the settings it had."""
        with self._lock:
            if self.trainer is None:
                self._settings_waiting.append(settings)
                return
            self._hand_over(settings)

    def _hand_over(self, settings) -> None:
        """(under self._lock, with a trainer) Check one settings message and queue it on the trainer."""
        try:
            if not isinstance(settings, dict):
                raise ValueError(f"settings must be an object, got {type(settings).__name__}")
            unknown = set(settings) - {"optimizer", "schedule", "reg_strength"}
            if unknown:
                raise ValueError(f"no live setting {sorted(unknown)[0]!r} (live: optimizer, schedule, reg_strength)")
            opt = settings.get("optimizer")
            if opt is not None and not isinstance(opt, dict):
                raise OptimizerError(f"optimizer settings must be an object, got {opt!r:.80}")
            opt = None if opt is None else dict(opt)
            params = None
            lam = settings.get("reg_strength")
            if lam is not None:
                if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
                    raise ValueError(f"the regularisation strength must be a finite number >= 0, got {lam!r:.80}")
                regs = [nid for nid, n in self.graph.nodes.items()
                        if n.spec is not None and n.spec.category == "regularizers"]
                if regs:
                    params = {(nid, "strength"): float(lam) for nid in regs}
                else:  # as at the start of a run: with no regulariser node, λ is the weight decay
                    opt = dict(opt or {}, weight_decay=float(lam))
            self.trainer.request_settings(opt, settings.get("schedule"), params)
        except (OptimizerError, ScheduleError, ValueError, TypeError) as exc:
            self.emit("event", {"type": "settings_refused", "step": self.trainer.steps_done,
                                "message": f"New settings refused: {exc}. Training goes on with the previous ones."})

    # ------------------------------------------------------------ the run
    def run(self) -> dict:
        status, message, final = "error", "", {}
        try:
            seed = int(self.training.get("seed", 0))
            prepare_graph(self.graph, self.gui, seed)
            lam = self.gui.get("reg_strength")
            training = self.training if lam is None else apply_reg_strength(self.graph, self.training, float(lam))
            cfg = TrainConfig.from_dict(training)
            t = trainer_mod.Trainer(self.graph, cfg, on_step=self._on_step, on_epoch=self._on_epoch,
                                    on_event=self._on_event, base_dir=self.base_dir, policy=self.policy)
            t.prepare()
            n = len(t.data.X_train)
            bs = cfg.batch_size if cfg.batch_size > 0 else n
            self._epochs = cfg.epochs
            self._iterations = cfg.epochs * max(1, math.ceil(n / bs))
            self._setup_views(t)
            plane = self.gui.get("landscape")
            if isinstance(plane, Plane) and plane.fits(self.graph):
                self._tracker = PlaneTracker(plane, self.graph)
                self._tracker.track(0, force=True)
            with self._lock:
                self.trainer = t
                if self._stop_requested:
                    t.stop()
                elif self._pause_requested:
                    t.pause()
                for waiting in self._settings_waiting:
                    self._hand_over(waiting)
                self._settings_waiting.clear()
            self._emit_progress(0, 0, None)
            result = t.run()
            status, message, final = result.status, result.message, result.final
            if self._tracker is not None:
                self._tracker.track(t.steps_done, force=True)
        except GraphError as exc:  # the GUI shows it: nodes by their names, not their ids
            status, message = "error", named_problems(exc, self.graph)
        except (ConfigError, DatasetError, OptimizerError, ValueError) as exc:
            status, message = "error", str(exc)
        except NumericError as exc:
            status, message, self._diverged_node = "diverged", str(exc), exc.node
        except Exception as exc:  # a bug: report it rather than die silently on the worker
            status, message = "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
        self._flush(force=True)
        if self.trainer is not None and status in ("finished", "stopped", "early_stopped", "diverged"):
            try:
                self._snapshot(force=True)
            except Exception:  # a snapshot must never hide the run's result
                pass
        return {
            "status": status, "message": message, "node": self._diverged_node, "final": final,
            "tensors": self._tensors() if status in ("finished", "stopped", "early_stopped") else None,
            "opt_state": self.graph.opt_state, "training_state": self.graph.meta.get("training_state"),
            "epochs": self.trainer.epochs_done if self.trainer else 0,
            "steps": self.trainer.steps_done if self.trainer else 0,
            "stop_step": self.stop_step,
        }

    # ------------------------------------------------------------ views computed here
    def _setup_views(self, t) -> None:
        self._predictor = None
        self._grid_bounds = None
        self._curve_range = None
        self._filter_layer = None
        if not self.snapshots:
            return
        d = t.data
        roles = t.roles
        out = roles.get("scores")
        if out is None and d.task == "regression" and roles.get("data"):
            e = self.graph.input_edge(roles["data"], "pred")
            out = e.src if e else None
        if out is None:
            return
        try:
            self._predictor = predict.Predictor(self.graph, roles["features"], out, dtype=t.dtype)
        except GraphError:
            return
        X = d.X_train
        if X.ndim == 2 and X.shape[1] == 2:
            both = np.concatenate([d.X_train, d.X_val]) if len(d.X_val) else d.X_train
            self._grid_bounds = predict.grid_bounds(both)
            self._points = (d.X_train, d.y_train, d.X_val, d.y_val)
        elif X.ndim == 2 and X.shape[1] == 1 and d.task == "regression":
            both = np.concatenate([d.X_train, d.X_val]) if len(d.X_val) else d.X_train
            lo, hi = float(both.min()), float(both.max())
            pad = 0.05 * (hi - lo or 1.0)
            self._curve_range = (lo - pad, hi + pad)
            flat = (lambda a: a.reshape(len(a), -1)[:, 0] if len(a) else a.reshape(0))
            self._points = (flat(d.X_train), flat(d.y_train), flat(d.X_val), flat(d.y_val))
        elif X.ndim >= 3 and d.task == "classification":
            src_X, src_y = (d.X_val, d.y_val) if len(d.X_val) >= SAMPLE_IMAGES else (d.X_train, d.y_train)
            self._sample_X = np.ascontiguousarray(src_X[:SAMPLE_IMAGES])
            self._sample_y = src_y[:SAMPLE_IMAGES].copy()
            self._filter_layer = predict.first_layer(self.graph, roles["features"])
            self._image_shape = X.shape[1:]

    def _snapshot(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_snap < SNAPSHOT_SECONDS:
            return
        self._last_snap = now
        t = self.trainer
        snap: dict = {"iteration": t.steps_done}
        snap["flow"] = predict.edge_flow(t.ex.edge_grads)
        snap["hist"] = predict.histograms(self.graph, t.ex.values)
        if self._predictor is not None:
            if self._grid_bounds is not None:
                snap["grid"] = predict.decision_grid(self._predictor, self._grid_bounds, GRID_RES)
                if not self._points_sent:  # the data do not change during a run: send them once
                    snap["points"] = self._points
                    self._points_sent = True
                snap["n_classes"] = t.data.n_classes
            elif self._curve_range is not None:
                xs, ys = predict.curve(self._predictor, *self._curve_range)
                snap["curve"] = {"x": xs, "y": ys}
                if not self._points_sent:
                    snap["points"] = self._points
                    self._points_sent = True
            elif self._filter_layer is not None or hasattr(self, "_sample_X"):
                pred, prob = predict.sample_predictions(self._predictor, self._sample_X, self._sample_y)
                imgs = self._sample_X[:, 0] if self._sample_X.ndim == 4 else self._sample_X
                snap["samples"] = {"images": np.array(imgs, copy=True), "labels": self._sample_y, "pred": pred,
                                   "prob": prob}
                if self._filter_layer is not None:
                    snap["filters"] = predict.filters(self.graph, self._filter_layer, self._image_shape, limit=16)
        self.emit("snapshot", snap)

    # ------------------------------------------------------------ trainer callbacks (worker thread)
    def _on_step(self, m: dict) -> None:
        step = m["step"]
        self._last_step = step
        loss = m["loss"]
        self._records.append((step, m))
        if self._first_loss is None and math.isfinite(loss):
            self._first_loss = loss
        elif (not self._warned_explode and self._first_loss and math.isfinite(loss)
              and loss > EXPLODE_FACTOR * self._first_loss):
            self._warned_explode = True
            self.emit("warning", f"The loss is exploding: {loss:.4g} at iteration {step} is more than "
                              f"{EXPLODE_FACTOR:g}x the first loss ({self._first_loss:.4g}); "
                              f"the learning rate ({m['lr']:.3g}) is probably too high.")
            if self.gui.get("pause_on_explode"):
                # here, before the next step: a round trip through the GUI arrives after the run
                # may already have blown up to NaN
                self.request_pause(True)
        if self._tracker is not None:
            self._tracker.track(step)
        self._flush()
        if self.snapshots:
            self._snapshot()

    def _on_epoch(self, row: dict) -> None:
        self._epoch_records.append((row["steps"], row))
        loss = row.get("train_loss")
        if loss is not None and math.isfinite(loss):
            self._rising = self._rising + 1 if self._prev_epoch_loss is not None and loss > self._prev_epoch_loss \
                else 0
            self._best_epoch_loss = min(self._best_epoch_loss, loss)
            if (not self._warned_rising and self._rising >= RISING_EPOCHS
                    and loss > RISING_FACTOR * self._best_epoch_loss):
                self._warned_rising = True
                self.emit("warning", f"The training loss has grown for {self._rising} epochs in a row, to {loss:.4g} "
                                  f"at epoch {row['epoch']} (best {self._best_epoch_loss:.4g}); "
                                  f"the learning rate is probably too high.")
        self._prev_epoch_loss = loss
        if self._pause_after_epoch:
            with self._lock:
                self._pause_after_epoch = False
                self.trainer.pause()
        self._flush()  # time-based like the steps: tiny epochs must not flood the GUI with signals

    def _on_event(self, ev: dict) -> None:
        if ev.get("type") == "diverged":
            self._diverged_node = ev.get("node")
        if ev.get("type") == "paused":
            self._flush(force=True)  # the GUI's counters show exactly where it paused
        self.emit("event", dict(ev))

    # ------------------------------------------------------------ packing
    def _flush(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_chunk < CHUNK_SECONDS:
            return
        self._last_chunk = now
        chunk = {}
        if self._records:
            chunk.update({"step." + k: v for k, v in pack_records(self._records).items()})
            last = self._records[-1][1]
            self._records = []
        else:
            last = None
        if self._epoch_records:
            chunk.update({"epoch." + k: v for k, v in pack_records(self._epoch_records).items()})
            self._epoch_records = []
        if chunk:
            self.emit("chunk", chunk)
        path = self._tracker.take() if self._tracker is not None else None
        if path is not None:
            self.emit("trajectory", path)
        t = self.trainer
        if t is not None:
            self._emit_progress(t.epochs_done, t.steps_done, last["loss"] if last else None)

    def _emit_progress(self, epoch: int, step: int, loss) -> None:
        self.emit("progress", {"epoch": epoch, "epochs": self._epochs, "iteration": step,
                            "iterations": self._iterations, "loss": loss})

    def _tensors(self) -> dict[str, dict[str, np.ndarray]]:
        """Every learned array of the worker's graph (weights and state such as running means)."""
        out: dict[str, dict[str, np.ndarray]] = {}
        for nid, node in self.graph.nodes.items():
            spec = node.spec
            if spec is None:
                continue
            names = [w.name for w in spec.weights if w.name in node.tensors]
            if spec.source:
                names = [w for w in names if w != "value"] + (
                    ["value"] if any(w.trainable for w in spec.weights if w.name == "value") else [])
            if names:
                out[nid] = {w: node.tensors[w] for w in names}
        return out
