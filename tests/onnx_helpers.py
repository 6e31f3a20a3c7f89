"""What the ONNX tests share: onnxruntime sessions, feeds from a graph's inputs, the error measure,
and the registry-wide one-op cases (the gradient check's own, tests/test_ops_gradcheck.py)."""
from __future__ import annotations

import glob
import os

import numpy as np
import onnxruntime as ort

import graphcore as gc
from graphcore import registry
from backprop_studio_resources import example_path
from test_ops_gradcheck import build_case, cases_for, op_names

TOL = {np.float32: 1e-6, np.float64: 1e-12}

_OPTIONS = ort.SessionOptions()
_OPTIONS.intra_op_num_threads = 1
_OPTIONS.inter_op_num_threads = 1
_OPTIONS.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the ops as written


def session(model) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), _OPTIONS, providers=["CPUExecutionProvider"])


def feeds(sess, graph, dtype, values: dict | None = None) -> dict:
    """Each ONNX input gets its input node's value (or values[name]) in the input's type."""
    out = {}
    for i in sess.get_inputs():
        v = values[i.name] if values and i.name in values else graph.nodes[graph.find(i.name)].tensors["value"]
        out[i.name] = np.asarray(v).astype(np.int64 if i.type == "tensor(int64)" else dtype)
    return out


def rel_error(got, ref, dtype) -> float:
    """max |got - ref| over max |ref|: relative to the output's largest magnitude; in float32 that
    magnitude counts as at least 1, because float32 sums of O(1) terms that cancel (a sum near 0)
    differ by their rounding, which is absolute."""
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    diff = np.max(np.abs(got - ref), initial=0.0)
    if diff == 0.0:
        return 0.0
    scale = np.max(np.abs(ref), initial=0.0)
    return diff / (max(scale, 1.0) if dtype == np.float32 else scale)


def example_files() -> list[str]:
    folder = os.path.dirname(example_path("cs231n_circuit.json"))
    return sorted(glob.glob(os.path.join(folder, "*.json")))


def one_op_cases() -> list[tuple[str, int, str]]:
    return [(name, i, case.get("label", str(i))) for name in op_names() for i, case in enumerate(cases_for(name))]


def one_op_graph(name: str, index: int):
    """(graph, op id) for sample case `index` of op `name`."""
    g, _, op = build_case(name, cases_for(name)[index])
    return g, op


def executor_values(graph, dtype, names) -> dict:
    """The executor's forward values (eval mode: the inference form ONNX exports) by node name."""
    ex = gc.Executor(graph, dtype=dtype, mode="eval")
    ex.forward()
    return {n: ex.value(graph.find(n)) for n in names}


def random_gate_graph(seed: int) -> gc.Graph:
    """Gates and activations wired at random over broadcasting shapes (), (3,), (2, 3)."""
    rng = np.random.default_rng(seed)
    g = gc.Graph()
    ids = [g.add("input", name=f"x{i}", value=rng.uniform(-2, 2, size=[(), (3,), (2, 3)][i % 3])) for i in range(3)]
    binary, unary = ("add", "sub", "mul", "max", "min", "prelu"), ("neg", "abs", "tanh", "sigmoid", "relu", "step")
    for k in range(int(rng.integers(4, 10))):
        if rng.random() < 0.5:
            op = str(rng.choice(binary))
            ports = registry.get(op).input_names
            srcs = rng.choice(len(ids), size=2)
            ids.append(g.add(op, name=f"{op}{k}", inputs={ports[0]: ids[srcs[0]], ports[1]: ids[srcs[1]]}))
        else:
            op = str(rng.choice(unary))
            ids.append(g.add(op, name=f"{op}{k}", inputs={"x": ids[int(rng.integers(len(ids)))]}))
    return g
