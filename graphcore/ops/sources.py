"""Where values enter a graph: inputs (data), constants, and trainable params."""
from __future__ import annotations

from ..export.coderule import CodeRule
from ..registry import OpSpec, WeightSpec, register
from ..export import onnx_rules

register(OpSpec(
    name="input", category="inputs", source=True, title="input",
    doc="a value fed in (a number or an array of data)",
    grad_rule="receives the gradient of the output with respect to this input",
    code=CodeRule("{value}"),
    weights=(WeightSpec("value", trainable=False, doc="the value fed in"),),
    onnx=onnx_rules.GRAPH_INPUT,
))

register(OpSpec(
    name="const", category="inputs", source=True, title="const",
    doc="a constant: never trained",
    grad_rule="receives a gradient like any input, but nothing is updated with it",
    code=CodeRule("{value}"),
    weights=(WeightSpec("value", trainable=False, doc="the constant"),),
    onnx=onnx_rules.CONSTANT,
))

register(OpSpec(
    name="param", category="inputs", source=True, title="param",
    doc="a trainable parameter with an initial value",
    grad_rule="receives the gradient of the loss; the optimizer updates the value with it",
    code=CodeRule("{value}"),
    weights=(WeightSpec("value", trainable=True, doc="the current value"),),
    onnx=onnx_rules.INITIALIZER,
))
