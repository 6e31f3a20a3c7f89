"""Shared by the layer tests: gradient-check tolerances, a one-op graph and a classifier head that
turns any feature map into a loss."""
from __future__ import annotations

import numpy as np

import graphcore as gc

TOL = 1e-6  # one op (the registry-wide check uses the same)
NET_TOL = 1e-5  # a few layers composed: finite differences lose a digit through batchnorm's cancellations


def one_op(op, x, **params):
    g = gc.Graph()
    xi = g.add("input", name="x", value=x)
    port = {"conv2d": "images"}.get(op, "x")
    o = g.add(op, name="op", inputs={port: xi}, **params)
    return g, xi, o


def head(g, feats, classes=3, n=None, seed=0):
    """flatten -> linear -> softmax CE on random labels; returns the loss node."""
    f = g.add("flatten", inputs={"x": feats})
    o = g.add("linear", name="out", inputs={"x": f}, units=classes)
    y = g.add("input", name="y", value=np.random.default_rng(seed).integers(0, classes, size=n))
    return g.add("softmax_cross_entropy", inputs={"scores": o, "labels": y})
