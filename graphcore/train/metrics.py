"""Per-step diagnostics from the notes: accuracy, dead ReLUs, saturated units.

Each works on one node's output for the current batch, (N, ...) with the batch
first; a "unit" is one position of the remaining axes (a hidden unit, or one
channel at one pixel of a conv layer's output).
"""
from __future__ import annotations

import numpy as np

# ReLU-like units: one whose input is <= 0 for every example is dead (ReLU: no gradient, for good)
# or idle (leaky ReLU, ELU: the slope for x < 0 still passes a gradient, so it can come back)
RELU_OPS = ("relu", "leaky_relu", "elu")
SQUASH_OPS = ("tanh", "sigmoid")


def correct(scores: np.ndarray, labels: np.ndarray) -> int:
    """How many rows of class scores put the highest score on the true label."""
    return int(np.count_nonzero(np.argmax(scores, axis=1) == labels))


def dead_fraction(out: np.ndarray) -> float:
    """Fraction of ReLU-like units whose output is <= 0 (input <= 0) for every example of the batch."""
    if out.ndim < 2 or out.shape[0] == 0:
        return float(np.all(out <= 0)) if out.size else 0.0
    return float(np.count_nonzero(out.max(axis=0) <= 0)) / (out.size // out.shape[0])


def saturated_fraction(op: str, out: np.ndarray) -> float:
    """Fraction of activations in the flat ends: |tanh| > 0.99, sigmoid < 0.01 or > 0.99."""
    if out.size == 0:
        return 0.0
    if op == "tanh":
        return float(np.count_nonzero(np.abs(out) > 0.99)) / out.size
    return float(np.count_nonzero((out < 0.01) | (out > 0.99))) / out.size
