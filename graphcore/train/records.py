"""Metric records packed into plot series ({name: (xs, ys)}), in the training process, so the GUI
only copies arrays (app/train/series.py adds the chunks to a run's history)."""
from __future__ import annotations

import numpy as np


def pack_records(records: list[tuple[float, dict]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Turn [(iteration, metrics dict)] into {series name: (xs, ys)}.

    Scalar values become series under their key; dict values (per layer or per
    parameter) become "<key>/<sub>" series. Non-numbers are ignored. Runs in the
    training process so the GUI only copies arrays."""
    xs: dict[str, list[float]] = {}
    ys: dict[str, list[float]] = {}

    def put(name, x, v):
        try:
            f = float(v)
        except (TypeError, ValueError):
            return
        lx = xs.get(name)
        if lx is None:
            lx = xs[name] = []
            ys[name] = []
        lx.append(x)
        ys[name].append(f)

    for x, rec in records:
        for key, val in rec.items():
            if isinstance(val, dict):
                for sub, v in val.items():
                    put(f"{key}/{sub}", x, v)
            elif isinstance(val, (int, float, np.floating, np.integer)) and not isinstance(val, bool):
                put(key, x, val)
            elif isinstance(val, np.ndarray) and val.ndim == 0:
                put(key, x, val)
    return {k: (np.asarray(xs[k], np.float64), np.asarray(ys[k], np.float64)) for k in xs}
