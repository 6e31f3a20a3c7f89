"""Regularizers (L2, L1, elastic net): penalties on layer weights they are not wired to.

Which weights is the `targets` param (resolve_targets); a param node can instead be wired
into the `x` port. The gradient reaches those weights through ctx.add_weight_grad (L2's,
k * W, through ctx.add_scaled_weight_grad, fused with the layer's own gradient), so
ex.weight_grad(layer, "W") includes the penalty. With `x` unwired each direction declares
its repeatable call (Ctx.repeat), which re-resolves nothing while the graph's structure,
config and the executor's plan are the ones it was recorded under.
"""
from __future__ import annotations

import numpy as np

from ..export.coderule import EACH_TARGET, CodeRule
from ..problems import GraphError, Problem
from ..registry import OpSpec, ParamSpec, Port, ShapeError, register
from .losses import _float, _scalar_out
from ..export import onnx_rules


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


def _same_targets(ex, key: tuple) -> bool:
    """Do the targets resolved under `key` (see _targets) still hold?"""
    g = ex.graph
    return g.structure_version == key[0] and g.config_version == key[1] and ex.compiles == key[2]


def _penalty_again(ins, ex, key, items, penalty, params, out):
    """The forward's repeatable call (x unwired): the same sum over the same arrays, while the targets
    hold and each target's weight is still the array it was (set_weights replaces it)."""
    if not _same_targets(ex, key):
        return None
    total = 0.0
    for tens, w, arr, tmp in items:
        if tens[w] is not arr:
            return None
        total += penalty(arr, params, tmp)
    out[()] = total
    return out


def _sumsq_again(ins, ex, key, items, coef, out):
    """_penalty_again for a penalty coef * sum w^2 (L2), from flat views made once: the same bits."""
    if not _same_targets(ex, key):
        return None
    total = 0.0
    for tens, w, arr, flat in items:
        if tens[w] is not arr:
            return None
        total += coef * float(flat.dot(flat))
    out[()] = total
    return out


def _scaled_again(ins, g, ctx, key, targets, scale, params, result):
    """The backward's repeatable call (x unwired, gradient k * W): what the rule does, unresolved."""
    if not _same_targets(ctx.executor, key):
        return None
    k = scale(params) * float(g)
    calls = ctx.saved.get("fused calls")  # (k, the targets they were made for, the calls)
    if calls is not None and calls[1] is targets and calls[2] is not None and calls[0] == k \
            and ctx.fused_again(calls[2]):
        return result
    for nid, w, tens in targets:
        ctx.add_scaled_weight_grad(nid, w, tens[w], k)
    ctx.saved["fused calls"] = (k, targets, ctx.fused_calls(targets, k))
    return result


def _regularizer(name: str, title: str, doc: str, grad_rule: str, penalty, grad, extra_params=(),
                 uses_tmp: bool = True, scale=None, code=None, sumsq=None):
    """penalty(w, params, tmp) -> float; grad(w, params, scale, out, tmp) writes scale * d penalty / d w
    into out. tmp is a scratch buffer shaped like w, so a training step allocates nothing (None when
    not `uses_tmp`). `scale(params)`, when given, says the gradient is scale(params) * w: layer weights
    then get it through ctx.add_scaled_weight_grad, fused with their own gradient. `sumsq(params)`,
    when given, says penalty is sumsq(params) * _sumsq(w), computed so: the forward's repeat then
    keeps flat views of the weights."""

    def forward(ctx, ins, params, tensors):
        x = ins[0]
        total = 0.0
        if x is not None:
            xf = _float(ctx, x)
            total = penalty(xf, params, ctx.buf("t:x", xf.shape, xf.dtype))
        items = []
        for nid, w, tens in _targets(ctx, params, x is not None):
            arr = tens[w]
            tmp = ctx.buf(f"t:{nid}.{w}", arr.shape, arr.dtype) if uses_tmp else None
            total += penalty(arr, params, tmp)
            items.append((tens, w, arr, tmp))
        out = _scalar_out(ctx, total)
        if x is None:
            key = ctx.saved["targets"][0]
            if sumsq is not None and all(arr.flags.c_contiguous for _, _, arr, _ in items):
                flats = [(tens, w, arr, arr.reshape(-1)) for tens, w, arr, _ in items]
                ctx.repeat(_sumsq_again, (ctx.executor, key, flats, sumsq(params), out), fed=True)
            else:
                ctx.repeat(_penalty_again, (ctx.executor, key, items, penalty, params, out), fed=True)
        return out

    def backward(ctx, g, ins, out, params, tensors):
        s = float(g)
        x = ins[0]
        dx = None
        if x is not None:
            xf = _float(ctx, x)
            dx = ctx.buf("dx", xf.shape, xf.dtype)
            grad(xf, params, s, dx, ctx.buf("t:x", xf.shape, xf.dtype) if uses_tmp else None)
        targets = _targets(ctx, params, x is not None)
        ctx.saved.pop("fused calls", None)  # the rule runs: the repeat's calls belong to the last targets
        if scale is not None:
            k = scale(params) * s
            for nid, w, tens in targets:
                ctx.add_scaled_weight_grad(nid, w, tens[w], k)
            if x is None:
                ctx.repeat(_scaled_again, (g, ctx, ctx.saved["targets"][0], targets, scale, params, [None]), fed=True)
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
    return float(f.dot(f))  # the method skips np.dot's dispatch (~0.3 us); the same BLAS call


def _sumabs(w, tmp):
    np.abs(w, out=tmp)
    return float(tmp.sum())


def _l2_coef(p) -> float:
    return 0.5 * p["strength"]


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
             lambda w, p, tmp: _l2_coef(p) * _sumsq(w), _l2_grad,
             code=_reg_code("0.5 * {strength}", "np.sum({t} ** 2)", "{strength} * {t} * {g}", "L2: strength * W"),
             uses_tmp=False,
             scale=lambda p: p["strength"], sumsq=_l2_coef)
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
