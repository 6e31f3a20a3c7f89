"""Fill numba's on-disk cache with every kernel, in a process of its own.

    python -m graphcore.kernels.warm

The editor starts this in the background after its window is shown, so the
first Forward on a layer graph loads compiled kernels from the cache instead of
compiling them on the GUI thread (a cold 3x3 conv kernel takes seconds). It
prints one progress line per kernel ("i/n name") and writes a stamp when done,
so later starts skip it until the kernels' source or numba changes.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np

from . import ALL, configure_cache_dir, dense, elementwise, kernel, nn, optim, softmax
from . import names as kernel_names

DTYPES = (np.float64, np.float32)


def names() -> list[str]:
    """Every kernel to compile: the ops', the engine's and the optimizer's (one list, kernels.names())."""
    return kernel_names()


def stamp_path() -> str:
    try:
        import platformdirs

        base = platformdirs.user_cache_dir("backprop-studio")
    except Exception:
        base = os.path.join(os.path.expanduser("~"), ".cache", "backprop-studio")
    return os.path.join(base, "kernel-warmup.json")


def stamp_key() -> str:
    """Changes when a kernel's source, numba, Python or the cache location change."""
    from importlib.metadata import version

    h = hashlib.sha1()
    for mod in (kernel, dense, elementwise, nn, optim, softmax):
        with open(mod.__file__, "rb") as f:
            h.update(f.read())
    h.update(version("numba").encode())
    h.update(sys.version.encode())
    h.update((os.environ.get("NUMBA_CACHE_DIR") or os.path.dirname(os.path.abspath(__file__))).encode())
    return h.hexdigest()


def is_warm() -> bool:
    try:
        with open(stamp_path(), encoding="utf-8") as f:
            return json.load(f).get("key") == stamp_key()
    except (OSError, ValueError):
        return False


def warm(progress=print) -> int:
    """Compile (or load) each kernel for float64 and float32; returns how many."""
    todo = [(ALL[name], dt) for name in names() for dt in DTYPES]
    done = 0
    for i, (k, dt) in enumerate(todo):
        progress(f"{i}/{len(todo)} {k.name}")
        args = k.example_args(dt)
        if args is None:
            continue
        k.numba()(*args)
        done += 1
    progress(f"{len(todo)}/{len(todo)} done")
    return done


def main() -> int:
    configure_cache_dir()
    warm(lambda line: print(line, flush=True))
    path = stamp_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"key": stamp_key()}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
