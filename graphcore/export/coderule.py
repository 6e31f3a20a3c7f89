"""An op's code rule (OpSpec.code): its forward line, its gradient lines and its PyTorch line.

Templates are str.format strings over the node's variable names: each input port and weight by
its own name ({a}, {W}), {out} the node's value, {g} the upstream gradient, and each param by its
name as a Python literal ({alpha} -> 0.01). A template may instead be a callable taking that
mapping (plus "_params", the raw params, and "_targets", the weight variables a regularizer
penalises) and returning the text. This module imports nothing from graphcore so every op module
can import it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

Template = Union[str, Callable[[dict], str]]

EACH_TARGET = "@targets"  # a gradient line repeated for every weight a regularizer penalises ({t})


@dataclass(frozen=True)
class CodeRule:
    numpy: Template  # the forward expression in numpy
    # (port or weight name or EACH_TARGET, numpy expression of its gradient, the gate's rule as a comment)
    grads: tuple[tuple[str, Template, str], ...] = ()
    torch: Template | None = None  # the forward expression in PyTorch (None: the numpy one reads the same)
    helpers: tuple[str, ...] = ()  # numpy helper functions (graphcore.export.np_helpers) the lines call
    torch_helpers: tuple[str, ...] = ()  # the same for PyTorch (graphcore.export.torch_helpers)
    comment: str = ""  # the forward line's comment


def render(template: Template, mapping: dict) -> str:
    """The template filled in with the node's names and params."""
    if callable(template):
        return template(mapping)
    return template.format(**mapping)
