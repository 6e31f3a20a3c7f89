"""`main.py train | sanity`: headless training from a graph file's own settings (`search`: search_cli).

Flags and output paths are checked before the data is loaded, so a long run is never
lost to a typo; bad files and settings are one `error:` line and exit 2; a run that
diverges (NaN/Inf) names the node and exits 1.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os
import sys

import numpy as np

from .cli_common import (UsageError, add_common, check_output, check_training_memory, emit_json, load_valid_graph,
                         names_only, nonnegative, positive, printable, progress, same_file, whole)
from .fileformat import save
from .numfmt import fmt_number
from .train import datapath
from .train.config import MAX_RATE, ConfigError, TrainConfig
from .train.datasets import DatasetError

CSV_COLUMNS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds",
               "train_data_loss", "train_reg_loss")


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def write_metrics(path: str, history: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")  # plain lines, as every other text file here
        w.writerow(CSV_COLUMNS)
        for row in history:
            w.writerow([_csv_value(row.get(c)) for c in CSV_COLUMNS])


def pct(v) -> str:
    """Accuracy as a percentage with one decimal: 0.9667 must not read as a stated 0.97."""
    return "-" if v is None else f"{100 * v:.1f}%"


def _config(g, args) -> TrainConfig:
    raw = g.meta.get("training")
    if raw is None and getattr(args, "data", None):
        raw = {}  # an imported ONNX model carries no settings: --data and TrainConfig's defaults
    if raw is None:
        raise ConfigError("the graph has no training settings (meta.training); save it from the Train panel, "
                          "add them to the file, or give the data with --data PATH to train with the defaults")
    if not isinstance(raw, dict):
        raise ConfigError("meta.training must be an object")
    cfg = TrainConfig.from_dict(raw)
    over = {}
    if getattr(args, "epochs", None) is not None:
        over["epochs"] = args.epochs
    if getattr(args, "batch_size", None) is not None:
        over["batch_size"] = args.batch_size
    if getattr(args, "lr", None) is not None:
        _check_lr(args.lr, cfg.dtype)
        over["optimizer"] = {**cfg.optimizer, "lr": args.lr}
    if getattr(args, "seed", None) is not None:
        over["seed"] = args.seed
    if getattr(args, "data", None):  # the user's own file replaces the one the graph names
        kind = "npz" if args.data.lower().endswith(".npz") else "csv"
        old = cfg.dataset if isinstance(cfg.dataset, dict) and cfg.dataset.get("name") == kind else {}
        over["dataset"] = {**old, "name": kind, "path": os.path.abspath(args.data)}
    return cfg.merged(**over) if over else cfg


def _check_lr(lr: float, dtype, flag: str = "--lr") -> None:
    """--lr must be a normal number of the graph's dtype: 1e308 overflows float32, 1e-50 rounds to 0."""
    info = np.finfo(np.dtype(dtype))
    if not (math.isfinite(lr) and float(info.tiny) <= lr <= float(info.max)):
        raise UsageError(f"argument {flag}: {lr:g} does not fit this graph's {np.dtype(dtype).name} "
                         f"(from {info.tiny:.3g} to {info.max:.3g})")
    if lr > MAX_RATE:
        raise UsageError(f"argument {flag}: {lr:g} is over the limit of {MAX_RATE:g}: the weights would "
                         "overflow to inf in one step")


def _size(text: str) -> int:
    """An argparse type: a size such as 512M or 2G."""
    try:
        return datapath.parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_data_flags(p) -> None:
    p.add_argument("--data", metavar="PATH", help="train on this CSV or NPZ file instead of the data the graph "
                                                  "names (a graph file may only name data in its own folder)")
    p.add_argument("--data-limit", metavar="SIZE", type=_size,
                   help=f"largest data file, and largest data array as float64, e.g. 1G "
                        f"(default: {datapath.fmt_size(datapath.MAX_BYTES).replace(' ', '')})")
    p.add_argument("--max-points", type=whole(1), metavar="N",
                   help=f"most examples a data set may have (default: {datapath.MAX_POINTS})")
    p.add_argument("--max-classes", type=whole(1), metavar="N",
                   help=f"class labels must be below this (default: {datapath.MAX_CLASSES})")


def _with_data_policy(fn):
    """Settle the data policy the command's flags set (limits, the --data file) as `args.data_policy`,
    which the command hands explicitly to everything that reads data, worker processes included."""
    def run(args) -> int:
        policy = datapath.DataPolicy(hint="pass --data PATH on the command line")
        over = {k: v for k, v in (("max_bytes", args.data_limit), ("max_points", args.max_points),
                                  ("max_classes", args.max_classes)) if v is not None}
        if over:
            policy = dataclasses.replace(policy, **over)
        if args.data is not None:
            if not args.data.strip():
                raise UsageError("argument --data: an empty path; give a CSV or NPZ file")
            if not os.path.exists(args.data):
                raise UsageError(f"argument --data: {datapath.short_path(args.data)}: no such file")
            kind = datapath.describe(args.data)
            if kind is not None:
                raise UsageError(f"argument --data: {datapath.short_path(args.data)} is {kind}, not a regular file")
            policy = policy.allowing(args.data)
        args.data_policy = policy
        return fn(args)
    run.__name__ = fn.__name__
    return run


def _data(g, cfg: TrainConfig, base: str, args):
    """Load and split the data once, after checking every label against the model's class count.

    A problem with a file given by --data names that flag, not the graph file."""
    from .train import datasets
    from .train.trainer import detect_roles, load_data

    if cfg.dataset is None:
        raise ConfigError("meta.training.dataset: no dataset named (e.g. {\"name\": \"spiral\"})")
    roles = detect_roles(g, cfg)
    try:
        ds = datasets.load(cfg.dataset, base_dir=base, task=roles.get("task"), policy=args.data_policy)
        shapes, _ = g.infer_shapes()
        scores = shapes.get(roles["scores"]) if roles["scores"] else None
        if scores is not None and len(scores) == 2:
            datasets.check_labels(ds, int(scores[1]))
        return load_data(cfg, base, dataset=ds)
    except DatasetError as exc:
        if getattr(args, "data", None):
            raise UsageError(f"argument --data: {printable(exc)}") from None
        raise ConfigError(f"meta.training.dataset: {exc}") from None


def cmd_train(args) -> int:
    from .train.trainer import Trainer

    check_output(args.out, "--out")
    check_output(args.metrics, "--metrics", regular=False)  # written in place: /dev/stdout or a pipe is fine
    if same_file(args.out, args.metrics):
        raise UsageError(f"argument --metrics: {printable(args.metrics)} is also the --out file; "
                         "give them different names")
    g = load_valid_graph(args.file, args)
    cfg = _config(g, args)
    if args.reg is not None:
        from .train.search import set_reg_strength

        if not set_reg_strength(g, args.reg):
            raise UsageError("argument --reg: the graph has no regulariser (l2, l1, elastic_net...) to set")
    file_dataset = (g.meta.get("training") or {}).get("dataset")
    if args.seed is not None:
        g.reinitialize(args.seed)
        g.opt_state.clear()
    base = os.path.dirname(os.path.abspath(args.file))
    data = _data(g, cfg, base, args)
    check_training_memory(g, cfg, data)
    bar = progress(cfg.epochs, "train", "epoch", args.quiet)

    def on_epoch(row):
        post = {"loss": fmt_number(row["train_loss"])}
        if row.get("train_acc") is not None:
            post["acc"] = pct(row["train_acc"])
        if row.get("val_acc") is not None:
            post["val_acc"] = pct(row["val_acc"])
        post["lr"] = fmt_number(row["lr"])
        bar.set_postfix(post, refresh=False)
        bar.update(1)

    trainer = Trainer(g, cfg, base_dir=base, data=data, on_epoch=on_epoch, policy=args.data_policy)
    try:
        result = trainer.run()
    except KeyboardInterrupt:  # Ctrl+C: keep what was trained, as the Stop button does
        bar.close()
        return _interrupted(g, cfg, args, file_dataset, trainer)
    finally:
        bar.close()
    if result.status == "diverged":
        _write_metrics(args.metrics, result.history)
        print(f"error: {args.file}: training diverged: {names_only(result.message, g)}", file=sys.stderr)
        return 1
    _save_out(g, cfg, args, file_dataset)  # the trained graph first: a failed metrics write must not lose it
    _write_metrics(args.metrics, result.history)
    last = result.history[-1] if result.history else {}
    f = result.final
    met = result.meets(cfg.expect)
    if args.json:
        emit_json({"command": "train", "file": args.file, "status": result.status, "message": result.message,
                   "epochs": result.epochs, "steps": result.steps,
                   "last_epoch": {k: last.get(k) for k in ("train_loss", "train_acc", "lr")} if last else None,
                   "final": {k: f.get(k) for k in ("train_loss", "train_acc", "val_loss", "val_acc")},
                   "expect": {k: {"stated": cfg.expect[k], "reached": ok} for k, ok in met.items()},
                   "out": args.out, "metrics": args.metrics})
        return 0
    print(f"{result.status} after {result.epochs} epochs ({result.steps} steps)")
    if last:
        acc = f", acc {pct(last['train_acc'])}" if last.get("train_acc") is not None else ""
        print(f"  last epoch, mean over its batches while the weights moved: loss {fmt_number(last['train_loss'])}"
              + acc)
    parts = [f"train loss {fmt_number(f['train_loss'])}"] if f.get("train_loss") is not None else []
    parts += [f"train acc {pct(f['train_acc'])}"] if f.get("train_acc") is not None else []
    parts += [f"val loss {fmt_number(f['val_loss'])}"] if f.get("val_loss") is not None else []
    parts += [f"val acc {pct(f['val_acc'])}"] if f.get("val_acc") is not None else []
    if parts:
        print("  final evaluation of the trained weights (eval mode, whole splits): " + ", ".join(parts))
    if result.message and result.status != "finished":
        print("  " + result.message)
    for k, ok in met.items():
        have = f.get(k)
        shown = pct(have) if k.endswith("acc") else fmt_number(have) if have is not None else "-"
        print(f"  stated {k} {'>=' if k.endswith('acc') else '<='} {cfg.expect[k]}: "
              f"{'reached' if ok else 'MISSED'} ({shown})")
    return 0


def _save_out(g, cfg, args, file_dataset) -> None:
    if not args.out:
        return
    g.meta["training"] = cfg.to_dict()
    if args.data:  # the file keeps naming its own data, not the one --data gave for this run
        g.meta["training"]["dataset"] = file_dataset
    try:
        save(g, args.out)
    except OSError as exc:
        raise UsageError(f"argument --out: {printable(args.out)}: {exc.strerror or exc}") from None


def _write_metrics(path: str | None, history: list[dict]) -> None:
    if not path:
        return
    try:
        write_metrics(path, history)
    except OSError as exc:
        raise UsageError(f"argument --metrics: {printable(path)}: {exc.strerror or exc}") from None


def _interrupted(g, cfg, args, file_dataset, trainer) -> int:
    """Save the weights trained so far (and the epochs' metrics), say so, exit 130."""
    g.meta["training_state"] = {"epochs_done": trainer.epochs_done, "steps_done": trainer.steps_done}
    done = f"interrupted after {trainer.epochs_done} epochs ({trainer.steps_done} steps)"
    try:
        _save_out(g, cfg, args, file_dataset)
        _write_metrics(args.metrics, list(trainer.history))
    except UsageError as exc:
        print(f"{done}; error: {exc}", file=sys.stderr)
        return 130
    saved = [f"the weights so far to {printable(args.out)}"] if args.out else []
    saved += [f"the metrics to {printable(args.metrics)}"] if args.metrics else []
    print(done + ("; saved " + " and ".join(saved) if saved else "; nothing saved (no --out)"), file=sys.stderr)
    return 130


def cmd_sanity(args) -> int:
    from .train import babysit

    g = load_valid_graph(args.file, args)
    if not isinstance(g.meta.get("training"), dict):  # a circuit: nothing to babysit, and nothing wrong
        na = babysit.sanity(g)
        if args.json:
            emit_json({"command": "sanity", "file": args.file, "ok": True, "applicable": False,
                       "message": na["message"]})
        else:
            print(f"{args.file}: {na['message']}")
        return 0
    cfg = _config(g, args)
    base = os.path.dirname(os.path.abspath(args.file))
    data = _data(g, cfg, base, args)
    check_training_memory(g, cfg, data)
    if args.all:
        return _sanity_all(g, cfg, base, data, args)
    init = babysit.initial_loss_check(g, cfg, base_dir=base, data=data, policy=args.data_policy)
    if not args.json:
        print(init["message"])
    over = babysit.overfit_tiny(g, cfg, n=args.n, epochs=args.overfit_epochs, base_dir=base, data=data,
                                policy=args.data_policy)
    ok = bool(init["ok"] and over["ok"])
    if args.json:
        emit_json({"command": "sanity", "file": args.file, "ok": ok, "applicable": True,
                   "initial_loss": {k: init[k] for k in ("ok", "loss", "data_loss", "reg_loss", "expected",
                                                         "reg_raises_loss", "message")},
                   "overfit": {"ok": over["ok"], "n": min(args.n, len(data.X_train)), "epochs": args.overfit_epochs,
                               "loss": over["loss"], "acc": over["acc"], "message": over["message"]}})
    else:
        print(over["message"])
    return 0 if ok else 1


def _sanity_all(g, cfg, base, data, args) -> int:
    """`sanity --all`: every babysitting check (graphcore.train.checks), one verdict line each as it is decided."""
    from .train import checks

    got = []
    for v in checks.iter_checks(g, cfg, base_dir=base, data=data, policy=args.data_policy, n=args.n,
                                epochs=args.overfit_epochs):
        got.append(v)
        if not args.json:
            print(f"{v.verdict.upper():4s}  {v.title}: {v.explanation}", flush=True)
    ok = not any(v.verdict == "fail" for v in got)
    if args.json:
        emit_json({"command": "sanity", "file": args.file, "ok": ok, "applicable": True,
                   "checks": [v.to_dict() for v in got]})
    return 0 if ok else 1


def add_commands(sub) -> None:
    errors = (ConfigError, DatasetError)
    t = sub.add_parser("train", help="train with the settings stored in the file; progress bar on stderr",
                       description="Train the graph with its meta.training settings, then print the last "
                                   "epoch's running figures and the final evaluation of the trained weights.")
    t.add_argument("file", help="graph file (.json) with meta.training")
    t.add_argument("--epochs", type=whole(0), help="number of epochs (default: the file's meta.training.epochs)")
    t.add_argument("--batch-size", type=whole(0),
                   help="examples per step, 0 = full batch (default: the file's meta.training.batch_size)")
    t.add_argument("--lr", type=positive, help="learning rate (default: the file's optimizer lr)")
    t.add_argument("--reg", type=nonnegative, metavar="STRENGTH",
                   help="strength of every regulariser in the graph (default: each one's own, from the file)")
    t.add_argument("--seed", type=whole(0),
                   help="re-draw the weights and reseed the data order (default: keep the file's weights)")
    t.add_argument("--out", metavar="FILE", help="write the trained graph (weights, optimizer state) here "
                                                 "(default: not written)")
    t.add_argument("--metrics", metavar="FILE",
                   help="write one CSV row per epoch: " + ",".join(CSV_COLUMNS) + " (default: not written)")
    _add_data_flags(t)
    add_common(t, quiet=True)
    t.set_defaults(fn=_with_data_policy(cmd_train), errors=errors)
    s = sub.add_parser("sanity", help="babysitting checks: initial loss ~ log(C), overfit a tiny subset",
                       description="Is the initial loss what small weights give (log(C) for softmax)? Does "
                                   "more regularisation raise it? Can the net overfit a few examples? "
                                   "Exit 0 when all hold, 1 when one does not.")
    s.add_argument("file", help="graph file (.json) with meta.training")
    s.add_argument("--n", type=whole(1), default=20, help="size of the tiny subset to overfit")
    s.add_argument("--overfit-epochs", type=whole(1), default=200, help="full-batch epochs on the tiny subset")
    s.add_argument("--all", action="store_true",
                   help="every check, each a verdict (pass/warn/fail/n/a) with its numbers and rule: also the "
                        "update/weight ratio, the loss curve's shape and a gradient check (exit 1 on a fail)")
    _add_data_flags(s)
    add_common(s)
    s.set_defaults(fn=_with_data_policy(cmd_sanity), errors=errors)
    from .search_cli import add_search_command

    add_search_command(sub, errors)


__all__ = ["CSV_COLUMNS", "add_commands", "write_metrics"]
