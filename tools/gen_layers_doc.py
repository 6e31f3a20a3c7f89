"""Write docs/layers.md from the op registry, so the reference cannot drift from the code.

    python tools/gen_layers_doc.py           # rewrite docs/layers.md
    python tools/gen_layers_doc.py --check   # exit 1 when the committed file is out of date

Each op's row comes from its declaration (ports, params with defaults and ranges,
weights and state, what it computes, the gradient rule the tooltips show); only the
notes between the tables are written here by hand. tests/test_layers_doc.py fails when
the committed file differs from what this script writes.
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "layers.md")

TITLES = {"inputs": "Inputs", "gates": "Gates", "activations": "Activations", "reductions": "Reductions",
          "layers": "Layers", "losses": "Losses", "regularizers": "Regularizers"}

INTRO = """\
# Ops: layers, losses, regularizers and the circuit gates

Generated from the op registry by `tools/gen_layers_doc.py` (do not edit by hand: a test
compares this file with the script's output). Every op below is in the registry
(`graphcore.registry.get(name)`), so the palette, the inspector, the file format and the
gradient check all see the same declaration, and each op's backward is gradient-checked.
Layouts follow the CS231n assignments: feature rows are `(N, D)`, images `(N, C, H, W)`.
Keyword arguments to `g.add` are the op's params; a layer's weights are drawn when
its input shape is known (seeded by `g.meta["seed"]` and the node id) and are saved
with the graph.
"""

NOTES = {
    "layers": """\
- Output sizes that are not whole are refused with the numbers in the message, e.g.
  `conv2d: output width (8 - 3 + 2*0)/2 + 1 = 3.5 is not a whole number; change size, stride or pad`.
- Initializers: `init` is any name of `graphcore.init.INITIALIZERS`; `W` knows its fans
  (linear: (D, units); conv: fan_in = C*size*size), so `he` draws `randn * sqrt(2 / fan_in)`
  and `xavier_normal` `randn / sqrt(fan_in)`. Biases and `beta` start at zero, `gamma` at one.
- `batchnorm` in train mode normalises with the batch mean and (biased) variance and updates
  `running = momentum * running + (1 - momentum) * batch` in the graph, announced like any
  edit (`node_changed`, `changed`; an executor made with `state_events=False`, as training
  does, leaves the announcement to `g.commit_weights()`); in eval mode it uses the running
  statistics. With `eps = 0`, a feature that is constant over the batch is refused with a
  `NumericError` naming the node. `dropout` in train mode multiplies by
  `mask = (rand(shape) < p) / p` (inverted dropout, drawn from the node's seeded generator)
  and is the identity in eval mode.
- Train/eval is one switch: `gc.Executor(g, mode="eval")` or `ex.mode = "eval"`.
""",
    "losses": """\
Labels outside 0..C-1 stop the pass with a message naming the row. Whole-number float
labels (data read from a CSV) are accepted. `graphcore.ops.losses.breakdown(g, ex, node)`
returns `{"total", "data", "reg"}` of a `total_loss` node, so data and regularisation
loss can be shown apart.
""",
    "regularizers": """\
Which weights: the `targets` param is `auto` (the wired `x` if any, else every layer weight
`W`: linear, conv2d, maxout), `all`, `none`, or node names separated by commas, each
optionally with `.weight` (`"fc1, fc2.W, bn1.gamma"`). A `param` node can be wired into `x`.
The penalised weights are not wired inputs, so the regularizer hands their gradients to
the executor (`ctx.add_weight_grad`), and `ex.weight_grad(layer, "W")` is the sum of the
data-loss and the penalty gradients.

```python
reg = g.add("l2", strength=1e-3)                    # every layer W
loss = g.add("total_loss", inputs={"data": ce, "reg": reg})
ex = gc.Executor(g); ex.forward(); ex.backward(loss)
ex.weight_grad(h, "W")                              # includes strength * W
ex.weight_grads()                                   # {(node id, weight): gradient} for all trainable weights
```
""",
}

TAIL = """\
## Speed

- Matrix products go to BLAS (`np.dot` with `out=` into reusable buffers); column sums
  for bias gradients are `ones @ g` (BLAS, 3-5x faster than `np.sum(axis=0)`). A small linear
  layer (N * K * M up to 2^17, such as the spiral net's 2 -> 100 -> 3) runs one compiled loop per
  direction instead (`graphcore/kernels/dense.py`: the forward with its bias; dW, db and dx
  together), where BLAS was mostly call overhead.
- Convolution is im2col + one BLAS product; im2col/col2im, the layout transposes, pooling,
  batchnorm and the fused softmax cross-entropy / SVM are numba kernels
  (`graphcore/kernels/conv.py` and `nn.py`), each with a numpy twin of the same signature that the
  tests compare against. From 512 scores on, softmax cross-entropy runs numpy's SIMD `exp`
  between two compiled loops (`graphcore/kernels/softmax.py`): numba's scalar `exp` was most of it.
- `ex.input_grads = False` skips gradients into data inputs and everything that depends only
  on them (the first layer's dx): training needs only weight gradients.
- `gc.Executor(g, dtype=np.float32)` runs every layer in float32.
- The default NaN/Inf check looks at the sinks and at the gradients reaching sources and
  weights (one dot product each); only when one is not finite does it go node by node to
  name the node that produced it. `bench/bench_api.py` times the public API against PyTorch.

Measured on the 2-core test machine, one thread, median per call, forward / backward in us
(float32; float64 in brackets). Digits CNN at batch 64, training path (no dx into the data):

| layer | shape | forward | backward |
|---|---|---|---|
| conv2d 3x3, 16 filters, pad 1 | (64, 1, 8, 8) | 47 (75) | 56 (72) |
| conv2d 3x3, 32 filters, pad 1, with dx | (64, 16, 4, 4) | 171 (259) | 383 (599), BLAS-bound |
| max_pool 2x2 | (64, 16, 8, 8) | 43 (46) | 43 (42) |
| avg_pool 2x2 | (64, 16, 8, 8) | 28 (29) | 29 (30) |
| batchnorm, per channel | (64, 16, 8, 8) | 54 (73) | 41 (57) |
| batchnorm, per feature | (128, 256) | 32 (60) | 37 (37) |
| linear 784 -> 256, with dx | (128, 784) | 384 (946) | 829 (1807), BLAS-bound |
| maxout 64 units, k = 2 | (128, 256) | 89 (180) | 205 (370) |
| dropout | (128, 256) | 124 (113), drawing the random numbers | 5 (17) |
| softmax cross-entropy | (64, 10) | 5 (6) | 0.3 (rescales the gradient made in the forward pass) |

The whole digits CNN step (conv 16 -> ReLU -> max pool -> linear 10 -> softmax CE, forward and
backward through the executor, no update) takes about 330 us in float32 and 540 us in float64.
"""


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _param(p) -> str:
    bits = []
    if p.default is not None and p.kind != "tensor":
        bits.append(f"default {p.default!r}" if isinstance(p.default, str) else f"default {p.default}")
    if p.choices and p.kind == "choice" and len(p.choices) <= 8:
        bits.append("one of " + ", ".join(map(str, p.choices)))
    if p.min is not None:
        bits.append(f">= {p.min:g}")
    if p.max is not None:
        bits.append(f"<= {p.max:g}")
    extra = f" ({'; '.join(bits)})" if bits else ""
    return f"`{p.name}`{extra}: {p.doc}" if p.doc else f"`{p.name}`{extra}"


def _port(p) -> str:
    tags = [t for t, on in (("optional", p.optional), ("int labels", p.dtype == "int"),
                            ("no gradient", not p.differentiable)) if on]
    tag = f" ({', '.join(tags)})" if tags else ""
    return f"`{p.name}`{tag}" + (f": {p.doc}" if p.doc else "")


def _weight(w) -> str:
    kind = "" if w.trainable else "state "
    return f"{kind}`{w.name}`" + (f": {w.doc}" if w.doc else "")


def render() -> str:
    """The whole of docs/layers.md, from the registry."""
    sys.path.insert(0, ROOT)
    from graphcore import registry

    out = [INTRO]
    for category, specs in registry.by_category().items():
        module = list(dict.fromkeys(s.module for s in specs if s.module))
        where = f" ({', '.join('`' + m + '`' for m in module)})" if module else ""
        out.append(f"## {TITLES.get(category, category)}{where}\n")
        out.append("| op | inputs | params | weights and state | computes | gradient |")
        out.append("|---|---|---|---|---|---|")
        for s in specs:
            row = [f"`{s.name}`" + (" (train/eval)" if s.mode_dependent else ""),
                   "<br>".join(_cell(_port(p)) for p in s.inputs) or "none (a source)",
                   "<br>".join(_cell(_param(p)) for p in s.params),
                   "<br>".join(_cell(_weight(w)) for w in s.weights),
                   _cell(s.doc), _cell(s.grad_rule)]
            out.append("| " + " | ".join(row) + " |")
        out.append("")
        if category in NOTES:
            out.append(NOTES[category])
    out.append(TAIL)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/layers.md is out of date")
    a = ap.parse_args(argv)
    text = render()
    if a.check:
        with open(DOC, encoding="utf-8") as f:
            same = f.read() == text
        print("docs/layers.md is up to date" if same else "docs/layers.md is out of date: "
              "run python tools/gen_layers_doc.py")
        return 0 if same else 1
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
