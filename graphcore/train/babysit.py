"""The notes' babysitting checks, run before a long training.

1. Initial loss: with small weights a softmax classifier's data loss is about
   log(C) (every class equally likely), a multiclass SVM's about (C - 1) * delta;
   turning regularisation on must raise the loss. The DATA loss is compared with
   the expectation (the regularisation loss is reported beside it, never counted
   in): within `tolerance` = 15% of it. With scores independent of the labels the
   expected cross-entropy is at least log(C) (log-sum-exp >= mean + log C), and it
   grows with the spread of the scores: for Gaussian scores a data loss 15% over
   log(C) means a standard deviation of about 0.7 (C = 2), 0.75 (C = 3) or 0.9
   (C = 10), weights too large to count as small (the digits CNN with Xavier
   scores started at 3.15 against 2.30). Below log(C) only sampling noise (or
   labels the scores already predict) can take it, hence the same 15% below. The pass runs in train mode, as the first training step does
   (batchnorm on batch statistics, not on running statistics that are still 0/1).
2. Overfit a tiny subset: with regularisation off, a working net and learning
   rate drive the loss on ~20 examples to near zero (100% accuracy).
Both work on copies: the caller's graph is never changed. `sanity` runs both, and
says "not applicable" for a graph without training settings (a circuit).
"""
from __future__ import annotations

import math

import numpy as np

from ..executor import Executor
from ..graph import Graph
from .config import TrainConfig
from .datapath import DataPolicy
from .trainer import Data, Trainer, detect_roles, load_data


def _reg_nodes(g: Graph) -> list[str]:
    return [nid for nid, n in g.nodes.items() if n.spec is not None and n.spec.category == "regularizers"]


def expected_initial_loss(op: str, n_classes: int, params: dict) -> float | None:
    if op == "softmax_cross_entropy":
        return math.log(n_classes)
    if op == "svm_loss":
        return (n_classes - 1) * float(params.get("delta", 1.0))
    return None


def initial_loss_check(graph: Graph, cfg: TrainConfig | dict | None = None, base_dir: str | None = None,
                       data: Data | None = None, tolerance: float = 0.15, limit: int = 1000,
                       policy: DataPolicy | None = None) -> dict:
    """Forward the training data once; compare the data loss with its small-weight expectation."""
    cfg = cfg if isinstance(cfg, TrainConfig) else TrainConfig.from_dict(cfg or graph.meta.get("training", {}))
    g = graph.copy()
    roles = detect_roles(g, cfg)
    data = data or load_data(cfg, base_dir, task=roles["task"], policy=policy, graph_file=graph.file)
    X, y = data.X_train[:limit], data.y_train[:limit]
    ex = Executor(g, dtype=np.dtype(cfg.dtype), mode="train", check="none", seed=cfg.seed)
    g.nodes[roles["features"]].tensors["value"] = X
    g.nodes[roles["labels"]].tensors["value"] = y

    def losses() -> tuple[float, float, float]:
        ex.forward()
        total = float(ex.values[roles["loss"]])
        dl = float(ex.values[roles["data"]]) if roles["data"] else total
        rl = float(ex.values[roles["reg"]]) if roles["reg"] else 0.0
        return total, dl, rl

    total, dl, rl = losses()
    dnode = g.nodes[roles["data"]] if roles["data"] else None
    expected = expected_initial_loss(dnode.op, data.n_classes, dnode.params) if dnode else None
    ok = math.isfinite(total)
    msg = [f"initial loss {total:.4f} (data {dl:.4f} + reg {rl:.4f})"]
    if expected is not None:
        close = abs(dl - expected) <= tolerance * expected
        ok = ok and close
        what = f"log({data.n_classes})" if dnode.op == "softmax_cross_entropy" else f"{data.n_classes}-1"
        msg.append(f"expected data loss about {what} = {expected:.4f} for small weights: "
                   + ("ok" if close else "OFF (weights too large, or a bug)"))
    higher = None
    regs = _reg_nodes(g)
    if regs:
        for nid in regs:
            g.set_param(nid, "strength", g.nodes[nid].params["strength"] * 10 + 1e-3)
        total10, _, _ = losses()
        higher = total10 > total
        ok = ok and higher
        msg.append(f"with 10x regularisation the loss is {total10:.4f}: "
                   + ("higher, as it must be" if higher else "NOT higher: the regulariser is not reaching the loss"))
    return {"ok": ok, "loss": total, "data_loss": dl, "reg_loss": rl, "expected": expected,
            "reg_raises_loss": higher, "message": "; ".join(msg)}


def overfit_tiny(graph: Graph, cfg: TrainConfig | dict | None = None, n: int = 20, epochs: int = 200,
                 base_dir: str | None = None, data: Data | None = None, target_loss: float = 0.05,
                 policy: DataPolicy | None = None) -> dict:
    """Train a copy on `n` training examples, full batch, regularisation off; expect ~zero loss."""
    cfg = cfg if isinstance(cfg, TrainConfig) else TrainConfig.from_dict(cfg or graph.meta.get("training", {}))
    g = graph.copy()
    g.opt_state.clear()
    for nid in _reg_nodes(g):
        g.set_param(nid, "strength", 0.0)
    full = data or load_data(cfg, base_dir, task=detect_roles(g, cfg)["task"], policy=policy, graph_file=graph.file)
    tiny = Data(full.X_train[:n], full.y_train[:n], full.X_train[:0], full.y_train[:0], full.task,
                full.n_classes, full.prep)
    small = cfg.merged(epochs=epochs, batch_size=0, val_fraction=0.0, early_stopping=None, augment={},
                       schedule={"kind": "constant"})
    res = Trainer(g, small, data=tiny).run()
    dl = res.history[-1]["train_data_loss"] if res.history else math.inf
    final_loss = res.final.get("train_loss", math.inf) if res.final else math.inf
    acc = res.final.get("train_acc") if res.final else None
    ok = res.status == "finished" and final_loss <= target_loss and (acc is None or acc == 1.0)
    msg = (f"overfit {len(tiny.X_train)} examples for {epochs} epochs, no regularisation: loss {final_loss:.4g}"
           + (f", accuracy {acc:.0%}" if acc is not None else "")
           + (": ok" if ok else f": NOT near zero (target <= {target_loss}); check the learning rate and the net")
           + ("" if res.status == "finished" else f" ({res.status}: {res.message})"))
    return {"ok": ok, "loss": final_loss, "last_epoch_loss": dl, "acc": acc, "history": res.history,
            "message": msg}


def sanity(graph: Graph, cfg: TrainConfig | dict | None = None, base_dir: str | None = None, n: int = 20,
           epochs: int = 200, data: Data | None = None, policy: DataPolicy | None = None) -> dict:
    """Both checks. A graph without training settings (meta.training) and no `cfg` is a circuit,
    not a classifier: the result says "not applicable" (applicable False, ok True)."""
    if cfg is None and not isinstance(graph.meta.get("training"), dict):
        return {"applicable": False, "ok": True, "initial": None, "overfit": None,
                "message": "not applicable: the graph has no training settings (meta.training), so it has "
                           "no data, labels or loss to check"}
    cfg = cfg if isinstance(cfg, TrainConfig) else TrainConfig.from_dict(cfg or graph.meta["training"])
    data = data or load_data(cfg, base_dir, task=detect_roles(graph, cfg)["task"], policy=policy,
                             graph_file=graph.file)
    init = initial_loss_check(graph, cfg, base_dir=base_dir, data=data)
    over = overfit_tiny(graph, cfg, n=n, epochs=epochs, base_dir=base_dir, data=data)
    return {"applicable": True, "ok": bool(init["ok"] and over["ok"]), "initial": init, "overfit": over,
            "message": init["message"] + "\n" + over["message"]}
