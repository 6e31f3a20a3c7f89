"""The notes' babysitting checks, each as a verdict with its numbers and the rule it applied.

`iter_checks` runs them in order and yields each Verdict as it is decided, so a panel can show
them one by one (and stop between two):

1. initial loss, regularisation off: about log(C) for softmax ((C - 1) * delta for an SVM);
2. regularisation raises the loss;
3. overfit ~20 examples (regularisation off) to about zero loss;
4. a short run at the file's settings: the update/weight ratio of every weight near 1e-3;
5. the same run's loss curve: lr too high, too low, bad initialisation, or good (curve.py);
6. a gradient check of the analytic gradients against centred differences.

Every check works on copies: the caller's graph is never changed. Qt-free.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np

from ..executor import Executor
from ..graph import Graph
from .babysit import _reg_nodes, expected_initial_loss, overfit_tiny
from .config import TrainConfig
from .curve import diagnose_curve
from .datapath import DataPolicy
from .trainer import Data, Trainer, detect_roles, load_data

VERDICTS = ("pass", "warn", "fail", "n/a")
INITIAL_TOLERANCE = 0.15  # babysit.py explains why 15% either side of log(C)
RATIO_GOOD = (1e-4, 1e-2)  # a decade either side of the notes' 1e-3
RATIO_WARN = (1e-5, 1e-1)
GRAD_GOOD, GRAD_WARN = 1e-6, 1e-2  # the notes: < 1e-7 happy, 1e-4..1e-2 uncomfortable, > 1e-2 wrong


@dataclass
class Verdict:
    check: str  # a stable id: initial_loss, reg_raises_loss, overfit, update_ratio, loss_curve, gradient_check
    title: str
    verdict: str  # pass | warn | fail | n/a
    numbers: dict = field(default_factory=dict)
    rule: str = ""
    explanation: str = ""  # one line, with the numbers

    def to_dict(self) -> dict:
        return asdict(self)


TITLES = {"initial_loss": "Initial loss ≈ log C (regularisation off)",
          "reg_raises_loss": "Regularisation raises the loss",
          "overfit": "Overfit a tiny subset",
          "update_ratio": "Update/weight ratio ≈ 1e-3",
          "loss_curve": "Loss curve shape",
          "gradient_check": "Gradient check"}


def _cfg(graph: Graph, cfg) -> TrainConfig:
    return cfg if isinstance(cfg, TrainConfig) else TrainConfig.from_dict(cfg or graph.meta.get("training", {}))


class _Forward:
    """A train-mode forward pass of a copy of the graph on up to `limit` training examples."""

    def __init__(self, graph: Graph, cfg: TrainConfig, data: Data, limit: int = 1000) -> None:
        self.g = graph.copy()
        self.roles = detect_roles(self.g, cfg)
        self.g.nodes[self.roles["features"]].tensors["value"] = data.X_train[:limit]
        self.g.nodes[self.roles["labels"]].tensors["value"] = data.y_train[:limit]
        self.ex = Executor(self.g, dtype=np.dtype(cfg.dtype), mode="train", check="none", seed=cfg.seed)

    def set_reg(self, strength: float | None) -> None:
        """None keeps the file's strengths."""
        if strength is not None:
            for nid in _reg_nodes(self.g):
                self.g.set_param(nid, "strength", strength)

    def losses(self) -> tuple[float, float]:
        """(total, data) loss."""
        self.ex.forward()
        total = float(self.ex.values[self.roles["loss"]])
        data = float(self.ex.values[self.roles["data"]]) if self.roles["data"] else total
        return total, data


def initial_loss(graph: Graph, cfg, data: Data) -> Verdict:
    cfg = _cfg(graph, cfg)
    fw = _Forward(graph, cfg, data)
    fw.set_reg(0.0)
    total, dl = fw.losses()
    dnode = fw.g.nodes[fw.roles["data"]] if fw.roles["data"] else None
    expected = expected_initial_loss(dnode.op, data.n_classes, dnode.params) if dnode else None
    t = TITLES["initial_loss"]
    if expected is None:
        return Verdict("initial_loss", t, "n/a", {"loss": total},
                       "only a softmax or SVM loss has a known starting value",
                       f"The loss starts at {total:.4g}; there is no expected value for this loss.")
    what = f"log({data.n_classes})" if dnode.op == "softmax_cross_entropy" else f"({data.n_classes} - 1) x delta"
    ratio = dl / expected if expected else math.inf
    nums = {"loss": dl, "expected": expected, "classes": data.n_classes, "ratio": ratio}
    rule = f"data loss within {INITIAL_TOLERANCE:.0%} of {what} = {expected:.4f}, regularisation off"
    if not math.isfinite(dl):
        return Verdict("initial_loss", t, "fail", nums, rule, "The first forward pass gives NaN/Inf.")
    off = abs(ratio - 1)
    verdict = "pass" if off <= INITIAL_TOLERANCE else ("warn" if off <= 0.5 else "fail")
    why = ("as small random weights give: every class about equally likely" if verdict == "pass" else
           "the weights are not small (or the loss is wired wrong): the net starts out confident")
    return Verdict("initial_loss", t, verdict, nums, rule,
                   f"The loss starts at {dl:.4f} against {what} = {expected:.4f} ({ratio:.2f}x): {why}.")


def reg_raises_loss(graph: Graph, cfg, data: Data) -> Verdict:
    cfg = _cfg(graph, cfg)
    t = TITLES["reg_raises_loss"]
    regs = _reg_nodes(graph)
    if not regs:
        return Verdict("reg_raises_loss", t, "n/a", {}, "needs a regulariser node",
                       "The graph has no regulariser node, so there is nothing to raise the loss.")
    fw = _Forward(graph, cfg, data)
    fw.set_reg(0.0)
    off, _ = fw.losses()
    strength = max(float(graph.nodes[regs[0]].params.get("strength", 0.0)) * 10, 1e-3)
    fw.set_reg(strength)
    on, _ = fw.losses()
    nums = {"loss_reg_off": off, "loss_reg_on": on, "strength": strength}
    rule = f"the loss with λ = {strength:.3g} must exceed the loss with λ = 0"
    if on > off:
        return Verdict("reg_raises_loss", t, "pass", nums, rule,
                       f"λ = {strength:.3g} raises the loss from {off:.4f} to {on:.4f}, as it must.")
    return Verdict("reg_raises_loss", t, "fail", nums, rule,
                   f"λ = {strength:.3g} leaves the loss at {on:.4f} (λ = 0: {off:.4f}): the regulariser does "
                   "not reach the loss.")


def overfit(graph: Graph, cfg, data: Data, n: int = 20, epochs: int = 200, target: float = 0.05) -> Verdict:
    cfg = _cfg(graph, cfg)
    r = overfit_tiny(graph, cfg, n=n, epochs=epochs, data=data, target_loss=target)
    start = r["history"][0]["train_loss"] if r["history"] else math.nan
    nums = {"examples": min(n, len(data.X_train)), "epochs": epochs, "start_loss": start, "loss": r["loss"],
            "accuracy": r["acc"]}
    rule = f"{nums['examples']} examples, {epochs} full-batch epochs, λ = 0: loss <= {target} and 100% accuracy"
    t = TITLES["overfit"]
    if r["ok"]:
        return Verdict("overfit", t, "pass", nums, rule,
                       f"The net drove the loss on {nums['examples']} examples to {r['loss']:.3g}: it can learn.")
    fell = math.isfinite(r["loss"]) and math.isfinite(start) and r["loss"] < 0.1 * start
    acc = "" if r["acc"] is None else f", accuracy {r['acc']:.0%}"
    return Verdict("overfit", t, "warn" if fell else "fail", nums, rule,
                   f"The loss on {nums['examples']} examples only reached {r['loss']:.3g}{acc}: "
                   + ("close; more epochs or a higher learning rate" if fell
                      else "something is wrong (the learning rate, the wiring or the net)") + ".")


def short_run(graph: Graph, cfg, data: Data, steps: int = 100) -> dict:
    """Train a copy for `steps` steps at the file's settings; per-step losses and update/weight ratios."""
    cfg = _cfg(graph, cfg)
    g = graph.copy()
    losses: list[float] = []
    ratios: dict[str, list[float]] = {}
    holder: dict = {}

    def on_step(m: dict) -> None:
        losses.append(float(m["loss"]))
        for k, v in m["update_ratio"].items():
            ratios.setdefault(k, []).append(float(v))
        if len(losses) >= steps:
            holder["t"].stop()

    epochs = max(1, math.ceil(steps / max(1, math.ceil(len(data.X_train) / (cfg.batch_size or len(data.X_train))))))
    small = cfg.merged(epochs=epochs + 1, early_stopping=None, report_every=1)
    holder["t"] = tr = Trainer(g, small, data=data, on_step=on_step)
    res = tr.run()
    if res.status == "diverged":
        losses.append(math.nan)
    return {"losses": losses, "ratios": ratios, "status": res.status, "message": res.message}


def update_ratio(run: dict) -> Verdict:
    t = TITLES["update_ratio"]
    weights = {k: float(np.median(v)) for k, v in run["ratios"].items() if v and not k.endswith(".b")}
    rule = (f"median over the run of |lr x update| / |W| per weight: {RATIO_GOOD[0]:g}..{RATIO_GOOD[1]:g} pass, "
            f"{RATIO_WARN[0]:g}..{RATIO_WARN[1]:g} warn")
    if not weights:
        return Verdict("update_ratio", t, "n/a", {}, rule, "No weight was updated.")
    worst = max(weights, key=lambda k: abs(math.log10(max(weights[k], 1e-300)) + 3))
    r = weights[worst]

    def grade(v: float) -> str:
        if not math.isfinite(v):
            return "fail"
        if RATIO_GOOD[0] <= v <= RATIO_GOOD[1]:
            return "pass"
        return "warn" if RATIO_WARN[0] <= v <= RATIO_WARN[1] else "fail"

    verdict = grade(r)
    listing = ", ".join(f"{k} {v:.2g}" for k, v in weights.items())
    if verdict == "pass":
        why = f"Every weight moves by about a thousandth of its size per step ({listing})."
    elif r > RATIO_GOOD[1]:
        why = f"{worst} changes by {r:.2g} of its size per step: the learning rate is probably too high ({listing})."
    else:
        why = f"{worst} changes by only {r:.2g} of its size per step: the learning rate is probably too low ({listing})."
    return Verdict("update_ratio", t, verdict, dict(weights), rule,
                   why if verdict == "pass" else "The weight " + why)


def loss_curve(run: dict) -> Verdict:
    d = diagnose_curve(run["losses"])
    return Verdict("loss_curve", TITLES["loss_curve"], d["verdict"], {"shape": d["shape"], **d["numbers"]},
                   d["rule"], d["explanation"])


def gradient_check(graph: Graph, cfg, data: Data, rows: int = 4) -> Verdict:
    from ..gradcheck import gradcheck

    cfg = _cfg(graph, cfg)
    fw = _Forward(graph, cfg, data, limit=rows)
    rep = gradcheck(fw.g, target=fw.roles["loss"], data_rows=rows)
    worst = rep.worst(1)
    name = rep.names.get(worst[0][0], worst[0][0]) if worst else "-"
    err = rep.max_error
    nums = {"max_relative_error": err, "worst": name, "arrays": len(rep.errors)}
    rule = f"max relative error < {GRAD_GOOD:g} pass, < {GRAD_WARN:g} warn (the notes' bands), on {rows} examples"
    verdict = "pass" if err < GRAD_GOOD else ("warn" if err < GRAD_WARN else "fail")
    shown = "0 (within rounding)" if err == 0 else f"{err:.2g}"
    text = {"pass": "the analytic gradients match centred differences",
            "warn": "uncomfortable: look at that array (a kink, or a subtle bug)",
            "fail": "the analytic gradient is wrong"}[verdict]
    return Verdict("gradient_check", TITLES["gradient_check"], verdict, nums, rule,
                   f"Largest relative error {shown} (at {name}): {text}.")


def iter_checks(graph: Graph, cfg: TrainConfig | dict | None = None, base_dir: str | None = None,
                data: Data | None = None, policy: DataPolicy | None = None, n: int = 20, epochs: int = 200,
                steps: int = 100, stop: Callable[[], bool] | None = None) -> Iterator[Verdict]:
    """Every check in order, each yielded as soon as it is decided; `stop()` true ends the run between two."""
    cfg = _cfg(graph, cfg)
    data = data or load_data(cfg, base_dir, task=detect_roles(graph, cfg)["task"], policy=policy,
                             graph_file=graph.file)
    run: dict = {}

    def with_run(fn):
        if not run:
            run.update(short_run(graph, cfg, data, steps))
        return fn(run)

    steps_list = (lambda: initial_loss(graph, cfg, data), lambda: reg_raises_loss(graph, cfg, data),
                  lambda: overfit(graph, cfg, data, n, epochs), lambda: with_run(update_ratio),
                  lambda: with_run(loss_curve), lambda: gradient_check(graph, cfg, data))
    for step in steps_list:
        if stop is not None and stop():
            return
        yield step()


def run_checks(graph: Graph, cfg=None, **kw) -> list[Verdict]:
    return list(iter_checks(graph, cfg, **kw))


__all__ = ["TITLES", "VERDICTS", "Verdict", "gradient_check", "initial_loss", "iter_checks", "loss_curve",
           "overfit", "reg_raises_loss", "run_checks", "short_run", "update_ratio"]
