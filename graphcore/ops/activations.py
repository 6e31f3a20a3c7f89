"""Activation functions from the CS231n notes, with their known weaknesses in the docs."""
from __future__ import annotations

from ..export.coderule import CodeRule
from ..kernels import elementwise as E
from ..registry import ParamSpec
from ._elementwise import binary, binary_cases, unary, unary_cases
from ..export import onnx_rules

# kinked activations are sampled with |x| >= 0.1 on both sides of the kink at 0
unary("sigmoid", "1 / (1 + e^-x): squashes to (0, 1); saturates, not zero-centred",
      "multiplies the gradient by s(1 - s), at most 0.25 and near 0 when saturated",
      code=CodeRule("1.0 / (1.0 + np.exp(-{x}))", (("x", "{out} * (1.0 - {out}) * {g}", "sigmoid gate: upstream times s(1 - s)"),),
                   torch="torch.sigmoid({x})"),
      kernels=(E.sigmoid_fwd, E.sigmoid_bwd), title="σ",
      examples=unary_cases(lo=-3.0, hi=3.0),
      onnx="Sigmoid")
unary("tanh", "tanh(x) = 2σ(2x) - 1: squashes to (-1, 1), zero-centred, still saturates",
      "multiplies the gradient by 1 - tanh(x)^2",
      code=CodeRule("np.tanh({x})", (("x", "(1.0 - {out} * {out}) * {g}", "tanh gate: upstream times 1 - tanh(x)^2"),),
                   torch="torch.tanh({x})"),
      kernels=(E.tanh_fwd, E.tanh_bwd), title="tanh", examples=unary_cases(),
      onnx="Tanh")
unary("relu", "max(0, x): does not saturate for x > 0, can die",
      "passes the gradient where x > 0 and blocks it (zero) elsewhere",
      code=CodeRule("np.maximum(0.0, {x})", (("x", "{g} * ({x} > 0)", "relu gate: passes the upstream where x > 0"),),
                   torch="torch.relu({x})"),
      kernels=(E.relu_fwd, E.relu_bwd), title="ReLU",
      examples=unary_cases(away=0.1),
      onnx="Relu")
unary("leaky_relu", "x if x > 0 else alpha x: a ReLU that cannot die",
      "passes the gradient where x > 0 and alpha times it elsewhere",
      code=CodeRule("np.where({x} > 0, {x}, {alpha} * {x})",
                   (("x", "np.where({x} > 0, {g}, {alpha} * {g})", "leaky relu: upstream where x > 0, alpha times it elsewhere"),),
                   torch="torch.where({x} > 0, {x}, {alpha} * {x})"),
      kernels=(E.leaky_relu_fwd, E.leaky_relu_bwd), title="LReLU",
      param=ParamSpec("alpha", "float", 0.01, "slope for x <= 0", min=0.0, max=1.0),
      examples=unary_cases(away=0.1, params=({"alpha": 0.01}, {"alpha": 0.3})),
      onnx=onnx_rules.leaky_relu)
unary("elu", "x if x > 0 else alpha (e^x - 1): ReLU's benefits, mean closer to zero",
      "passes the gradient where x > 0, else multiplies it by alpha e^x",
      code=CodeRule("np.where({x} > 0, {x}, {alpha} * np.expm1(np.minimum({x}, 0.0)))",
                   (("x", "np.where({x} > 0, {g}, {g} * {alpha} * np.exp(np.minimum({x}, 0.0)))",
                     "elu: upstream where x > 0, else times alpha e^x"),),
                   torch="torch.where({x} > 0, {x}, {alpha} * torch.expm1(torch.clamp({x}, max=0.0)))"),
      kernels=(E.elu_fwd, E.elu_bwd), title="ELU",
      param=ParamSpec("alpha", "float", 1.0, "saturation value for negative x", min=0.0),
      examples=unary_cases(away=0.1, params=({"alpha": 1.0}, {"alpha": 0.5})),
      onnx=onnx_rules.elu)
unary("selu", "scale * elu(x, alpha) with the self-normalising constants (1.0507, 1.6733)",
      "scale where x > 0, else scale * alpha * e^x, times the gradient",
      code=CodeRule(f"np.where({{x}} > 0, {E.SELU_SCALE!r} * {{x}}, {E.SELU_SCALE * E.SELU_ALPHA!r} * np.expm1(np.minimum({{x}}, 0.0)))",
                   (("x", f"np.where({{x}} > 0, {E.SELU_SCALE!r} * {{g}}, {{g}} * {E.SELU_SCALE * E.SELU_ALPHA!r} * np.exp(np.minimum({{x}}, 0.0)))",
                     "selu: upstream times scale where x > 0, else times scale alpha e^x"),),
                   torch=f"torch.where({{x}} > 0, {E.SELU_SCALE!r} * {{x}}, {E.SELU_SCALE * E.SELU_ALPHA!r} * torch.expm1(torch.clamp({{x}}, max=0.0)))"),
      kernels=(E.selu_fwd, E.selu_bwd), title="SELU",
      examples=unary_cases(away=0.1),
      onnx=onnx_rules.selu)
unary("step", "the perceptron's Heaviside step: 1 if x > 0 else 0",
      "zero everywhere (undefined at 0): no gradient flows back, so a step unit cannot learn "
      "by backpropagation; this is why Rosenblatt's perceptron needed its own learning rule",
      code=CodeRule("np.where({x} > 0, 1.0, 0.0)", (("x", "0.0 * {g}", "step: no gradient flows back (zero everywhere)"),),
                   torch="({x} > 0).to({x}.dtype)"),
      kernels=(E.step_fwd, E.step_bwd), title="step", examples=unary_cases(away=0.1),
      onnx=onnx_rules.step)
binary("prelu", "x if x > 0 else alpha x, with alpha learned (a second input)",
       "x gets the gradient where x > 0, alpha times it elsewhere; alpha gets gradient * x where x <= 0",
       code=CodeRule("np.where({x} > 0, {x}, {alpha} * {x})",
                     (("x", "np.where({x} > 0, {g}, {alpha} * {g})", "prelu: x gets upstream where x > 0, alpha times it elsewhere"),
                      ("alpha", "np.where({x} > 0, 0.0, {x} * {g})", "prelu: alpha gets upstream times x where x <= 0")),
                     torch="torch.where({x} > 0, {x}, {alpha} * {x})"),
       kernels=(E.prelu_fwd, E.prelu_bwd), title="PReLU", category="activations", ports=("x", "alpha"),
       examples=binary_cases(a=(0.0, 2.0, 0.1), b=(0.05, 0.5, 0.0), ports=("x", "alpha")),
       onnx=onnx_rules.prelu)
