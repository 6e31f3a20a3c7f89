"""ONNX rules of the ops that are not one ONNX op with no attributes (those declare a string).

Each rule takes a `NodeOnnx` (graphcore.export.onnx_build) and emits opset-17 nodes; the ops
modules reference them in their declarations (`onnx=onnx_rules.linear`). A rule that is one
ONNX op type carries `onnx_type` (and `onnx_attrs`, {attribute: param}, when the attributes are
the params), so the importer can map that op type back (graphcore.export.onnx_import_ops).
Nothing here imports onnx.
"""
from __future__ import annotations

import numpy as np

from ..kernels.elementwise import SELU_ALPHA, SELU_SCALE
from .onnx_build import NodeOnnx, float32_exact

# what the sources become (the exporter handles them itself): an input, an initializer, a Constant
GRAPH_INPUT = "graph input"
INITIALIZER = "initializer"
CONSTANT = "Constant"


def _positive(b: NodeOnnx, x: str) -> str:
    return b.emit("Greater", [x, b.const("zero", 0.0)], "positive", out_type=b.export.elem(np.bool_))


def _elu_exact(b: NodeOnnx, alpha: float | None = None, scale: float | None = None) -> str:
    """x > 0 ? scale x : alpha (e^x - 1), the kernels' own rounding order (alpha a tensor)."""
    x = b.input("x")
    em1 = b.emit("Sub", [b.emit("Exp", [x], "exp"), b.const("one", 1.0)], "expm1")
    neg = b.emit("Mul", [b.const("alpha", b.params["alpha"] if alpha is None else alpha), em1], "negative")
    pos = x if scale is None else b.emit("Mul", [b.const("scale", scale), x], "scaled")
    return b.emit("Where", [_positive(b, x), pos, neg])


# An ONNX float attribute is a float32: a float64 export whose alpha float32 cannot hold exactly
# writes the formula with tensors instead, keeping the graph's value (import reads it back as one
# node through the export's metadata). onnx_type/onnx_attrs: the importer maps the op type back.
def leaky_relu(b: NodeOnnx):
    alpha = float(b.params["alpha"])
    if b.dtype == np.float64 and not float32_exact(alpha):
        x = b.input("x")
        scaled = b.emit("Mul", [x, b.const("alpha", alpha)], "scaled")
        return b.emit("Where", [_positive(b, x), x, scaled])
    b.emit("LeakyRelu", [b.input("x")], alpha=alpha)


def elu(b: NodeOnnx):
    if b.dtype == np.float64:  # onnxruntime has no float64 Elu, and its alpha is a float32
        return _elu_exact(b)
    b.emit("Elu", [b.input("x")], alpha=float(b.params["alpha"]))


leaky_relu.onnx_type, leaky_relu.onnx_attrs = "LeakyRelu", {"alpha": "alpha"}
elu.onnx_type, elu.onnx_attrs = "Elu", {"alpha": "alpha"}


def selu(b: NodeOnnx):
    """ONNX Selu's float attributes cannot carry the constants to float64: a float64 export
    writes the formula with tensors."""
    if b.dtype == np.float32:
        return b.emit("Selu", [b.input("x")], alpha=SELU_ALPHA, gamma=SELU_SCALE)
    return _elu_exact(b, alpha=SELU_SCALE * SELU_ALPHA, scale=SELU_SCALE)


selu.onnx_type = "Selu"


def step(b: NodeOnnx):
    b.emit("Cast", [_positive(b, b.input("x"))], to=b.float_type)


def pow_(b: NodeOnnx):
    b.emit("Pow", [b.input("x"), b.const("p", b.params["p"])])


def prelu(b: NodeOnnx):
    """ONNX PRelu when alpha broadcasts to x's shape (its one-way rule); else the same with Where."""
    xs, als = b.in_shape("x"), b.in_shape("alpha")
    x, alpha = b.input("x"), b.input("alpha")
    try:
        one_way = np.broadcast_shapes(xs, als) == tuple(xs)
    except ValueError:
        one_way = False
    if one_way:
        return b.emit("PRelu", [x, alpha])
    scaled = b.emit("Mul", [alpha, x], "scaled")
    b.emit("Where", [_positive(b, x), x, scaled])


prelu.onnx_type = "PRelu"


# ------------------------------------------------------------------ layers
def linear(b: NodeOnnx):
    b.emit("Gemm", [b.input("x"), b.weight("W"), b.weight("b")])


linear.onnx_type = "Gemm"


def maxout(b: NodeOnnx):
    z = b.emit("Gemm", [b.input("x"), b.weight("W"), b.weight("b")], "pieces")
    z3 = b.emit("Reshape", [z, b.ints("shape", [-1, b.params["units"], b.params["k"]])], "per_unit")
    b.emit("ReduceMax", [z3], axes=[2], keepdims=0)


def conv2d(b: NodeOnnx):
    k, s, p = b.params["size"], b.params["stride"], b.params["pad"]
    b.emit("Conv", [b.input("images"), b.weight("W"), b.weight("b")], kernel_shape=[k, k], strides=[s, s],
           pads=[p, p, p, p])


conv2d.onnx_type = "Conv"


def pool(op_type: str):
    def rule(b: NodeOnnx):
        k, s = b.params["size"], b.params["stride"]
        b.emit(op_type, [b.input("x")], kernel_shape=[k, k], strides=[s, s])
    rule.onnx_type = op_type
    return rule


def batchnorm(b: NodeOnnx):
    """Inference form: the running statistics (ONNX's training_mode stays 0)."""
    b.emit("BatchNormalization", [b.input("x")] + [b.weight(w) for w in ("gamma", "beta", "running_mean",
                                                                           "running_var")],
           epsilon=float(b.params["eps"]), momentum=float(b.params["momentum"]))


batchnorm.onnx_type = "BatchNormalization"


def dropout(b: NodeOnnx):
    """Inference form (the identity); the drop ratio 1 - p travels as ONNX's ratio input."""
    b.emit("Dropout", [b.input("x"), b.const("ratio", 1.0 - float(b.params["p"]))])


dropout.onnx_type = "Dropout"


def flatten(b: NodeOnnx):
    b.emit("Flatten", [b.input("x")], axis=1)


flatten.onnx_type = "Flatten"


def reshape(b: NodeOnnx):
    from ..ops.layers import parse_shape

    b.emit("Reshape", [b.input("x"), b.ints("shape", parse_shape(b.params["shape"]))])


reshape.onnx_type = "Reshape"


def softmax(b: NodeOnnx):
    x = b.input("x")
    if len(b.in_shape("x")) == 0:  # ONNX Softmax needs an axis: a scalar goes through (1,)
        wide = b.emit("Unsqueeze", [x, b.ints("axes", [0])], "as_vector")
        probs = b.emit("Softmax", [wide], "softmax", axis=-1)
        return b.emit("Squeeze", [probs, b.ints("axes", [0])])
    b.emit("Softmax", [x], axis=-1)


softmax.onnx_type = "Softmax"


def reduction(op_type: str):
    """sum -> ReduceSum (axes an input since opset 13), mean -> ReduceMean (an attribute until 18)."""
    def rule(b: NodeOnnx):
        axis, keep = b.params.get("axis"), int(bool(b.params.get("keepdims")))
        ins = [b.input("x")]
        extra = {}
        if axis is not None:
            if op_type == "ReduceSum":
                ins.append(b.ints("axes", [axis]))
            else:
                extra["axes"] = [axis]
        b.emit(op_type, ins, keepdims=keep, **extra)
    rule.onnx_type = op_type
    return rule


# ------------------------------------------------------------------ losses
def softmax_cross_entropy(b: NodeOnnx):
    b.emit("SoftmaxCrossEntropyLoss", [b.input("scores"), b.as_int64(b.input("labels"))], reduction="mean")


softmax_cross_entropy.onnx_type = "SoftmaxCrossEntropyLoss"


def _batch_size(b: NodeOnnx, x: str) -> str:
    """N of an (N, ...) tensor as a float scalar (the batch axis may be symbolic)."""
    shape = b.emit("Shape", [x], "shape", out_type=b.export.elem(np.int64), start=0, end=1)
    n = b.emit("Squeeze", [shape], "n_int", out_type=b.export.elem(np.int64))
    return b.emit("Cast", [n], "n", to=b.float_type)


def svm_loss(b: NodeOnnx):
    """mean over rows of sum over j != label of max(0, s_j - s_label + delta)."""
    scores, c = b.input("scores"), b.in_shape("scores")[1]
    i64, boolean = b.export.elem(np.int64), b.export.elem(np.bool_)
    labels = b.emit("Unsqueeze", [b.as_int64(b.input("labels")), b.ints("axis1", [1])], "labels_column",
                    out_type=i64)
    correct = b.emit("GatherElements", [scores, labels], "correct_score", axis=1)
    margins = b.emit("Add", [b.emit("Sub", [scores, correct], "gap"), b.const("delta", b.params["delta"])],
                     "margins")
    hinge = b.emit("Relu", [margins], "hinge")
    own = b.emit("Equal", [labels, b.ints("classes", np.arange(c))], "own_class", out_type=boolean)
    kept = b.emit("Where", [own, b.const("zero", 0.0), hinge], "wrong_classes")
    total = b.emit("ReduceSum", [kept], "total", keepdims=0)
    b.emit("Div", [total, _batch_size(b, scores)])


def mse(b: NodeOnnx):
    d = b.emit("Sub", [b.input("pred"), b.input("target")], "diff")
    b.emit("ReduceMean", [b.emit("Mul", [d, d], "squared")], keepdims=0)


def total_loss(b: NodeOnnx):
    b.tag()  # data-only it is an Identity; either way it comes back as total_loss
    reg = b.input("reg")
    if reg is None:
        return b.emit("Identity", [b.input("data")])
    b.emit("Add", [b.input("data"), reg])


def regularizer(kind: str):
    """One penalty per array (the wired x first, then each target weight, as the forward sums them)."""
    def rule(b: NodeOnnx):
        from ..ops.regularizers import resolve_targets

        b.tag()
        p = b.params
        arrays = [b.input("x")] if b.input("x") is not None else []
        arrays += [b.weight(w, nid) for nid, w in resolve_targets(b.graph, p, bool(arrays), b.id)]
        terms = []
        for i, a in enumerate(arrays):
            if kind == "l2":
                ss = b.emit("ReduceSumSquare", [a], f"sumsq{i}", keepdims=0)
                terms.append(b.emit("Mul", [b.const("half_strength", 0.5 * p["strength"]), ss], f"penalty{i}"))
            elif kind == "l1":
                sa = b.emit("ReduceL1", [a], f"sumabs{i}", keepdims=0)
                terms.append(b.emit("Mul", [b.const("strength", p["strength"]), sa], f"penalty{i}"))
            else:
                ss = b.emit("ReduceSumSquare", [a], f"sumsq{i}", keepdims=0)
                sa = b.emit("ReduceL1", [a], f"sumabs{i}", keepdims=0)
                inner = b.emit("Add", [b.emit("Mul", [b.const("beta", p["beta"]), ss], f"beta_sumsq{i}"), sa],
                               f"inner{i}")
                terms.append(b.emit("Mul", [b.const("strength", p["strength"]), inner], f"penalty{i}"))
        if not terms:
            return b.emit("Identity", [b.const("none", 0.0)])
        b.emit("Sum", terms)
    return rule
