"""Losses (softmax cross-entropy, multiclass SVM, MSE, the total).

Losses average over the batch and return a scalar. `total_loss` adds the data loss
and the regularisation loss (graphcore.ops.regularizers) while keeping both
visible: see `breakdown`.
"""
from __future__ import annotations

import math

import numpy as np

from ..export.coderule import CodeRule
from ..kernels import nn as KN
from ..kernels import softmax as KS
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
    if sf.size >= KS.CE_WIDE:  # many scores: numpy's SIMD exp between two compiled loops
        fns = (KS.ce_shift.get(), KS.ce_finish.get())
        loss, bad = _ce_wide(sf, labels, d, *fns)
        if bad >= 0:
            _bad_label(ctx, labels, bad, sf.shape[1])
        out = _scalar_out(ctx, loss)
        if sf is scores and labels is ins[1]:
            ctx.repeat(_ce_wide_again, (d, *fns, out), fed=True)
        return out
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


def _ce_wide(scores, labels, d, shift, finish):
    picked, bad = shift(scores, labels, d)
    if bad >= 0:
        return math.nan, bad
    np.exp(d, out=d)
    return finish(d, labels, picked), -1


def _ce_wide_again(ins, d, shift, finish, out):
    loss, bad = _ce_wide(ins[0], ins[1], d, shift, finish)
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
    examples=lambda rng: _classify_examples(rng), kernels=(KN.softmax_ce_fwd, KS.ce_shift, KS.ce_finish),
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
