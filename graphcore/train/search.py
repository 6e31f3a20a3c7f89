"""Random hyperparameter search over learning rate and regularisation, coarse then fine.

As the notes advise: sample lr and reg log-uniformly (random search beats a
grid), train a few epochs each, rank on the validation split, then search again
in a narrower range around the best. Trials run in separate processes, one per
core, each with its BLAS/numba threads set to 1 so they do not fight, or on a Dask
cluster (trials.py); results arrive as each trial finishes, and Stop cancels the rest. Each trial's
job carries the data policy (limits, files the user allowed) and the graph's folder
as plain arguments: a worker reads no data setting from its environment.
"""
from __future__ import annotations

import math
import os
from typing import Callable

import numpy as np

from ..fileformat import dumps, loads
from ..graph import Graph
from .config import TrainConfig
from .datapath import DataPolicy
from .trials import THREAD_VARS, DaskRunner, dask_stop_check, make_runner  # noqa: F401 (THREAD_VARS: importable here)


TRIAL_STEPS = 1000  # optimizer steps a default trial aims for: 5 full-batch steps leave every trial at log C


def search_val_fraction(cfg: TrainConfig) -> float:
    """The validation share a search ranks on: the settings' own, or 0.2 when they hold none out."""
    return cfg.val_fraction if cfg.val_fraction else 0.2


def trial_epochs(cfg: TrainConfig, n_examples: int, steps: int = TRIAL_STEPS) -> int:
    """Default epochs per trial: about `steps` optimizer steps (a full-batch epoch is one step, a
    mini-batch epoch ceil(n_train / batch_size)), but at most half the settings' own epochs, so a
    trial never costs more than half the real run; at least 1."""
    n_train = max(1, n_examples - int(round(n_examples * search_val_fraction(cfg))))
    per_epoch = math.ceil(n_train / cfg.batch_size) if cfg.batch_size else 1
    want = math.ceil(steps / per_epoch)
    return max(1, min(want, cfg.epochs // 2))


def auto_trial_epochs(graph: Graph, cfg: TrainConfig, base_dir: str | None = None,
                      policy: DataPolicy | None = None) -> int:
    """trial_epochs for the data set the settings name (read once, as a trial would read it)."""
    from .roles import detect_roles, load_data

    data = load_data(cfg, base_dir, task=detect_roles(graph, cfg).get("task"), policy=policy, graph_file=graph.file)
    return trial_epochs(cfg, len(data.X_train) + len(data.X_val))


def reg_nodes(g: Graph) -> list[str]:
    return [nid for nid, n in g.nodes.items() if n.spec is not None and n.spec.category == "regularizers"]


def set_reg_strength(g: Graph, strength: float) -> bool:
    """Every regulariser's strength (what a trial varies, and `train --reg` sets), through set_param;
    False when the graph has none."""
    nodes = reg_nodes(g)
    for nid in nodes:
        g.set_param(nid, "strength", strength)
    return bool(nodes)


def run_trial(job: dict) -> dict:
    """Train one (lr, reg) setting on a fresh copy of the graph; returns its validation figures."""
    from .trainer import Trainer

    g = loads(job["graph"])
    g.file = job.get("file")  # read from text here, but the data paths are the original file's
    cfg = TrainConfig.from_dict(job["config"])
    set_reg_strength(g, job["reg"])
    stopped = dask_stop_check(job["stop_event"]) if job.get("stop_event") else None
    trainer = None

    def on_epoch(_row) -> None:  # a Dask task runs on after its future is cancelled: it must stop itself
        if stopped():
            trainer.stop()

    trainer = Trainer(g, cfg, base_dir=job.get("base_dir"), policy=job.get("policy"),
                      on_epoch=on_epoch if stopped else None)
    res = trainer.run()
    f = res.final or {}
    return {"stage": job["stage"], "index": job.get("index", 0), "lr": job["lr"], "reg": job["reg"], "status": res.status,
            "val_acc": f.get("val_acc"), "val_loss": f.get("val_loss"), "train_acc": f.get("train_acc"),
            "pid": os.getpid(), "threads": os.environ.get("OPENBLAS_NUM_THREADS")}


def sample(rng: np.random.Generator, lo: float, hi: float, n: int) -> list[float]:
    """n values log-uniform in [lo, hi]: 10 ** uniform(log10 lo, log10 hi)."""
    return [float(10 ** rng.uniform(math.log10(lo), math.log10(hi))) for _ in range(n)]


def _score(t: dict) -> tuple:
    acc = t["val_acc"] if t["val_acc"] is not None else -1.0
    loss = t["val_loss"] if t["val_loss"] is not None and math.isfinite(t["val_loss"]) else math.inf
    return (-acc, loss)


def _jobs(graph: Graph, cfg: TrainConfig, trials: int, lr_range: tuple[float, float],
          reg_range: tuple[float, float] | None, epochs: int, seed: int, stage: str, base_dir: str | None,
          policy: DataPolicy | None) -> list[dict]:
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0 if stage == "coarse" else 1])
    lrs = sample(rng, *lr_range, trials)
    regs = sample(rng, *reg_range, trials) if reg_range is not None else [0.0] * trials
    text = dumps(graph)
    base = cfg.to_dict()
    base["epochs"] = epochs
    base["early_stopping"] = None
    base["val_fraction"] = search_val_fraction(cfg)  # ranking needs held-out data
    jobs = []
    for i, (lr, reg) in enumerate(zip(lrs, regs)):
        c = dict(base)
        c["optimizer"] = {**base["optimizer"], "lr": lr}
        jobs.append({"graph": text, "config": c, "lr": lr, "reg": reg, "stage": stage, "index": i,
                     "base_dir": base_dir, "file": graph.file, "policy": policy})
    return jobs


def random_search(graph: Graph, cfg: TrainConfig, trials: int, lr_range: tuple[float, float],
                  reg_range: tuple[float, float] | None, epochs: int, workers: int | None = None,
                  seed: int = 0, stage: str = "coarse", base_dir: str | None = None,
                  policy: DataPolicy | None = None, runner=None, on_trial: Callable[[dict], None] | None = None,
                  stop: Callable[[], bool] | None = None) -> list[dict]:
    """`trials` short runs at log-uniform (lr, reg); `base_dir` and `policy` bound the data each worker
    reads exactly as they bound a Trainer's (each worker's copy remembers the graph's file).
    `on_trial(result)` is called as each trial finishes; `stop()` true cancels the rest. Returns the
    finished trials in the order they were sampled."""
    jobs = _jobs(graph, cfg, trials, lr_range, reg_range, epochs, seed, stage, base_dir, policy)
    runner = runner or make_runner(workers)
    out = []
    for t in runner.stream(jobs, stop):
        out.append(t)
        if on_trial is not None:
            on_trial(t)
    return sorted(out, key=lambda t: t["index"])


def coarse_to_fine(graph: Graph, cfg: TrainConfig, trials: int = 8, epochs: int = 5,
                   lr_range: tuple[float, float] = (1e-4, 1.0), reg_range: tuple[float, float] = (1e-5, 1e-1),
                   workers: int | None = None, seed: int = 0, base_dir: str | None = None,
                   log: Callable[[str], None] | None = None, fine_width: float = 0.5,
                   policy: DataPolicy | None = None, dask: str | None = None, runner=None,
                   on_trial: Callable[[dict], None] | None = None, stop: Callable[[], bool] | None = None) -> dict:
    """A coarse search over the given ranges, then a fine one within +-`fine_width` decades of the best.

    Trials run on `runner` (trials.py), or on the Dask scheduler at `dask`, or on `workers` local
    processes. `on_trial` sees each result as it finishes; `stop()` true cancels what is left (the
    result then has "stopped": True and no fine stage)."""
    has_reg = bool(reg_nodes(graph))
    if log and not has_reg:
        log("the graph has no regulariser node: searching the learning rate only")
    own = runner is None
    runner = runner or make_runner(workers, dask)
    stopped = stop or (lambda: False)
    try:
        coarse = random_search(graph, cfg, trials, lr_range, reg_range if has_reg else None, epochs, workers, seed,
                               "coarse", base_dir, policy, runner, on_trial, stop)
        fine: list[dict] = []
        fine_lr = fine_reg = None
        if coarse and not stopped():
            best = min(coarse, key=_score)
            if log:
                log(f"coarse: best lr {best['lr']:.3g} reg {best['reg']:.3g} val_acc {best['val_acc']}")
            f = 10 ** fine_width
            fine_lr = (best["lr"] / f, best["lr"] * f)
            fine_reg = (best["reg"] / f, best["reg"] * f) if has_reg else None
            fine = random_search(graph, cfg, trials, fine_lr, fine_reg, epochs, workers, seed, "fine", base_dir,
                                 policy, runner, on_trial, stop)
    finally:
        if own and isinstance(runner, DaskRunner):
            runner.close()
    allt = coarse + fine
    return {"trials": sorted(allt, key=_score), "best": min(allt, key=_score) if allt else None,
            "fine_lr_range": fine_lr, "fine_reg_range": fine_reg, "stopped": bool(stopped())}


def best_of(trials: list[dict]) -> dict | None:
    """The trial a search would pick (highest validation accuracy, then lowest validation loss)."""
    return min(trials, key=_score) if trials else None
