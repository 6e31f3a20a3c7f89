"""First-run latency in fresh processes: cold and warm numba cache.

    python bench/bench_startup.py          (about 15 s; most of it is the cold numba compile)

Each measurement is a new Python process, so nothing is already imported:
- cold: NUMBA_CACHE_DIR points at an empty temporary folder, so every kernel the
  pass needs is compiled from scratch;
- warm: the same folder again, now holding the compiled kernels;
- default: the cache the app normally uses (kernels/__pycache__ or the per-user cache).
Each child reports `import graphcore`, the first forward+backward of the CS231n
circuit and the wall time of the whole process. Scalar circuits run on the numpy
twins (arrays under kernels.SMALL elements), so they never import numba; a second
child runs a 10^5-element graph, which does load numba and four kernels, to show
what the cache saves. Then `import app.main_window` (Qt, offscreen) is timed, and
`python main.py run` end to end.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from backprop_studio_resources import example_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CIRCUIT = example_path("cs231n_circuit.json")

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import graphcore as gc
t1 = time.perf_counter()
g = gc.load(sys.argv[1])
ex = gc.Executor(g)
ex.forward()
ex.backward()
assert float(ex.value("f")) == -20.0
t2 = time.perf_counter()
ex.forward()
ex.backward()
t3 = time.perf_counter()
from graphcore import kernels
print(json.dumps({"import": t1 - t0, "first_pass": t2 - t1, "second_pass": t3 - t2,
                  "kernels": sorted(kernels._active), "numba": "numba" in sys.modules}))
"""

CHILD_ARRAY = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import graphcore as gc
t1 = time.perf_counter()
g = gc.Graph()
rng = np.random.default_rng(0)
a, b, c = (g.add("input", value=rng.standard_normal(100_000)) for _ in range(3))
y = g.add("sigmoid", inputs={"x": g.add("add", inputs={"a": g.add("mul", inputs={"a": a, "b": b}), "b": c})})
ex = gc.Executor(g)
ex.forward()
ex.backward(y)
t2 = time.perf_counter()
ex.forward()
ex.backward(y)
t3 = time.perf_counter()
from graphcore import kernels
print(json.dumps({"import": t1 - t0, "first_pass": t2 - t1, "second_pass": t3 - t2,
                  "kernels": sorted(kernels._active), "numba": "numba" in sys.modules}))
"""

CHILD_APP = r"""
import json, time
t0 = time.perf_counter()
import app.main_window
t1 = time.perf_counter()
print(json.dumps({"import": t1 - t0}))
"""


def child(code: str, env_extra: dict, *args: str) -> dict:
    env = dict(os.environ, **env_extra)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"child failed:\n{r.stderr}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def fmt(d: dict) -> str:
    return (f"import graphcore {d['import'] * 1e3:7.0f} ms   first forward+backward {d['first_pass'] * 1e3:7.0f} ms"
            f"   (second {d['second_pass'] * 1e6:5.0f} us)   whole process {d['wall'] * 1e3:7.0f} ms")


def main() -> None:
    t0 = time.perf_counter()
    base = min(child("print('{}')", {})["wall"] for _ in range(3))
    print(f"python interpreter start-up alone: {base * 1e3:.0f} ms")
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        cold = child(CHILD, {"NUMBA_CACHE_DIR": cache}, CIRCUIT)
        print(f"cold cache : {fmt(cold)}")
        warm = [child(CHILD, {"NUMBA_CACHE_DIR": cache}, CIRCUIT) for _ in range(3)]
        w = min(warm, key=lambda d: d["import"] + d["first_pass"])
        print(f"warm cache : {fmt(w)}   (best of 3; median import+first pass "
              f"{statistics.median(d['import'] + d['first_pass'] for d in warm) * 1e3:.0f} ms)")
    default = [child(CHILD, {}, CIRCUIT) for _ in range(2)]
    d = min(default, key=lambda d: d["import"] + d["first_pass"])
    print(f"app's cache: {fmt(d)}")
    print(f"kernels loaded by the pass: {', '.join(w['kernels'])} (numba imported: {w['numba']})")
    warm_total = w["import"] + w["first_pass"]
    print(f"warm start, import + first forward+backward: {warm_total * 1e3:.0f} ms "
          f"({'under' if warm_total < 1.0 else 'OVER'} the 1 s budget)")
    print()
    print("sigmoid(a*b + c) on 10^5 elements (large arrays run numba kernels):")
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        cold = child(CHILD_ARRAY, {"NUMBA_CACHE_DIR": cache})
        print(f"cold cache : {fmt(cold)}")
        warm = min((child(CHILD_ARRAY, {"NUMBA_CACHE_DIR": cache}) for _ in range(2)),
                   key=lambda d: d["import"] + d["first_pass"])
        print(f"warm cache : {fmt(warm)}")
    print(f"kernels loaded by the pass: {', '.join(warm['kernels'])} (numba imported: {warm['numba']})")
    print()
    if os.path.exists(os.path.join(ROOT, "app", "main_window.py")):
        apps = [child(CHILD_APP, {}) for _ in range(2)]
        a = min(apps, key=lambda d: d["import"])
        print(f"import app.main_window (Qt offscreen): {a['import'] * 1e3:.0f} ms, whole process {a['wall'] * 1e3:.0f} ms")
    else:
        print("app/main_window.py does not exist yet")
    runs = []
    for _ in range(2):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "run", CIRCUIT], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        runs.append(time.perf_counter() - t)
        assert r.returncode == 0, r.stderr
    print(f"python main.py run cs231n_circuit.json, end to end: {min(runs) * 1e3:.0f} ms")
    print(f"benchmark took {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
