"""Check the PyTorch export against the executor, wherever torch is installed (the tests do not need it).

    python tools/verify_torch_export.py            # every example, and every op's sample cases

For each example graph: export it (graphcore.export.torch_code), import the generated file, and
compare every node's value and gradient and every weight gradient with the executor in float64
(eval mode, the mode of `main.py run`); for a graph that trains, one training step from the same
batch (the trainer's first batch, float64) must leave the same weights. Then the same value and
gradient comparison for every op's sample cases (OpSpec.examples, the gradient check's cases) as
one-op graphs. Errors are max |torch - executor| / max(1, max |executor|); 1e-10 passes.
Exit 0 when everything passes, 1 otherwise.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

import graphcore as gc  # noqa: E402
from graphcore import registry  # noqa: E402
from graphcore.export.plan import build_plan  # noqa: E402
from graphcore.export.torch_code import export_torch  # noqa: E402
from graphcore.fileformat import load  # noqa: E402

TOL = 1e-10
EXAMPLES = os.path.join(ROOT, "resources", "examples")


def _err(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return np.inf
    if not a.size:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def _module(graph, folder: str, tag: str):
    path = os.path.join(folder, f"{tag}.py")
    export_torch(graph, path)
    spec = importlib.util.spec_from_file_location(f"exported_{tag}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _np(t):
    return t.detach().numpy()


def compare_pass(graph, mod, mode: str = "eval", target: str | None = None) -> tuple[float, float]:
    """(worst value error, worst gradient error) of one forward and backward pass."""
    ex = gc.Executor(graph, mode=mode)
    ex.forward()
    plan = build_plan(graph, target, grads=False)
    ex.backward(plan.target)
    model = mod.build_model()
    model.train(mode == "train")
    inputs = {}
    for nid in plan.order:
        spec, var = plan.spec(nid), plan.var[nid]
        t = getattr(model, var, None) if spec.source else None
        if spec.name == "input":
            inputs[var] = t.clone().requires_grad_(t.is_floating_point())
        elif spec.name == "const" and t.is_floating_point():
            t.requires_grad_(True)
    out = model(**inputs)
    for t in model.values.values():
        if t.requires_grad and not t.is_leaf:
            t.retain_grad()
    if out.requires_grad:  # (a step unit's output does not: no gradient flows back through it)
        out.backward(torch.ones_like(out))
    verr = gerr = 0.0
    for nid in plan.order:
        name, var = graph.nodes[nid].name, plan.var[nid]
        t = inputs.get(var, model.values[name])
        verr = max(verr, _err(_np(t), ex.value(nid)))
        if plan.integer(nid):
            continue
        if nid == plan.target:
            grad = np.ones(tuple(t.shape))  # the seed (torch keeps no gradient for the output itself)
        else:
            grad = np.zeros(tuple(t.shape)) if t.grad is None else _np(t.grad)
        gerr = max(gerr, _err(grad, ex.grad(nid)))
    for (nid, w), wvar in plan.wvar.items():
        p = getattr(model, wvar)
        if isinstance(p, torch.nn.Parameter):
            grad = np.zeros(tuple(p.shape)) if p.grad is None else _np(p.grad)
            gerr = max(gerr, _err(grad, ex.weight_grad(nid, w)))
    return verr, gerr


def compare_step(path: str, mod) -> float:
    """Worst weight error after one training step from the trainer's first batch, in float64."""
    from graphcore.train.config import TrainConfig
    from graphcore.train.trainer import Trainer

    graph = load(path)
    cfg = TrainConfig.from_dict(graph.meta["training"]).merged(dtype="float64")
    tr = Trainer(graph, config=cfg)
    tr.prepare()
    n = len(tr.data.X_train)
    idx = np.random.default_rng([cfg.seed & 0xFFFFFFFF, 2]).permutation(n)[:cfg.batch_size or n]
    lr = tr.lr_at(0, 0)
    model = mod.build_model(torch.float64)  # the weights as exported, before the step
    tr.train_step(tr.data.X_train[idx], tr.data.y_train[idx], lr)
    model.train()
    opt = mod.NotesOptimizer(model.parameters(), **mod.SETTINGS["optimizer"])
    data = mod.load_data()
    X = torch.as_tensor(data["X_train"], dtype=torch.float64)
    y = torch.as_tensor(data["y_train"])
    if y.is_floating_point():
        y = y.to(torch.float64)
    ti = torch.as_tensor(idx)
    opt.zero_grad()
    model(**{mod.FEATURES: X[ti], mod.LABELS: y[ti]}).backward()
    opt.step(lr)
    plan = build_plan(load(path), grads=False)
    worst = 0.0
    for nid, w in graph.trainable():
        var = plan.var[nid] if plan.spec(nid).source else plan.wvar[(nid, w)]
        worst = max(worst, _err(_np(getattr(model, var)), graph.nodes[nid].tensors[w]))
    return worst


def main() -> int:
    torch.set_default_dtype(torch.float64)
    failed = 0
    print(f"torch {torch.__version__}; tolerance {TOL:g} (max |torch - executor| / max(1, max |executor|))")
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'example':18s} {'values':>9s} {'gradients':>9s} {'train step':>10s}")
        for fname in sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".json")):
            path = os.path.join(EXAMPLES, fname)
            graph = load(path)
            mod = _module(graph, folder, fname[:-5])
            v, g = compare_pass(graph, mod)
            s = compare_step(path, mod) if graph.meta.get("training") else None
            ok = v <= TOL and g <= TOL and (s is None or s <= TOL)
            failed += not ok
            print(f"{fname[:-5]:18s} {v:9.2e} {g:9.2e} {'-' if s is None else f'{s:.2e}':>10s}"
                  f"  {'ok' if ok else 'FAIL'}")
        print(f"\n{'op (sample cases)':24s} {'cases':>5s} {'values':>9s} {'gradients':>9s}")
        for name in sorted(n for n, s in registry.ops().items() if not s.source):
            spec = registry.get(name)
            cases = list(spec.examples(np.random.default_rng(zlib.crc32(name.encode()))))
            worst_v = worst_g = 0.0
            done = 0
            for i, case in enumerate(cases):
                mode = case.get("mode", "train")
                if name == "dropout" and mode == "train":
                    continue  # a random mask: torch's and the executor's generators differ
                g = gc.Graph()
                ids = {p: g.add("input", name=f"in_{p}", value=np.asarray(a)) for p, a in case["inputs"].items()}
                op = g.add(name, name="op", inputs=ids, **case.get("params", {}))
                for w, arr in case.get("weights", {}).items():
                    g.set_tensor(op, w, np.asarray(arr, dtype=np.float64))
                mod = _module(g, folder, f"op_{name}_{i}")
                v, gr = compare_pass(g, mod, mode)
                worst_v, worst_g, done = max(worst_v, v), max(worst_g, gr), done + 1
            ok = worst_v <= TOL and worst_g <= TOL
            failed += not ok
            print(f"{name:24s} {done:5d} {worst_v:9.2e} {worst_g:9.2e}  {'ok' if ok else 'FAIL'}")
    print("\nall agree" if not failed else f"\n{failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
