"""Every elementwise kernel, numba loop vs numpy twin, on 10^6 elements (one thread).

Prints the ratio per kernel; Kernel.numpy_faster marks the loops that lose
to numpy's vectorised maths (exp, log, tanh, pow) and are dispatched to numpy on large arrays.
Run: OMP_NUM_THREADS=1 python bench/bench_kernels.py
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from graphcore import kernels  # noqa: E402
from graphcore.kernels import elementwise as E  # noqa: E402


def best_of(fn, args, reps=5) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    for dt in (np.float64, np.float32):
        x = rng.uniform(-2, 2, n).astype(dt)
        xp = (np.abs(x) + 0.5).astype(dt)  # positive inputs for log and pow
        y, g = x.copy(), rng.standard_normal(n).astype(dt)
        o, o2 = np.empty_like(x), np.empty_like(x)
        print(f"{dt.__name__}: kernel, numba ms, numpy ms, numba/numpy, dispatched to")
        for name in kernels.names():
            base, _, kind = name.rpartition("_")
            xin = xp if base in ("log", "pow", "div") else x
            if base in E.UNARY:
                args = (xin, o, 1.5) if kind == "fwd" else (xin, y, g, o, 1.5)
            elif base in E.BINARY:
                args = (x, xp, o) if kind == "fwd" else (x, xp, g, o, o2)
            else:
                continue
            nb, tw = kernels.numba_kernel(name), kernels.numpy_kernel(name)
            nb(*args)
            a, b = best_of(nb, args), best_of(tw, args)
            where = "numpy" if kernels.by_name(name).numpy_faster else "numba"
            print(f"  {name:16s} {a * 1e3:7.2f} {b * 1e3:7.2f} {a / b:6.2f}  {where}")


if __name__ == "__main__":
    main()
