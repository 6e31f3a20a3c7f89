"""What a training run is made of: the nodes that play each part (loss, scores, features,
labels) and the preprocessed data splits they are fed, in the trainer's dtype."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Graph
from ..problems import GraphError
from . import datasets as ds_mod
from . import preprocess
from .config import ConfigError, TrainConfig
from .datapath import DataPolicy, folder_for, short_path


@dataclass
class Data:
    """Preprocessed splits, in the executor's dtype (labels stay int64 for classification)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    task: str
    n_classes: int
    prep: preprocess.Standardizer | None = None


def detect_roles(graph: Graph, cfg: TrainConfig) -> dict[str, str | None]:
    """Node ids for loss, data loss, reg, scores, features and labels (named in cfg or found)."""
    def find(name, what):
        try:
            return graph.find(name)
        except GraphError:
            raise ConfigError(f"meta.training.{what}: no node named {name!r}") from None

    if cfg.loss:
        loss = find(cfg.loss, "loss")
    else:
        sinks = [s for s in graph.sinks() if graph.nodes[s].spec is not None
                 and graph.nodes[s].spec.category == "losses"]
        if len(sinks) != 1:
            raise ConfigError("meta.training.loss: name the loss node to train (found "
                              f"{len(sinks)} loss sinks)")
        loss = sinks[0]
    check_scalar_loss(graph, loss)
    data = reg = None
    if graph.nodes[loss].op == "total_loss":
        e = graph.input_edge(loss, "data")
        data = e.src if e else None
        r = graph.input_edge(loss, "reg")
        reg = r.src if r else None
    else:
        data = loss
    label_port = None
    scores = None
    if data is not None:
        dnode = graph.nodes[data]
        spec = dnode.spec
        if spec is not None and spec.port("labels") is not None:
            label_port = "labels"
            e = graph.input_edge(data, "scores")
            scores = e.src if e else None
        elif spec is not None and spec.port("target") is not None:
            label_port = "target"
    if cfg.scores:
        scores = find(cfg.scores, "scores")
    if cfg.labels:
        labels = find(cfg.labels, "labels")
    else:
        e = graph.input_edge(data, label_port) if data and label_port else None
        if e is None:
            raise ConfigError("meta.training.labels: name the input node that receives the labels")
        labels = e.src
    if cfg.features:
        features = find(cfg.features, "features")
    else:
        cands = [n.id for n in graph.nodes.values() if n.op == "input" and n.id != labels]
        if len(cands) != 1:
            raise ConfigError("meta.training.features: name the input node that receives the features "
                              f"(found {len(cands)} candidate inputs)")
        features = cands[0]
    for role, nid in (("features", features), ("labels", labels)):
        if graph.nodes[nid].op != "input":
            raise ConfigError(f"meta.training.{role}: node {graph.nodes[nid].name!r} is a "
                              f"{graph.nodes[nid].op} node; data goes into an input node")
    # what the loss makes of its labels: class numbers (a "labels" port) or targets (a "target" port)
    task = {"labels": "classification", "target": "regression"}.get(label_port)
    return {"loss": loss, "data": data, "reg": reg, "scores": scores, "features": features, "labels": labels,
            "task": task}


def check_scalar_loss(graph: Graph, loss: str) -> None:
    """The loss must be one number: training reads it as a float and differentiates it."""
    shapes, _ = graph.infer_shapes()
    shape = shapes.get(loss)
    if shape is not None and tuple(shape) != ():
        raise ConfigError(f"meta.training.loss: node {graph.nodes[loss].name!r} gives an array of shape "
                          f"{tuple(shape)}, not a single number; name a loss node (a scalar) to train")


def load_data(cfg: TrainConfig, base_dir: str | None = None, dataset: ds_mod.Dataset | None = None,
              task: str | None = None, *, policy: DataPolicy | None = None, graph_file: str | None = None) -> Data:
    """The configured data set, split and preprocessed; `task` (detect_roles' "task": what the loss
    expects) reads a file's labels as classes or targets when the dataset settings do not say.

    A data file the settings name is confined to `base_dir`, else to the folder of `graph_file`
    (the file the graph was loaded from), else to the current folder, unless `policy` allows it
    (datapath.folder_for): settings may come from a file someone else wrote. An error starts with
    the graph file's name (when the folder came from it) and the settings' JSON path."""
    if dataset is None:
        if cfg.dataset is None:
            raise ConfigError("meta.training.dataset: no dataset named (e.g. {\"name\": \"spiral\"})")
        folder, where = folder_for(graph_file, base_dir)
        try:
            dataset = ds_mod.load(cfg.dataset, base_dir=folder, task=task, policy=policy, where=where)
        except ds_mod.DatasetError as exc:
            named = f"{short_path(graph_file)}: " if base_dir is None and graph_file else ""
            raise ConfigError(f"{named}meta.training.dataset: {exc}") from None
    rng = np.random.default_rng([cfg.seed & 0xFFFFFFFF, 1])
    Xtr, ytr, Xva, yva = preprocess.split(dataset.X, dataset.y, cfg.val_fraction, rng)
    prep = None
    p = cfg.preprocess
    if p.get("center") or p.get("standardize"):
        prep = preprocess.Standardizer(bool(p.get("center")), bool(p.get("standardize")),
                                       p.get("per", "feature")).fit(Xtr)
        Xtr, Xva = prep.transform(Xtr), prep.transform(Xva)
    dt = np.dtype(cfg.dtype)
    cast_y = (lambda y: y.astype(np.int64)) if dataset.task == "classification" else (lambda y: y.astype(dt))
    return Data(np.ascontiguousarray(Xtr, dt), cast_y(ytr), np.ascontiguousarray(Xva, dt), cast_y(yva),
                dataset.task, dataset.n_classes, prep)
