"""The training loop: mini-batches through the graph executor, optimizer updates in place.

The trainer writes each batch straight into the feature and label input nodes'
arrays and updates layer weights in place through the graph's versioned path:
each step gives every updated node a new version quietly (Graph.mark_updated with
emit=False, so no cache can miss the change), and when the run pauses or ends one
`weights_changed` event announces them all (Graph.commit_weights): a view
mirroring the graph sees one event per pause, not one per step. The learning rate
flows one way: the schedule turns the settings' lr into each step's rate, which the
optimizer's update takes. Progress goes out through callbacks as plain dicts:

    on_step(metrics)   every `report_every` steps: loss, data/reg loss, batch accuracy, lr,
                       per-param gradient norm and update/weight ratio, dead ReLU and
                       saturated tanh/sigmoid fractions per activation node
    on_epoch(metrics)  epoch, train/val loss and accuracy, lr, seconds (elapsed since start)
    on_event(event)    {"type": "started" | "paused" | "resumed" | "stopped" | "early_stop" |
                        "finished" | "diverged", "message": ...}

`pause()`, `resume()`, `stop()` and `request_settings(...)` may be called from any
thread; they take effect before the next step starts. New settings (the optimizer's,
the schedule, node params such as a regulariser's strength) are checked when they
are requested and applied between two steps: the optimizer through `configure`, the
learning rate by resetting lr0 and the schedule, which then give the next step's rate
(a "settings" event says what changed and from which iteration). A NaN or Inf ends training with a message
naming the first node that produced it. Everything is seeded: the same graph,
settings and seed give the same weights bit for bit.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable

import numpy as np

from ..executor import Executor
from ..graph import Graph
from ..problems import NumericError
from .. import numcheck
from . import datasets as ds_mod
from . import metrics as M
from . import optim, preprocess, schedules, trainingdtype
from .callbacks import Callback, TrainResult, _Fn  # noqa: F401  (re-exported: the trainer's API)
from .config import ConfigError, TrainConfig
from .control import LiveControl
from .datapath import DataPolicy
from .roles import Data, detect_roles, load_data  # noqa: F401  (re-exported: the trainer's API)


class Trainer(LiveControl):
    """Train a graph with the settings in graph.meta["training"] (plus keyword overrides).

    A data file the settings name is read from `base_dir`, else from the folder of the file the
    graph was loaded from (graph.file), else from the current folder, and may not leave it: an
    absolute or escaping path, a device or a FIFO is a ConfigError naming meta.training.dataset.
    `policy` (datapath.DataPolicy) sets the data limits and the files allowed anywhere
    (`DataPolicy().allowing(path)`); `data` or `dataset` hand the data over directly."""

    def __init__(self, graph: Graph, config: TrainConfig | dict | None = None, callbacks: list | None = None,
                 base_dir: str | None = None, data: Data | None = None, dataset: ds_mod.Dataset | None = None,
                 on_step: Callable | None = None, on_epoch: Callable | None = None,
                 on_event: Callable | None = None, policy: DataPolicy | None = None) -> None:
        self.graph = graph
        if config is None:
            config = graph.meta.get("training", {})
        self.config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
        self.callbacks: list[Callback] = list(callbacks or [])
        if on_step or on_epoch or on_event:
            self.callbacks.append(_Fn(on_step, on_epoch, on_event))
        self.base_dir = base_dir
        self.policy = policy if policy is not None else DataPolicy()
        self._data = data
        self._dataset = dataset
        self._go = threading.Event()
        self._go.set()
        self._stop = False
        self.state = "idle"
        self.history: list[dict] = []
        self.steps_done = 0
        self.epochs_done = 0
        self._prepared = False
        self._settings_lock = threading.Lock()
        self._pending: dict | None = None  # settings requested, applied before the next step
        self._home_dtypes: dict[tuple[str, str], np.dtype] = {}  # (node, array) -> its dtype before training

    # ------------------------------------------------------------ setup
    def prepare(self) -> None:
        """Load data, compile the executor, collect weights and optimizer state (once)."""
        if self._prepared:
            return
        cfg = self.config
        g = self.graph
        self.roles = detect_roles(g, cfg)
        self.data = self._data or load_data(cfg, self.base_dir, self._dataset, task=self.roles.get("task"),
                                            policy=self.policy, graph_file=g.file)
        if len(self.data.X_train) == 0:
            raise ConfigError("meta.training.dataset: the training split is empty")
        cfg.check_images(self.data.X_train.shape)  # a shift past the images' side only shifts in zeros
        for role, arr in (("features", self.data.X_train), ("labels", self.data.y_train)):
            node = g.nodes[self.roles[role]]
            have = node.tensors.get("value")
            if have is not None and tuple(have.shape[1:]) != tuple(arr.shape[1:]):
                raise ConfigError(f"meta.training.{role}: the dataset's {role} have shape "
                                  f"{tuple(arr.shape[1:])} per example but input node {node.name!r} holds "
                                  f"{tuple(have.shape[1:]) or 'a scalar'} per example; set its value to a batch "
                                  "of the data so the layers are sized for it")
        self.dtype = np.dtype(cfg.dtype)
        self._adopt_dtype()
        # batchnorm's running statistics: a quiet version bump per step, announced with the weights
        self.ex = Executor(g, dtype=self.dtype, check="none", seed=cfg.seed, state_events=False)
        self.ex.input_grads = False
        self.ex.plan()
        self.optimizer = optim.from_settings(cfg.optimizer, state=g.opt_state)
        self.lr0 = optim.base_lr(cfg.optimizer)  # the schedule's starting rate, from the settings
        self.schedule = schedules.from_settings(cfg.schedule)
        self.params: list[tuple[str, str, str]] = []  # (key, node id, weight)
        for nid, w in g.trainable():
            node = g.nodes[nid]
            self.params.append((f"{nid}/{w}", nid, w))
        # the nodes whose arrays each step updates: one quiet version bump each per step
        self._updated = tuple(dict.fromkeys(nid for _, nid, _ in self.params))
        self._mark = g.mark_updated_quiet
        self._grads_finite = numcheck.FiniteCheck()
        if not self.params:
            raise ConfigError("the graph has no trainable weights (add a linear layer or a param node)")
        self.optimizer.adopt_state({k: g.nodes[n].tensors[w] for k, n, w in self.params})
        labels = [f"{g.nodes[n].name}.{w}" for _, n, w in self.params]
        self.param_labels = {k: (lab if labels.count(lab) == 1 else f"{g.nodes[n].name}({n}).{w}")
                             for (k, n, w), lab in zip(self.params, labels)}  # node names need not be unique
        self._refs = [(k, n, w, g.nodes[n].tensors) for k, n, w in self.params]
        self._loss_id = self.roles["loss"]
        acts = [(nid, n.name, n.op) for nid, n in g.nodes.items() if n.op in M.RELU_OPS + M.SQUASH_OPS]
        names = [a[1] for a in acts]
        self._acts = [(nid, name if names.count(name) == 1 else f"{name}({nid})", op) for nid, name, op in acts]
        self._feat_t = g.nodes[self.roles["features"]].tensors
        self._lab_t = g.nodes[self.roles["labels"]].tensors
        self._rng = np.random.default_rng([cfg.seed & 0xFFFFFFFF, 2])
        self._prepared = True

    def _adopt_dtype(self) -> None:
        trainingdtype.adopt(self.graph, self.dtype, self._home_dtypes)

    def _return_dtype(self) -> None:
        trainingdtype.give_back(self.graph, self._home_dtypes)

    def _emit(self, kind: str, payload: dict) -> None:
        for cb in self.callbacks:
            getattr(cb, kind)(payload)

    def _event(self, kind: str, message: str = "", **extra) -> None:
        self._emit("on_event", {"type": kind, "message": message, "epoch": self.epochs_done,
                                "step": self.steps_done, **extra})

    # ------------------------------------------------------------ one step
    def lr_at(self, epoch: int, step: int) -> float:
        """The schedule's rate for a step (from the settings' lr; the optimizer is not asked)."""
        return self.schedule.at(self.lr0, epoch, step)

    def train_step(self, xb: np.ndarray, yb: np.ndarray, lr: float, report: bool = True) -> dict | None:
        """Forward, backward and update on one batch; returns the step's metrics when `report`."""
        self._feat_t["value"] = xb
        self._lab_t["value"] = yb
        ex = self.ex
        loss_id = self._loss_id
        ex.forward()
        loss = float(ex._values[loss_id])
        if not math.isfinite(loss):
            self._locate("forward")
        ex.backward(loss_id)
        wg = ex._weight_grad  # the executor's own buffers: the optimizer only reads them
        items = [(key, tensors[w], wg(nid, w)) for key, nid, w, tensors in self._refs]
        if not self._grads_finite([g for _, _, g in items]):  # before the update: no NaN/Inf gets in
            for (_, nid, w, _), (_, _, g) in zip(self._refs, items):
                if not numcheck.finite(g):
                    with np.errstate(all="ignore"):
                        self.ex._check_backward()
                    raise NumericError(nid, self.graph.nodes[nid].name, "backward", f"NaN/Inf gradient of {w}")
        sums = self.optimizer.update(items, lr)
        self._mark(self._updated)  # a new version for each updated node, no event (commit_weights)
        check = 0.0
        for g2, _, w2 in sums:
            check += g2 + w2
        if not math.isfinite(check):
            self._locate("backward", optim.stats_from(items, sums))
        self.steps_done += 1
        if not report:
            return None
        return self._step_metrics(loss, yb, lr, optim.stats_from(items, sums))

    def _step_metrics(self, loss: float, yb: np.ndarray, lr: float, stats: optim.StepStats) -> dict:
        values = self.ex._values
        roles = self.roles
        data_loss = float(values[roles["data"]]) if roles["data"] else loss
        reg_loss = float(values[roles["reg"]]) if roles["reg"] else 0.0
        acc = None
        if roles["scores"] is not None and self.data.task == "classification":
            acc = M.correct(values[roles["scores"]], yb) / len(yb)
        labels = self.param_labels
        m: dict[str, Any] = {
            "step": self.steps_done, "epoch": self.epochs_done + 1, "loss": loss, "data_loss": data_loss,
            "reg_loss": reg_loss, "acc": acc, "lr": lr,
            "grad_norm": {labels[k]: v for k, v in stats.grad_norm.items()},
            "update_ratio": {labels[k]: v for k, v in stats.update_ratio().items()},
            "dead_relu": {}, "saturated": {},
        }
        for nid, name, op in self._acts:
            out = values.get(nid)
            if out is None:
                continue
            if op in M.RELU_OPS:
                m["dead_relu"][name] = M.dead_fraction(out)
            else:
                m["saturated"][name] = M.saturated_fraction(op, out)
        return m

    def _locate(self, phase: str, stats: optim.StepStats | None = None) -> None:
        """Raise NumericError naming the first node whose value (or gradient) is not finite."""
        if phase == "forward":
            self.ex.check = "all"
            try:
                self.ex._check_forward()
            finally:
                self.ex.check = "none"
        else:
            self.ex._check_backward()
            for key, nid, w in self.params:
                if stats is not None and not math.isfinite(stats.grad_norm[key]):
                    raise NumericError(nid, self.graph.nodes[nid].name, "backward", f"NaN/Inf gradient of {w}")
        raise NumericError(self.roles["loss"], self.graph.nodes[self.roles["loss"]].name, phase, "NaN/Inf")

    # ------------------------------------------------------------ evaluation
    def evaluate(self, X: np.ndarray, y: np.ndarray) -> dict:
        """Eval-mode loss (total and data) and accuracy over a whole split, in chunks."""
        if len(X) == 0:
            return {"loss": None, "data_loss": None, "acc": None}
        ex, roles = self.ex, self.roles
        ex.mode = "eval"
        try:
            tot = data = 0.0
            right = 0
            bs = self.config.eval_batch
            for start in range(0, len(X), bs):
                xb, yb = X[start:start + bs], y[start:start + bs]
                self._feat_t["value"] = xb
                self._lab_t["value"] = yb
                ex.forward()
                v = ex._values
                loss = float(v[roles["loss"]])
                if not math.isfinite(loss):
                    self._locate("forward")
                tot += loss * len(xb)
                data += (float(v[roles["data"]]) if roles["data"] else loss) * len(xb)
                if roles["scores"] is not None and self.data.task == "classification":
                    right += M.correct(v[roles["scores"]], yb)
        finally:
            ex.mode = "train"
        n = len(X)
        acc = right / n if roles["scores"] is not None and self.data.task == "classification" else None
        return {"loss": tot / n, "data_loss": data / n, "acc": acc}

    def final_metrics(self) -> dict:
        tr = self.evaluate(self.data.X_train, self.data.y_train)
        va = self.evaluate(self.data.X_val, self.data.y_val)
        return {"train_loss": tr["loss"], "train_acc": tr["acc"], "val_loss": va["loss"], "val_acc": va["acc"]}

    # ------------------------------------------------------------ the loop
    def _snapshot(self) -> dict[tuple[str, str], np.ndarray]:
        snap = {}
        for nid, node in self.graph.nodes.items():
            spec = node.spec
            if spec is None or spec.source and not any(w.trainable for w in spec.weights):
                continue
            for w in spec.weights:
                if w.name in node.tensors:
                    snap[(nid, w.name)] = node.tensors[w.name].copy()
        return snap

    def _restore(self, snap: dict) -> None:
        g = self.graph
        for (nid, w), arr in snap.items():
            np.copyto(g.nodes[nid].tensors[w], arr)
        for nid in dict.fromkeys(nid for nid, _ in snap):
            g.mark_updated(nid, None, emit=False)

    def run(self, epochs: int | None = None) -> TrainResult:
        """Train for `epochs` (default: the settings') more epochs; blocking (use a worker thread).
        While it runs (and while paused) the graph's float arrays are in the training dtype; when it
        returns they are back in their own (a float32 run writes float64 copies into a float64 graph)."""
        self.prepare()
        self._adopt_dtype()  # again after an earlier run gave the arrays back (a no-op right after prepare)
        cfg = self.config
        epochs = cfg.epochs if epochs is None else epochs
        d = self.data
        saved_inputs = (self._feat_t.get("value"), self._lab_t.get("value"))
        es = cfg.early_stopping
        patience = es.get("patience", 5) if es else None
        min_delta = es.get("min_delta", 0.0) if es else 0.0
        best, best_epoch, best_snap = math.inf, 0, None
        shift, flip = int(cfg.augment.get("shift", 0)), bool(cfg.augment.get("flip", False))
        aug = (shift > 0 or flip) and d.X_train.ndim == 4
        every = cfg.report_every
        status, message = "finished", ""
        self.state = "running"
        self._event("started", params=dict(self.param_labels))
        t0 = time.perf_counter()
        try:
            for _ in range(epochs):
                if self._stop:
                    break
                epoch = self.epochs_done
                lr = self.lr_at(epoch, self.steps_done)
                tot = dl = rl = 0.0
                right = seen = 0
                for idx in preprocess.batch_indices(len(d.X_train), cfg.batch_size, self._rng):
                    if not self._go.is_set():
                        self.state = "paused"
                        if self.steps_done:  # one weights_changed for the steps so far (the dtype
                            self.graph.commit_weights()  # adopted in prepare goes with the first ones)
                        self._event("paused")
                        self._go.wait()
                        if not self._stop:
                            self.state = "running"
                            self._event("resumed")
                    if self._stop:
                        break
                    if self._pending is not None:  # new settings: they apply from this step
                        self._apply_settings()
                        lr = self.lr_at(epoch, self.steps_done)
                    xb = d.X_train[idx]
                    yb = d.y_train[idx]
                    if aug:
                        xb = preprocess.augment(xb, self._rng, shift, flip)
                    if self.schedule.per == "step":
                        lr = self.lr_at(epoch, self.steps_done)
                    m = self.train_step(xb, yb, lr, report=(self.steps_done + 1) % every == 0 or every == 1)
                    n = len(idx)
                    v = self.ex._values
                    loss = float(v[self.roles["loss"]])
                    tot += loss * n
                    if self.roles["data"]:
                        dl += float(v[self.roles["data"]]) * n
                    if self.roles["reg"]:
                        rl += float(v[self.roles["reg"]]) * n
                    if self.roles["scores"] is not None and d.task == "classification":
                        right += M.correct(v[self.roles["scores"]], yb)
                    seen += n
                    if m is not None:
                        self._emit("on_step", m)
                if seen < len(d.X_train):  # stopped mid-epoch: the epoch does not count
                    break
                self.epochs_done += 1
                val = self.evaluate(d.X_val, d.y_val)
                row = {"epoch": self.epochs_done, "train_loss": tot / seen,
                       "train_data_loss": dl / seen if self.roles["data"] else tot / seen,
                       "train_reg_loss": rl / seen, "val_loss": val["loss"], "val_data_loss": val["data_loss"],
                       "train_acc": right / seen if self.roles["scores"] is not None
                       and d.task == "classification" else None,
                       "val_acc": val["acc"], "lr": lr, "seconds": time.perf_counter() - t0,
                       "steps": self.steps_done}
                self.history.append(row)
                self._emit("on_epoch", row)
                if patience is not None and val["loss"] is not None:
                    if val["loss"] < best - min_delta:
                        best, best_epoch = val["loss"], self.epochs_done
                        if best_snap is None:
                            best_snap = self._snapshot()
                        else:
                            for (nid, w), arr in best_snap.items():
                                np.copyto(arr, self.graph.nodes[nid].tensors[w])
                    elif self.epochs_done - best_epoch > patience:
                        status = "early_stopped"
                        message = (f"validation loss has not improved for {patience} epochs; "
                                   f"restored the weights of epoch {best_epoch} (val loss {best:.4g})")
                        self._event("early_stop", message, best_epoch=best_epoch)
                        break
            if self._stop and status == "finished":
                status, message = "stopped", "stopped by request"
                self._event("stopped", message)
            if best_snap is not None:
                self._restore(best_snap)
            final = self.final_metrics()
        except NumericError as exc:
            status, message, final = "diverged", str(exc), {}
            self._event("diverged", message, node=exc.node)
        finally:
            self._feat_t["value"], self._lab_t["value"] = saved_inputs
            self.state = "done"
            self._return_dtype()
            self.graph.commit_weights()  # one weights_changed for the whole run (or since the last pause)
        self._record_progress()
        result = TrainResult(status, self.epochs_done, self.steps_done, list(self.history), final, message)
        if status != "diverged":
            self._event("finished", message or "training finished", status=status, final=final)
        return result

    def _record_progress(self) -> None:
        self.graph.meta.setdefault("training_state", {})
        self.graph.meta["training_state"] = {"epochs_done": self.epochs_done, "steps_done": self.steps_done}


def train(graph: Graph, **kwargs) -> TrainResult:
    """Train with the graph's own settings; keyword arguments override them (epochs=3, ...)."""
    callbacks = kwargs.pop("callbacks", None)
    base_dir = kwargs.pop("base_dir", None)
    policy = kwargs.pop("policy", None)
    cfg = TrainConfig.from_dict(graph.meta.get("training", {})).merged(**kwargs)
    return Trainer(graph, cfg, callbacks=callbacks, base_dir=base_dir, policy=policy).run()
