"""Executor cost against plain Python / numpy doing the same work, in the same run.

    python bench/bench_engine.py          (about 20 s)

1. Scalar circuits, where interpretation overhead is everything: the CS231n
   circuit f = 2(xy + max(z, w)) and a chain of 200 scalar gates. Reported as
   microseconds per node for a forward+backward pass, against plain Python floats
   (the fastest anything can be) and numpy 0-d arrays (what a naive array engine
   would do).
2. A 10^6-element elementwise graph, sigmoid(a*b + c), forward+backward, against
   plain numpy (allocating temporaries, and with preallocated `out=` buffers).
3. Recording a pass trace (graphcore.passtrace) on chains of 100 and 400 gates: per node, against
   a pass of the generic loops on the same graph. Each edit of the params records new traces (the
   source is compiled once per graph shape), so the cost per node must not grow with the graph.

Timings are the best of several repeats (timeit's advice: the minimum is the
least disturbed by other processes).
"""
from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import graphcore as gc  # noqa: E402
from backprop_studio_resources import example_path  # noqa: E402


def best(fn, number: int, repeat: int = 7) -> float:
    """Seconds per call: the minimum over `repeat` runs of `number` calls."""
    fn()  # warm: JIT, buffers
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return min(times)


def us(s: float) -> str:
    return f"{s * 1e6:8.2f} us"


# ---------------------------------------------------------------- scalar circuits
def cs231n_graph():
    g = gc.load(example_path("cs231n_circuit.json"))
    return g, g.find("f")


def cs231n_python():
    x, y, z, w = 3.0, -4.0, 2.0, -1.0
    xy = x * y
    m = z if z >= w else w
    s = xy + m
    f = s * 2.0
    df = 1.0
    ds = df * 2.0
    dtwo = df * s
    dxy = ds
    dm = ds
    dz = dm if z >= w else 0.0
    dw = 0.0 if z >= w else dm
    dx = dxy * y
    dy = dxy * x
    return f, dx, dy, dz, dw, dtwo


X0, Y0, Z0, W0, TWO = (np.array(v) for v in (3.0, -4.0, 2.0, -1.0, 2.0))


def cs231n_numpy():
    x, y, z, w = X0, Y0, Z0, W0
    xy = np.multiply(x, y)
    m = np.maximum(z, w)
    s = np.add(xy, m)
    f = np.multiply(s, TWO)
    df = np.ones(())
    ds = np.multiply(df, TWO)
    dtwo = np.multiply(df, s)
    za = z >= w
    dz = np.multiply(ds, za)
    dw = np.multiply(ds, ~za)
    dx = np.multiply(ds, y)
    dy = np.multiply(ds, x)
    return f, dx, dy, dz, dw, dtwo


CHAIN_OPS = ("mul", "add", "tanh", "sub", "sigmoid", "max", "neg", "exp")


def chain_spec(n: int):
    """The chain as (op, constant) steps: binary gates take a constant second input."""
    rng = np.random.default_rng(0)
    return [(CHAIN_OPS[i % len(CHAIN_OPS)], float(rng.uniform(0.5, 1.0))) for i in range(n)]


def chain_graph(spec):
    g = gc.Graph()
    prev = g.add("input", name="x", value=0.3)
    for i, (op, c) in enumerate(spec):
        if op in ("mul", "add", "sub", "max"):
            k = g.add("const", name=f"c{i}", value=c)
            prev = g.add(op, inputs={"a": prev, "b": k})
        else:
            prev = g.add(op, inputs={"x": prev})
    return g, prev


def chain_python(spec):
    def run():
        v = 0.3
        vals = []
        for op, c in spec:
            vals.append(v)
            if op == "mul":
                v = v * c
            elif op == "add":
                v = v + c
            elif op == "sub":
                v = v - c
            elif op == "max":
                v = v if v >= c else c
            elif op == "tanh":
                v = math.tanh(v)
            elif op == "sigmoid":
                v = 1.0 / (1.0 + math.exp(-v))
            elif op == "neg":
                v = -v
            else:
                v = math.exp(v)
            vals.append(v)
        g = 1.0
        for i in range(len(spec) - 1, -1, -1):
            op, c = spec[i]
            xin, out = vals[2 * i], vals[2 * i + 1]
            if op == "mul":
                g = g * c
            elif op == "max":
                g = g if xin >= c else 0.0
            elif op == "tanh":
                g = g * (1.0 - out * out)
            elif op == "sigmoid":
                g = g * out * (1.0 - out)
            elif op == "neg":
                g = -g
            elif op == "exp":
                g = g * out
        return g
    return run


def chain_numpy(spec):
    consts = [np.array(c) for _, c in spec]

    def run():
        v = np.array(0.3)
        vals = []
        for (op, _), c in zip(spec, consts):
            vals.append(v)
            if op == "mul":
                v = np.multiply(v, c)
            elif op == "add":
                v = np.add(v, c)
            elif op == "sub":
                v = np.subtract(v, c)
            elif op == "max":
                v = np.maximum(v, c)
            elif op == "tanh":
                v = np.tanh(v)
            elif op == "sigmoid":
                v = 1.0 / (1.0 + np.exp(-v))
            elif op == "neg":
                v = np.negative(v)
            else:
                v = np.exp(v)
            vals.append(v)
        g = np.ones(())
        for i in range(len(spec) - 1, -1, -1):
            op = spec[i][0]
            c = consts[i]
            xin, out = vals[2 * i], vals[2 * i + 1]
            if op == "mul":
                g = np.multiply(g, c)
            elif op == "max":
                g = np.multiply(g, xin >= c)
            elif op == "tanh":
                g = np.multiply(g, 1.0 - out * out)
            elif op == "sigmoid":
                g = np.multiply(g, out * (1.0 - out))
            elif op == "neg":
                g = np.negative(g)
            elif op == "exp":
                g = np.multiply(g, out)
        return g
    return run


def executor_pass(g, f, **kw):
    ex = gc.Executor(g, **kw)

    def run():
        ex.forward()
        ex.backward(f)
    return run, ex


def scalar_benchmarks() -> list[tuple[str, float, float, float, float, int]]:
    rows = []
    g, f = cs231n_graph()
    run, ex = executor_pass(g, f)
    run()
    assert float(ex.value(f)) == cs231n_python()[0] and float(ex.grad(g.find("x"))) == cs231n_python()[1]
    n = len(g.nodes)
    t_ex = best(run, 2000)
    t_ex_nocheck = best(executor_pass(g, f, check="none")[0], 2000)
    rows.append(("CS231n circuit (9 nodes)", t_ex, t_ex_nocheck, best(cs231n_python, 20000), best(cs231n_numpy, 5000), n))

    spec = chain_spec(200)
    g, f = chain_graph(spec)
    run, ex = executor_pass(g, f)
    run()
    assert abs(float(ex.grad(g.find("x"))) - chain_python(spec)()) <= 1e-12 * max(1.0, abs(chain_python(spec)()))
    n = len(g.nodes)
    t_ex = best(run, 50)
    t_ex_nocheck = best(executor_pass(g, f, check="none")[0], 50)
    rows.append((f"chain of 200 scalar gates ({n} nodes)", t_ex, t_ex_nocheck, best(chain_python(spec), 500),
                 best(chain_numpy(spec), 100), n))
    return rows


def trace_benchmarks() -> list[tuple[int, float, float, float]]:
    """(nodes, recording both traces, the first compile of their source, one generic pass)."""
    from graphcore import passtrace, stepctx

    rows = []
    for n in (100, 400):
        g, f = chain_graph(chain_spec(n))
        run, ex = executor_pass(g, f)
        recorders = []
        record_backward = passtrace.BackwardTrace.__init__

        def keep(self, ex_, key, ftrace, rec):  # what the generic pass recorded, to record it again
            recorders.append(rec)
            record_backward(self, ex_, key, ftrace, rec)
        passtrace.BackwardTrace.__init__ = keep
        try:
            run()  # the generic loops, recording both traces
        finally:
            passtrace.BackwardTrace.__init__ = record_backward
        ft, bt, rec = ex._ftrace, ex._btrace, recorders[0]
        assert len(rec.steps) >= n  # (a chain: every step gets a gradient)

        def generic():
            ex._btrace = ex._ftrace = None
            ex._trace_misses = ex._btrace_misses = passtrace.MAX_MISSES  # no recording: the loops alone
            run()

        def record():
            passtrace.ForwardTrace(ex, ft.key)
            passtrace.BackwardTrace(ex, bt.key, ft, rec)

        t_pass = best(generic, 5)
        ex._values_trace = ft
        t_rec = best(record, 5)
        stepctx._CODES.clear()
        t0 = time.perf_counter()
        record()
        rows.append((len(g.nodes), t_rec, time.perf_counter() - t0, t_pass))
    return rows


# ---------------------------------------------------------------- 10^6 elements
N = 1_000_000


def big_graph(dtype):
    rng = np.random.default_rng(1)
    g = gc.Graph()
    a = g.add("input", name="a", value=rng.standard_normal(N).astype(dtype))
    b = g.add("input", name="b", value=rng.standard_normal(N).astype(dtype))
    c = g.add("input", name="c", value=rng.standard_normal(N).astype(dtype))
    m = g.add("mul", inputs={"a": a, "b": b})
    s = g.add("add", inputs={"a": m, "b": c})
    y = g.add("sigmoid", name="y", inputs={"x": s})
    return g, y, (a, b, c)


def numpy_naive(a, b, c):
    def run():
        s = a * b + c
        y = 1.0 / (1.0 + np.exp(-s))
        gs = y * (1.0 - y)  # seed of ones
        return y, gs * b, gs * a, gs
    return run


def numpy_out(a, b, c):
    buf = [np.empty_like(a) for _ in range(5)]

    def run():
        m, y, gs, ga, gb = buf
        np.multiply(a, b, out=m)
        np.add(m, c, out=m)
        np.negative(m, out=y)
        np.exp(y, out=y)
        np.add(y, 1.0, out=y)
        np.reciprocal(y, out=y)
        np.subtract(1.0, y, out=gs)
        np.multiply(gs, y, out=gs)
        np.multiply(gs, b, out=ga)
        np.multiply(gs, a, out=gb)
        return y, ga, gb, gs
    return run


def elementwise_benchmarks():
    rows = []
    for dtype in (np.float64, np.float32):
        g, y, (a, b, c) = big_graph(dtype)
        arrs = [g.nodes[n].tensors["value"] for n in (a, b, c)]
        run, ex = executor_pass(g, y, dtype=dtype)
        run()
        ref = numpy_naive(*arrs)()
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(ex.value(y), ref[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(ex.grad(a), ref[1], rtol=tol, atol=tol)
        t_ex = best(run, 3)
        t_nocheck = best(executor_pass(g, y, dtype=dtype, check="none")[0], 3)
        rows.append((np.dtype(dtype).name, t_ex, t_nocheck, best(numpy_naive(*arrs), 3), best(numpy_out(*arrs), 3)))
    return rows


def main() -> None:
    t0 = time.perf_counter()
    from graphcore import kernels

    print(f"graphcore {gc.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
          f"kernels: {kernels.backend()} for arrays of >= {kernels.SMALL} elements, numpy twins below")
    print()
    print("1. scalar circuits: one forward + backward pass")
    print(f"{'':40s} {'executor':>12s} {'(no NaN chk)':>12s} {'python':>12s} {'numpy 0-d':>12s}"
          f" {'exec/python':>11s} {'exec/numpy':>11s}")
    for name, t_ex, t_nc, t_py, t_np, n in scalar_benchmarks():
        print(f"{name:40s} {us(t_ex)} {us(t_nc)} {us(t_py)} {us(t_np)} {t_ex / t_py:10.1f}x {t_ex / t_np:10.1f}x")
        print(f"{'  per node':40s} {us(t_ex / n)} {us(t_nc / n)} {us(t_py / n)} {us(t_np / n)}")
    print()
    print("2. sigmoid(a*b + c), 10^6 elements: one forward + backward pass")
    print(f"{'dtype':40s} {'executor':>12s} {'(no NaN chk)':>12s} {'numpy':>12s} {'numpy out=':>12s}"
          f" {'exec/numpy':>11s} {'exec/out=':>11s}")
    for name, t_ex, t_nc, t_np, t_out in elementwise_benchmarks():
        ms = lambda s: f"{s * 1e3:9.2f} ms"  # noqa: E731
        print(f"{name:40s} {ms(t_ex)} {ms(t_nc)} {ms(t_np)} {ms(t_out)} {t_ex / t_np:10.2f}x {t_ex / t_out:10.2f}x")
        print(f"{'  per node (6 nodes)':40s} {ms(t_ex / 6)}")
    print()
    print("3. recording the pass traces of a chain of scalar gates (compiled source cached, and the first compile)")
    print(f"{'':40s} {'record':>12s} {'1st compile':>12s} {'generic pass':>12s} {'record/pass':>11s}")
    for n, t_rec, t_comp, t_pass in trace_benchmarks():
        print(f"{f'{n} nodes':40s} {us(t_rec)} {us(t_comp)} {us(t_pass)} {t_rec / t_pass:10.2f}x")
        print(f"{'  per node':40s} {us(t_rec / n)} {us(t_comp / n)} {us(t_pass / n)}")
    print()
    print(f"benchmark took {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
