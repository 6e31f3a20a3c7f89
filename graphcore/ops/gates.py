"""The arithmetic gates of CS231n's circuits."""
from __future__ import annotations

from ..registry import ParamSpec
from ._elementwise import binary, unary

binary("add", "a + b", "distributes the gradient unchanged to all inputs (local gradient 1)",
       title="+", passthrough=(1.0, 1.0))
binary("sub", "a - b", "passes the gradient to a unchanged and to b negated", title="-")
binary("mul", "a * b", "gives each input the upstream gradient times the other input's value", title="*")
binary("div", "a / b", "a gets upstream / b; b gets -upstream * a / b^2", title="/")
binary("max", "the larger of a and b (elementwise)",
       "routes the gradient to the input that was largest and gives the others zero (ties go to a)",
       title="max")
binary("min", "the smaller of a and b (elementwise)",
       "routes the gradient to the input that was smallest and gives the others zero (ties go to a)",
       title="min")

unary("neg", "-x", "negates the gradient", title="-x", category="gates")
unary("abs", "|x|", "passes the gradient times sign(x) (zero at x = 0)", title="|x|", category="gates")
unary("exp", "e^x", "multiplies the gradient by e^x, the gate's own output", title="exp", category="gates")
unary("log", "natural log of x", "multiplies the gradient by 1/x", title="log", category="gates")
unary("pow", "x^p", "multiplies the gradient by p * x^(p-1)", title="x^p", category="gates",
      param=ParamSpec("p", "float", 2.0, "the exponent"))
