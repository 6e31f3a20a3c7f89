"""Start "spawn" children without re-running the launching script.

multiprocessing's spawn start method re-imports the parent's main script in every child (as
__mp_main__) when that script has a __file__ and no __spec__, i.e. was run as `python script.py`.
A script that embeds the app without an `if __name__ == "__main__"` guard would then run again in
each training, landscape, babysitting or search child (open a window, start its own training...).
Our children's entry points live in importable modules and need nothing from the main script, so
the script's path is hidden while a child's start-up data is taken.
"""
from __future__ import annotations

import contextlib
import sys
import threading

_lock = threading.Lock()


@contextlib.contextmanager
def main_script_hidden():
    """While inside, spawn children do not import the launching script."""
    with _lock:
        main = sys.modules.get("__main__")
        hide = main is not None and getattr(main, "__spec__", None) is None and "__file__" in vars(main)
        saved = vars(main).pop("__file__") if hide else None
        try:
            yield
        finally:
            if hide:
                main.__file__ = saved


def start(proc) -> None:
    """proc.start(), without the launching script in the child."""
    with main_script_hidden():
        proc.start()
