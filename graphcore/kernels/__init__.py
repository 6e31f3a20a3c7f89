"""Compute kernels: numba-compiled loops with plain-numpy twins.

numba is imported, and each loop compiled (or loaded from the on-disk cache),
only when a kernel is first used, so starting the app never waits on the JIT.
`use("numpy")` switches every kernel to its numpy twin (tests, no-numba
machines); the environment variable BACKPROP_KERNELS=numpy does the same.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Callable

from . import elementwise

_backend = os.environ.get("BACKPROP_KERNELS", "numba")
_active: dict[str, Callable] = {}
generation = 0  # bumps when use() switches backend: callers caching a kernel compare it
_lock = threading.Lock()
_numba_ok: bool | None = None


def _sources() -> dict[str, Callable]:
    from . import nn  # noqa: F401  (layer kernels register themselves)

    loops = dict(elementwise.LOOPS)
    loops.update(nn.LOOPS)
    return loops


def _twins() -> dict[str, Callable]:
    from . import nn

    twins = dict(elementwise.TWINS)
    twins.update(nn.TWINS)
    return twins


def configure_cache_dir() -> str | None:
    """Point NUMBA_CACHE_DIR at a per-user cache when the package dir is read-only."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    here = os.path.dirname(os.path.abspath(__file__))
    if os.access(here, os.W_OK):
        return None
    try:
        import platformdirs

        path = os.path.join(platformdirs.user_cache_dir("backprop-studio"), "numba")
    except Exception:
        path = os.path.join(os.path.expanduser("~"), ".cache", "backprop-studio", "numba")
    os.makedirs(path, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = path
    return path


def numba_available() -> bool:
    global _numba_ok
    if _numba_ok is None:
        try:
            configure_cache_dir()
            import numba  # noqa: F401

            _numba_ok = True
        except Exception:
            _numba_ok = False
    return _numba_ok


def backend() -> str:
    return "numba" if _backend == "numba" and numba_available() else "numpy"


def use(name: str) -> None:
    """Choose "numba" or "numpy" for every kernel from now on."""
    global _backend
    if name not in ("numba", "numpy"):
        raise ValueError(f"unknown kernel backend {name!r}")
    with _lock:
        _backend = name
        _active.clear()
        global generation
        generation += 1


def jit(fn: Callable) -> Callable:
    import numba

    return numba.njit(cache=True, nogil=True, fastmath=False)(fn)


def get(name: str) -> Callable:
    """The kernel called `name` in the current backend (compiled lazily)."""
    fn = _active.get(name)
    if fn is not None:
        return fn
    with _lock:
        fn = _active.get(name)
        if fn is None:
            if backend() == "numba":
                fn = jit(_sources()[name])
            else:
                fn = _twins()[name]
            _active[name] = fn
    return fn


# Below this many elements a numpy ufunc call costs about what a compiled loop's dispatch
# does, so small arrays (every scalar circuit) use the numpy twin: running the CS231n
# circuit then never imports numba, and a fresh process answers in ~0.2 s instead of
# ~1.1 s (numba's import and first cache load). bench/bench_startup.py measures it.
SMALL = 1024


# Loops where numpy's vectorised maths library beats numba's scalar libm calls by 2-50x
# on large arrays (bench/bench_kernels.py measures every kernel both ways).
NUMPY_FASTER = frozenset({"exp_fwd", "log_fwd", "log_bwd", "tanh_fwd", "pow_fwd", "pow_bwd", "div_fwd"})


def sized(name: str, n: int) -> Callable:
    """The kernel for arrays of `n` elements: the numpy twin when small (no JIT wait for
    scalar circuits) or where numpy is measured faster, else the numba loop."""
    if n < SMALL or name in NUMPY_FASTER:
        fn = _small.get(name)
        if fn is None:
            fn = _small[name] = _twins()[name]
        return fn
    return get(name)


_small: dict[str, Callable] = {}

# Kernels whose numba loop and numpy twin give the same bits (one rounding per element, same order)
EXACT = frozenset({"bias_add", "axpy_into", "nonfinite"})  # nonfinite: the same answer either way


def quick(name: str, n: int) -> Callable:
    """For an EXACT kernel: the numba loop once numba is loaded anyway (a compiled call costs ~0.3 us,
    a small ufunc ~1.3 us), else sized(name, n): a scalar circuit still never imports numba."""
    fn = _active.get(name)
    if fn is not None:
        return fn
    if n >= SMALL or (_backend == "numba" and "numba" in sys.modules):
        return get(name)
    return sized(name, n)


def numba_kernel(name: str) -> Callable:
    return jit(_sources()[name])


def numpy_kernel(name: str) -> Callable:
    return _twins()[name]


def names() -> list[str]:
    return sorted(_sources())
