"""Frame time of the run view's edge animation on a 200-node graph, offscreen.

Each frame steps the RunController by one event (a node's value labels, or one wire's gradient
label, flow style and pulse), lets Qt run its animations, and renders the whole view into a
QImage, which is what a screen refresh costs. Prints mean / p95 / max milliseconds per frame,
plus the cost of one Backward (every label at once) on the same graph.

    python bench/bench_animation.py [--nodes 200] [--size 1600x900]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402


def build_graph(n_nodes: int, seed: int = 0):
    """A random DAG of scalar gates with one sink: inputs, then binary/unary gates over earlier
    nodes, then adds that fold every unused node into the output."""
    import graphcore as gc

    rng = np.random.default_rng(seed)
    g = gc.Graph()
    n_inputs = max(4, n_nodes // 6)
    ids = [g.add("input", name=f"x{i}", value=float(rng.uniform(-2, 2))) for i in range(n_inputs)]
    used: set[str] = set()
    binary = ("add", "mul", "max", "sub")
    unary = ("tanh", "sigmoid", "relu") if gc.registry.get("tanh") else ("neg",)
    unary = tuple(u for u in unary if gc.registry.get(u) is not None) or ("neg",)
    k = 0
    # stop early enough that folding the loose ends into one output lands on n_nodes
    while len(g.nodes) + len(set(ids) - used) - 1 < n_nodes:
        lo = max(0, len(ids) - 30)  # mostly recent nodes: a deep, wide graph rather than a star
        if rng.random() < 0.7:
            a, b = rng.choice(ids[lo:], size=2, replace=False)
            nid = g.add(str(rng.choice(binary)), name=f"g{k}", inputs={"a": str(a), "b": str(b)})
            used.update((str(a), str(b)))
        else:
            a = str(rng.choice(ids[lo:]))
            nid = g.add(str(rng.choice(unary)), name=f"g{k}", inputs={"x": a})
            used.add(a)
        ids.append(nid)
        k += 1
    # fold every node nothing reads into one output
    loose = [n for n in ids if n not in used]
    acc = loose[0]
    for n in loose[1:]:
        acc = g.add("add", name=f"fold{k}", inputs={"a": acc, "b": n})
        k += 1
    # left to right by depth
    depth: dict[str, int] = {}
    rows: dict[int, int] = {}
    for nid in g.topo_order():
        d = 1 + max((depth[s] for s in g.inputs_of(nid).values()), default=-1)
        depth[nid] = d
        r = rows.get(d, 0)
        rows[d] = r + 1
        g.nodes[nid].ui.update(x=230.0 * d, y=120.0 * r)
    return g


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--size", default="1600x900", help="view size in pixels")
    ap.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: the whole pass)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QImage, QPainter, QUndoStack
    from PySide6.QtWidgets import QApplication

    from app.canvas.scene import GraphScene
    from app.canvas.view import GraphView
    from app.run.controller import RunController

    app = QApplication.instance() or QApplication([])
    g = build_graph(args.nodes)
    scene = GraphScene(g, QUndoStack())
    view = GraphView(scene)
    view.resize(w, h)
    view.fitInView(scene.itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)
    ctl = RunController(g, scene)
    ctl.set_speed(30)  # pulses last ~120-700 ms: several run at once, as when playing
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)

    def render() -> None:
        image.fill(QColor("#1b1c1f"))
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.render(p)
        p.end()

    app.processEvents()
    t0 = time.perf_counter()
    render()  # warm up fonts and caches
    ctl.backward()  # warm up the kernels (numba loads its cache on first call)
    ctl.reset()
    app.processEvents()
    t1 = time.perf_counter()
    render()
    bare_ms = (time.perf_counter() - t1) * 1e3
    frame_ms, step_ms = [], []
    while True:
        t0 = time.perf_counter()
        more = ctl.step()
        t1 = time.perf_counter()
        app.processEvents()  # animations advance
        render()
        t2 = time.perf_counter()
        if not more:
            break
        step_ms.append((t1 - t0) * 1e3)
        frame_ms.append((t2 - t0) * 1e3)
        if args.frames and len(frame_ms) >= args.frames:
            break
    t0 = time.perf_counter()
    ctl.backward()
    app.processEvents()
    t1 = time.perf_counter()
    render()
    t2 = time.perf_counter()

    def stats(xs):
        xs = sorted(xs)
        return (f"mean {statistics.fmean(xs):.2f} ms, median {statistics.median(xs):.2f} ms, p95 {xs[int(0.95 * (len(xs) - 1))]:.2f} ms, "
                f"max {xs[-1]:.2f} ms")

    print(f"graph: {len(g.nodes)} nodes, {len(g.edges)} wires; view {w}x{h}, whole graph visible")
    print(f"frames: {len(frame_ms)} (one event each: labels + flow style + pulse, then a full render)")
    print(f"frame time (step + animations + render to QImage): {stats(frame_ms)}")
    print(f"step alone (labels, flow, tooltips, pulse start):  {stats(step_ms)}")
    print(f"render of the bare graph (no labels): {bare_ms:.1f} ms")
    print(f"Backward (every label at once): {(t1 - t0) * 1e3:.1f} ms, then one render {(t2 - t1) * 1e3:.1f} ms")
    ctl.close()
    scene.detach()
    return 0


if __name__ == "__main__":
    sys.exit(main())
