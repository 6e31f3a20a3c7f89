"""Every shipped example passes its own checks: the gradient check (`main.py check`) and, for the
training examples, the babysitting checks (`main.py sanity`); and the gradient check still fails a
wrong backward rule in a layer network (ReLU kinks, data inputs, the notes' spiral net)."""
from __future__ import annotations

import copy
import math
import os

import numpy as np
import pytest

import graphcore as gc
from graphcore import registry
from graphcore.gradcheck import DEFAULT_TOLERANCE, KINK_PATTERNS, gradcheck
from graphcore.train import babysit
from backprop_studio_resources import example_files

EXAMPLES = example_files()
NAMES = [os.path.basename(p) for p in EXAMPLES]
TRAINING = {"digits_cnn.json", "spiral_2layer.json", "spiral_linear.json", "spiral_relu.json",
            "spiral_tanh.json", "xor_mlp.json"}


def test_the_examples_are_all_there():
    assert TRAINING | {"cs231n_circuit.json", "add_mul.json", "sigmoid_neuron.json"} <= set(NAMES)


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_passes_the_gradient_check(path):
    g = gc.load(path)
    report = gradcheck(g)
    assert report.tolerance == DEFAULT_TOLERANCE
    assert report.ok, (report.worst(), report.summary())
    assert not any(report.skipped.values()), report.summary()
    training = os.path.basename(path) in TRAINING
    assert set(report.data) == ({"x", "y"} if training else set())
    # every trainable weight (and, in a circuit, every float source) was compared
    want = {f"{nid}/{w}" for nid, w in g.trainable()}
    if not training:
        want |= {nid for nid, n in g.nodes.items() if n.spec.source and n.tensors["value"].dtype.kind == "f"}
    assert set(report.errors) == want
    assert all(report.checked[k] == min(report.size[k], 64) for k in want)


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_passes_sanity_or_is_not_a_classifier(path):
    g = gc.load(path)
    out = babysit.sanity(g, base_dir=os.path.dirname(path))
    if os.path.basename(path) not in TRAINING:  # a circuit: no data, labels or loss to check
        assert out == {"applicable": False, "ok": True, "initial": None, "overfit": None,
                       "message": out["message"]} and out["message"].startswith("not applicable")
        return
    assert out["ok"], out["message"]
    init = out["initial"]
    n_classes = {"digits_cnn.json": 10, "xor_mlp.json": 2}.get(os.path.basename(path), 3)
    assert init["expected"] == pytest.approx(math.log(n_classes))
    assert abs(init["data_loss"] - init["expected"]) <= 0.15 * init["expected"]
    assert init["loss"] == pytest.approx(init["data_loss"] + init["reg_loss"])
    assert init["reg_raises_loss"] is True
    assert out["overfit"]["loss"] <= 0.05 and out["overfit"]["acc"] == 1.0


def test_digits_starts_near_log_10():
    g = gc.load(next(p for p in EXAMPLES if p.endswith("digits_cnn.json")))
    init = babysit.initial_loss_check(g)
    assert abs(init["data_loss"] - math.log(10)) < 0.1, init["message"]  # Xavier scores gave 3.15


@pytest.mark.parametrize("name", ["spiral_2layer.json", "digits_cnn.json", "cs231n_circuit.json"])
def test_command_line_check_and_sanity_exit_0(name, capsys):
    """The two commands the issue saw fail (check: exit 1, sanity: "OFF"), run through the command
    line's own entry point (in process: a subprocess costs ~2 s of imports on a busy machine)."""
    from graphcore import cli

    path = next(p for p in EXAMPLES if p.endswith(name))
    assert cli.main(["check", path]) == 0, capsys.readouterr()
    assert cli.main(["sanity", path]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "FAIL" not in out and "OFF" not in out


# ------------------------------------------------------------ a wrong rule is still caught
def _spiral_net(act: str) -> gc.Graph:
    """The notes' spiral net (the shipped example's data, settings and 0.01 weights) with `act`."""
    src = gc.load(next(p for p in EXAMPLES if p.endswith("spiral_2layer.json")))
    X = src.nodes[src.find("x")].tensors["value"]
    y = src.nodes[src.find("y")].tensors["value"]
    g = gc.Graph()
    g.meta["seed"] = 0
    x = g.add("input", name="x", value=X)
    yy = g.add("input", name="y", value=y)
    h = g.add("linear", name="fc1", inputs={"x": x}, units=100, init="normal", init_scale=0.01)
    r = g.add(act, name="act", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": r}, units=3, init="normal", init_scale=0.01)
    ce = g.add("softmax_cross_entropy", name="data_loss", inputs={"scores": o, "labels": yy})
    reg = g.add("l2", name="reg", strength=1e-3)
    g.add("total_loss", name="loss", inputs={"data": ce, "reg": reg})
    g.meta["training"] = copy.deepcopy(src.meta["training"])
    return g


@pytest.fixture
def broken_relu(monkeypatch):
    """A ReLU registered for this test only, whose backward passes 1% too much gradient."""
    relu = registry.get("relu")

    def backward(ctx, g, ins, out, params, tensors):
        return [relu.backward(ctx, g, ins, out, params, tensors)[0] * 1.01]

    spec = registry.OpSpec(name="broken_relu", category=relu.category, doc="relu with a wrong backward",
                           grad_rule="wrong", inputs=relu.inputs, params=relu.params, shape=relu.shape,
                           forward=relu.forward, backward=backward, elementwise=True)
    monkeypatch.setitem(registry._REGISTRY, "broken_relu", spec)
    monkeypatch.setitem(KINK_PATTERNS, "broken_relu", KINK_PATTERNS["relu"])  # its kink is found as relu's
    return spec


def test_check_fails_a_wrong_backward_in_a_layer_network(broken_relu):
    good = gradcheck(_spiral_net("relu"))
    assert good.ok, good.worst()
    bad = gradcheck(_spiral_net("broken_relu"))
    assert not bad.ok
    errors = {bad.names[k]: e for k, e in bad.errors.items()}
    # everything upstream of the wrong rule is off by about 1%, everything downstream is right
    assert errors["fc1.W"] > 1e-3 and errors["fc1.b"] > 1e-3, errors
    assert errors["fc2.W"] < DEFAULT_TOLERANCE and errors["fc2.b"] < DEFAULT_TOLERANCE, errors


def test_check_fails_a_wrong_backward_on_the_command_line(broken_relu, tmp_path, capsys):
    """`main.py check` (in process, so the temporary op exists) exits 1 naming the wrong arrays."""
    from graphcore import cli

    path = tmp_path / "broken.json"
    gc.save(_spiral_net("broken_relu"), str(path))
    assert cli.main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "fc1.W" in out and "fc1.b" in out
    gc.save(_spiral_net("relu"), str(path))
    assert cli.main(["check", str(path)]) == 0


def test_the_kinks_are_what_the_one_sided_differences_fix():
    """In the spiral net every first-layer bias moves the origin point's hidden units across their
    ReLU kink (x = (0, 0), b = 0): plain centred differences fail a correct rule there."""
    g = _spiral_net("relu")
    report = gradcheck(g)
    b = g.find("fc1") + "/b"
    assert report.ok and report.one_sided[b] == 64 and report.skipped[b] == 0
    plain = gradcheck(g, kinks=False)
    assert plain.errors[b] > 1e-2 and not plain.ok


def test_features_can_be_checked_on_request_and_labels_never_are():
    g = _spiral_net("relu")
    x, y = g.find("x"), g.find("y")
    default = gradcheck(g)
    assert x not in default.errors and y not in default.errors and default.rows == 8
    with_data = gradcheck(g, check_data=True)
    assert x in with_data.errors and y not in with_data.errors
    assert with_data.ok, with_data.worst()
    # 8 rows of 2 features; the first point is the origin, where (b = 0) all 100 hidden units sit on
    # their kink: nudging x[0, j] either way turns on the units whose W[j] has that sign, so no side
    # keeps the ReLU pattern the rule used, and those two elements are skipped, not guessed at
    assert (with_data.checked[x], with_data.skipped[x], with_data.size[x]) == (14, 2, 16)


def test_float32_graph_is_checked_in_float64_and_left_as_it_was():
    g = _spiral_net("tanh")
    for node in g.nodes.values():
        for k, v in node.tensors.items():
            if v.dtype == np.float64:
                node.tensors[k] = v.astype(np.float32)
    before = {(n.id, k): v.copy() for n in g.nodes.values() for k, v in n.tensors.items()}
    report = gradcheck(g)
    assert report.ok, report.worst()
    for (nid, k), v in before.items():
        after = g.nodes[nid].tensors[k]
        assert after.dtype == v.dtype and np.array_equal(after, v)


def test_dropout_and_batchnorm_in_train_mode():
    """Dropout's mask is the same in every evaluation; batchnorm uses batch statistics; the
    caller's running statistics are not moved by the check's many forward passes."""
    g = _spiral_net("relu")
    fc1, act = g.find("fc1"), g.find("act")
    bn = g.add("batchnorm", name="bn", inputs={"x": fc1})
    g.disconnect(act, "x")
    g.connect(bn, act, "x")
    d = g.add("dropout", name="drop", inputs={"x": act}, p=0.5)
    g.disconnect(g.find("fc2"), "x")
    g.connect(d, g.find("fc2"), "x")
    ex = gc.Executor(g)
    ex.forward()
    running = {k: v.copy() for k, v in g.nodes[bn].tensors.items() if k.startswith("running")}
    report = gradcheck(g)
    assert report.ok, report.worst()
    assert {f"{bn}/gamma", f"{bn}/beta"} <= set(report.errors)
    for k, v in running.items():
        np.testing.assert_array_equal(g.nodes[bn].tensors[k], v)


def test_conv_he_init_uses_fan_in_c_kh_kw():
    """He for conv: std sqrt(2 / (C * kh * kw)); the digits conv has C = 1, 3x3, 32 filters (288
    draws: the sample std is within ~4% of the true one, 15% is far outside chance)."""
    g = gc.load(next(p for p in EXAMPLES if p.endswith("digits_cnn.json")))
    W = g.nodes[g.find("conv")].tensors["W"]
    assert W.shape == (32, 1, 3, 3)
    assert W.std() == pytest.approx(math.sqrt(2 / 9), rel=0.15)
    g2 = gc.Graph()
    x = g2.add("input", name="x", value=np.zeros((2, 4, 6, 6)))
    c = g2.add("conv2d", name="c", inputs={"images": x}, filters=64, size=5, init="he")
    assert g2.weights(c)["W"].std() == pytest.approx(math.sqrt(2 / (4 * 5 * 5)), rel=0.05)  # 6400 draws


def test_every_example_has_a_title_for_the_examples_menu():
    """File > Examples showed file names ("spiral 2layer") next to titles for the training examples."""
    import json

    from app.file_actions import _example_title, example_files

    for path in example_files():
        with open(path, encoding="utf-8") as f:
            title = json.load(f)["meta"].get("title")
        assert isinstance(title, str) and title.strip() and _example_title(path) == title.strip(), path
