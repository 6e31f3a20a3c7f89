"""Which ONNX node becomes which graph node: the import side of the op mapping.

Ops whose rule (OpSpec.onnx) is one ONNX op type map back by that type, found from the
registry; the layers have a reader here that takes their weights from initializers and
refuses the attribute values the graph's op cannot express (naming the ONNX node and why).
A reader returns (graph op, {port: ONNX tensor}, params, {weight: array}).
"""
from __future__ import annotations

import numpy as np

from .. import registry
from ..kernels.elementwise import SELU_ALPHA, SELU_SCALE


class Unsupported(ValueError):
    """This ONNX node cannot become a graph node; the message says why."""


def attributes(onnx, node) -> dict:
    """name -> value; a float attribute (a float32) as the shortest decimal that is that float32,
    so 1e-5 written by an exporter comes back as 1e-5, not 9.99999975e-06."""
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = float(str(np.float32(v))) if a.type == onnx.AttributeProto.FLOAT else v
    return out


def number(arr: np.ndarray, what: str) -> float:
    """The one number of a constant; from a float32 tensor, the shortest decimal that is it."""
    if arr is None or arr.size != 1:
        raise Unsupported(f"{what} must be one constant number")
    v = arr.reshape(-1)[0]
    return float(str(v)) if arr.dtype == np.float32 else float(v)


def _only(node, a: dict, allowed: set[str]) -> None:
    extra = sorted(set(a) - allowed)
    if extra:
        raise Unsupported(f"attribute {extra[0]!r} has no counterpart in the graph's op")


def _ins(node, n_min: int, n_max: int | None = None) -> list[str]:
    ins = list(node.input)
    while ins and not ins[-1]:
        ins.pop()
    n_max = n_min if n_max is None else n_max
    if not n_min <= len(ins) <= n_max or any(not i for i in ins[:n_min]):
        want = n_min if n_min == n_max else f"{n_min} to {n_max}"
        raise Unsupported(f"{len(ins)} inputs, the graph's op takes {want}")
    return ins


def _square(values, what: str) -> int:
    values = [int(v) for v in values]
    if len(values) != 2 or values[0] != values[1]:
        raise Unsupported(f"{what} {values}: only square 2-D windows are supported")
    return values[0]


# ------------------------------------------------------------------ from the registry
def simple_table() -> dict:
    """ONNX op type -> (graph op, ports, {attribute: param}) for the ops declaring one ONNX op type."""
    out = {}
    for spec in registry.ops().values():
        rule = spec.onnx
        if spec.source or rule is None:
            continue
        if isinstance(rule, str):
            out[rule] = (spec.name, spec.input_names, {})
        elif getattr(rule, "onnx_attrs", None) is not None:
            out[rule.onnx_type] = (spec.name, spec.input_names, dict(rule.onnx_attrs))
    return out


ONNX_DEFAULTS = {("LeakyRelu", "alpha"): 0.01, ("Elu", "alpha"): 1.0}


def read_simple(imp, node, entry):
    op, ports, attr_map = entry
    a = attributes(imp.onnx, node)
    _only(node, a, set(attr_map))
    ins = _ins(node, len(ports))
    params = {p: float(a.get(att, ONNX_DEFAULTS.get((node.op_type, att)))) for att, p in attr_map.items()}
    return op, dict(zip(ports, ins)), params, {}


# ------------------------------------------------------------------ gates and activations
def read_pow(imp, node):
    x, e = _ins(node, 2)
    return "pow", {"x": x}, {"p": number(imp.constant(e, exact=True), "the exponent")}, {}


def read_selu(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"alpha", "gamma"})
    for k, want in (("alpha", SELU_ALPHA), ("gamma", SELU_SCALE)):
        if k in a and float(np.float32(a[k])) != float(np.float32(want)):
            raise Unsupported(f"{k} = {a[k]:g}; the graph's selu has the self-normalising constant {want:.6g}")
    return "selu", {"x": _ins(node, 1)[0]}, {}, {}


def read_prelu(imp, node):
    x, slope = _ins(node, 2)
    return "prelu", {"x": x, "alpha": slope}, {}, {}


# ------------------------------------------------------------------ layers
def read_gemm(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"alpha", "beta", "transA", "transB"})
    if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
        raise Unsupported("only alpha = beta = 1 and transA = 0 (x W + b) are supported")
    ins = _ins(node, 2, 3)
    W = imp.weight(ins[1], "B")
    if W.ndim != 2:
        raise Unsupported(f"B has shape {W.shape}; a linear layer's W is a matrix")
    if a.get("transB", 0):
        W = W.T
    units = W.shape[1]
    b = imp.weight(ins[2], "C") if len(ins) > 2 else np.zeros(units)
    if b.size not in (1, units) or b.ndim > 2 or (b.ndim == 2 and b.shape[0] != 1):
        raise Unsupported(f"C has shape {b.shape}; a linear layer's b has one value per unit ({units})")
    return "linear", {"x": ins[0]}, {"units": units}, {"W": W, "b": np.broadcast_to(b.reshape(-1), (units,)).copy()}


def read_conv(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"})
    ins = _ins(node, 2, 3)
    W = imp.weight(ins[1], "W")
    if W.ndim != 4:
        raise Unsupported(f"W has shape {W.shape}; only 2-D convolutions (F, C, k, k) are supported")
    size = _square(W.shape[2:], "kernel")
    if "kernel_shape" in a and _square(a["kernel_shape"], "kernel_shape") != size:
        raise Unsupported("kernel_shape does not match W")
    stride = _square(a.get("strides", [1, 1]), "strides")
    pads = [int(p) for p in a.get("pads", [0, 0, 0, 0])]
    if len(set(pads)) != 1:
        raise Unsupported(f"pads {pads}: only the same padding on every border is supported")
    if any(int(d) != 1 for d in a.get("dilations", [1, 1])) or a.get("group", 1) != 1:
        raise Unsupported("dilations and groups are not supported")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unsupported("auto_pad is not supported; give explicit pads")
    b = imp.weight(ins[2], "B") if len(ins) > 2 else np.zeros(W.shape[0])
    return ("conv2d", {"images": ins[0]}, {"filters": W.shape[0], "size": size, "stride": stride, "pad": pads[0]},
            {"W": W, "b": b.reshape(-1)})


def read_pool(op: str):
    def read(imp, node):
        a = attributes(imp.onnx, node)
        _only(node, a, {"kernel_shape", "strides", "pads", "ceil_mode", "dilations", "auto_pad",
                        "count_include_pad", "storage_order"})
        if len([o for o in node.output if o]) != 1:
            raise Unsupported("only the pooled output is supported (no indices)")
        if any(int(p) for p in a.get("pads", [])) or a.get("ceil_mode", 0) or \
                any(int(d) != 1 for d in a.get("dilations", [])) or a.get("storage_order", 0):
            raise Unsupported("padding, ceil_mode, dilations and storage_order are not supported")
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            raise Unsupported("auto_pad SAME is not supported")
        size = _square(a["kernel_shape"], "kernel_shape")
        stride = _square(a.get("strides", [1, 1]), "strides")
        return op, {"x": _ins(node, 1)[0]}, {"size": size, "stride": stride}, {}
    return read


def read_batchnorm(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"epsilon", "momentum", "training_mode"})
    if a.get("training_mode", 0) or len([o for o in node.output if o]) != 1:
        raise Unsupported("only the inference form (training_mode 0, one output) is supported")
    ins = _ins(node, 5)
    w = {k: imp.weight(t, k).reshape(-1) for k, t in zip(("gamma", "beta", "running_mean", "running_var"), ins[1:])}
    params = {"eps": float(a.get("epsilon", 1e-5)), "momentum": float(a.get("momentum", 0.9))}
    return "batchnorm", {"x": ins[0]}, params, w


def read_dropout(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"seed"})
    ins = _ins(node, 1, 3)
    if len([o for o in node.output if o]) != 1:
        raise Unsupported("the mask output is not supported")
    ratio = 0.5
    if len(ins) > 1:
        ratio = number(imp.constant(ins[1], exact=True), "ratio")
    if len(ins) > 2:
        t = imp.constant(ins[2])
        if t is None or bool(t.reshape(-1)[0]):
            raise Unsupported("only the inference form (training_mode false) is supported")
    return "dropout", {"x": ins[0]}, {"p": 1.0 - ratio}, {}


def read_softmax(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"axis"})
    if a.get("axis", -1) != -1:
        raise Unsupported(f"axis {a['axis']}: the graph's softmax runs along the last axis (-1)")
    return "softmax", {"x": _ins(node, 1)[0]}, {}, {}


def read_flatten(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"axis"})
    if a.get("axis", 1) != 1:
        raise Unsupported(f"axis {a['axis']}: the graph's flatten keeps the first (batch) axis")
    return "flatten", {"x": _ins(node, 1)[0]}, {}, {}


def read_reshape(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"allowzero"})
    x, s = _ins(node, 2)
    shape = imp.constant(s)
    if shape is None or shape.ndim != 1 or shape.size == 0:
        raise Unsupported("the target shape must be a constant list of whole numbers")
    dims = [int(d) for d in shape]
    if any(d == 0 for d in dims):
        raise Unsupported(f"shape {dims}: 0 (copy a dimension) is not supported")
    return "reshape", {"x": x}, {"shape": ", ".join(map(str, dims))}, {}


def read_reduce(op: str):
    def read(imp, node):
        a = attributes(imp.onnx, node)
        _only(node, a, {"axes", "keepdims", "noop_with_empty_axes"})
        ins = _ins(node, 1, 2)
        axes = a.get("axes")
        if len(ins) > 1:
            c = imp.constant(ins[1])
            if c is None:
                raise Unsupported("axes must be constant")
            axes = [int(v) for v in c.reshape(-1)]
        if a.get("noop_with_empty_axes", 0):
            raise Unsupported("noop_with_empty_axes is not supported")
        if axes is not None and len(axes) > 1:
            raise Unsupported(f"axes {list(axes)}: the graph's {op} reduces one axis or all of them")
        axis = int(axes[0]) if axes else None
        return op, {"x": ins[0]}, {"axis": axis, "keepdims": bool(a.get("keepdims", 1))}, {}
    return read


def read_softmax_ce(imp, node):
    a = attributes(imp.onnx, node)
    _only(node, a, {"reduction"})
    if a.get("reduction", b"mean") not in (b"mean", "mean") or len([o for o in node.output if o]) != 1:
        raise Unsupported("only reduction 'mean' with one output (no weights, no ignore_index) is supported")
    scores, labels = _ins(node, 2)
    return "softmax_cross_entropy", {"scores": scores, "labels": labels}, {}, {}


LAYERS = {  # ONNX op type -> (graph op, reader)
    "Pow": ("pow", read_pow), "Selu": ("selu", read_selu), "PRelu": ("prelu", read_prelu),
    "Gemm": ("linear", read_gemm), "Conv": ("conv2d", read_conv), "MaxPool": ("max_pool", read_pool("max_pool")),
    "AveragePool": ("avg_pool", read_pool("avg_pool")), "BatchNormalization": ("batchnorm", read_batchnorm),
    "Dropout": ("dropout", read_dropout), "Softmax": ("softmax", read_softmax), "Flatten": ("flatten", read_flatten),
    "Reshape": ("reshape", read_reshape), "ReduceSum": ("sum", read_reduce("sum")),
    "ReduceMean": ("mean", read_reduce("mean")), "SoftmaxCrossEntropyLoss": ("softmax_cross_entropy", read_softmax_ce),
}


def import_map() -> dict[str, str]:
    """ONNX op type -> the graph op it becomes (docs/onnx.md lists it)."""
    out = {t: e[0] for t, e in simple_table().items()}
    out.update({t: op for t, (op, _) in LAYERS.items()})
    return out


def readers() -> dict:
    """ONNX op type -> reader(imp, node) for every op type the importer takes."""
    out = {t: (lambda entry: lambda imp, node: read_simple(imp, node, entry))(e) for t, e in simple_table().items()}
    out.update({t: read for t, (_, read) in LAYERS.items()})
    return out
