"""Layer kernels (conv, pooling, batchnorm, softmax losses) and their numpy twins.

Filled in by the layers work; the registry of loops and twins starts empty.
"""
from __future__ import annotations

LOOPS: dict = {}
TWINS: dict = {}
