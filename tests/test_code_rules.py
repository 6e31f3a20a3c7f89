"""Every op declares its code rule (OpSpec.code) next to its forward and backward, and the rule only
names what the op has: its ports, weights and params."""
from __future__ import annotations

import string

import pytest

from graphcore import registry
from graphcore.export.coderule import EACH_TARGET, CodeRule

OPS = sorted(registry.ops())


def _fields(template) -> set[str]:
    if callable(template):
        return set()
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("name", OPS)
def test_op_declares_a_code_rule(name):
    spec = registry.get(name)
    assert isinstance(spec.code, CodeRule), f"op {name!r} declares no code rule (OpSpec.code)"
    known = set(spec.input_names) | {w.name for w in spec.weights} | {p.name for p in spec.params} | {"out", "g"}
    for template in (spec.code.numpy, spec.code.torch):
        if template is not None:
            assert _fields(template) <= known, f"{name}: unknown names {_fields(template) - known}"
    if spec.source:
        return
    targets = {p for p, _, _ in spec.code.grads}
    trainable = {w.name for w in spec.weights if w.trainable}
    differentiable = {p.name for p in spec.inputs if p.differentiable}
    # a gradient line for every differentiable input and trainable weight, and nothing else
    assert targets - {EACH_TARGET} == differentiable | trainable, name
    for port, template, comment in spec.code.grads:
        assert comment, f"{name}: the gradient line of {port} has no comment"
        assert _fields(template) <= known | {"t"}, name


def test_helpers_exist():
    from graphcore.export import np_helpers, torch_runtime

    for spec in registry.ops().values():
        for h in spec.code.helpers:
            assert callable(getattr(np_helpers, h, None)), h
        for h in spec.code.torch_helpers:
            assert callable(getattr(torch_runtime, h, None)), h
