"""The update loops, numba-compiled, and 4-param wrappers: one call updates four params.

A compiled call costs ~0.7 us of argument checking however small the arrays; a
step of a small net updates four to eight params, so the optimizer's steady-state
path (the same arrays every step) groups them in fours, padding with empty arrays.
Each wrapper runs the very same compiled loop once per param, so the results are
the per-param calls' bits (tests/test_train_fastpath.py checks it). Imported only with the
numba backend.
"""
from __future__ import annotations

import numba

from . import _update_kernels as K

_jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc"})  # see optim.kernel

LOOPS = {name: _jit(fn) for name, fn in K.LOOPS.items()}
sgd_update = LOOPS["sgd_update"]
momentum_update = LOOPS["momentum_update"]
nesterov_update = LOOPS["nesterov_update"]
adagrad_update = LOOPS["adagrad_update"]
rmsprop_update = LOOPS["rmsprop_update"]


@_jit
def sgd_update4(x0, d0, x1, d1, x2, d2, x3, d3, lr, scale, clip, wd):
    return (sgd_update(x0, d0, lr, scale, clip, wd), sgd_update(x1, d1, lr, scale, clip, wd),
            sgd_update(x2, d2, lr, scale, clip, wd), sgd_update(x3, d3, lr, scale, clip, wd))


@_jit
def momentum_update4(x0, d0, v0, x1, d1, v1, x2, d2, v2, x3, d3, v3, lr, mu, scale, clip, wd):
    return (momentum_update(x0, d0, v0, lr, mu, scale, clip, wd), momentum_update(x1, d1, v1, lr, mu, scale, clip, wd),
            momentum_update(x2, d2, v2, lr, mu, scale, clip, wd), momentum_update(x3, d3, v3, lr, mu, scale, clip, wd))


@_jit
def nesterov_update4(x0, d0, v0, x1, d1, v1, x2, d2, v2, x3, d3, v3, lr, mu, scale, clip, wd):
    return (nesterov_update(x0, d0, v0, lr, mu, scale, clip, wd), nesterov_update(x1, d1, v1, lr, mu, scale, clip, wd),
            nesterov_update(x2, d2, v2, lr, mu, scale, clip, wd), nesterov_update(x3, d3, v3, lr, mu, scale, clip, wd))


@_jit
def adagrad_update4(x0, d0, c0, x1, d1, c1, x2, d2, c2, x3, d3, c3, lr, eps, scale, clip, wd):
    return (adagrad_update(x0, d0, c0, lr, eps, scale, clip, wd), adagrad_update(x1, d1, c1, lr, eps, scale, clip, wd),
            adagrad_update(x2, d2, c2, lr, eps, scale, clip, wd), adagrad_update(x3, d3, c3, lr, eps, scale, clip, wd))


@_jit
def rmsprop_update4(x0, d0, c0, x1, d1, c1, x2, d2, c2, x3, d3, c3, lr, decay, eps, scale, clip, wd):
    return (rmsprop_update(x0, d0, c0, lr, decay, eps, scale, clip, wd),
            rmsprop_update(x1, d1, c1, lr, decay, eps, scale, clip, wd),
            rmsprop_update(x2, d2, c2, lr, decay, eps, scale, clip, wd),
            rmsprop_update(x3, d3, c3, lr, decay, eps, scale, clip, wd))


GROUPS = {"sgd": sgd_update4, "momentum": momentum_update4, "nesterov": nesterov_update4,
          "adagrad": adagrad_update4, "rmsprop": rmsprop_update4}
# how many leading arguments of the per-param loop are arrays (the rest are the shared scalars)
N_ARRAYS = {"sgd": 2, "momentum": 3, "nesterov": 3, "adagrad": 3, "rmsprop": 3}
