"""Compute kernels: numba-compiled loops with plain-numpy twins, as Kernel objects.

Each kernel is declared once, next to its loop, as a graphcore.kernels.kernel.Kernel
(loop, twin, flags); the ops (graphcore.ops.*) and the optimizer (graphcore.train.optim)
hold the objects and call `K.get()`, `K.sized(n)` or `K.quick(n)`. numba is imported, and
each loop compiled (or loaded from the on-disk cache), only when a kernel is first used,
so starting the app never waits on the JIT. `use("numpy")` switches every kernel to its
numpy twin (tests, no-numba machines); the environment variable BACKPROP_KERNELS=numpy
does the same. `names()` lists every kernel by name (CLI, benches, tests).
"""
from __future__ import annotations

from typing import Callable

from . import conv, dense, elementwise, nn, optim, softmax  # noqa: F401  (declaring the kernels registers them)
from .kernel import _state as _kstate
from .kernel import ALL, SMALL, Kernel, backend, configure_cache_dir, numba_available, set_backend  # noqa: F401

generation = 0  # bumps when use() switches backend: callers caching a kernel compare it

# kernels the engine itself calls (not an op's): the NaN/Inf check and the fused L2 gradient
ENGINE = (nn.nonfinite, nn.nonfinite4, nn.axpy_into)


def use(name: str) -> None:
    """Choose "numba" or "numpy" for every kernel from now on."""
    global generation
    if name not in ("numba", "numpy"):
        raise ValueError(f"unknown kernel backend {name!r}")
    set_backend(name)
    generation += 1


def requested_backend() -> str:
    """The backend asked for (use(), BACKPROP_KERNELS), whether or not numba can be imported."""
    return _kstate["backend"]


def all_kernels() -> list[Kernel]:
    return list(ALL.values())


def names() -> list[str]:
    """Every kernel's name: the ops', the engine's and the optimizer's update loops."""
    return sorted(ALL)


def by_name(name: str) -> Kernel:
    """For listings and tests only (CLI, benches): code holds the Kernel objects themselves."""
    return ALL[name]


def numba_kernel(name: str) -> Callable:
    return ALL[name].numba()


def numpy_kernel(name: str) -> Callable:
    return ALL[name].twin
