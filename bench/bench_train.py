"""Training-step time: the graph executor vs plain numpy vs PyTorch CPU, side by side.

    python bench/bench_train.py [--threads 1 2] [--torch-python PATH] [--quick]

One step = forward + backward + SGD update on a fixed batch, float32, timed one
step at a time; the figure is the median. Each (implementation, workload,
threads) runs in its own subprocess with OMP/OPENBLAS/MKL/NUMBA thread counts
set in its environment. Workloads:
    spiral_full  the CS231n spiral net 2-100-3 (ReLU, softmax + L2), batch 300
    spiral_b32   the same net, batch 32
    mlp          784-256-10 (ReLU, softmax), batch 128
    cnn          digits CNN: conv 3x3 (32 filters, pad 1) -> ReLU -> 2x2 max pool -> linear 10, batch 64
The graph executor is timed through the Trainer's step, exactly the training path
(`diag` adds the per-step diagnostics: gradient norms, update ratios, dead ReLUs).
PyTorch runs with --torch-python (or BENCH_TORCH_PYTHON), else in this interpreter
if it can import torch, else it is skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _torch_ref import pinned, thread_env, torch_python, torch_step, torch_version
from _workloads import REG, ROOT, WORKLOADS, build_graph, median_us

IMPLS = ("graph", "graph_diag", "numpy", "torch")
LR = 0.01


def _median_us(step, steps: int, warm: int) -> float:
    return median_us(step, steps, warm)


def _data(np, workload: str):
    rng = np.random.default_rng(0)
    n = WORKLOADS[workload]["n"]
    if workload.startswith("spiral"):
        sys.path.insert(0, ROOT)
        from graphcore.train.datasets import spiral

        ds = spiral()
        idx = rng.permutation(300)[:n]
        return ds.X[idx].astype(np.float32), ds.y[idx], 3
    if workload == "mlp":
        return rng.standard_normal((n, 784)).astype(np.float32), rng.integers(0, 10, n), 10
    return rng.standard_normal((n, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, n), 10


# ------------------------------------------------------------------ graph executor
def bench_graph(workload: str, steps: int, diag: bool) -> float:
    import numpy as np

    sys.path.insert(0, ROOT)
    from graphcore.train.trainer import Data, Trainer

    X, y, C = _data(np, workload)
    g = build_graph(workload, X, y)
    cfg = {"features": "x", "labels": "y", "loss": "loss", "optimizer": {"kind": "sgd", "lr": LR},
           "batch_size": 0, "dtype": "float32"}
    data = Data(X, y, X[:0], y[:0], "classification", C)
    tr = Trainer(g, cfg, data=data)
    tr.prepare()
    return _median_us(lambda: tr.train_step(X, y, LR, report=diag), steps, warm=max(20, steps // 10))


# ------------------------------------------------------------------ plain numpy
def bench_numpy(workload: str, steps: int) -> float:
    import numpy as np

    X, y, C = _data(np, workload)
    rng = np.random.default_rng(1)
    f32 = np.float32
    n = len(X)

    def softmax_ce(scores):
        shifted = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean()
        p[np.arange(n), y] -= 1
        return loss, p / n

    if workload in ("spiral_full", "spiral_b32", "mlp"):
        D, H = (2, 100) if workload.startswith("spiral") else (784, 256)
        reg = REG if workload.startswith("spiral") else 0.0
        W1 = (0.01 * rng.standard_normal((D, H))).astype(f32)
        b1 = np.zeros(H, f32)
        W2 = (0.01 * rng.standard_normal((H, C))).astype(f32)
        b2 = np.zeros(C, f32)

        def step():  # the CS231n neural-networks case study, step for step
            hidden = np.maximum(0, X @ W1 + b1)
            scores = hidden @ W2 + b2
            loss, dscores = softmax_ce(scores)
            loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
            dW2 = hidden.T @ dscores
            db2 = dscores.sum(axis=0)
            dhidden = dscores @ W2.T
            dhidden[hidden <= 0] = 0
            dW1 = X.T @ dhidden
            db1 = dhidden.sum(axis=0)
            if reg:
                dW2 += reg * W2
                dW1 += reg * W1
            for p, d in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
                p -= LR * d
            return loss
        return _median_us(step, steps, warm=max(20, steps // 10))

    F, K = 32, 3
    Wc = (rng.standard_normal((F, 1, K, K)) * np.sqrt(2 / 9)).astype(f32)
    bc = np.zeros(F, f32)
    Wl = (rng.standard_normal((F * 16, C)) * 0.05).astype(f32)
    bl = np.zeros(C, f32)
    from numpy.lib.stride_tricks import sliding_window_view

    def step():
        xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
        cols = sliding_window_view(xp, (K, K), axis=(2, 3))  # (N, 1, 8, 8, 3, 3)
        cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * 64, 9)
        conv = (cols @ Wc.reshape(F, 9).T + bc).reshape(n, 8, 8, F).transpose(0, 3, 1, 2)
        a = np.maximum(conv, 0)
        win = a.reshape(n, F, 4, 2, 4, 2)
        pooled = win.max(axis=(3, 5))
        flat = pooled.reshape(n, -1)
        scores = flat @ Wl + bl
        loss, ds = softmax_ce(scores)
        dWl = flat.T @ ds
        dbl = ds.sum(axis=0)
        dpool = (ds @ Wl.T).reshape(n, F, 4, 1, 4, 1)
        mask = win == pooled[:, :, :, None, :, None]
        da = (mask * dpool).reshape(n, F, 8, 8)
        da[conv <= 0] = 0
        dflat = da.transpose(0, 2, 3, 1).reshape(n * 64, F)
        dWc = (dflat.T @ cols).reshape(F, 1, K, K)
        dbc = dflat.sum(axis=0)
        for p, d in ((Wc, dWc), (bc, dbc), (Wl, dWl), (bl, dbl)):
            p -= LR * d
        return loss
    return _median_us(step, steps, warm=max(20, steps // 10))


# ------------------------------------------------------------------ PyTorch
def bench_torch(workload: str, steps: int, threads: int) -> float:
    return _median_us(torch_step(workload, "float32", threads, lr=LR), steps, warm=max(20, steps // 10))


# ------------------------------------------------------------------ driver
def worker(impl: str, workload: str, threads: int, steps: int) -> None:
    if impl == "graph":
        us = bench_graph(workload, steps, diag=False)
    elif impl == "graph_diag":
        us = bench_graph(workload, steps, diag=True)
    elif impl == "numpy":
        us = bench_numpy(workload, steps)
    else:
        us = bench_torch(workload, steps, threads)
    print(json.dumps({"us": us}))


def run_one(python: str, impl: str, workload: str, threads: int, steps: int) -> float | None:
    r = subprocess.run([python, os.path.abspath(__file__), "--worker", impl, workload, str(threads), str(steps)],
                       capture_output=True, text=True, env=thread_env(threads), cwd=ROOT, timeout=600,
                       preexec_fn=pinned(threads))
    if r.returncode != 0:
        print(f"  {impl} {workload} failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])["us"]


def fmt(us: float | None) -> str:
    if us is None:
        return "-"
    return f"{us:8.1f} us" if us < 1000 else f"{us / 1000:8.3f} ms"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    p.add_argument("--torch-python")
    p.add_argument("--quick", action="store_true", help="a fifth of the steps")
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        impl, workload, threads, steps = a.worker
        worker(impl, workload, int(threads), int(steps))
        return
    tp = torch_python(a.torch_python, os.environ.get("BENCH_TORCH_PYTHON"), sys.executable)
    if tp is None:
        print("PyTorch not importable: skipping it (pass --torch-python or set BENCH_TORCH_PYTHON)")
    else:
        print(f"PyTorch {torch_version(tp)} from {tp}")
    print(f"median training-step time (forward + backward + SGD update), float32, {os.cpu_count()} cores\n")
    header = f"{'workload':12s} {'thr':>3s} {'graph':>12s} {'graph+diag':>12s} {'numpy':>12s} {'torch':>12s}" \
             f"   {'numpy/graph':>11s} {'torch/graph':>11s}"
    print(header)
    print("-" * len(header))
    results = []
    for workload in a.workloads:
        steps = WORKLOADS[workload]["steps"] // (5 if a.quick else 1)
        for threads in a.threads:
            row = {}
            for impl in IMPLS:
                if impl == "torch":
                    row[impl] = run_one(tp, impl, workload, threads, steps) if tp else None
                else:
                    row[impl] = run_one(sys.executable, impl, workload, threads, steps)
            g = row["graph"]
            rn = f"{row['numpy'] / g:10.2f}x" if g and row["numpy"] else "-"
            rt = f"{row['torch'] / g:10.2f}x" if g and row["torch"] else "-"
            print(f"{workload:12s} {threads:3d} {fmt(g):>12s} {fmt(row['graph_diag']):>12s} {fmt(row['numpy']):>12s} "
                  f"{fmt(row['torch']):>12s}   {rn:>11s} {rt:>11s}", flush=True)
            results.append({"workload": workload, "threads": threads, **row})
    print("\nratios > 1 mean the graph executor is faster. Goals: spiral_b32 torch/graph >= 5, spiral_full >= 2.5, "
          "mlp >= 1, cnn >= 1.5")


if __name__ == "__main__":
    main()
