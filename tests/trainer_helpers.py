"""Shared by the trainer tests: a small spiral classifier with its training settings, and a copy of
its weights."""
import graphcore as gc
from graphcore.train import datasets


def spiral_net(act="relu", reg=1e-3, n_per_class=50, **training):
    ds = datasets.spiral(n_per_class=n_per_class)
    g = gc.Graph()
    x = g.add("input", name="x", value=ds.X)
    y = g.add("input", name="y", value=ds.y)
    h = g.add("linear", name="fc1", inputs={"x": x}, units=20, init="xavier_normal")
    a = g.add(act, name="act", inputs={"x": h})
    o = g.add("linear", name="fc2", inputs={"x": a}, units=3, init="xavier_normal")
    ce = g.add("softmax_cross_entropy", name="data_loss", inputs={"scores": o, "labels": y})
    r = g.add("l2", name="reg", strength=reg)
    g.add("total_loss", name="loss", inputs={"data": ce, "reg": r})
    t = {"dataset": {"name": "spiral", "n_per_class": n_per_class}, "optimizer": {"kind": "momentum", "lr": 0.1},
         "batch_size": 16, "epochs": 3, "seed": 0}
    t.update(training)
    g.meta["training"] = t
    return g


def weights(g):
    return {(n, w): g.nodes[n].tensors[w].copy() for n, w in g.trainable()}
