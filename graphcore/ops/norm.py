"""Mode-dependent layers: batchnorm (batch statistics in train mode, running ones in
eval) and inverted dropout (a seeded mask in train mode, the identity in eval)."""
from __future__ import annotations

import numpy as np

from ..export.coderule import CodeRule
from ..kernels import nn as KN
from ..registry import OpSpec, ParamSpec, Port, ShapeError, WeightSpec, register
from ._layerkit import fdata, weight
from ..export import onnx_rules


# ---------------------------------------------------------------- batchnorm
def _bn_channels(shape) -> int:
    if len(shape) == 2:
        return shape[1]
    if len(shape) == 4:
        return shape[1]
    raise ShapeError(f"batchnorm takes rows (N, D), normalised per feature, or images (N, C, H, W), per "
                     f"channel; got {tuple(shape)}", port="x")


def _bn_shape(params, shapes):
    s = shapes[0]
    _bn_channels(s)
    return tuple(s)


def _as3(a: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, D, 1) and (N, C, H, W) -> (N, C, H*W), as views."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def _zero_variance(x: np.ndarray) -> bool:
    """Is some feature/channel constant over the batch (variance exactly 0)? Only asked when eps = 0."""
    x3 = _as3(x)
    return bool((x3.max(axis=(0, 2)) == x3.min(axis=(0, 2))).any())


def _refuse_zero_variance(ctx, running: bool = False):
    from ..problems import NumericError

    name = ctx.executor.graph.nodes[ctx.node_id].name if ctx.executor is not None else ctx.node_id
    where = "a running variance is 0" if running else "a feature/channel is constant over the batch (variance 0)"
    raise NumericError(ctx.node_id, name, "forward",
                       f"division by zero ({where} and eps = 0: set eps > 0, e.g. 1e-5)")


def _bn_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    c = x.shape[1]
    gamma = weight(tensors, "gamma", x.dtype)
    beta = weight(tensors, "beta", x.dtype)
    out = ctx.buf("out", x.shape, x.dtype)
    if ctx.train:
        rm, rv = tensors["running_mean"], tensors["running_var"]
        if rm.dtype != x.dtype:  # running stats follow the executor's dtype (float32 runs)
            rm = tensors["running_mean"] = rm.astype(x.dtype)
            rv = tensors["running_var"] = rv.astype(x.dtype)
        xhat = ctx.buf("xhat", x.shape, x.dtype)
        invstd = ctx.buf("invstd", (c,), x.dtype)
        eps = float(params["eps"])
        if eps == 0.0 and x.size and _zero_variance(x):
            _refuse_zero_variance(ctx)  # before the kernel: 1/sqrt(0) is a ZeroDivisionError in numba
        KN.batchnorm_fwd.get()(_as3(x), gamma, beta, eps, float(params["momentum"]),
                                     _as3(out), _as3(xhat), invstd, rm, rv)
        ctx.saved["bn_train"] = True
        return out
    # eval: normalise with the running statistics
    invstd = ctx.buf("invstd", (c,), x.dtype)
    np.add(tensors["running_var"], params["eps"], out=invstd)
    if params["eps"] == 0.0 and not invstd.all():
        _refuse_zero_variance(ctx, running=True)
    np.sqrt(invstd, out=invstd)
    np.reciprocal(invstd, out=invstd)
    xhat = ctx.buf("xhat", x.shape, x.dtype)
    x3, xh3 = _as3(x), _as3(xhat)
    np.subtract(x3, tensors["running_mean"].astype(x.dtype, copy=False)[None, :, None], out=xh3)
    xh3 *= invstd[None, :, None]
    np.multiply(xh3, gamma[None, :, None], out=_as3(out))
    _as3(out)[...] += beta[None, :, None]
    ctx.saved["bn_train"] = False
    return out


def _bn_bwd(ctx, g, ins, out, params, tensors):
    g = fdata(ctx, g)
    c = g.shape[1]
    gamma = weight(tensors, "gamma", g.dtype)
    dx = ctx.buf("dx", g.shape, g.dtype)
    dgamma = ctx.buf("dgamma", (c,), g.dtype)
    dbeta = ctx.buf("dbeta", (c,), g.dtype)
    xhat, invstd = ctx.bufs["xhat"], ctx.bufs["invstd"]
    if ctx.saved.get("bn_train"):
        KN.batchnorm_bwd.get()(_as3(g), _as3(xhat), gamma, invstd, _as3(dx), dgamma, dbeta)
    else:  # eval: the statistics are constants, so the layer is a per-channel affine map
        g3 = _as3(g)
        np.sum(g3, axis=(0, 2), out=dbeta)
        np.sum(g3 * _as3(xhat), axis=(0, 2), out=dgamma)
        np.multiply(g3, (gamma * invstd)[None, :, None], out=_as3(dx))
    ctx.wgrads["gamma"] = dgamma
    ctx.wgrads["beta"] = dbeta
    return [dx]


def _bn_examples(rng):
    cases = []
    for shp in ((5, 3), (2, 3, 2, 2), (4, 2, 3, 1)):
        c = shp[1]
        w = {"gamma": 1.0 + 0.5 * rng.random(c), "beta": rng.standard_normal(c) * 0.1}
        x = rng.standard_normal(shp) * 2 + 1
        cases.append({"inputs": {"x": x}, "weights": dict(w), "label": f"train {shp}"})
        ev = dict(w, running_mean=rng.standard_normal(c) * 0.1, running_var=0.5 + rng.random(c))
        cases.append({"inputs": {"x": x}, "weights": ev, "mode": "eval", "label": f"eval {shp}"})
    return cases


register(OpSpec(
    name="batchnorm", category="layers", title="batchnorm", mode_dependent=True, updates_state=True,
    doc="batch normalisation: (x - mean) / sqrt(var + eps) * gamma + beta, per feature of (N, D) or per "
        "channel of (N, C, H, W). Train mode uses the batch's statistics and updates running = momentum * "
        "running + (1 - momentum) * batch; eval mode uses the running statistics",
    grad_rule="train: dx = gamma/sqrt(var+eps)/M * (M g - sum g - xhat * sum(g xhat)); gamma gets "
              "sum(g xhat), beta sum(g); eval: dx = g gamma / sqrt(running_var + eps)",
    code=CodeRule("_bn_eval({x}, {gamma}, {beta}, {running_mean}, {running_var}, {eps})",
                  (("x", "{g} * _per_channel({gamma} / np.sqrt({running_var} + {eps}), {x})",
                    "batchnorm (eval): upstream times gamma / sqrt(running_var + eps)"),
                   ("gamma", "_channel_sum({g} * _bn_xhat({x}, {running_mean}, {running_var}, {eps}))",
                    "batchnorm: gamma gets sum(g xhat)"),
                   ("beta", "_channel_sum({g})", "batchnorm: beta gets sum(g)")),
                  torch="_batchnorm({x}, {gamma}, {beta}, {running_mean}, {running_var}, {momentum}, {eps}, self.training)",
                  helpers=("_bn_eval", "_bn_xhat", "_per_channel", "_channel_sum"), torch_helpers=("_batchnorm",)),
    inputs=(Port("x", "rows (N, D) or images (N, C, H, W)"),),
    params=(ParamSpec("momentum", "float", 0.9, "how much of the running statistics is kept per step",
                      min=0.0, max=1.0),
            ParamSpec("eps", "float", 1e-5, "added to the variance so it is never divided by zero", min=0.0)),
    weights=(WeightSpec("gamma", shape=lambda p, s: (s[0][1],), init="ones", doc="scale per feature/channel"),
             WeightSpec("beta", shape=lambda p, s: (s[0][1],), init="zeros", doc="shift per feature/channel"),
             WeightSpec("running_mean", trainable=False, shape=lambda p, s: (s[0][1],), init="zeros",
                        doc="running mean of the batches seen in train mode (used in eval)"),
             WeightSpec("running_var", trainable=False, shape=lambda p, s: (s[0][1],), init="ones",
                        doc="running variance of the batches seen in train mode (used in eval)")),
    shape=_bn_shape, forward=_bn_fwd, backward=_bn_bwd, examples=_bn_examples,
    kernels=(KN.batchnorm_fwd, KN.batchnorm_bwd),
    onnx=onnx_rules.batchnorm,
))


# ------------------------------------------------------------------ dropout
def _dropout_fwd(ctx, ins, params, tensors):
    x = fdata(ctx, ins[0])
    p = float(params["p"])
    if not ctx.train or p >= 1.0:
        ctx.saved["dropout_mask"] = False
        return x
    # inverted dropout, as in the notes: mask = (rand(shape) < p) / p
    mask = ctx.buf("mask", x.shape, x.dtype)
    ctx.rng.random(dtype=x.dtype, out=mask)
    keep = ctx.buf("keep", x.shape, np.bool_)
    np.less(mask, p, out=keep)
    np.copyto(mask, keep)  # (a mixed bool * float ufunc would allocate a cast buffer)
    mask *= 1.0 / p
    out = ctx.buf("out", x.shape, x.dtype)
    np.multiply(x, mask, out=out)
    ctx.saved["dropout_mask"] = True
    return out


def _dropout_bwd(ctx, g, ins, out, params, tensors):
    if not ctx.saved.get("dropout_mask"):
        return [g]
    g = fdata(ctx, g)
    dx = ctx.buf("dx", g.shape, g.dtype)
    np.multiply(g, ctx.bufs["mask"], out=dx)
    return [dx]


register(OpSpec(
    name="dropout", category="layers", title="dropout", mode_dependent=True,
    doc="inverted dropout: in train mode keeps each unit with probability p and divides the kept ones by p "
        "(mask = (rand < p) / p, seeded per node); in eval mode passes x through unchanged",
    grad_rule="multiplies the gradient by the same mask (zero where dropped, 1/p where kept); "
              "unchanged in eval mode",
    code=CodeRule("{x}", (("x", "{g}", "dropout (eval): passes the upstream unchanged"),),
                  torch="F.dropout({x}, p=1.0 - {p}, training=self.training)",
                  comment="dropout is the identity in eval mode"),
    inputs=(Port("x", "activations"),),
    params=(ParamSpec("p", "float", 0.5, "keep probability (1 = no dropout)", min=0.01, max=1.0),),
    shape=lambda params, shapes: tuple(shapes[0]), forward=_dropout_fwd, backward=_dropout_bwd,
    examples=lambda rng: [
        {"inputs": {"x": rng.standard_normal((4, 6))}, "params": {"p": 0.5}, "label": "train p=0.5"},
        {"inputs": {"x": rng.standard_normal((2, 3, 2, 2))}, "params": {"p": 0.8}, "label": "train images p=0.8"},
        {"inputs": {"x": rng.standard_normal((3, 5))}, "params": {"p": 0.5}, "mode": "eval", "label": "eval"}],
    onnx=onnx_rules.dropout,
))
