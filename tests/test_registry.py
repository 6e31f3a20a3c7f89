"""The op registry: every op is there, each declared once in its family module, and the
generated reference (docs/layers.md) matches the registry."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from graphcore import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXPECTED = {
    "graphcore.ops.sources": ["input", "const", "param"],
    "graphcore.ops.gates": ["add", "sub", "mul", "div", "max", "min", "neg", "abs", "exp", "log", "pow"],
    "graphcore.ops.activations": ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "step", "prelu"],
    "graphcore.ops.reductions": ["sum", "mean"],
    "graphcore.ops.layers": ["linear", "matmul", "flatten", "reshape", "softmax", "maxout"],
    "graphcore.ops.conv": ["conv2d", "max_pool", "avg_pool"],
    "graphcore.ops.norm": ["batchnorm", "dropout"],
    "graphcore.ops.losses": ["softmax_cross_entropy", "svm_loss", "mse", "total_loss"],
    "graphcore.ops.regularizers": ["l2", "l1", "elastic_net"],
}


def test_the_registry_holds_every_expected_op_in_its_family_module():
    ops = registry.ops()
    want = {name for names in EXPECTED.values() for name in names}
    assert set(ops) == want, (sorted(want - set(ops)), sorted(set(ops) - want))
    assert len(ops) == 42
    for module, names in EXPECTED.items():
        for name in names:
            assert ops[name].module == module, name


def test_every_op_declares_its_rules():
    for spec in registry.ops().values():
        assert spec.doc and spec.grad_rule, spec.name
        if not spec.source:
            assert callable(spec.forward) and callable(spec.shape), spec.name
            assert not spec.differentiable or callable(spec.backward), spec.name
            assert spec.examples is not None, f"{spec.name} has no gradient-check examples"


def test_a_broken_op_module_is_an_import_error_not_a_smaller_registry(tmp_path):
    # a copy of the ops package whose conv module has a typo must fail to import
    code = (
        "import sys, types, importlib\n"
        "import graphcore.ops.conv as real\n"
        "src = open(real.__file__).read().replace('import numpy as np', 'import numpy as np\\nfrom ..layers import no_such_name', 1)\n"
        "for name in [m for m in sys.modules if m.startswith('graphcore.ops')]: del sys.modules[name]\n"
        "import graphcore.registry as r; r._REGISTRY.clear()\n"
        "import importlib.machinery, importlib.util\n"
        "spec = importlib.util.spec_from_loader('graphcore.ops.conv', loader=None)\n"
        "mod = importlib.util.module_from_spec(spec); mod.__package__ = 'graphcore.ops'\n"
        "class Finder:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'graphcore.ops.conv':\n"
        "            loader = importlib.machinery.SourceFileLoader(name, real.__file__)\n"
        "            loader.get_data = lambda p: src.encode()\n"
        "            return importlib.util.spec_from_file_location(name, real.__file__, loader=loader)\n"
        "sys.meta_path.insert(0, Finder())\n"
        "try:\n"
        "    import graphcore.ops\n"
        "except ImportError as exc:\n"
        "    print('import failed:', exc)\n"
        "else:\n"
        "    print('imported', len(r._REGISTRY))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    # an ImportError whose message mentions 'layers' is exactly what the old package swallowed
    assert "import failed: No module named 'graphcore.layers'" in out.stdout, out.stdout + out.stderr


def _generator():
    spec = importlib.util.spec_from_file_location("gen_layers_doc", os.path.join(ROOT, "tools", "gen_layers_doc.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docs_layers_md_is_generated_from_the_registry_and_up_to_date():
    gen = _generator()
    with open(os.path.join(ROOT, "docs", "layers.md"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == gen.render(), "docs/layers.md is out of date: run python tools/gen_layers_doc.py"
    for name, spec in registry.ops().items():
        assert f"| `{name}`" in committed and spec.grad_rule.split()[0] in committed


def test_the_generated_doc_changes_when_an_op_does(monkeypatch):
    gen = _generator()
    spec = registry.get("relu")
    monkeypatch.setattr(spec, "grad_rule", "a rule nobody wrote")
    assert "a rule nobody wrote" in gen.render()
