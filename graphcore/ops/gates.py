"""The arithmetic gates of CS231n's circuits."""
from __future__ import annotations

from ..export.coderule import CodeRule
from ..kernels import elementwise as E
from ..registry import ParamSpec
from ._elementwise import binary, binary_cases, unary, unary_cases
from ..export import onnx_rules

binary("add", "a + b", "distributes the gradient unchanged to all inputs (local gradient 1)",
       code=CodeRule("{a} + {b}", (("a", "{g}", "add gate: passes the upstream gradient unchanged"),
                                   ("b", "{g}", "add gate: passes the upstream gradient unchanged"))),
       kernels=(E.add_fwd,), title="+", passthrough=(1.0, 1.0), examples=binary_cases(),
       onnx="Add")
binary("sub", "a - b", "passes the gradient to a unchanged and to b negated",
       code=CodeRule("{a} - {b}", (("a", "{g}", "sub gate: a gets the upstream gradient unchanged"),
                                   ("b", "-{g}", "sub gate: b gets the upstream gradient negated"))),
       kernels=(E.sub_fwd, E.sub_bwd), title="-",
       examples=binary_cases(),
       onnx="Sub")
binary("mul", "a * b", "gives each input the upstream gradient times the other input's value",
       code=CodeRule("{a} * {b}", (("a", "{b} * {g}", "mul gate: upstream times the other input"),
                                   ("b", "{a} * {g}", "mul gate: upstream times the other input"))),
       kernels=(E.mul_fwd, E.mul_bwd), title="*",
       examples=binary_cases(),
       onnx="Mul")
binary("div", "a / b", "a gets upstream / b; b gets -upstream * a / b^2",
       code=CodeRule("{a} / {b}", (("a", "{g} / {b}", "div gate: a gets upstream / b"),
                                   ("b", "-{g} * {a} / ({b} * {b})", "div gate: b gets -upstream * a / b^2"))),
       kernels=(E.div_fwd, E.div_bwd), title="/",
       examples=binary_cases(b=(0.0, 2.0, 0.5)),
       onnx="Div")  # |b| >= 0.5: away from the pole
binary("max", "the larger of a and b (elementwise)",
       "routes the gradient to the input that was largest and gives the others zero (ties go to a)",
       code=CodeRule("np.maximum({a}, {b})", (("a", "{g} * ({a} >= {b})", "max gate: routes the upstream to the larger input"),
                                              ("b", "{g} * ({a} < {b})", "max gate: the smaller input gets zero")),
                     torch="torch.where({a} >= {b}, {a}, {b})"),
       kernels=(E.max_fwd, E.max_bwd), title="max", examples=binary_cases(gap=0.1),
       onnx="Max")  # no ties: a tie is a kink
binary("min", "the smaller of a and b (elementwise)",
       "routes the gradient to the input that was smallest and gives the others zero (ties go to a)",
       code=CodeRule("np.minimum({a}, {b})", (("a", "{g} * ({a} <= {b})", "min gate: routes the upstream to the smaller input"),
                                              ("b", "{g} * ({a} > {b})", "min gate: the larger input gets zero")),
                     torch="torch.where({a} <= {b}, {a}, {b})"),
       kernels=(E.min_fwd, E.min_bwd), title="min", examples=binary_cases(gap=0.1),
       onnx="Min")

unary("neg", "-x", "negates the gradient",
      code=CodeRule("-{x}", (("x", "-{g}", "neg gate: negates the upstream gradient"),)),
      kernels=(E.neg_fwd, E.neg_bwd), title="-x", category="gates", examples=unary_cases(),
      onnx="Neg")
unary("abs", "|x|", "passes the gradient times sign(x) (zero at x = 0)",
      code=CodeRule("np.abs({x})", (("x", "{g} * np.sign({x})", "abs gate: upstream times sign(x)"),),
                   torch="torch.abs({x})"),
      kernels=(E.abs_fwd, E.abs_bwd), title="|x|", category="gates",
      examples=unary_cases(away=0.1, hi=2.0),
      onnx="Abs")
unary("exp", "e^x", "multiplies the gradient by e^x, the gate's own output",
      code=CodeRule("np.exp({x})", (("x", "{out} * {g}", "exp gate: upstream times e^x, the gate's own output"),),
                   torch="torch.exp({x})"),
      kernels=(E.exp_fwd, E.exp_bwd), title="exp", category="gates",
      examples=unary_cases(),
      onnx="Exp")
unary("log", "natural log of x", "multiplies the gradient by 1/x",
      code=CodeRule("np.log({x})", (("x", "{g} / {x}", "log gate: upstream times 1/x"),),
                   torch="torch.log({x})"),
      kernels=(E.log_fwd, E.log_bwd), title="log", category="gates",
      examples=unary_cases(lo=0.5, hi=3.0),
      onnx="Log")
unary("pow", "x^p", "multiplies the gradient by p * x^(p-1)",
      code=CodeRule("np.power({x}, {p})", (("x", "{g} * {p} * np.power({x}, {p} - 1.0)", "pow gate: upstream times p x^(p-1)"),),
                   torch="torch.pow({x}, {p})"),
      kernels=(E.pow_fwd, E.pow_bwd), title="x^p", category="gates",
      param=ParamSpec("p", "float", 2.0, "the exponent"),
      examples=unary_cases(lo=0.5, hi=2.0, params=({"p": 2.0}, {"p": 3.0}, {"p": 0.5}, {"p": -1.0},
                                                   {"p": -1.5})),
      onnx=onnx_rules.pow_)
