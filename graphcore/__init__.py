"""graphcore: the headless heart of Backprop Studio (no Qt here, ever)."""
from __future__ import annotations

from . import registry
from .executor import Executor, StepEvent, unbroadcast
from .fileformat import FORMAT, FORMAT_VERSION, GraphFormatError, load, loads, save, dumps
from .gradcheck import GradReport, gradcheck, rel_error
from .graph import Edge, Graph, Node
from .numfmt import fmt_number
from .problems import GraphError, NumericError, Problem

__version__ = "0.1.0"

__all__ = [
    "Edge", "Executor", "FORMAT", "FORMAT_VERSION", "GradReport", "Graph", "GraphError", "GraphFormatError",
    "Node", "NumericError", "fmt_number", "Problem", "StepEvent", "dumps", "gradcheck", "load", "loads", "registry",
    "rel_error", "save", "unbroadcast",
]
