"""Forward + backward through the public API (gc.Executor with its defaults) vs PyTorch CPU.

    python bench/bench_api.py [--rounds 3] [--quick] [--workloads spiral_b32 ...] [--dtypes float64 float32]

What a script or the GUI's Forward/Backward pays per pass: `Executor(g, dtype)`
with the default NaN/Inf check, `forward()` then `backward(loss)`, on a fixed
batch. PyTorch does the same pass (zero the gradients, loss, backward) in the same
dtype. Each (implementation, workload, dtype) runs in its own subprocess with one
thread (OMP/OPENBLAS/MKL/NUMBA), and the rounds alternate graph and torch so that
the machine's load drifts over both; the figure is the median over rounds of each
round's median per-pass time. Workloads (as bench_train.py):
    spiral_b32   CS231n spiral net 2-100-3 (ReLU, softmax + L2), batch 32
    spiral_full  the same, batch 300
    mlp          784-256-10 (ReLU, softmax), batch 128
    cnn          digits CNN: conv 3x3 (32 filters, pad 1) -> ReLU -> 2x2 max pool -> linear 10, batch 64
Goals (torch time / graph time): spiral_b32 >= 5, spiral_full >= 2.5, mlp >= 1, cnn >= 1.5.
PyTorch is a benchmark-only dependency (`pip install torch==2.13.0`); it is skipped when missing.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = {
    "spiral_b32": {"n": 32, "steps": 3000},
    "spiral_full": {"n": 300, "steps": 1500},
    "mlp": {"n": 128, "steps": 300},
    "cnn": {"n": 64, "steps": 400},
}
GOALS = {"spiral_b32": 5.0, "spiral_full": 2.5, "mlp": 1.0, "cnn": 1.5}
REG = 1e-3


def _median_us(step, steps: int) -> float:
    for _ in range(max(20, steps // 10)):
        step()
    pc = time.perf_counter
    times = []
    for _ in range(steps):
        t0 = pc()
        step()
        times.append(pc() - t0)
    return statistics.median(times) * 1e6


def _data(np, workload: str, dtype):
    rng = np.random.default_rng(0)
    n = WORKLOADS[workload]["n"]
    if workload.startswith("spiral"):
        return rng.standard_normal((n, 2)).astype(dtype), rng.integers(0, 3, n), 3
    if workload == "mlp":
        return rng.standard_normal((n, 784)).astype(dtype), rng.integers(0, 10, n), 10
    return rng.standard_normal((n, 1, 8, 8)).astype(dtype), rng.integers(0, 10, n), 10


def build_graph(workload: str, X, y):
    """The bench_train.py networks, as a script would build them."""
    import graphcore as gc

    g = gc.Graph()
    x = g.add("input", name="x", value=X)
    yy = g.add("input", name="y", value=y)
    if workload.startswith("spiral"):
        h = g.add("linear", inputs={"x": x}, units=100, init="normal")
        r = g.add("relu", inputs={"x": h})
        o = g.add("linear", inputs={"x": r}, units=3, init="normal")
        ce = g.add("softmax_cross_entropy", inputs={"scores": o, "labels": yy})
        reg = g.add("l2", strength=REG)
        g.add("total_loss", name="loss", inputs={"data": ce, "reg": reg})
    elif workload == "mlp":
        h = g.add("linear", inputs={"x": x}, units=256, init="he")
        r = g.add("relu", inputs={"x": h})
        o = g.add("linear", inputs={"x": r}, units=10)
        g.add("softmax_cross_entropy", name="loss", inputs={"scores": o, "labels": yy})
    else:
        c = g.add("conv2d", inputs={"images": x}, filters=32, size=3, stride=1, pad=1, init="he")
        r = g.add("relu", inputs={"x": c})
        p = g.add("max_pool", inputs={"x": r}, size=2, stride=2)
        f = g.add("flatten", inputs={"x": p})
        o = g.add("linear", inputs={"x": f}, units=10)
        g.add("softmax_cross_entropy", name="loss", inputs={"scores": o, "labels": yy})
    return g


def bench_graph(workload: str, dtype_name: str, steps: int, check: str) -> float:
    import numpy as np

    sys.path.insert(0, ROOT)
    import graphcore as gc

    X, y, _ = _data(np, workload, np.dtype(dtype_name))
    g = build_graph(workload, X, y)
    ex = gc.Executor(g, dtype=np.dtype(dtype_name), check=check)
    loss = g.find("loss")

    def step():
        ex.forward()
        ex.backward(loss)
    return _median_us(step, steps)


def bench_torch(workload: str, dtype_name: str, steps: int) -> float:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    dt = getattr(torch, dtype_name)
    n = WORKLOADS[workload]["n"]
    if workload.startswith("spiral"):
        X, y = torch.randn(n, 2, dtype=dt), torch.randint(0, 3, (n,))
        model = torch.nn.Sequential(torch.nn.Linear(2, 100), torch.nn.ReLU(), torch.nn.Linear(100, 3))
    elif workload == "mlp":
        X, y = torch.randn(n, 784, dtype=dt), torch.randint(0, 10, (n,))
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    else:
        X, y = torch.randn(n, 1, 8, 8, dtype=dt), torch.randint(0, 10, (n,))
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                    torch.nn.Flatten(), torch.nn.Linear(512, 10))
    model = model.to(dt)
    lossf = torch.nn.CrossEntropyLoss()
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    reg = REG if workload.startswith("spiral") else 0.0
    params = list(model.parameters())

    def step():
        for p in params:
            p.grad = None
        loss = lossf(model(X), y)
        if reg:
            loss = loss + 0.5 * reg * sum((w * w).sum() for w in weights)
        loss.backward()
    return _median_us(step, steps)


def run_one(impl: str, workload: str, dtype: str, steps: int) -> float | None:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[k] = "1"
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", impl, workload, dtype, str(steps)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    if r.returncode != 0:
        print(f"  {impl} {workload} {dtype} failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])["us"]


def have_torch() -> bool:
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    p.add_argument("--rounds", type=int, default=3, help="alternating graph/torch rounds (median taken)")
    p.add_argument("--quick", action="store_true", help="a fifth of the steps")
    p.add_argument("--no-check", action="store_true", help="also time Executor(check='none')")
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        impl, workload, dtype, steps = a.worker
        if impl == "torch":
            us = bench_torch(workload, dtype, int(steps))
        else:
            us = bench_graph(workload, dtype, int(steps), "none" if impl == "graph_nocheck" else "all")
        print(json.dumps({"us": us}))
        return
    torch_ok = have_torch()
    if torch_ok:
        v = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True).stdout.strip()
        print(f"PyTorch {v}, one thread each")
    else:
        print("PyTorch not importable: graph times only (pip install torch==2.13.0 to compare)")
    impls = ["graph"] + (["graph_nocheck"] if a.no_check else []) + (["torch"] if torch_ok else [])
    print(f"median forward + backward through gc.Executor (defaults) vs PyTorch, {a.rounds} alternating rounds\n")
    header = f"{'workload':12s} {'dtype':8s} {'graph':>10s}" + (f" {'no check':>10s}" if a.no_check else "") \
        + f" {'torch':>10s} {'torch/graph':>11s} {'goal':>5s}"
    print(header)
    print("-" * len(header))
    for workload in a.workloads:
        steps = WORKLOADS[workload]["steps"] // (5 if a.quick else 1)
        for dtype in a.dtypes:
            runs: dict[str, list[float]] = {k: [] for k in impls}
            for _ in range(a.rounds):
                for impl in impls:
                    us = run_one(impl, workload, dtype, steps)
                    if us is not None:
                        runs[impl].append(us)
            med = {k: (statistics.median(v) if v else None) for k, v in runs.items()}
            g, t = med["graph"], med.get("torch")
            ratio = f"{t / g:10.2f}x" if g and t else "-"
            extra = f" {med['graph_nocheck']:8.1f}us" if a.no_check and med.get("graph_nocheck") else ""
            tt = f"{t:8.1f}us" if t else "-"
            gg = f"{g:8.1f}us" if g else "-"
            print(f"{workload:12s} {dtype:8s} {gg:>10s}{extra} {tt:>10s} {ratio:>11s} {GOALS[workload]:4.1f}x",
                  flush=True)
    print("\nratios > 1 mean the graph executor is faster than PyTorch.")


if __name__ == "__main__":
    main()
