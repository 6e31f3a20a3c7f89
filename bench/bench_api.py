"""Forward + backward through the public API (gc.Executor with its defaults) vs PyTorch CPU.

    python bench/bench_api.py [--rounds 3] [--quick] [--workloads spiral_b32 ...] [--dtypes float64 float32]

What a script or the GUI's Forward/Backward pays per pass: `Executor(g, dtype)`
with the default NaN/Inf check, `forward()` then `backward(loss)`, on a fixed
batch. PyTorch does the same pass (zero the gradients, loss, backward) in the same
dtype. Each (implementation, workload, dtype) runs in its own subprocess with one
thread (OMP/OPENBLAS/MKL/NUMBA), pinned to one core (_torch_ref.pinned), and the rounds
alternate graph and torch so that the machine's load drifts over both; the figure is the
median over rounds of each round's median per-pass time. Workloads (as bench_train.py):
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

from _torch_ref import pinned, thread_env, torch_python, torch_step, torch_version
from _workloads import GOALS, ROOT, WORKLOADS, build_graph, median_us

def _data(np, workload: str, dtype):
    rng = np.random.default_rng(0)
    n = WORKLOADS[workload]["n"]
    if workload.startswith("spiral"):
        return rng.standard_normal((n, 2)).astype(dtype), rng.integers(0, 3, n), 3
    if workload == "mlp":
        return rng.standard_normal((n, 784)).astype(dtype), rng.integers(0, 10, n), 10
    return rng.standard_normal((n, 1, 8, 8)).astype(dtype), rng.integers(0, 10, n), 10


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
    return median_us(step, steps)


def bench_torch(workload: str, dtype_name: str, steps: int) -> float:
    return median_us(torch_step(workload, dtype_name), steps)


def run_one(impl: str, workload: str, dtype: str, steps: int) -> float | None:
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", impl, workload, dtype, str(steps)],
                       capture_output=True, text=True, env=thread_env(1), cwd=ROOT, timeout=900,
                       preexec_fn=pinned(1))
    if r.returncode != 0:
        print(f"  {impl} {workload} {dtype} failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])["us"]


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
    torch_ok = torch_python(sys.executable) is not None
    if torch_ok:
        print(f"PyTorch {torch_version(sys.executable)}, one thread each")
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
