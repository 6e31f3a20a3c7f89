"""Build the inline graphs of lessons 7 to 15 and write them into their lesson files.

    QT_QPA_PLATFORM=offscreen python tools/make_lesson_graphs.py

Each lesson file in resources/lessons/ is hand-written; this script only replaces its "graph"
with {"inline": GRAPH}, the graph built here and laid out by the editor's own auto layout (as
resources/examples/tidy_layout.py does), then rewrites the file (indent 1, UTF-8). The graphs
hold their data in the input nodes (the training split, or a preview batch), so a forward pass
in the lesson shows real numbers before any training.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import graphcore as gc  # noqa: E402
from graphcore import fileformat  # noqa: E402
from graphcore.train.config import TrainConfig  # noqa: E402
from graphcore.train.trainer import load_data  # noqa: E402

LESSONS = os.path.join(REPO, "resources", "lessons")
SPIRAL = {"name": "spiral", "n_per_class": 100, "classes": 3, "noise": 0.2, "seed": 0}


def _data_inputs(g: gc.Graph, training: dict, preview: int | None = None) -> tuple[str, str]:
    data = load_data(TrainConfig.from_dict(training))
    X, y = data.X_train, data.y_train
    if preview is not None:
        X, y = X[:preview], y[:preview]
    return (g.add("input", name="x", value=np.asarray(X, np.float64)), g.add("input", name="y", value=y))


def _tower(g, x, act: str, sizes: list[int], tag: str = "", init: str = "xavier_normal"):
    """Hidden layers fc1, act1, fc2, act2... (`tag` appended to each name; with one layer its
    activation is named after the op)."""
    h = x
    for i, units in enumerate(sizes, 1):
        h = g.add("linear", name=f"fc{i}{tag}", inputs={"x": h}, units=units, init=init)
        h = g.add(act, name=f"{act}{i}{tag}" if len(sizes) > 1 else act, inputs={"x": h})
    return h


def _softmax_loss(g, h, y, name="loss", scores="scores", classes=3):
    o = g.add("linear", name=scores, inputs={"x": h}, units=classes, init="normal", init_scale=0.01)
    return g.add("softmax_cross_entropy", name=name, inputs={"scores": o, "labels": y})


def _with_reg(g, ce, strength: float):
    r = g.add("l2", name="reg", strength=strength)
    return g.add("total_loss", name="loss", inputs={"data": ce, "reg": r})


def relu_vs_tanh() -> gc.Graph:
    """Lesson 7: two identical 2-100-3 nets, ReLU and tanh, on one summed loss: one run trains both
    on exactly the same batches (the add gate hands each net only its own loss's gradient)."""
    t = {"dataset": SPIRAL, "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.0,
         "optimizer": {"kind": "momentum", "lr": 0.1, "momentum": 0.9}, "batch_size": 32, "epochs": 8,
         "seed": 0, "dtype": "float32"}
    g = gc.Graph()
    g.meta["seed"] = 0
    x, y = _data_inputs(g, t)
    losses = [_softmax_loss(g, _tower(g, x, act, [100], tag=f"_{act}"), y, name=f"loss_{act}", scores=f"scores_{act}")
              for act in ("relu", "tanh")]
    g.add("add", name="loss", inputs={"a": losses[0], "b": losses[1]})
    g.meta["training"] = t
    return g


def bowl() -> gc.Graph:
    """Lesson 9: linear regression with exactly two weights, the param node w, the second feature
    scaled by 0.2: the mean squared error is a long narrow bowl (curvatures about 25 : 1), where
    plain SGD crawls along the shallow direction. Every racer starts from w = (-2, -2.5)."""
    n, seed = 64, 0
    t = {"dataset": {"name": "linear", "n": n, "dim": 2, "noise": 0.1, "seed": seed},
         "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.0,
         "optimizer": {"kind": "sgd", "lr": 0.1}, "batch_size": 0, "epochs": 40, "seed": seed, "dtype": "float64"}
    g = gc.Graph()
    g.meta["seed"] = seed
    x, y = _data_inputs(g, t)
    s = g.add("const", name="scale", value=np.array([1.0, 0.2]))
    xs = g.add("mul", name="scaled", inputs={"a": x, "b": s})
    w = g.add("param", name="w", value=np.array([[-2.0], [-2.5]]))
    p = g.add("matmul", name="pred", inputs={"a": xs, "b": w})
    g.add("mse", name="loss", inputs={"pred": p, "target": y})
    g.meta["training"] = t
    return g


def deep_tanh() -> gc.Graph:
    """Lesson 10: five tanh layers of 50 units (Xavier) on the spiral, so a forward pass shows how
    the activations' spread changes from layer to layer under each initialisation."""
    t = {"dataset": SPIRAL, "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.0,
         "optimizer": {"kind": "momentum", "lr": 0.05, "momentum": 0.9}, "batch_size": 32, "epochs": 10,
         "seed": 0, "dtype": "float32"}
    g = gc.Graph()
    g.meta["seed"] = 0
    x, y = _data_inputs(g, t)
    h = _tower(g, x, "tanh", [50] * 5)
    _with_reg(g, _softmax_loss(g, h, y, name="data_loss"), 1e-4)
    g.meta["training"] = t
    return g


def batchnorm_towers() -> gc.Graph:
    """Lesson 11: two five-layer ReLU nets (50 units, He init) on one summed loss, the second with
    a batchnorm before every ReLU (bn1..bn5); one run trains both on the same batches."""
    t = {"dataset": SPIRAL, "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.0,
         "optimizer": {"kind": "sgd", "lr": 1.0}, "batch_size": 32, "epochs": 10, "seed": 0, "dtype": "float32"}
    g = gc.Graph()
    g.meta["seed"] = 0
    x, y = _data_inputs(g, t)
    losses = []
    for tag, bn in (("_plain", False), ("_bn", True)):
        h = x
        for i in range(1, 6):
            h = g.add("linear", name=f"fc{i}{tag}", inputs={"x": h}, units=50, init="he")
            if bn:
                h = g.add("batchnorm", name=f"bn{i}", inputs={"x": h})
            h = g.add("relu", name=f"relu{i}{tag}", inputs={"x": h})
        losses.append(_softmax_loss(g, h, y, name=f"loss{tag}", scores=f"scores{tag}"))
    g.add("add", name="loss", inputs={"a": losses[0], "b": losses[1]})
    g.meta["training"] = t
    return g


def overfit() -> gc.Graph:
    """Lesson 12: a 2-100-100-3 ReLU net (about 10,000 weights) on 45 noisy spiral points, with 45
    more held out for validation; a dropout node (keep probability 1 = off) and an L2 node (1e-5)
    are in place for the student to turn up."""
    t = {"dataset": {"name": "spiral", "n_per_class": 30, "classes": 3, "noise": 0.3, "seed": 0},
         "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.5,
         "optimizer": {"kind": "adam", "lr": 0.01}, "batch_size": 0, "epochs": 150, "seed": 0, "dtype": "float32"}
    g = gc.Graph()
    g.meta["seed"] = 0
    x, y = _data_inputs(g, t)
    h = g.add("linear", name="fc1", inputs={"x": x}, units=100, init="he")
    h = g.add("relu", name="relu1", inputs={"x": h})
    h = g.add("dropout", name="dropout", inputs={"x": h}, p=1.0)
    h = g.add("linear", name="fc2", inputs={"x": h}, units=100, init="he")
    h = g.add("relu", name="relu2", inputs={"x": h})
    _with_reg(g, _softmax_loss(g, h, y, name="data_loss"), 1e-5)
    g.meta["training"] = t
    return g


def babysit_moons() -> gc.Graph:
    """Lesson 13: 20 examples of two moons, a 2-100-2 ReLU net (He init, class scores 0.01 * randn
    so the first loss is about log 2), softmax + L2 1e-3."""
    t = {"dataset": {"name": "moons", "n": 20, "noise": 0.2, "seed": 0}, "features": "x", "labels": "y",
         "loss": "loss", "val_fraction": 0.0, "optimizer": {"kind": "adam", "lr": 0.05}, "batch_size": 0,
         "epochs": 200, "seed": 0, "dtype": "float64"}
    g = gc.Graph()
    g.meta["seed"] = 0
    x, y = _data_inputs(g, t)
    h = g.add("linear", name="fc1", inputs={"x": x}, units=100, init="he")
    h = g.add("relu", name="relu", inputs={"x": h})
    _with_reg(g, _softmax_loss(g, h, y, name="data_loss", classes=2), 1e-3)
    g.meta["training"] = t
    return g


def search_spiral() -> gc.Graph:
    """Lesson 14: the 2-100-3 ReLU net of spiral_relu.json, with 20% of the spiral held out for
    validation, since a search must be judged on data it does not train on."""
    t = {"dataset": SPIRAL, "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.2,
         "optimizer": {"kind": "momentum", "lr": 0.01, "momentum": 0.9}, "batch_size": 32, "epochs": 5,
         "seed": 0, "dtype": "float32"}
    g = gc.Graph()
    g.meta["seed"] = 0
    x, y = _data_inputs(g, t)
    h = _tower(g, x, "relu", [100])
    _with_reg(g, _softmax_loss(g, h, y, name="data_loss"), 1e-3)
    g.meta["training"] = t
    return g


def digits_two_convs() -> gc.Graph:
    """Lesson 15: 8 digit images (1 x 8 x 8) through two 3x3 convolutions of 8 filters (pad 1),
    ReLUs, a 2x2 max pool and a linear layer. 8 images x 8 filters = 64 maps, so a layer's number
    of outputs divided by 64 is the pixels of one map."""
    t = {"dataset": {"name": "digits"}, "features": "x", "labels": "y", "loss": "loss", "val_fraction": 0.2,
         "preprocess": {"center": True, "standardize": True, "per": "channel"},
         "optimizer": {"kind": "adam", "lr": 0.01}, "batch_size": 32, "epochs": 3, "seed": 0, "dtype": "float32"}
    g = gc.Graph()
    g.meta["seed"] = 0
    x, y = _data_inputs(g, t, preview=8)
    h = g.add("conv2d", name="conv1", inputs={"images": x}, filters=8, size=3, stride=1, pad=1, init="he")
    h = g.add("relu", name="relu1", inputs={"x": h})
    h = g.add("conv2d", name="conv2", inputs={"images": h}, filters=8, size=3, stride=1, pad=1, init="he")
    h = g.add("relu", name="relu2", inputs={"x": h})
    h = g.add("max_pool", name="pool", inputs={"x": h}, size=2, stride=2)
    h = g.add("flatten", name="flatten", inputs={"x": h})
    _with_reg(g, _softmax_loss(g, h, y, name="data_loss", classes=10), 1e-3)
    g.meta["training"] = t
    return g


def layout(g: gc.Graph) -> None:
    from PySide6.QtGui import QUndoStack
    from PySide6.QtWidgets import QApplication

    from app.canvas.scene import GraphScene

    QApplication.instance() or QApplication([])
    scene = GraphScene(g, QUndoStack())
    scene.auto_layout()
    xs = [n.ui["x"] for n in g.nodes.values()]
    ys = [n.ui["y"] for n in g.nodes.values()]
    dx, dy = 40 - min(xs), 40 - min(ys)
    for nid, n in g.nodes.items():
        g.set_ui(nid, x=round(n.ui["x"] + dx, 1), y=round(n.ui["y"] + dy, 1))
    scene.detach()


GRAPHS = {
    "07_relu_vs_tanh.json": relu_vs_tanh,
    "09_optimizer_race.json": bowl,
    "10_initialization.json": deep_tanh,
    "11_batchnorm.json": batchnorm_towers,
    "12_overfitting.json": overfit,
    "13_babysitting.json": babysit_moons,
    "14_search.json": search_spiral,
    "15_convolution.json": digits_two_convs,
}


def main(argv: list[str]) -> int:
    names = argv or sorted(GRAPHS)
    for name in names:
        path = os.path.join(LESSONS, name)
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        g = GRAPHS[name]()
        layout(g)
        doc["graph"] = {"inline": fileformat.to_dict(g)}
        text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        print("wrote", name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
