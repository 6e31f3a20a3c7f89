"""`main.py train | sanity | search`: headless training from a graph file's own settings.

Bad files and bad settings print one line to stderr and exit 2; a run that
diverges (NaN/Inf) prints the node that produced it and exits 1.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time

from .cli import load_valid_graph
from .fileformat import GraphFormatError, save
from .train.config import ConfigError, TrainConfig
from .train.datasets import DatasetError

CSV_COLUMNS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds",
               "train_data_loss", "train_reg_loss")


class Progress:
    """A one-line progress bar on stderr, redrawn at most ~10 times a second."""

    def __init__(self, total: int, stream=None, width: int = 24) -> None:
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.width = width
        self.last = 0.0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, row: dict, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last = now
        k = row["epoch"]
        fill = int(self.width * k / self.total)
        parts = [f"epoch {k}/{self.total} [{'#' * fill}{'.' * (self.width - fill)}]",
                 f"loss {row['train_loss']:.4f}"]
        if row.get("train_acc") is not None:
            parts.append(f"acc {row['train_acc']:.3f}")
        if row.get("val_loss") is not None:
            parts.append(f"val_loss {row['val_loss']:.4f}")
        if row.get("val_acc") is not None:
            parts.append(f"val_acc {row['val_acc']:.3f}")
        parts.append(f"lr {row['lr']:.3g}  {row['seconds']:.1f}s")
        line = "  ".join(parts)
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def write_metrics(path: str, history: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for row in history:
            w.writerow([_fmt(row.get(c)) for c in CSV_COLUMNS])


def _config(g, args) -> TrainConfig:
    raw = g.meta.get("training")
    if raw is None:
        raise ConfigError("the graph has no training settings (meta.training); save it from the Train panel "
                          "or add them to the file")
    if not isinstance(raw, dict):
        raise ConfigError("meta.training must be an object")
    cfg = TrainConfig.from_dict(raw)
    over = {}
    if getattr(args, "epochs", None) is not None:
        over["epochs"] = args.epochs
    if getattr(args, "batch_size", None) is not None:
        over["batch_size"] = args.batch_size
    if getattr(args, "lr", None) is not None:
        over["optimizer"] = {**cfg.optimizer, "lr": args.lr}
    return cfg.merged(**over) if over else cfg


def cmd_train(args) -> int:
    from .train.trainer import Trainer

    g = load_valid_graph(args.file)
    cfg = _config(g, args)
    if args.seed is not None:
        cfg = cfg.merged(seed=args.seed)
        g.reinitialize(args.seed)
        g.opt_state.clear()
    bar = None if args.quiet else Progress(cfg.epochs)

    def on_epoch(row):
        if bar:
            bar.update(row, force=row["epoch"] == cfg.epochs)

    trainer = Trainer(g, cfg, base_dir=os.path.dirname(os.path.abspath(args.file)), on_epoch=on_epoch)
    result = trainer.run()
    if bar:
        bar.close()
    if args.metrics:
        write_metrics(args.metrics, result.history)
    if result.status == "diverged":
        print(f"error: training diverged: {result.message}", file=sys.stderr)
        return 1
    if args.out:
        g.meta["training"] = cfg.to_dict()
        save(g, args.out)
    f = result.final
    parts = [f"{k} {f[k]:.4f}" for k in ("train_loss", "train_acc", "val_loss", "val_acc") if f.get(k) is not None]
    print(f"{result.status} after {result.epochs} epochs ({result.steps} steps): " + ", ".join(parts))
    if result.message and result.status != "finished":
        print(result.message)
    met = result.meets(cfg.expect)
    for k, ok in met.items():
        print(f"stated {k} {'>=' if k.endswith('acc') else '<='} {cfg.expect[k]}: {'reached' if ok else 'MISSED'}")
    return 0


def cmd_sanity(args) -> int:
    from .train import babysit

    g = load_valid_graph(args.file)
    cfg = _config(g, args)
    base = os.path.dirname(os.path.abspath(args.file))
    init = babysit.initial_loss_check(g, cfg, base_dir=base)
    print(init["message"])
    over = babysit.overfit_tiny(g, cfg, n=args.n, epochs=args.overfit_epochs, base_dir=base)
    print(over["message"])
    return 0 if init["ok"] and over["ok"] else 1


def cmd_search(args) -> int:
    from .train import search

    g = load_valid_graph(args.file)
    cfg = _config(g, args)
    base = os.path.dirname(os.path.abspath(args.file))
    res = search.coarse_to_fine(g, cfg, trials=args.trials, epochs=args.epochs_per_trial,
                                lr_range=(args.lr_min, args.lr_max), reg_range=(args.reg_min, args.reg_max),
                                workers=args.workers, seed=args.search_seed, base_dir=base,
                                log=lambda s: print(s, file=sys.stderr))
    print(f"{'stage':6s} {'lr':>10s} {'reg':>10s} {'val_acc':>8s} {'val_loss':>9s}")
    for t in res["trials"]:
        acc = "-" if t["val_acc"] is None else f"{t['val_acc']:.3f}"
        loss = "-" if t["val_loss"] is None else f"{t['val_loss']:.4f}"
        print(f"{t['stage']:6s} {t['lr']:10.3g} {t['reg']:10.3g} {acc:>8s} {loss:>9s}")
    b = res["best"]
    print(f"best: lr {b['lr']:.3g} reg {b['reg']:.3g} (val_acc {b['val_acc']}, val_loss {b['val_loss']})")
    return 0


def _run(fn):
    def wrapped(args):
        try:
            return fn(args)
        except (ConfigError, DatasetError) as exc:
            print(f"error: {args.file}: {exc}", file=sys.stderr)
            return 2
        except GraphFormatError:
            raise
    return wrapped


def add_commands(sub) -> None:
    t = sub.add_parser("train", help="train with the settings stored in the file; show progress")
    t.add_argument("file")
    t.add_argument("--epochs", type=int, help="override the stored number of epochs")
    t.add_argument("--batch-size", type=int, help="override the stored batch size (0 = full batch)")
    t.add_argument("--lr", type=float, help="override the stored learning rate")
    t.add_argument("--seed", type=int, help="re-draw the weights and reseed data order with this seed")
    t.add_argument("--out", help="write the trained graph (weights and optimizer state) here")
    t.add_argument("--metrics", help="write one CSV row per epoch: epoch,train_loss,val_loss,train_acc,"
                                     "val_acc,lr,seconds (elapsed),train_data_loss,train_reg_loss")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(fn=_run(cmd_train))
    s = sub.add_parser("sanity", help="babysitting checks: initial loss ~ log(C), overfit a tiny subset")
    s.add_argument("file")
    s.add_argument("--n", type=int, default=20, help="size of the tiny subset")
    s.add_argument("--overfit-epochs", type=int, default=200)
    s.set_defaults(fn=_run(cmd_sanity))
    r = sub.add_parser("search", help="random search over lr and reg (log-uniform), coarse then fine, "
                                      "on all cores")
    r.add_argument("file")
    r.add_argument("--trials", type=int, default=8, help="trials per stage")
    r.add_argument("--epochs-per-trial", type=int, default=5)
    r.add_argument("--lr-min", type=float, default=1e-4)
    r.add_argument("--lr-max", type=float, default=1.0)
    r.add_argument("--reg-min", type=float, default=1e-5)
    r.add_argument("--reg-max", type=float, default=1e-1)
    r.add_argument("--workers", type=int, default=None, help="processes (default: the number of cores)")
    r.add_argument("--search-seed", type=int, default=0)
    r.set_defaults(fn=_run(cmd_search))
