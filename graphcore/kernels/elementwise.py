"""Elementwise kernels: flat loops (compiled by numba), each declared as a Kernel with its numpy twin.

Every kernel works on 1-D contiguous arrays and writes into preallocated
outputs, so a training step allocates nothing. Unary kernels take one scalar
parameter `p` (alpha, exponent...) whether they use it or not, so the engine
calls them all the same way. The ops (graphcore.ops.gates, .activations) hold these
Kernel objects; `tests/test_kernels.py` checks each loop against its twin.
"""
from __future__ import annotations

import math

import numpy as np

from .kernel import Kernel, kernel

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

# --------------------------------------------------------------- unary loops
# forward: f(x, out, p)        backward: f(x, y, g, dx, p)  (y is the forward output)


@kernel(twin=lambda x, out, p: np.negative(x, out=out))
def neg_fwd(x, out, p):
    for i in range(x.size):
        out[i] = -x[i]


@kernel(twin=lambda x, y, g, dx, p: np.negative(g, out=dx))
def neg_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = -g[i]


@kernel(twin=lambda x, out, p: np.abs(x, out=out))
def abs_fwd(x, out, p):
    for i in range(x.size):
        out[i] = abs(x[i])


@kernel(twin=lambda x, y, g, dx, p: np.multiply(g, np.sign(x), out=dx))
def abs_bwd(x, y, g, dx, p):
    for i in range(x.size):
        v = x[i]
        dx[i] = g[i] if v > 0 else (-g[i] if v < 0 else 0.0 * g[i])


@kernel(twin=lambda x, out, p: np.exp(x, out=out), numpy_faster=True)
def exp_fwd(x, out, p):
    for i in range(x.size):
        out[i] = math.exp(x[i])


@kernel(twin=lambda x, y, g, dx, p: np.multiply(g, y, out=dx))
def exp_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] * y[i]


@kernel(twin=lambda x, out, p: _log(x, out), numpy_faster=True)
def log_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        if v > 0:
            out[i] = math.log(v)
        elif v == 0:
            out[i] = -math.inf
        else:
            out[i] = math.nan


@kernel(twin=lambda x, y, g, dx, p: np.divide(g, x, out=dx), numpy_faster=True)
def log_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] / x[i]


@kernel(twin=lambda x, out, p: np.power(x, p, out=out), numpy_faster=True)
def pow_fwd(x, out, p):
    for i in range(x.size):
        out[i] = x[i] ** p


@kernel(twin=lambda x, y, g, dx, p: np.multiply(g, p * np.power(x, p - 1.0), out=dx), numpy_faster=True)
def pow_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] * p * x[i] ** (p - 1.0)


@kernel(twin=lambda x, out, p: _sig(x, out))
def sigmoid_fwd(x, out, p):
    # exp of a non-positive number only (no overflow), and a select instead of a branch
    for i in range(x.size):
        v = x[i]
        e = math.exp(-abs(v))
        out[i] = (1.0 if v >= 0 else e) / (1.0 + e)


@kernel(twin=lambda x, y, g, dx, p: np.multiply(g, y * (1.0 - y), out=dx))
def sigmoid_bwd(x, y, g, dx, p):
    for i in range(x.size):
        s = y[i]
        dx[i] = g[i] * s * (1.0 - s)


@kernel(twin=lambda x, out, p: np.tanh(x, out=out), numpy_faster=True)
def tanh_fwd(x, out, p):
    for i in range(x.size):
        out[i] = math.tanh(x[i])


@kernel(twin=lambda x, y, g, dx, p: np.multiply(g, 1.0 - y * y, out=dx))
def tanh_bwd(x, y, g, dx, p):
    for i in range(x.size):
        t = y[i]
        dx[i] = g[i] * (1.0 - t * t)


@kernel(twin=lambda x, out, p: np.multiply(x, x > 0, out=out))
def relu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else 0.0 * v


@kernel(twin=lambda x, y, g, dx, p: np.multiply(g, x > 0, out=dx))
def relu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] if x[i] > 0 else 0.0 * g[i]


@kernel(twin=lambda x, out, p: np.copyto(out, np.where(x > 0, x, p * x)))
def leaky_relu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else p * v


@kernel(twin=lambda x, y, g, dx, p: np.copyto(dx, np.where(x > 0, g, p * g)))
def leaky_relu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] if x[i] > 0 else p * g[i]


@kernel(twin=lambda x, out, p: np.copyto(out, np.where(x > 0, x, p * np.expm1(np.minimum(x, 0)))))
def elu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else p * (math.exp(v) - 1.0)


@kernel(twin=lambda x, y, g, dx, p: np.copyto(dx, np.where(x > 0, g, g * p * np.exp(np.minimum(x, 0)))))
def elu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        v = x[i]
        dx[i] = g[i] if v > 0 else g[i] * p * math.exp(v)


@kernel(twin=lambda x, out, p: _selu(x, out))
def selu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = SELU_SCALE * v if v > 0 else SELU_SCALE * SELU_ALPHA * (math.exp(v) - 1.0)


@kernel(twin=lambda x, y, g, dx, p: np.copyto(
        dx, np.where(x > 0, SELU_SCALE * g, g * SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0)))))
def selu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        v = x[i]
        dx[i] = SELU_SCALE * g[i] if v > 0 else g[i] * SELU_SCALE * SELU_ALPHA * math.exp(v)


@kernel(twin=lambda x, out, p: np.copyto(out, x > 0))
def step_fwd(x, out, p):
    for i in range(x.size):
        out[i] = 1.0 if x[i] > 0 else 0.0


@kernel(twin=lambda x, y, g, dx, p: dx.fill(0.0))
def step_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = 0.0


# -------------------------------------------------------------- binary loops
# forward: f(a, b, out)       backward: f(a, b, g, da, db)


@kernel(twin=lambda a, b, out: np.add(a, b, out=out))
def add_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] + b[i]


@kernel(twin=lambda a, b, out: np.subtract(a, b, out=out))
def sub_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] - b[i]


@kernel(twin=lambda a, b, g, da, db: (np.copyto(da, g), np.negative(g, out=db)))
def sub_bwd(a, b, g, da, db):
    for i in range(a.size):
        da[i] = g[i]
        db[i] = -g[i]


@kernel(twin=lambda a, b, out: np.multiply(a, b, out=out))
def mul_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] * b[i]


@kernel(twin=lambda a, b, g, da, db: (np.multiply(g, b, out=da), np.multiply(g, a, out=db)))
def mul_bwd(a, b, g, da, db):
    for i in range(a.size):
        da[i] = g[i] * b[i]
        db[i] = g[i] * a[i]


@kernel(twin=lambda a, b, out: np.divide(a, b, out=out), numpy_faster=True)
def div_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] / b[i]


@kernel(twin=lambda a, b, g, da, db: (np.divide(g, b, out=da), np.copyto(db, -g * a / (b * b))))
def div_bwd(a, b, g, da, db):
    for i in range(a.size):
        bi = b[i]
        da[i] = g[i] / bi
        db[i] = -g[i] * a[i] / (bi * bi)


@kernel(twin=lambda a, b, out: np.copyto(out, np.where(a >= b, a, b)))
def max_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] if a[i] >= b[i] else b[i]


@kernel(twin=lambda a, b, g, da, db: (np.multiply(g, a >= b, out=da), np.multiply(g, a < b, out=db)))
def max_bwd(a, b, g, da, db):
    # ties go to the first input
    for i in range(a.size):
        if a[i] >= b[i]:
            da[i] = g[i]
            db[i] = 0.0
        else:
            da[i] = 0.0
            db[i] = g[i]


@kernel(twin=lambda a, b, out: np.copyto(out, np.where(a <= b, a, b)))
def min_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] if a[i] <= b[i] else b[i]


@kernel(twin=lambda a, b, g, da, db: (np.multiply(g, a <= b, out=da), np.multiply(g, a > b, out=db)))
def min_bwd(a, b, g, da, db):
    for i in range(a.size):
        if a[i] <= b[i]:
            da[i] = g[i]
            db[i] = 0.0
        else:
            da[i] = 0.0
            db[i] = g[i]


@kernel(twin=lambda a, b, out: np.copyto(out, np.where(a > 0, a, b * a)))
def prelu_fwd(a, b, out):
    # a is x, b is the slope
    for i in range(a.size):
        v = a[i]
        out[i] = v if v > 0 else b[i] * v


@kernel(twin=lambda a, b, g, da, db: (np.copyto(da, np.where(a > 0, g, b * g)),
                                      np.copyto(db, np.where(a > 0, 0.0, a * g))))
def prelu_bwd(a, b, g, da, db):
    for i in range(a.size):
        v = a[i]
        if v > 0:
            da[i] = g[i]
            db[i] = 0.0
        else:
            da[i] = b[i] * g[i]
            db[i] = v * g[i]


UNARY = ("neg", "abs", "exp", "log", "pow", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "step")
BINARY = ("add", "sub", "mul", "div", "max", "min", "prelu")


# ------------------------------------------------ helpers of the numpy twins
def _sig(x, out):
    # stable: exp of a non-positive number only
    e = np.exp(-np.abs(x))
    np.divide(np.where(x >= 0, 1.0, e), 1.0 + e, out=out)


def _selu(x, out):
    np.copyto(out, np.where(x > 0, SELU_SCALE * x, SELU_SCALE * SELU_ALPHA * np.expm1(np.minimum(x, 0))))


def _log(x, out):
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log(x, out=out)


KERNELS = tuple(v for v in dict(globals()).values() if isinstance(v, Kernel))


def _example(k: Kernel):
    """Small arguments of the kernel's signature (warm-up; the twin test draws richer ones)."""
    binary = k.name.rpartition("_")[0] in BINARY
    fwd = k.name.endswith("_fwd")

    def make(dtype):
        x = np.linspace(0.5, 1.5, 4).astype(dtype)
        if binary:
            return (x, x.copy(), np.empty_like(x)) if fwd else (x, x.copy(), x.copy(), np.empty_like(x),
                                                                np.empty_like(x))
        return (x, np.empty_like(x), 1.0) if fwd else (x, x.copy(), x.copy(), np.empty_like(x), 1.0)
    return make


for _k in KERNELS:
    _k.example = _example(_k)
