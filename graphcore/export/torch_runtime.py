"""The PyTorch side of an exported file, written once here and copied in by source (inspect).

Helpers some ops need, the optimizer with the CS231n notes' update rules exactly as
graphcore.train.optim applies them (clip, weight decay, update, max-norm, in that order), the
learning-rate schedule and the training loop. Importable without torch (the test suite has none):
nothing here runs at import.
"""
from __future__ import annotations

import math

import numpy as np

try:  # only the generated file and tools/verify_torch_export.py run these
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - the test suite has no torch
    torch = F = None


def _sum(x, axis, keepdims):
    return x.sum(dim=tuple(range(x.dim())) if axis is None else axis, keepdim=keepdims)


def _mean(x, axis, keepdims):
    return x.mean(dim=tuple(range(x.dim())) if axis is None else axis, keepdim=keepdims)


def _svm_loss(scores, labels, delta):
    """Mean over the batch of the sum over wrong classes of max(0, s_j - s_label + delta)."""
    correct = scores.gather(1, labels[:, None])
    wrong = torch.ones_like(scores).scatter_(1, labels[:, None], 0.0)
    return (torch.clamp(scores - correct + delta, min=0.0) * wrong).sum() / len(labels)


def _batchnorm(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    """Batch statistics in training (the running ones updated as momentum * running + (1 - momentum)
    * batch, biased variance), the running statistics in eval."""
    axes = (0,) + tuple(range(2, x.dim()))
    shape = (1, -1) + (1,) * (x.dim() - 2)
    if training:
        mean = x.mean(dim=axes)
        var = ((x - mean.reshape(shape)) ** 2).mean(dim=axes)
        with torch.no_grad():
            running_mean.mul_(momentum).add_((1.0 - momentum) * mean)
            running_var.mul_(momentum).add_((1.0 - momentum) * var)
    else:
        mean, var = running_mean, running_var
    xhat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    return xhat * gamma.reshape(shape) + beta.reshape(shape)


class NotesOptimizer:
    """The update rules of the CS231n notes, as Backprop Studio applies them (graphcore/train/optim.py):
    clip by global norm, clip by value, weight decay dx + wd * x, the rule, then max-norm."""

    def __init__(self, params, kind="sgd", lr=1e-2, momentum=0.9, decay_rate=0.99, beta1=0.9, beta2=0.999,
                 eps=1e-8, weight_decay=0.0, max_norm=None, clip_norm=None, clip_value=None):
        self.params = list(params)
        self.kind, self.lr = kind, lr
        self.mu, self.decay, self.b1, self.b2, self.eps = momentum, decay_rate, beta1, beta2, eps
        self.wd, self.max_norm, self.clip_norm, self.clip_value = weight_decay, max_norm, clip_norm, clip_value
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad() if torch is not None else (lambda f: f)
    def step(self, lr=None):
        lr = self.lr if lr is None else lr
        scale = 1.0
        if self.clip_norm is not None:
            total = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in self.params if p.grad is not None))
            if total > self.clip_norm:
                scale = self.clip_norm / total
        for p, st in zip(self.params, self.state):
            if p.grad is None:
                continue
            g = p.grad * scale
            if self.clip_value is not None:
                g = g.clamp(-self.clip_value, self.clip_value)
            g = g + self.wd * p
            if self.kind == "sgd":
                p += -lr * g
            elif self.kind in ("momentum", "nesterov"):
                v = st.setdefault("velocity", torch.zeros_like(p))
                v_prev = v.clone()
                v.mul_(self.mu).sub_(lr * g)
                p += v if self.kind == "momentum" else -self.mu * v_prev + (1.0 + self.mu) * v
            elif self.kind == "adagrad":
                cache = st.setdefault("cache", torch.zeros_like(p))
                cache += g * g
                p += -lr * g / (torch.sqrt(cache) + self.eps)
            elif self.kind == "rmsprop":
                cache = st.setdefault("cache", torch.zeros_like(p))
                cache.copy_(self.decay * cache + (1.0 - self.decay) * (g * g))
                p += -lr * g / (torch.sqrt(cache) + self.eps)
            else:  # adam
                m = st.setdefault("m", torch.zeros_like(p))
                v = st.setdefault("v", torch.zeros_like(p))
                st["t"] = t = st.get("t", 0) + 1
                m.copy_(self.b1 * m + (1.0 - self.b1) * g)
                v.copy_(self.b2 * v + (1.0 - self.b2) * (g * g))
                p += -lr * (m / (1.0 - self.b1 ** t)) / (torch.sqrt(v / (1.0 - self.b2 ** t)) + self.eps)
            if self.max_norm is not None and p.dim() >= 2:  # each unit's incoming weights to norm <= max_norm
                axes = (0,) if p.dim() == 2 else tuple(range(1, p.dim()))
                norms = torch.sqrt((p * p).sum(dim=axes, keepdim=True))
                p *= torch.clamp(self.max_norm / torch.clamp(norms, min=1e-300), max=1.0)


def learning_rate(schedule, lr0, epoch, step):
    """The schedule of graphcore/train/schedules.py: t counts epochs or steps."""
    t = epoch if schedule.get("per", "epoch") == "epoch" else step
    kind = schedule.get("kind", "constant")
    if kind == "constant":
        return lr0
    if kind == "step":
        return lr0 * schedule.get("factor", 0.5) ** math.floor(t / schedule.get("every", 1.0))
    if kind == "exponential":
        return lr0 * math.exp(-schedule.get("k", 0.0) * t)
    return lr0 / (1.0 + schedule.get("k", 0.0) * t)


def train(model, data, settings, features, labels, device="cpu"):
    """Minibatch training as Backprop Studio's trainer does it: a seeded shuffle each epoch, the loss of
    each batch (the batch fed to the input nodes `features` and `labels`, by argument name), one
    optimizer step. Returns the loss of each epoch's last batch."""
    # On a GPU: train(..., device="cuda"): the model and every batch move there.
    # On several GPUs or machines: torch.distributed.init_process_group("nccl"), then wrap the model in
    # torch.nn.parallel.DistributedDataParallel and give each process its share of the batches.
    model.to(device)
    model.train()
    dtype = next(iter(model.parameters())).dtype
    opt = NotesOptimizer(model.parameters(), **settings["optimizer"])
    X = torch.as_tensor(data["X_train"], dtype=dtype, device=device)
    y = torch.as_tensor(data["y_train"], device=device)
    if y.is_floating_point():
        y = y.to(dtype)
    rng = np.random.default_rng([settings["seed"] & 0xFFFFFFFF, 2])
    n, bs = len(X), settings["batch_size"] or len(X)
    losses, step = [], 0
    for epoch in range(settings["epochs"]):
        order = rng.permutation(n)
        for start in range(0, n, bs):
            idx = torch.as_tensor(order[start:start + bs], device=device)
            opt.zero_grad()
            loss = model(**{features: X[idx], labels: y[idx]})
            loss.backward()
            opt.step(learning_rate(settings["schedule"], opt.lr, epoch, step))
            step += 1
        losses.append(loss.item())
        if (epoch + 1) % max(1, settings["epochs"] // 20) == 0 or epoch == 0:
            print(f"epoch {epoch + 1}/{settings['epochs']}: loss {losses[-1]:.4f}")
    return losses
