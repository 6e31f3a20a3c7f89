"""Ending a child process for certain: the training, landscape and babysitting children share it."""
from __future__ import annotations


def end_process(proc, wait: float = 2.0, terminate: bool = True) -> None:
    """Terminate `proc` (unless `terminate` is False: it is expected to end by itself), wait up to
    `wait` seconds, then kill whatever is left; a child must never outlive the run that started it."""
    if terminate and proc.is_alive():
        proc.terminate()
    proc.join(wait)
    if proc.is_alive():
        proc.kill()
        proc.join(2)
