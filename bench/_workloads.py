"""What bench_api.py and bench_train.py share: the workloads, their graphs and the timer."""
from __future__ import annotations

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = {
    "spiral_full": {"n": 300, "steps": 1500},
    "spiral_b32": {"n": 32, "steps": 3000},
    "mlp": {"n": 128, "steps": 300},
    "cnn": {"n": 64, "steps": 400},
}
GOALS = {"spiral_b32": 5.0, "spiral_full": 2.5, "mlp": 1.0, "cnn": 1.5}  # torch time / graph time
REG = 1e-3


def median_us(step, steps: int, warm: int | None = None) -> float:
    """Median time of one call of `step`, in microseconds, timed one call at a time after a warm-up."""
    for _ in range(max(20, steps // 10) if warm is None else warm):
        step()
    pc = time.perf_counter
    times = []
    for _ in range(steps):
        t0 = pc()
        step()
        times.append(pc() - t0)
    times.sort()
    return times[len(times) // 2] * 1e6


def build_graph(workload: str, X, y):
    """The workload's network as a script builds it with the public API; the loss node is "loss"."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
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
