"""Fuzzing the loader: whatever bytes a file holds, `gc.loads`/`gc.load` either return
a Graph or raise GraphFormatError; nothing else may escape (no KeyError, TypeError,
OverflowError, RecursionError, MemoryError...). A loaded graph must also validate
without crashing (the editor calls validate() right after opening a file) and
save and load back unchanged.

A deterministic corpus covers the named cases (truncation, bit flips, deleted keys,
wrong types, huge shapes, deep nesting, garbage); hypothesis explores around it.
"""
from __future__ import annotations

import copy
import glob
import json
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphcore as gc
from backprop_studio_resources import examples_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = sorted(glob.glob(os.path.join(examples_dir(), "*.json"))
               + glob.glob(os.path.join(ROOT, "tests", "golden", "v*", "*.json")))
SEED_TEXTS = [open(p, "rb").read() for p in SEEDS]
SEED_DOCS = [json.loads(t) for t in SEED_TEXTS]

WEIRD_VALUES = [None, True, False, 0, -1, 1, 7, 2 ** 63, -(2 ** 63) - 1, 10 ** 400, -10 ** 400, 1.5, -0.0, 1e308,
                "", "x", "float64", "out", "n1", "a", "\u0000", "\udcff", "💥", [], [1], [None], ["a", 1], {},
                {"a": 1}, {"dtype": "float64"}, [[[[[]]]]], {"": {"": {"": []}}}]
HUGE_SHAPES = [[10 ** 9, 10 ** 9], [2 ** 63], [2 ** 64], [0, 2 ** 64], [0, 10 ** 30], [0, 2 ** 62, 2 ** 62], [-1],
               [1] * 40, [1.5], ["3"], [None], [True], [0] * 9, [10 ** 400], [2 ** 31, 2 ** 31, 0]]


def attempt(data) -> gc.Graph | None:
    """Load; only GraphFormatError may escape, and a loaded graph validates without raising."""
    try:
        g = gc.loads(data)
    except gc.GraphFormatError as exc:
        assert str(exc), "the error says what is wrong"
        return None
    problems = g.validate()
    assert isinstance(problems, list)
    # whatever loads can be saved as UTF-8 and loads back the same
    text = gc.dumps(g)
    text.encode("utf-8")
    assert gc.loads(text) == g
    if not problems:
        run_loaded(g)
    return g


def run_loaded(g: gc.Graph) -> None:
    """A graph that loads and validates runs, or says why in the engine's own errors: every array
    it holds reaches the kernels (under NUMBA_BOUNDSCHECK=1 in tests/test_tensorcheck.py).
    Data inputs are cut to 2 rows: the weights are what a file could get wrong, and the
    fuzz stays cheap (digits' 32 images each time cost minutes)."""
    for node in g.nodes.values():
        v = node.tensors.get("value")
        if node.op == "input" and v is not None and v.ndim >= 1 and v.shape[0] > 2:
            node.tensors["value"] = v[:2].copy()
    for mode in ("train", "eval"):
        ex = gc.Executor(g, mode=mode)
        try:
            ex.forward()
            sinks = g.sinks()
            if len(sinks) == 1:
                ex.backward(sinks[0])
        except (gc.GraphError, gc.NumericError):
            pass


def paths(obj, prefix=()):
    """Every path into a JSON document (lists of keys/indexes)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, prefix + (i,))


def get_parent(doc, path):
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    return cur


def delete_at(doc, path):
    doc = copy.deepcopy(doc)
    parent = get_parent(doc, path)
    del parent[path[-1]]
    return doc


def replace_at(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    get_parent(doc, path)[path[-1]] = value
    return doc


def dump(doc) -> str:
    return json.dumps(doc, ensure_ascii=False)


# ---------------------------------------------------------------- deterministic corpus
@pytest.mark.parametrize("k", range(len(SEEDS)), ids=[os.path.relpath(p, ROOT) for p in SEEDS])
def test_truncated_files(k):
    text = SEED_TEXTS[k]
    step = max(1, len(text) // 300)
    for n in list(range(0, len(text), step)) + [len(text) - 1, len(text) - 2]:
        attempt(text[:n])


@pytest.mark.parametrize("k", range(len(SEEDS)), ids=[os.path.relpath(p, ROOT) for p in SEEDS])
def test_bit_flips(k):
    text = SEED_TEXTS[k]
    rng = random.Random(k)
    for _ in range(300):
        data = bytearray(text)
        for _ in range(rng.choice((1, 1, 2, 5))):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        attempt(bytes(data))


@pytest.mark.parametrize("k", range(len(SEEDS)), ids=[os.path.relpath(p, ROOT) for p in SEEDS])
def test_every_key_deleted(k):
    doc = SEED_DOCS[k]
    for path in list(paths(doc))[1:]:
        attempt(dump(delete_at(doc, path)))


@pytest.mark.parametrize("k", range(len(SEEDS)), ids=[os.path.relpath(p, ROOT) for p in SEEDS])
def test_wrong_types_everywhere(k):
    doc = SEED_DOCS[k]
    all_paths = list(paths(doc))
    rng = random.Random(100 + k)
    chosen = all_paths if len(all_paths) <= 400 else rng.sample(all_paths, 400)
    for path in chosen:
        for value in rng.sample(WEIRD_VALUES, 6):
            attempt(dump(replace_at(doc, path, value)))


@pytest.mark.parametrize("shape", HUGE_SHAPES, ids=str)
def test_huge_and_bad_shapes(shape):
    for doc in SEED_DOCS:
        for path in paths(doc):
            if path and path[-1] == "shape":
                attempt(dump(replace_at(doc, path, shape)))
                break
    # inline and base64 tensors both
    for body in ({"data": []}, {"b64": ""}, {"data": [1.0]}, {"b64": "AAAAAAAA8D8="}):
        t = {"dtype": "float64", "shape": shape, **body}
        attempt(dump(_with_value(t)))


def _with_value(tensor):
    return {"format": "backprop-studio-graph", "format_version": 1,
            "nodes": [{"id": "a", "op": "input", "tensors": {"value": tensor}}], "edges": []}


def test_deep_nesting():
    depth = 100_000
    attempt("[" * depth + "]" * depth)
    attempt("{\"a\":" * depth + "1" + "}" * depth)
    attempt("[" * depth)  # and truncated
    for where in (("meta",), ("meta", "title"), ("nodes",), ("nodes", 0, "ui"), ("nodes", 0, "params"),
                  ("nodes", 0, "tensors", "value", "data"), ("nodes", 0, "tensors", "value", "shape"),
                  ("edges",), ("optimizer_state",), ("nodes", 0, "name")):
        for nest in ("[" * depth + "]" * depth, "[" * 40 + "]" * 40, "{\"k\":" * 40 + "0" + "}" * 40):
            doc = copy.deepcopy(SEED_DOCS[0])
            marker = "@@NEST@@"
            try:
                doc = replace_at(doc, where, marker)
            except (KeyError, IndexError, TypeError):
                continue
            attempt(dump(doc).replace(json.dumps(marker), nest))


def test_random_garbage():
    rng = random.Random(7)
    for n in (0, 1, 2, 10, 100, 1000, 10000):
        for _ in range(20):
            attempt(bytes(rng.randrange(256) for _ in range(n)))
    for text in ("", " ", "null", "0", "[]", "{}", "\"x\"", "NaN", "Infinity", "-Infinity", "1e999", "\ufeff{}",
                 "{\"format\": \"backprop-studio-graph\"}", "{\"format\": \"backprop-studio-graph\", "
                 "\"format_version\": 1}", "{\"format\": \"backprop-studio-graph\", \"format_version\": 1, "
                 "\"nodes\": {}}", b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf{}"):
        attempt(text)


def test_non_finite_and_extreme_numbers():
    for v in ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-400", str(10 ** 400), "-0"):
        base = dump(SEED_DOCS[0])
        for target in ("3.0", "0.0", "1", "-4.0"):
            if target in base:
                attempt(base.replace(target, v, 1))
        attempt(dump(_with_value({"dtype": "float64", "shape": [1], "data": ["@@"]})).replace("\"@@\"", v))
        attempt(dump(_with_value({"dtype": "int64", "shape": [1], "data": ["@@"]})).replace("\"@@\"", v))
        attempt(dump(_with_value({"dtype": "float32", "shape": [1], "data": ["@@"]})).replace("\"@@\"", v))


def test_load_from_disk_only_raises_format_errors(tmp_path):
    rng = random.Random(3)
    for i in range(40):
        data = bytearray(SEED_TEXTS[i % len(SEED_TEXTS)])
        data = data[: rng.randrange(len(data) + 1)]
        for _ in range(rng.randrange(4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        p = tmp_path / f"f{i}.json"
        p.write_bytes(bytes(data))
        try:
            gc.load(p)
        except gc.GraphFormatError as exc:
            assert str(p) in str(exc)
    for bad in (tmp_path, tmp_path / "missing.json"):
        with pytest.raises(gc.GraphFormatError):
            gc.load(bad)


def test_the_seeds_themselves_load():
    for text in SEED_TEXTS:
        assert attempt(text) is not None


# ---------------------------------------------------------------- hypothesis
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                      st.sampled_from(["float64", "float32", "int64", "int32", "input", "mul", "add", "max", "sum",
                                       "pow", "out", "a", "b", "x", "n1", "n2", "value", "data", "b64", "shape"]))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                          max_leaves=12)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(k=st.integers(0, len(SEEDS) - 1), data=st.data())
def test_hypothesis_replace_a_value(k, data):
    doc = SEED_DOCS[k]
    all_paths = list(paths(doc))
    path = data.draw(st.sampled_from(all_paths))
    value = data.draw(json_value)
    attempt(dump(replace_at(doc, path, value)))


@SETTINGS
@given(k=st.integers(0, len(SEEDS) - 1), data=st.data())
def test_hypothesis_delete_and_mutate(k, data):
    doc = SEED_DOCS[k]
    for _ in range(data.draw(st.integers(1, 4))):
        all_paths = list(paths(doc))[1:]
        if not all_paths:
            break
        path = data.draw(st.sampled_from(all_paths))
        if data.draw(st.booleans()):
            doc = delete_at(doc, path)
        else:
            doc = replace_at(doc, path, data.draw(json_value))
    attempt(dump(doc))


@SETTINGS
@given(k=st.integers(0, len(SEEDS) - 1), cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1),
                                                                                      st.integers(0, 7)), max_size=6))
def test_hypothesis_bytes(k, cut, flips):
    data = bytearray(SEED_TEXTS[k])
    data = data[: int(len(data) * cut) + 1]
    for pos, bit in flips:
        i = min(int(pos * len(data)), len(data) - 1)
        data[i] ^= 1 << bit
    attempt(bytes(data))


@SETTINGS
@given(doc=json_value)
def test_hypothesis_arbitrary_json(doc):
    attempt(dump(doc))
    attempt(dump({"format": "backprop-studio-graph", "format_version": 1, "nodes": doc}))
    attempt(dump({"format": "backprop-studio-graph", "format_version": 1,
                  "nodes": [{"id": "a", "op": "input", "tensors": {"value": doc}}]}))


@SETTINGS
@given(shape=st.lists(st.one_of(st.integers(-3, 2 ** 65), st.sampled_from([0, 1, 2, 3])), max_size=10),
       dtype=st.sampled_from(["float64", "float32", "int64", "int32"]), n=st.integers(0, 20),
       b64=st.booleans())
def test_hypothesis_tensor_headers(shape, dtype, n, b64):
    if b64:
        body = {"b64": __import__("base64").b64encode(np.arange(n, dtype=np.float64).tobytes()).decode()}
    else:
        body = {"data": list(range(n))}
    g = attempt(dump(_with_value({"dtype": dtype, "shape": shape, **body})))
    if g is not None:
        arr = g.nodes["a"].tensors["value"]
        assert list(arr.shape) == shape and arr.dtype == np.dtype(dtype)


def test_lone_surrogate_escapes_are_refused():
    """JSON allows "\\udcff", which decodes to text that can never be written back as UTF-8."""
    text = SEED_TEXTS[0].decode("utf-8").replace('"name": "x"', '"name": "x\\udcff"', 1)
    assert "\\udcff" in text
    with pytest.raises(gc.GraphFormatError, match="surrogate"):
        gc.loads(text.encode("utf-8"))
    ok = SEED_TEXTS[0].decode("utf-8").replace('"name": "x"', '"name": "x\\ud83d\\ude00"', 1)  # a valid pair
    assert attempt(ok.encode("utf-8")) is not None
