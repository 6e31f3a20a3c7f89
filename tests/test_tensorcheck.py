"""Every weight and state tensor is checked against its layer before a kernel sees it.

The reported files: a batchnorm with 1-element running statistics for 100,000 features
(SIGSEGV in `run --mode train`), a linear layer with units=100000 and a 1-element bias
(reads past the array), a missing W, a 1-D W, a 2-D b (tracebacks). Then a weight-mismatch
fuzz over every layer op of the registry: each case either runs correctly or raises the
format's own error, on load (GraphFormatError) and at plan build (GraphError).
test_boundscheck_subprocess runs these under NUMBA_BOUNDSCHECK=1 with a cold kernel cache.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import graphcore as gc
from graphcore import cli, registry, tensorcheck
from graphcore.fileformat import encode_tensor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- building graphs
def layer_graph(op: str, case: dict) -> tuple[gc.Graph, str]:
    """input nodes -> op -> sum: a scalar to differentiate; returns (graph, the layer's id)."""
    g = gc.Graph()
    ins = {}
    for port, arr in case["inputs"].items():
        ins[port] = g.add("input", name=f"in_{port}", value=arr)
    nid = g.add(op, name="layer", inputs=ins, **case.get("params", {}))
    if case.get("weights"):
        g.set_weights(nid, **case["weights"])
    g.add("sum", name="total", inputs={"x": nid})
    return g, nid


def layer_ops() -> list[str]:
    """Every registered op that owns tensors sized by its input (the fuzz grows with the registry)."""
    return sorted(n for n, s in registry.ops().items() if any(w.shape is not None for w in s.weights))


def run(g: gc.Graph, mode: str, dtype=np.float64) -> tuple[float, dict]:
    ex = gc.Executor(g, mode=mode, dtype=dtype)
    ex.forward()
    ex.backward()
    out = float(ex.value("total"))
    grads = {k: ex.weight_grad(*k).copy() for k in g.trainable()}
    grads.update({("in", n.name): ex.grad(n.id).copy() for n in g.nodes.values() if n.op == "input"})
    return out, grads


def doc_of(g: gc.Graph) -> dict:
    return json.loads(gc.dumps(g))


# ---------------------------------------------------------------- the reported files
def bn_graph(features: int) -> gc.Graph:
    g = gc.Graph()
    x = g.add("input", name="x", value=np.random.default_rng(0).standard_normal((2, features)))
    bn = g.add("batchnorm", name="bn", inputs={"x": x})
    g.add("sum", name="s", inputs={"x": bn})
    return g


def linear_graph(units: int, d: int = 4) -> gc.Graph:
    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((2, d)))
    lin = g.add("linear", name="l", inputs={"x": x}, units=units)
    g.add("sum", name="s", inputs={"x": lin})
    return g


def _set(doc: dict, node: str, tensor: str, value) -> dict:
    n = next(n for n in doc["nodes"] if n["name"] == node)
    if value is None:
        del n["tensors"][tensor]
    else:
        n["tensors"][tensor] = encode_tensor(np.asarray(value))
    return doc


def reported_files():
    bn = doc_of(bn_graph(100_000))
    _set(bn, "bn", "running_mean", np.ones(1))
    _set(bn, "bn", "running_var", np.ones(1))
    return {
        "batchnorm stats": (bn, "bn", "running_mean", "has shape (1,); for input (2, 100000) it must have shape "
                                                      "(100000,)"),
        "linear bias": (_set(doc_of(linear_graph(100_000, 2)), "l", "b", np.ones(1)), "l", "b",
                        "has shape (1,); for input (2, 2) it must have shape (100000,)"),
        "missing W": (_set(doc_of(linear_graph(3)), "l", "W", None), "l", "W",
                      "is missing; for input (2, 4) it must have shape (4, 3)"),
        "1-D W": (_set(doc_of(linear_graph(3)), "l", "W", np.ones(4)), "l", "W",
                  "has 1 dimension, shape (4,); for input (2, 4) it must have shape (4, 3)"),
        "2-D b": (_set(doc_of(linear_graph(3)), "l", "b", np.ones((3, 1))), "l", "b",
                  "has 2 dimensions, shape (3, 1); for input (2, 4) it must have shape (3,)"),
    }


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    out = {}
    for label, (doc, node, tensor, words) in reported_files().items():
        path = folder / (label.replace(" ", "_") + ".json")
        path.write_text(json.dumps(doc))
        out[label] = (str(path), node, tensor, words)
    return out


@pytest.mark.parametrize("label", list(reported_files()))
@pytest.mark.parametrize("argv", [["run", "--mode", "train"], ["run"], ["check"]], ids=["run-train", "run", "check"])
def test_reported_files_are_one_line_naming_node_and_tensor(bad_files, label, argv, capsys):
    path, node, tensor, words = bad_files[label]
    assert cli.main([argv[0], path, *argv[1:]]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    assert path in lines[0] and f"node '{node}'" in lines[0] and f"tensor '{tensor}' {words}" in lines[0]


@pytest.mark.parametrize("argv", [["train", "--quiet"], ["sanity"], ["search", "--quiet", "--workers", "1"]],
                         ids=["train", "sanity", "search"])
def test_training_commands_refuse_the_batchnorm_file(bad_files, argv, capsys):
    path = bad_files["batchnorm stats"][0]
    assert cli.main([argv[0], path, *argv[1:]]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "node 'bn': tensor 'running_mean' has shape (1,)" in lines[0]


def test_render_refuses_the_batchnorm_file_before_drawing(bad_files, capsys):
    import main as main_mod

    path = bad_files["batchnorm stats"][0]
    assert main_mod.main(["render", path, "--out", os.path.join(os.path.dirname(path), "x.png"),
                          "--pass", "backward"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tensor 'running_mean' has shape (1,)" in err[0]


@pytest.mark.parametrize("label", list(reported_files()))
def test_the_same_tensors_set_through_the_api_are_refused_at_plan_build(label):
    doc, node, tensor, words = reported_files()[label]
    g = bn_graph(1000) if node == "bn" else linear_graph(3)
    nid = g.find(node)
    n = next(n for n in doc["nodes"] if n["name"] == node)
    if tensor in n["tensors"]:  # the bad array, at a size the API graph has
        bad = gc.fileformat.decode_tensor(n["tensors"][tensor], "t")
        if node == "l" and tensor == "b" and bad.size == 1:
            g.set_param(nid, "units", 100_000)
        g.nodes[nid].tensors[tensor] = bad
    else:
        del g.nodes[nid].tensors[tensor]
    with pytest.raises(gc.GraphError) as info:
        gc.Executor(g, mode="train").forward()
    p = info.value.problems[0]
    assert p.node == nid and p.code == "tensor" and f"tensor '{tensor}'" in p.message


def test_a_good_file_still_runs_and_weights_in_float32_are_accepted(tmp_path, capsys):
    g = linear_graph(3)
    nid = g.find("l")
    g.nodes[nid].tensors["W"] = g.nodes[nid].tensors["W"].astype(np.float32)
    path = tmp_path / "ok.json"
    gc.save(g, path)
    assert cli.main(["run", str(path)]) == 0
    assert "l " in capsys.readouterr().out


def test_a_layer_without_a_wired_input_keeps_loading():
    """The editor saves layers that are not wired yet (no shapes, no weights): still a valid file."""
    g = gc.Graph()
    g.add("linear", name="loose", units=4)
    back = gc.loads(gc.dumps(g))
    assert back.nodes[g.find("loose")].tensors == {}
    assert any(p.code == "missing_input" for p in back.validate())


def test_int_weights_are_refused_on_load():
    doc = _set(doc_of(linear_graph(3)), "l", "W", np.ones((4, 3), np.int64))
    with pytest.raises(gc.GraphFormatError, match=r"nodes\[1\]\.tensors\.W: .*tensor 'W' has dtype int64"):
        gc.loads(json.dumps(doc))


# ---------------------------------------------------------------- the registry-wide fuzz
def mutations(want: tuple, arr: np.ndarray):
    """(label, array or None for 'missing') around the expected shape."""
    yield "missing", None
    yield "empty", np.zeros((0,))
    yield "scalar", np.asarray(1.0)
    yield "one element", np.ones((1,) * len(want))
    yield "rank + 1", arr.reshape(want + (1,))
    if len(want) > 1:
        yield "rank - 1", arr.reshape(-1)
    for axis in range(len(want)):
        bigger = list(want)
        bigger[axis] += 1
        yield f"axis {axis} + 1", np.ones(bigger)
        if want[axis] > 1:
            smaller = list(want)
            smaller[axis] -= 1
            yield f"axis {axis} - 1", np.ones(smaller)
    yield "int64", np.round(arr).astype(np.int64)
    yield "int32", np.round(arr).astype(np.int32)
    yield "float32", arr.astype(np.float32)


def fuzz_cases():
    rng = np.random.default_rng(0)
    for op in layer_ops():
        spec = registry.get(op)
        for case in spec.examples(rng)[:2]:
            mode = case.get("mode", "train")
            for w in spec.weights:
                if w.shape is not None:
                    yield pytest.param(op, case, mode, w.name, id=f"{op}-{case['label']}-{w.name}")


@pytest.mark.parametrize("op,case,mode,weight", list(fuzz_cases()))
def test_weight_mismatch_fuzz(op, case, mode, weight):
    g0, nid = layer_graph(op, case)
    want = g0.nodes[nid].tensors[weight].shape
    base = g0.nodes[nid].tensors[weight]
    seen = set()
    for label, bad in mutations(want, base):
        # through a file: the format's own error, naming node and tensor, or a graph that runs right
        g = g0.copy()
        if bad is None:
            del g.nodes[nid].tensors[weight]
        else:
            g.nodes[nid].tensors[weight] = bad
        text = gc.dumps(g)
        try:
            loaded = gc.loads(text)
        except gc.GraphFormatError as exc:
            assert f"node 'layer'" in str(exc) and f"tensor '{weight}'" in str(exc), (label, str(exc))
            seen.add("refused on load")
        else:
            ref = g0.copy()
            ref.nodes[nid].tensors[weight] = np.asarray(bad, np.float64)
            want_out, want_grads = run(ref, mode)
            got_out, got_grads = run(loaded, mode)
            # float32 state in a float64 run: batchnorm's eval adds eps to a float32 running_var in
            # float32 (numpy's weak-scalar rule), one float32 rounding: hence 1e-6, not 1e-12
            tol = 1e-6 if bad.dtype == np.float32 else 1e-12
            assert got_out == pytest.approx(want_out, rel=tol, abs=tol), label
            for k in want_grads:
                np.testing.assert_allclose(got_grads[k], want_grads[k], rtol=tol, atol=tol, err_msg=label)
            seen.add("ran")
        # straight into a graph (the Python API): refused when the plan is built
        try:
            run(g, mode)
        except gc.GraphError as exc:
            assert any(p.node == nid and weight in p.message for p in exc.problems), (label, str(exc))
        for dtype in (np.float32,):  # the float32 plan checks the same way
            try:
                run(g.copy(), mode, dtype)
            except gc.GraphError as exc:
                assert any(p.node == nid for p in exc.problems), (label, str(exc))
    assert seen == {"refused on load", "ran"}  # float32 weights run, the rest is refused


# ---------------------------------------------------------------- every layer kernel on small shapes
def kernel_cases():
    rng = np.random.default_rng(1)
    for op in sorted(n for n, s in registry.ops().items() if s.category == "layers"):
        for case in registry.get(op).examples(rng):
            yield pytest.param(op, case, id=f"{op}-{case['label']}")


@pytest.mark.parametrize("op,case", list(kernel_cases()))
def test_layer_kernels_run_on_small_shapes(op, case):
    """Each layer's forward and backward kernels on its registry examples, in both dtypes
    (under NUMBA_BOUNDSCHECK=1 an index past an array is an IndexError, see below)."""
    g, _ = layer_graph(op, case)
    mode = case.get("mode", "train")
    out64, grads64 = run(g, mode)
    out32, grads32 = run(g.copy(), mode, np.float32)
    assert np.isfinite(out64) and np.isfinite(out32)
    if not (op == "dropout" and mode == "train"):  # its mask is drawn in the run's dtype
        assert out32 == pytest.approx(out64, rel=1e-3, abs=1e-3)
    for k, v in grads64.items():
        assert v.shape == grads32[k].shape


def test_check_plan_names_node_and_tensor_for_every_problem():
    g = linear_graph(3)
    nid = g.find("l")
    g.nodes[nid].tensors["W"] = np.ones(4)
    g.nodes[nid].tensors["b"] = np.ones((3, 1))
    with pytest.raises(gc.GraphError) as info:
        tensorcheck.check_plan(g)
    assert [(p.node, p.message.split(" has ")[0]) for p in info.value.problems] == [
        (nid, "tensor 'W'"), (nid, "tensor 'b'")]


# ---------------------------------------------------------------- under NUMBA_BOUNDSCHECK=1, cold
PROBE = """
import numpy as np
from graphcore import kernels
x = np.ones((2, 5, 1)); one = np.ones(1)
try:
    kernels.nn.batchnorm_fwd.get()(x, np.ones(5), np.zeros(5), 1e-5, 0.9, np.empty_like(x), np.empty_like(x),
                                     np.empty(5), one, one.copy())
except IndexError:
    print("bounds checked")
"""


@pytest.mark.slow
def test_boundscheck_subprocess(tmp_path):
    """The kernel tests above and the file fuzz again, compiled with bounds checks into an empty
    cache (a warm cache would hand back the unchecked kernels and check nothing)."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               BACKPROP_KERNELS="numba", PYTHONHASHSEED="0")
    env.pop("BACKPROP_STUDIO_MEMORY_LIMIT", None)
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert probe.stdout.strip() == "bounds checked", probe.stdout + probe.stderr
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                        "-m", "not slow", "-k", "fuzz or kernels or hypothesis or seeds or every or truncated or "
                        "bit_flips or wrong_types or garbage or dense or softmax", "tests/test_tensorcheck.py",
                        "tests/test_fileformat_fuzz.py", "tests/test_dense_kernels.py", "tests/test_softmax_wide.py"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_check_node_for_a_step_whose_arrays_changed():
    """What an executor's per-step cache calls when a weight is replaced after the plan was built."""
    g = bn_graph(6)
    nid = g.find("bn")
    node = g.nodes[nid]
    tensorcheck.check_node(node, [(2, 6)])
    node.tensors["running_var"] = np.ones(1)
    with pytest.raises(gc.GraphError, match=r"tensor 'running_var' has shape \(1,\); for input \(2, 6\)"):
        tensorcheck.check_node(node, [(2, 6)])


@pytest.mark.parametrize("op", ["batchnorm", "flatten", "softmax", "linear", "conv2d"])
def test_an_empty_batch_is_refused_at_plan_build(op, tmp_path, capsys):
    """A file may declare a value of shape (0, 3); batchnorm, flatten and softmax gave tracebacks."""
    case = next(c for c in registry.get(op).examples(np.random.default_rng(0)) if c.get("mode") != "eval")
    case = dict(case, inputs={k: np.asarray(v)[:0] for k, v in case["inputs"].items()})
    g, _ = layer_graph(op, case)
    with pytest.raises(gc.GraphError, match=r"value has shape \(0,.*\), an empty array"):
        gc.Executor(g).forward()
    path = tmp_path / "empty.json"
    gc.save(g, path)
    assert cli.main(["run", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "node 'in_" in lines[0] and "an empty array" in lines[0]
