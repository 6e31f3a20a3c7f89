"""The Kernel object: one numba loop and its numpy twin, declared together next to the loop.

Ops and the optimizer hold Kernel objects and call `K.get()` (the current backend's
function), `K.sized(n)` or `K.quick(n)`; nothing looks a kernel up by a string name.
The name is only for listing (`graphcore.kernels.names()`: the CLI, benches, tests)
and for numba's on-disk cache. Every Kernel registers itself in ALL when declared.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Callable

ALL: dict[str, "Kernel"] = {}  # name -> Kernel, in declaration order
_lock = threading.RLock()  # re-entrant: a kernel's prepare() may compile the kernels it calls

# Below this many elements a numpy ufunc call costs about what a compiled loop's dispatch
# does, so small arrays (every scalar circuit) use the numpy twin: running the CS231n
# circuit then never imports numba, and a fresh process answers in ~0.2 s instead of
# ~1.1 s (numba's import and first cache load). bench/bench_startup.py measures it.
SMALL = 1024

_state = {"backend": os.environ.get("BACKPROP_KERNELS", "numba"), "numba_ok": None}


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
    if _state["numba_ok"] is None:
        try:
            configure_cache_dir()
            import numba  # noqa: F401

            _state["numba_ok"] = True
        except Exception:
            _state["numba_ok"] = False
    return _state["numba_ok"]


def backend() -> str:
    return "numba" if _state["backend"] == "numba" and numba_available() else "numpy"


def set_backend(name: str) -> None:
    """Switch every kernel (graphcore.kernels.use wraps this and bumps the generation)."""
    with _lock:
        _state["backend"] = name
        for k in ALL.values():
            k._active = None


class Kernel:
    """A loop compiled by numba and a plain-numpy twin with the same signature and results.

    Flags: `exact` (loop and twin give the same bits, so quick() may pick either), and
    `numpy_faster` (numpy's vectorised maths beats the loop on large arrays: sized() always
    takes the twin; bench/bench_kernels.py measures it). `example(dtype)` returns arguments
    for the warm-up and the numba-vs-numpy test; `fastmath` is numba's fastmath option;
    `prepare()` runs before compiling (a loop calling other compiled loops binds them)."""

    __slots__ = ("name", "loop", "twin", "exact", "numpy_faster", "example", "fastmath", "prepare", "_numba",
                 "_active", "__weakref__")

    def __init__(self, name: str, loop: Callable, twin: Callable, *, exact: bool = False,
                 numpy_faster: bool = False, example: Callable | None = None, fastmath=False,
                 prepare: Callable | None = None) -> None:
        if name in ALL:
            raise ValueError(f"kernel {name!r} declared twice")
        self.name = name
        self.loop = loop
        self.twin = twin
        self.exact = exact
        self.numpy_faster = numpy_faster
        self.example = example
        self.fastmath = fastmath
        self.prepare = prepare
        self._numba: Callable | None = None
        self._active: Callable | None = None
        ALL[name] = self

    def __repr__(self) -> str:
        return f"<Kernel {self.name}>"

    def example_args(self, dtype):
        return self.example(dtype) if self.example is not None else None

    def numba(self) -> Callable:
        """The loop compiled by numba (lazily; loaded from numba's on-disk cache when warm)."""
        fn = self._numba
        if fn is None:
            with _lock:
                fn = self._numba
                if fn is None:
                    if self.prepare is not None:
                        self.prepare()
                    import numba

                    configure_cache_dir()
                    fn = self._numba = numba.njit(cache=True, nogil=True, fastmath=self.fastmath)(self.loop)
        return fn

    def get(self) -> Callable:
        """This kernel in the current backend: the compiled loop, or the twin."""
        fn = self._active
        if fn is None:
            fn = self.numba() if backend() == "numba" else self.twin
            self._active = fn
        return fn

    def sized(self, n: int) -> Callable:
        """For arrays of `n` elements: the twin when small (no JIT wait for scalar circuits) or
        where numpy is measured faster, else get()."""
        if n < SMALL or self.numpy_faster:
            return self.twin
        return self.get()

    def quick(self, n: int) -> Callable:
        """For an exact kernel: the compiled loop once numba is loaded anyway (a compiled call costs
        ~0.3 us, a small ufunc ~1.3 us), else sized(n): a scalar circuit still never imports numba."""
        fn = self._active
        if fn is not None:
            return fn
        if n >= SMALL or (_state["backend"] == "numba" and "numba" in sys.modules):
            return self.get()
        return self.sized(n)


def kernel(twin: Callable, **flags) -> Callable[[Callable], Kernel]:
    """Decorator: `@kernel(twin=...)` over a loop makes the module name the Kernel."""
    def declare(loop: Callable) -> Kernel:
        return Kernel(loop.__name__, loop, twin, **flags)
    return declare
