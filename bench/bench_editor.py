"""Editor canvas benchmark: build a scene for a 500-node graph, then time frames while panning.

Run: QT_QPA_PLATFORM=offscreen python bench/bench_editor.py [--nodes 500] [--frames 60]
Prints the build time and the mean / 95th-percentile frame time (each frame: pan the
view, then repaint the whole viewport into a pixmap with viewport().grab(), which redraws
everything: a real scroll only repaints the exposed strip). Wall-clock and CPU time are both
shown: on a busy machine the CPU time is the steadier figure.
Timing is machine dependent, so it lives here rather than in the tests.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PySide6.QtGui import QUndoStack  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import graphcore as gc  # noqa: E402
from app.canvas import GraphScene, GraphView  # noqa: E402


def big_graph(n_nodes: int) -> gc.Graph:
    """Columns of gates fed by inputs: about n_nodes nodes, every gate wired, laid out on a grid."""
    g = gc.Graph()
    ops = ["add", "mul", "max", "relu", "sigmoid", "tanh", "leaky_relu", "exp"]
    rows = 20
    prev = [g.add("input", name=f"in{r}", value=float(r), ui={"x": 0.0, "y": r * 130.0}) for r in range(rows)]
    col = 1
    while len(g.nodes) < n_nodes:
        cur = []
        for r in range(rows):
            if len(g.nodes) >= n_nodes:
                break
            op = ops[(r + col) % len(ops)]
            ui = {"x": col * 220.0, "y": r * 130.0}
            if op in ("add", "mul", "max"):
                nid = g.add(op, inputs={"a": prev[r], "b": prev[(r + 1) % len(prev)]}, ui=ui)
            else:
                nid = g.add(op, inputs={"x": prev[r]}, ui=ui)
            cur.append(nid)
        prev = cur + prev[len(cur):]
        col += 1
    return g


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=900)
    args = ap.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    g = big_graph(args.nodes)
    text = gc.dumps(g)
    t0, c0 = time.perf_counter(), time.process_time()
    g2 = gc.loads(text)
    t1, c1 = time.perf_counter(), time.process_time()
    scene = GraphScene(g2, QUndoStack())
    t2, c2 = time.perf_counter(), time.process_time()
    view = GraphView(scene)
    view.resize(args.width, args.height)
    view.show()
    view.frame_all()
    view.viewport().grab()
    app.processEvents()
    t3, c3 = time.perf_counter(), time.process_time()
    print(f"graph: {len(g2.nodes)} nodes, {len(g2.edges)} wires; viewport {args.width}x{args.height}")
    print(f"wall: parse file {1000 * (t1 - t0):.1f} ms, build scene {1000 * (t2 - t1):.1f} ms, "
          f"first paint {1000 * (t3 - t2):.1f} ms, total open {1000 * (t3 - t0):.1f} ms")
    print(f"cpu:  parse file {1000 * (c1 - c0):.1f} ms, build scene {1000 * (c2 - c1):.1f} ms, "
          f"first paint {1000 * (c3 - c2):.1f} ms, total open {1000 * (c3 - c0):.1f} ms")
    for label, zoom in (("zoom 1.0 (about 60 nodes on screen)", 1.0), ("whole graph on screen", None)):
        if zoom is None:
            view.frame_all()
        else:
            view.set_zoom(zoom)
            view.centerOn(scene.nodes_rect().center())
        view.viewport().grab()  # warm caches
        times, cpu = [], []
        for k in range(args.frames):
            step = 12 if (k // 20) % 2 == 0 else -12
            t, c = time.perf_counter(), time.process_time()
            view.pan_by(step, step / 2)
            view.viewport().grab()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"pan, {label}, zoom {view.zoom():.2f}: wall mean {1000 * statistics.mean(times):.1f} ms/frame "
              f"(p95 {1000 * p95:.1f}, max {1000 * times[-1]:.1f}); cpu mean {1000 * statistics.mean(cpu):.1f} "
              f"ms/frame over {len(times)} frames")
    scene.detach()
    return 0


if __name__ == "__main__":
    sys.exit(main())
