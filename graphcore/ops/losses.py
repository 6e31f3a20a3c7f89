"""Losses (softmax cross-entropy, multiclass SVM, MSE, the total) and regularizers.

Losses average over the batch and return a scalar. Regularizers penalise layer
weights they are not wired to (chosen by the `targets` param) and hand those
weights their gradient through ctx.add_weight_grad, so ex.weight_grad(layer, "W")
includes the penalty; a param node can also be wired into their `x` port.
`total_loss` adds the data loss and the regularisation loss while keeping both
visible: see `breakdown`.
"""
from __future__ import annotations

import numpy as np

from ..export.coderule import EACH_TARGET, CodeRule
from ..kernels import nn as KN
from ..problems import GraphError, Problem
from ..registry import OpSpec, ParamSpec, Port, ShapeError, register
from ..export import onnx_rules


def _scalar_out(ctx, value: float) -> np.ndarray:
    out = ctx.buf("out", (), ctx.dtype)
    out[()] = value
    return out


def _scaled(ctx, key: str, arr: np.ndarray, g: np.ndarray) -> np.ndarray:
    """arr * g for a scalar upstream gradient g, without allocating when g is 1."""
    s = float(g)
    if s == 1.0:
        return arr
    out = ctx.buf(key, arr.shape, arr.dtype)
    np.multiply(arr, s, out=out)
    return out


def _float(ctx, a: np.ndarray) -> np.ndarray:
    if a.dtype == ctx.dtype:
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)
    return np.ascontiguousarray(a, dtype=ctx.dtype)


def _labels(ctx, labels: np.ndarray, port: str = "labels") -> np.ndarray:
    """Integer class labels; whole-number floats are accepted (data read from CSV)."""
    if labels.dtype == np.int64:
        return labels
    if labels.dtype.kind in "iu":
        return labels.astype(np.int64)
    if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
        raise GraphError([Problem(ctx.node_id, port, "class labels must be whole numbers 0..C-1")])
    return labels.astype(np.int64)


def _classify_shape(name: str):
    def shape(params, shapes):
        s, y = shapes
        if len(s) != 2:
            raise ShapeError(f"{name} needs scores of shape (N, C), one row of class scores per example; "
                             f"got {tuple(s)}", port="scores")
        if tuple(y) != (s[0],):
            raise ShapeError(f"labels must have shape ({s[0]},): one class index per row of scores; "
                             f"got {tuple(y)}", port="labels")
        if s[0] < 1 or s[1] < 1:
            raise ShapeError(f"scores of shape {tuple(s)} are empty: need at least one row and one class column",
                             port="scores")
        return ()
    return shape


def _bad_label(ctx, labels: np.ndarray, row: int, c: int):
    raise GraphError([Problem(ctx.node_id, "labels",
                              f"label {int(labels[row])} in row {row} is not a class index in 0..{c - 1}")])


def _classify_examples(rng, extra_params=({},)):
    cases = []
    for p in extra_params:
        for n, c in ((1, 3), (4, 3), (6, 5)):
            cases.append({"inputs": {"scores": rng.standard_normal((n, c)),
                                     "labels": rng.integers(0, c, size=n)},
                          "params": dict(p), "label": f"N={n} C={c}" + "".join(f" {k}={v}" for k, v in p.items())})
    return cases


# ------------------------------------------------------- softmax cross-entropy
def _ce_fwd(ctx, ins, params, tensors):
    scores = ins[0]
    sf = _float(ctx, scores)
    labels = _labels(ctx, ins[1])
    d = ctx.buf("dscores", sf.shape, sf.dtype)
    fn = KN.softmax_ce_fwd.get()
    loss, bad = fn(sf, labels, d)
    if bad >= 0:
        _bad_label(ctx, labels, bad, sf.shape[1])
    out = _scalar_out(ctx, loss)
    if sf is scores and labels is ins[1]:  # fed: each step's new labels array still repeats
        ctx.repeat(_ce_fwd_again, (d, fn, out), fed=True)
    return out


def _ce_fwd_again(ins, d, fn, out):
    loss, bad = fn(ins[0], ins[1], d)
    if bad >= 0:
        return None  # the rule runs and names the bad label
    out[()] = loss
    return out


def _ce_bwd(ctx, g, ins, out, params, tensors):
    return [_scaled(ctx, "dscores_g", ctx.bufs["dscores"], g), None]


register(OpSpec(
    name="softmax_cross_entropy", category="losses", title="softmax CE",
    doc="mean over the batch of -log softmax(scores)[label]: the softmax classifier's data loss "
        "(computed stably, shifting each row by its max)",
    grad_rule="scores get (softmax(scores) - onehot(label)) / N; labels get no gradient",
    code=CodeRule("_softmax_ce({scores}, {labels})",
                  (("scores", "_softmax_ce_dscores({scores}, {labels}) * {g}",
                    "softmax loss: scores get (softmax - onehot(label)) / N"),),
                  torch="F.cross_entropy({scores}, {labels})", helpers=("_softmax_ce", "_softmax_ce_dscores")),
    inputs=(Port("scores", "class scores, shape (N, C)"),
            Port("labels", "class index per row, shape (N,)", dtype="int", differentiable=False)),
    shape=_classify_shape("softmax_cross_entropy"), forward=_ce_fwd, backward=_ce_bwd,
    examples=lambda rng: _classify_examples(rng), kernels=(KN.softmax_ce_fwd,),
    onnx=onnx_rules.softmax_cross_entropy,
))


# ----------------------------------------------------------------- SVM hinge
def _svm_fwd(ctx, ins, params, tensors):
    scores = _float(ctx, ins[0])
    labels = _labels(ctx, ins[1])
    d = ctx.buf("dscores", scores.shape, scores.dtype)
    loss, bad = KN.svm_fwd.get()(scores, labels, float(params["delta"]), d)
    if bad >= 0:
        _bad_label(ctx, labels, bad, scores.shape[1])
    return _scalar_out(ctx, loss)


def _svm_examples(rng):
    # keep every margin clear of the hinge's kink at 0
    cases = []
    for n, c, delta in ((1, 3, 1.0), (4, 3, 1.0), (6, 5, 0.5)):
        while True:
            s = rng.standard_normal((n, c)) * 2
            y = rng.integers(0, c, size=n)
            m = s - s[np.arange(n), y][:, None] + delta
            m[np.arange(n), y] = 1.0
            if np.abs(m).min() > 0.05:
                break
        cases.append({"inputs": {"scores": s, "labels": y}, "params": {"delta": delta},
                      "label": f"N={n} C={c} delta={delta}"})
    return cases


register(OpSpec(
    name="svm_loss", category="losses", title="SVM loss",
    doc="multiclass hinge loss: mean over the batch of sum over wrong classes j of "
        "max(0, s_j - s_label + delta)",
    grad_rule="each wrong class with a positive margin gets +1/N, the correct class -1/N per such class",
    code=CodeRule("_svm_loss({scores}, {labels}, {delta})",
                  (("scores", "_svm_dscores({scores}, {labels}, {delta}) * {g}",
                    "SVM loss: +1/N per wrong class with a positive margin, -1/N per such class for the label"),),
                  helpers=("_svm_loss", "_svm_dscores"), torch_helpers=("_svm_loss",)),
    inputs=(Port("scores", "class scores, shape (N, C)"),
            Port("labels", "class index per row, shape (N,)", dtype="int", differentiable=False)),
    params=(ParamSpec("delta", "float", 1.0, "the margin the correct class must win by", min=0.0),),
    shape=_classify_shape("svm_loss"), forward=_svm_fwd, backward=_ce_bwd,
    examples=_svm_examples, kernels=(KN.svm_fwd,),
    onnx=onnx_rules.svm_loss,
))


# ----------------------------------------------------------------------- MSE
def _mse_shape(params, shapes):
    p, t = shapes
    if tuple(p) != tuple(t):
        raise ShapeError(f"pred has shape {tuple(p)} but target has shape {tuple(t)}; they must match",
                         port="target")
    return ()


def _mse_fwd(ctx, ins, params, tensors):
    p = _float(ctx, ins[0])
    t = _float(ctx, ins[1])
    diff = ctx.buf("diff", p.shape, p.dtype)
    np.subtract(p, t, out=diff)
    flat = diff.reshape(-1)
    n = max(flat.size, 1)
    return _scalar_out(ctx, float(np.dot(flat, flat)) / n)


def _mse_bwd(ctx, g, ins, out, params, tensors):
    diff = ctx.bufs["diff"]
    dp = ctx.buf("dpred", diff.shape, diff.dtype)
    np.multiply(diff, 2.0 * float(g) / max(diff.size, 1), out=dp)
    dt = None
    if ctx.need_grad[1]:
        dt = ctx.buf("dtarget", diff.shape, diff.dtype)
        np.negative(dp, out=dt)
    return [dp, dt]


register(OpSpec(
    name="mse", category="losses", title="MSE",
    doc="mean squared error: mean of (pred - target)^2 over every element",
    grad_rule="pred gets 2 (pred - target) / n, target the negative of that",
    code=CodeRule("np.mean(({pred} - {target}) ** 2)",
                  (("pred", "2.0 * ({pred} - {target}) / np.size({pred}) * {g}", "MSE: pred gets 2 (pred - target) / n"),
                   ("target", "-2.0 * ({pred} - {target}) / np.size({pred}) * {g}", "MSE: target gets the negative")),
                  torch="torch.mean(({pred} - {target}) ** 2)"),
    inputs=(Port("pred", "predictions"), Port("target", "the values to match, same shape")),
    shape=_mse_shape, forward=_mse_fwd, backward=_mse_bwd,
    examples=lambda rng: [{"inputs": {"pred": rng.standard_normal(s), "target": rng.standard_normal(s)},
                           "label": f"shape {s}"} for s in ((), (5,), (4, 3))],
    onnx=onnx_rules.mse,
))


# ------------------------------------------------------------------ total
def _total_shape(params, shapes):
    d, r = shapes
    if tuple(d) != ():
        raise ShapeError(f"data must be a scalar loss, got shape {tuple(d)}: put a loss (or a sum) before it",
                         port="data")
    if r is not None and tuple(r) != ():
        raise ShapeError(f"reg must be a scalar penalty, got shape {tuple(r)}", port="reg")
    return ()


def _total_fwd(ctx, ins, params, tensors):
    d, r = ins
    out = ctx.saved.get("out")
    if out is None or out.dtype != ctx.dtype:
        out = ctx.saved["out"] = ctx.buf("out", (), ctx.dtype)
    out[()] = float(d) + (0.0 if r is None else float(r))
    return out


def _total_bwd(ctx, g, ins, out, params, tensors):
    return [g, None if ins[1] is None else g]


register(OpSpec(
    name="total_loss", category="losses", title="total loss",
    doc="data loss + regularisation loss; both parts stay visible (the trainer plots them apart)",
    grad_rule="passes the gradient unchanged to the data loss and to the regularisation loss",
    code=CodeRule(lambda m: m["data"] + (f" + {m['reg']}" if m["reg"] else ""),
                  (("data", "{g}", "total loss: passes the upstream unchanged"),
                   ("reg", "{g}", "total loss: passes the upstream unchanged"))),
    inputs=(Port("data", "the data loss (a scalar)"),
            Port("reg", "the regularisation loss (a scalar); chain add gates for several", optional=True)),
    shape=_total_shape, forward=_total_fwd, backward=_total_bwd,
    examples=lambda rng: [
        {"inputs": {"data": np.asarray(rng.uniform(0.5, 2.0)), "reg": np.asarray(rng.uniform(0, 1))},
         "label": "data + reg"},
        {"inputs": {"data": np.asarray(rng.uniform(0.5, 2.0))}, "label": "data only"}],
    onnx=onnx_rules.total_loss,
))


def breakdown(graph, executor, node: str) -> dict[str, float]:
    """{"total", "data", "reg"} of a total_loss node after a forward pass (reg 0 when unwired)."""
    nid = graph.find(node)
    total = float(executor.value(nid))
    parts = {"total": total, "data": total, "reg": 0.0}
    if graph.nodes[nid].op != "total_loss":
        return parts
    d = graph.input_edge(nid, "data")
    r = graph.input_edge(nid, "reg")
    parts["data"] = float(executor.value(d.src)) if d else total
    parts["reg"] = float(executor.value(r.src)) if r else 0.0
    return parts


# -------------------------------------------------------------- regularizers
TARGETS = ParamSpec(
    "targets", "str", "auto",
    "which weights to penalise: 'auto' (the wired x if any, else every layer weight W), 'all' (every "
    "layer weight W: linear, conv2d, maxout), 'none', or a comma-separated list of node names, each "
    "optionally with .weight (e.g. 'fc1, fc2.W'); a name alone means its W")


def resolve_targets(graph, params: dict, x_wired: bool, node_id: str | None = None) -> list[tuple[str, str]]:
    """(node id, weight name) pairs a regularizer penalises, or GraphError naming the bad entry."""
    text = (params.get("targets") or "auto").strip()
    if text == "none" or (text == "auto" and x_wired):
        return []
    if text in ("auto", "all"):
        out = []
        for nid, node in graph.nodes.items():
            spec = node.spec
            if spec is None or spec.source:
                continue
            w = spec.weight("W")
            if w is not None and w.trainable and "W" in node.tensors:
                out.append((nid, "W"))
        return out
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        name, _, weight = item.partition(".")
        try:
            nid = graph.find(name)
        except GraphError:
            raise GraphError([Problem(node_id, None, f"targets: no node named {name!r}")]) from None
        node = graph.nodes[nid]
        spec = node.spec
        if spec is not None and spec.source:
            raise GraphError([Problem(node_id, None, f"targets: {name!r} is a {node.op} node; wire it into x "
                                                     "instead")])
        weight = weight or "W"
        w = spec.weight(weight) if spec is not None else None
        if w is None or not w.trainable or weight not in node.tensors:
            raise GraphError([Problem(node_id, None, f"targets: node {name!r} has no trainable weight {weight!r}")])
        out.append((nid, weight))
    return out


def _targets(ctx, params, x_wired: bool) -> list[tuple[str, str, dict]]:
    """Resolved targets as (node id, weight, that node's arrays as this executor reads them:
    Executor.tensors_of). Resolving reads the graph's structure, the targets param, node names and
    which weights exist: every change of those bumps structure_version or config_version, and the
    executor's per-node dicts change only with them or a new plan, so that is the complete key."""
    ex = ctx.executor
    graph = ex.graph
    key = (graph.structure_version, graph.config_version, ex.plan_version, x_wired)
    cached = ctx.saved.get("targets")
    if cached is None or cached[0] != key:
        pairs = resolve_targets(graph, params, x_wired, ctx.node_id)
        cached = ctx.saved["targets"] = (key, [(nid, w, ex.tensors_of(nid)) for nid, w in pairs])
    return cached[1]


def _regularizer(name: str, title: str, doc: str, grad_rule: str, penalty, grad, extra_params=(),
                 uses_tmp: bool = True, scale=None, code=None):
    """penalty(w, params, tmp) -> float; grad(w, params, scale, out, tmp) writes scale * d penalty / d w
    into out. tmp is a scratch buffer shaped like w, so a training step allocates nothing (None when
    not `uses_tmp`). `scale(params)`, when given, says the gradient is scale(params) * w: layer weights
    then get it through ctx.add_scaled_weight_grad, fused with their own gradient."""

    def forward(ctx, ins, params, tensors):
        x = ins[0]
        total = 0.0
        if x is not None:
            xf = _float(ctx, x)
            total = penalty(xf, params, ctx.buf("t:x", xf.shape, xf.dtype))
        for nid, w, tens in _targets(ctx, params, x is not None):
            arr = tens[w]
            total += penalty(arr, params, ctx.buf(f"t:{nid}.{w}", arr.shape, arr.dtype) if uses_tmp else None)
        return _scalar_out(ctx, total)

    def backward(ctx, g, ins, out, params, tensors):
        s = float(g)
        x = ins[0]
        dx = None
        if x is not None:
            xf = _float(ctx, x)
            dx = ctx.buf("dx", xf.shape, xf.dtype)
            grad(xf, params, s, dx, ctx.buf("t:x", xf.shape, xf.dtype) if uses_tmp else None)
        targets = _targets(ctx, params, x is not None)
        if scale is not None:
            k = scale(params) * s
            for nid, w, tens in targets:
                ctx.add_scaled_weight_grad(nid, w, tens[w], k)
            return [dx]
        for nid, w, tens in targets:
            arr = tens[w]
            d = ctx.buf(f"d:{nid}.{w}", arr.shape, arr.dtype)
            grad(arr, params, s, d, ctx.buf(f"t:{nid}.{w}", arr.shape, arr.dtype) if uses_tmp else None)
            ctx.add_weight_grad(nid, w, d)
        return [dx]

    def shape(params, shapes):
        text = params.get("targets")
        if not isinstance(text, str):
            raise ShapeError("targets must be text such as 'auto', 'all' or 'fc1, fc2'")
        return ()

    def examples(rng):
        return [{"inputs": {"x": rng.standard_normal(s) + np.where(rng.random(s) < 0.5, 0.3, -0.3)},
                 "params": {"strength": 0.7, **{p.name: p.default for p in extra_params}},
                 "label": f"x of shape {s}"} for s in ((), (4,), (3, 5))]

    return register(OpSpec(
        name=name, category="regularizers", title=title, doc=doc, grad_rule=grad_rule,
        code=code,
        inputs=(Port("x", "a param node to penalise (optional: layer weights are chosen by targets)",
                     optional=True),),
        params=(ParamSpec("strength", "float", 1e-3, "regularisation strength (lambda)", min=0.0),
                *extra_params, TARGETS),
        shape=shape, forward=forward, backward=backward, examples=examples,
        onnx=onnx_rules.regularizer(name),
    ))


def _reg_code(front: str, term: str, grad: str, rule: str) -> CodeRule:
    """A regularizer's code: `front` * (the sum of `term` over x and every penalised weight {t});
    `grad` is d penalty / d {t} times the upstream {g}. `term` is written with np. and turned into torch."""
    def forward(lib):
        def text(m):
            ts = ([m["x"]] if m["x"] else []) + list(m["_targets"])
            body = " + ".join(term.replace("np.", lib + ".").format(t=t, **m) for t in ts)
            return f"{front.format(**m)} * ({body})" if ts else "0.0"
        return text
    return CodeRule(forward("np"), (("x", grad.replace("{t}", "{x}"), rule), (EACH_TARGET, grad, rule)),
                    torch=forward("torch"))


def _sumsq(w):
    f = w.reshape(-1)
    return float(np.dot(f, f))


def _sumabs(w, tmp):
    np.abs(w, out=tmp)
    return float(tmp.sum())


def _l2_grad(w, p, s, out, tmp):
    np.multiply(w, p["strength"] * s, out=out)


def _l1_grad(w, p, s, out, tmp):
    np.sign(w, out=out)
    out *= p["strength"] * s


def _en_grad(w, p, s, out, tmp):
    np.sign(w, out=out)
    np.multiply(w, 2.0 * p["beta"], out=tmp)
    out += tmp
    out *= p["strength"] * s


_regularizer("l2", "L2",
             "0.5 * strength * sum W^2 (CS231n's convention: the 0.5 makes the gradient strength * W)",
             "each penalised weight gets strength * W: weight decay",
             lambda w, p, tmp: 0.5 * p["strength"] * _sumsq(w), _l2_grad,
             code=_reg_code("0.5 * {strength}", "np.sum({t} ** 2)", "{strength} * {t} * {g}", "L2: strength * W"),
             uses_tmp=False,
             scale=lambda p: p["strength"])
_regularizer("l1", "L1", "strength * sum |W|: drives weights to exactly zero (sparse)",
             "each penalised weight gets strength * sign(W)",
             lambda w, p, tmp: p["strength"] * _sumabs(w, tmp), _l1_grad,
             code=_reg_code("{strength}", "np.sum(np.abs({t}))", "{strength} * np.sign({t}) * {g}",
                            "L1: strength * sign(W)"))
_regularizer("elastic_net", "elastic net", "strength * sum (beta W^2 + |W|): L1 and L2 together",
             "each penalised weight gets strength * (2 beta W + sign(W))",
             lambda w, p, tmp: p["strength"] * (p["beta"] * _sumsq(w) + _sumabs(w, tmp)), _en_grad,
             code=_reg_code("{strength}", "({beta} * np.sum({t} ** 2) + np.sum(np.abs({t})))",
                            "{strength} * (2.0 * {beta} * {t} + np.sign({t})) * {g}",
                            "elastic net: strength * (2 beta W + sign(W))"),
             extra_params=(ParamSpec("beta", "float", 0.5, "weight of the squared term against |W|", min=0.0),))
