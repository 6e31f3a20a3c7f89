"""Elementwise kernels as flat loops (compiled by numba) and their numpy twins.

Every kernel works on 1-D contiguous arrays and writes into preallocated
outputs, so a training step allocates nothing. Unary kernels take one scalar
parameter `p` (alpha, exponent...) whether they use it or not, so the engine
calls them all the same way. `tests/test_kernels.py` checks each loop against
its numpy twin.
"""
from __future__ import annotations

import math

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

# --------------------------------------------------------------- unary loops
# forward: f(x, out, p)        backward: f(x, y, g, dx, p)  (y is the forward output)


def neg_fwd(x, out, p):
    for i in range(x.size):
        out[i] = -x[i]


def neg_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = -g[i]


def abs_fwd(x, out, p):
    for i in range(x.size):
        out[i] = abs(x[i])


def abs_bwd(x, y, g, dx, p):
    for i in range(x.size):
        v = x[i]
        dx[i] = g[i] if v > 0 else (-g[i] if v < 0 else 0.0 * g[i])


def exp_fwd(x, out, p):
    for i in range(x.size):
        out[i] = math.exp(x[i])


def exp_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] * y[i]


def log_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        if v > 0:
            out[i] = math.log(v)
        elif v == 0:
            out[i] = -math.inf
        else:
            out[i] = math.nan


def log_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] / x[i]


def pow_fwd(x, out, p):
    for i in range(x.size):
        out[i] = x[i] ** p


def pow_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] * p * x[i] ** (p - 1.0)


def sigmoid_fwd(x, out, p):
    # exp of a non-positive number only (no overflow), and a select instead of a branch
    for i in range(x.size):
        v = x[i]
        e = math.exp(-abs(v))
        out[i] = (1.0 if v >= 0 else e) / (1.0 + e)


def sigmoid_bwd(x, y, g, dx, p):
    for i in range(x.size):
        s = y[i]
        dx[i] = g[i] * s * (1.0 - s)


def tanh_fwd(x, out, p):
    for i in range(x.size):
        out[i] = math.tanh(x[i])


def tanh_bwd(x, y, g, dx, p):
    for i in range(x.size):
        t = y[i]
        dx[i] = g[i] * (1.0 - t * t)


def relu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else 0.0 * v


def relu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] if x[i] > 0 else 0.0 * g[i]


def leaky_relu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else p * v


def leaky_relu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = g[i] if x[i] > 0 else p * g[i]


def elu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else p * (math.exp(v) - 1.0)


def elu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        v = x[i]
        dx[i] = g[i] if v > 0 else g[i] * p * math.exp(v)


def selu_fwd(x, out, p):
    for i in range(x.size):
        v = x[i]
        out[i] = SELU_SCALE * v if v > 0 else SELU_SCALE * SELU_ALPHA * (math.exp(v) - 1.0)


def selu_bwd(x, y, g, dx, p):
    for i in range(x.size):
        v = x[i]
        dx[i] = SELU_SCALE * g[i] if v > 0 else g[i] * SELU_SCALE * SELU_ALPHA * math.exp(v)


def step_fwd(x, out, p):
    for i in range(x.size):
        out[i] = 1.0 if x[i] > 0 else 0.0


def step_bwd(x, y, g, dx, p):
    for i in range(x.size):
        dx[i] = 0.0


# -------------------------------------------------------------- binary loops
# forward: f(a, b, out)       backward: f(a, b, g, da, db)


def add_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] + b[i]


def sub_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] - b[i]


def sub_bwd(a, b, g, da, db):
    for i in range(a.size):
        da[i] = g[i]
        db[i] = -g[i]


def mul_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] * b[i]


def mul_bwd(a, b, g, da, db):
    for i in range(a.size):
        da[i] = g[i] * b[i]
        db[i] = g[i] * a[i]


def div_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] / b[i]


def div_bwd(a, b, g, da, db):
    for i in range(a.size):
        bi = b[i]
        da[i] = g[i] / bi
        db[i] = -g[i] * a[i] / (bi * bi)


def max_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] if a[i] >= b[i] else b[i]


def max_bwd(a, b, g, da, db):
    # ties go to the first input
    for i in range(a.size):
        if a[i] >= b[i]:
            da[i] = g[i]
            db[i] = 0.0
        else:
            da[i] = 0.0
            db[i] = g[i]


def min_fwd(a, b, out):
    for i in range(a.size):
        out[i] = a[i] if a[i] <= b[i] else b[i]


def min_bwd(a, b, g, da, db):
    for i in range(a.size):
        if a[i] <= b[i]:
            da[i] = g[i]
            db[i] = 0.0
        else:
            da[i] = 0.0
            db[i] = g[i]


def prelu_fwd(a, b, out):
    # a is x, b is the slope
    for i in range(a.size):
        v = a[i]
        out[i] = v if v > 0 else b[i] * v


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
LOOPS = {name: obj for name, obj in dict(globals()).items()
         if callable(obj) and (name.endswith("_fwd") or name.endswith("_bwd"))}


# ---------------------------------------------------------------- numpy twins
def _sig(x, out):
    # stable: exp of a non-positive number only
    e = np.exp(-np.abs(x))
    np.divide(np.where(x >= 0, 1.0, e), 1.0 + e, out=out)


def _selu(x, out):
    np.copyto(out, np.where(x > 0, SELU_SCALE * x, SELU_SCALE * SELU_ALPHA * np.expm1(np.minimum(x, 0))))


def _log(x, out):
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log(x, out=out)


TWINS = {
    "neg_fwd": lambda x, out, p: np.negative(x, out=out),
    "neg_bwd": lambda x, y, g, dx, p: np.negative(g, out=dx),
    "abs_fwd": lambda x, out, p: np.abs(x, out=out),
    "abs_bwd": lambda x, y, g, dx, p: np.multiply(g, np.sign(x), out=dx),
    "exp_fwd": lambda x, out, p: np.exp(x, out=out),
    "exp_bwd": lambda x, y, g, dx, p: np.multiply(g, y, out=dx),
    "log_fwd": lambda x, out, p: _log(x, out),
    "log_bwd": lambda x, y, g, dx, p: np.divide(g, x, out=dx),
    "pow_fwd": lambda x, out, p: np.power(x, p, out=out),
    "pow_bwd": lambda x, y, g, dx, p: np.multiply(g, p * np.power(x, p - 1.0), out=dx),
    "sigmoid_fwd": lambda x, out, p: _sig(x, out),
    "sigmoid_bwd": lambda x, y, g, dx, p: np.multiply(g, y * (1.0 - y), out=dx),
    "tanh_fwd": lambda x, out, p: np.tanh(x, out=out),
    "tanh_bwd": lambda x, y, g, dx, p: np.multiply(g, 1.0 - y * y, out=dx),
    "relu_fwd": lambda x, out, p: np.multiply(x, x > 0, out=out),
    "relu_bwd": lambda x, y, g, dx, p: np.multiply(g, x > 0, out=dx),
    "leaky_relu_fwd": lambda x, out, p: np.copyto(out, np.where(x > 0, x, p * x)),
    "leaky_relu_bwd": lambda x, y, g, dx, p: np.copyto(dx, np.where(x > 0, g, p * g)),
    "elu_fwd": lambda x, out, p: np.copyto(out, np.where(x > 0, x, p * np.expm1(np.minimum(x, 0)))),
    "elu_bwd": lambda x, y, g, dx, p: np.copyto(dx, np.where(x > 0, g, g * p * np.exp(np.minimum(x, 0)))),
    "selu_fwd": lambda x, out, p: _selu(x, out),
    "selu_bwd": lambda x, y, g, dx, p: np.copyto(
        dx, np.where(x > 0, SELU_SCALE * g, g * SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0)))),
    "step_fwd": lambda x, out, p: np.copyto(out, x > 0),
    "step_bwd": lambda x, y, g, dx, p: dx.fill(0.0),
    "add_fwd": lambda a, b, out: np.add(a, b, out=out),
    "sub_fwd": lambda a, b, out: np.subtract(a, b, out=out),
    "sub_bwd": lambda a, b, g, da, db: (np.copyto(da, g), np.negative(g, out=db)),
    "mul_fwd": lambda a, b, out: np.multiply(a, b, out=out),
    "mul_bwd": lambda a, b, g, da, db: (np.multiply(g, b, out=da), np.multiply(g, a, out=db)),
    "div_fwd": lambda a, b, out: np.divide(a, b, out=out),
    "div_bwd": lambda a, b, g, da, db: (np.divide(g, b, out=da), np.copyto(db, -g * a / (b * b))),
    "max_fwd": lambda a, b, out: np.copyto(out, np.where(a >= b, a, b)),
    "max_bwd": lambda a, b, g, da, db: (np.multiply(g, a >= b, out=da), np.multiply(g, a < b, out=db)),
    "min_fwd": lambda a, b, out: np.copyto(out, np.where(a <= b, a, b)),
    "min_bwd": lambda a, b, g, da, db: (np.multiply(g, a <= b, out=da), np.multiply(g, a > b, out=db)),
    "prelu_fwd": lambda a, b, out: np.copyto(out, np.where(a > 0, a, b * a)),
    "prelu_bwd": lambda a, b, g, da, db: (np.copyto(da, np.where(a > 0, g, b * g)),
                                          np.copyto(db, np.where(a > 0, 0.0, a * g))),
}
