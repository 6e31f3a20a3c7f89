"""`main.py search`: random search of the learning rate and the regularisation strength, coarse then
fine, on local processes or a Dask cluster; it ends with the train command for the best setting."""
from __future__ import annotations

import os
import sys

from .cli_common import (UsageError, add_common, check_order, check_training_memory, command_prefix, emit_json,
                         load_valid_graph, positive, progress, shared_memory, whole)
from .numfmt import fmt_number
from .train_cli import _add_data_flags, _check_lr, _config, _data, _with_data_policy, pct


def cmd_search(args) -> int:
    from .train import search, trials

    check_order("--lr-min", args.lr_min, "--lr-max", args.lr_max)
    check_order("--reg-min", args.reg_min, "--reg-max", args.reg_max)
    g = load_valid_graph(args.file, args)
    cfg = _config(g, args)
    _check_lr(args.lr_min, cfg.dtype, "--lr-min")
    _check_lr(args.lr_max, cfg.dtype, "--lr-max")
    base = os.path.dirname(os.path.abspath(args.file))
    workers = 1 if args.dask else min(args.workers or os.cpu_count() or 1, args.trials)
    # a bad dataset or a net too big for its share of memory is one line here, not one per worker process
    data = _data(g, cfg, base, args)
    check_training_memory(g, cfg, data, workers)
    epochs = args.epochs_per_trial or search.trial_epochs(cfg, len(data.X_train) + len(data.X_val))
    try:
        runner = trials.make_runner(args.workers, args.dask)  # an unreachable scheduler: one line, exit 2
    except trials.SearchError as exc:
        raise UsageError(str(exc)) from None
    bar = progress(2 * args.trials, "search", "trial", args.quiet)

    def log(text: str) -> None:
        if not args.quiet:
            bar.write(text, file=sys.stderr)

    log(f"{args.trials} coarse then {args.trials} fine trials ({2 * args.trials} in all), {epochs} epochs each")

    def on_trial(t: dict) -> None:  # each trial as it finishes, in finishing order
        bar.update(1)
        log(f"  {t['stage']} trial: lr {fmt_number(t['lr'])} reg {fmt_number(t['reg'])} -> "
            f"val_acc {pct(t['val_acc'])} ({t['status']})")

    try:
        with shared_memory(workers):
            res = search.coarse_to_fine(g, cfg, trials=args.trials, epochs=epochs,
                                        lr_range=(args.lr_min, args.lr_max), reg_range=(args.reg_min, args.reg_max),
                                        workers=args.workers, seed=args.search_seed, base_dir=base, log=log,
                                        policy=args.data_policy, runner=runner, on_trial=on_trial)
    finally:
        bar.close()
        if isinstance(runner, trials.DaskRunner):
            runner.close()
    keys = ("stage", "lr", "reg", "status", "val_acc", "val_loss", "train_acc")
    if args.json:
        emit_json({"command": "search", "file": args.file, "trials": [{k: t.get(k) for k in keys}
                                                                       for t in res["trials"]],
                   "best": {k: res["best"].get(k) for k in keys}, "fine_lr_range": list(res["fine_lr_range"])})
        return 0
    print(f"{'stage':6s} {'lr':>9s} {'reg':>9s} {'val_acc':>8s} {'val_loss':>9s}")
    for t in res["trials"]:
        loss = "-" if t["val_loss"] is None else fmt_number(t["val_loss"])
        print(f"{t['stage']:6s} {fmt_number(t['lr']):>9s} {fmt_number(t['reg']):>9s} {pct(t['val_acc']):>8s} "
              f"{loss:>9s}")
    b = res["best"]
    loss = "-" if b["val_loss"] is None else fmt_number(b["val_loss"])
    print(f"best: lr {fmt_number(b['lr'])} reg {fmt_number(b['reg'])} (val_acc {pct(b['val_acc'])}, val_loss {loss})")
    print(f"  to train with it: {command_prefix()} train {args.file} --lr {b['lr']:.3g}"
          + (f" --reg {b['reg']:.3g}" if b["reg"] else ""))
    return 0


def add_search_command(sub, errors: tuple) -> None:
    from .train.search import TRIAL_STEPS

    r = sub.add_parser("search", help="random search over lr and reg (log-uniform), coarse then fine, on all cores",
                       description="Random search of the learning rate and the regularisation strength, "
                                   "log-uniform: a coarse stage over the ranges, then a fine stage around the "
                                   "best; one process per trial.")
    r.add_argument("file", help="graph file (.json) with meta.training")
    r.add_argument("--trials", type=whole(1), default=8,
                   help="trials PER STAGE: a coarse stage over the ranges, then a fine stage around its best, "
                        "so 2 x TRIALS trainings in all")
    r.add_argument("--epochs-per-trial", type=whole(1),
                   help=f"epochs each trial trains (default: enough for about {TRIAL_STEPS:,} optimizer steps, a "
                        "full-batch epoch being one step, but at most half the file's meta.training.epochs)")
    r.add_argument("--lr-min", type=positive, default=1e-4, help="smallest learning rate of the coarse stage")
    r.add_argument("--lr-max", type=positive, default=1.0, help="largest learning rate of the coarse stage")
    r.add_argument("--reg-min", type=positive, default=1e-5, help="smallest regularisation strength")
    r.add_argument("--reg-max", type=positive, default=1e-1, help="largest regularisation strength")
    r.add_argument("--workers", type=whole(1), help="processes (default: the number of cores)")
    r.add_argument("--search-seed", type=whole(0), default=0, help="seed of the sampled settings")
    r.add_argument("--dask", metavar="ADDRESS",
                   help="run the trials on the Dask scheduler at ADDRESS (tcp://host:8786) instead of local "
                        'processes; needs pip install "backprop-studio[distributed]" (default: local processes)')
    _add_data_flags(r)
    add_common(r, quiet=True)
    r.set_defaults(fn=_with_data_policy(cmd_search), errors=errors)
