"""Importing this package registers every op: one module per op family, in palette order.

No ImportError is caught here: a module that fails to import fails `import graphcore`,
so the registry is never silently smaller (tests/test_registry.py lists every op).
"""
from . import sources, gates, activations, reductions, layers, conv, norm, losses, regularizers  # noqa: F401
