"""The PyTorch side of bench_api.py and bench_train.py: the same networks, one step each.

PyTorch is a benchmark-only dependency (`pip install torch==2.13.0`, a CPU build); it
never goes into the project's extras or its tests. Each bench runs a step in a worker
subprocess with one thread count for OMP/OPENBLAS/MKL/NUMBA (`thread_env`).
"""
from __future__ import annotations

import os
import subprocess

from _workloads import REG, WORKLOADS

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def thread_env(threads: int) -> dict:
    """This process's environment with every BLAS/OpenMP/numba thread count set to `threads`."""
    env = dict(os.environ)
    for k in THREAD_VARS:
        env[k] = str(threads)
    return env


def pinned(threads: int):
    """preexec_fn for a worker: run it on the last `threads` CPUs only. An unpinned process that
    the scheduler moves between cores starts again with cold caches: on this 2-core VM about one
    spiral_b32 worker in three then took ~40 us a pass instead of ~26 (old and new code alike)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) <= threads:
        return None
    keep = set(cpus[-threads:])
    return lambda: os.sched_setaffinity(0, keep)


def torch_python(*candidates: str | None) -> str | None:
    """The first interpreter that can import torch (None when none can)."""
    for cand in candidates:
        if cand and subprocess.run([cand, "-c", "import torch"], capture_output=True).returncode == 0:
            return cand
    return None


def torch_version(python: str) -> str:
    return subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                          text=True).stdout.strip()


def torch_step(workload: str, dtype_name: str = "float32", threads: int = 1, lr: float | None = None):
    """One forward + backward of the workload's network (softmax cross-entropy, plus L2 on the
    linear weights for the spiral nets) on a fixed random batch; with `lr`, also an SGD update.
    Returns the step as a function of no arguments."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dt = getattr(torch, dtype_name)
    n = WORKLOADS[workload]["n"]
    nn = torch.nn
    if workload.startswith("spiral"):
        X, y = torch.randn(n, 2, dtype=dt), torch.randint(0, 3, (n,))
        model = nn.Sequential(nn.Linear(2, 100), nn.ReLU(), nn.Linear(100, 3))
    elif workload == "mlp":
        X, y = torch.randn(n, 784, dtype=dt), torch.randint(0, 10, (n,))
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    else:
        X, y = torch.randn(n, 1, 8, 8, dtype=dt), torch.randint(0, 10, (n,))
        model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(512, 10))
    model = model.to(dt)
    lossf = nn.CrossEntropyLoss()
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    reg = REG if workload.startswith("spiral") else 0.0
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=lr) if lr is not None else None

    def step():
        for p in params:
            p.grad = None  # what opt.zero_grad(set_to_none=True) does
        loss = lossf(model(X), y)
        if reg:
            loss = loss + 0.5 * reg * sum((w * w).sum() for w in weights)
        loss.backward()
        if opt is not None:
            opt.step()
    return step
