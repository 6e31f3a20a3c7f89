"""The numpy helper functions a staged-code file may need, written once here.

The exporter copies the source of the ones a graph uses into the generated file (inspect), so the
file stays standalone and these functions are tested like any other code. Gates need none: their
lines are plain numpy. Layouts follow graphcore.ops: rows (N, D), images (N, C, H, W).
"""
from __future__ import annotations

import numpy as np


def _unbroadcast(g, shape):
    """Sum a gradient back over the axes its input was broadcast along."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _reduce_grad(g, shape, axis, keepdims, mean=False):
    """Copy a sum's (or mean's) gradient back to every element that was reduced."""
    g = np.asarray(g)
    if axis is None:
        g = g.reshape((1,) * len(shape))
    elif not keepdims:
        g = np.expand_dims(g, axis % len(shape))
    n = (int(np.prod(shape)) if axis is None else shape[axis]) if mean else 1
    return np.broadcast_to(g / max(n, 1), shape)


def _softmax(x):
    """Probabilities along the last axis, each row shifted by its max first."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_ce(scores, labels):
    """Mean over the batch of -log softmax(scores)[label]."""
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


def _softmax_ce_dscores(scores, labels):
    """(softmax(scores) - onehot(labels)) / N."""
    d = _softmax(scores)
    d[np.arange(len(labels)), labels] -= 1.0
    return d / len(labels)


def _svm_margins(scores, labels, delta):
    rows = np.arange(len(labels))
    margins = scores - scores[rows, labels][:, None] + delta
    margins[rows, labels] = 0.0
    return margins


def _svm_loss(scores, labels, delta):
    """Mean over the batch of the sum over wrong classes of max(0, s_j - s_label + delta)."""
    return np.sum(np.maximum(0.0, _svm_margins(scores, labels, delta))) / len(labels)


def _svm_dscores(scores, labels, delta):
    """+1/N for each wrong class with a positive margin, -1/N per such class for the right one."""
    pos = (_svm_margins(scores, labels, delta) > 0).astype(float)
    pos[np.arange(len(labels)), labels] = -pos.sum(axis=1)
    return pos / len(labels)


def _maxout(x, W, b, k):
    """Each unit's output is the largest of its k affine pieces."""
    z = x @ W + b
    return np.max(z.reshape(len(z), -1, k), axis=2)


def _maxout_dz(x, W, b, k, g):
    """The upstream gradient routed to each unit's winning piece."""
    z3 = (x @ W + b).reshape(len(x), -1, k)
    dz3 = np.zeros_like(z3)
    np.put_along_axis(dz3, np.argmax(z3, axis=2)[:, :, None], g[:, :, None], axis=2)
    return dz3.reshape(len(x), -1)


def _im2col(x, size, stride, pad):
    """Every size x size window of the padded images as a column: (C*size*size, N*Ho*Wo)."""
    n, c, h, w = x.shape
    ho, wo = (h - size + 2 * pad) // stride + 1, (w - size + 2 * pad) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((c, size, size, n, ho, wo), dtype=x.dtype)
    for a in range(size):
        for b in range(size):
            cols[:, a, b] = xp[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride].transpose(1, 0, 2, 3)
    return cols.reshape(c * size * size, n * ho * wo), ho, wo


def _conv2d(x, W, b, stride, pad):
    """F filters slid over the images: one matrix product over the im2col columns."""
    f, size = W.shape[0], W.shape[2]
    cols, ho, wo = _im2col(x, size, stride, pad)
    y = W.reshape(f, -1) @ cols + b[:, None]
    return y.reshape(f, len(x), ho, wo).transpose(1, 0, 2, 3)


def _conv2d_dW(g, x, W, stride, pad):
    """Each weight: the sum over positions of upstream gradient times the pixel it saw."""
    f, size = W.shape[0], W.shape[2]
    cols, _, _ = _im2col(x, size, stride, pad)
    return (g.transpose(1, 0, 2, 3).reshape(f, -1) @ cols.T).reshape(W.shape)


def _conv2d_dx(g, x, W, stride, pad):
    """The filters slid back over the upstream gradient (col2im of W^T g)."""
    n, c, h, w = x.shape
    f, size = W.shape[0], W.shape[2]
    ho, wo = g.shape[2], g.shape[3]
    dcols = (W.reshape(f, -1).T @ g.transpose(1, 0, 2, 3).reshape(f, -1)).reshape(c, size, size, n, ho, wo)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=g.dtype)
    for a in range(size):
        for b in range(size):
            dxp[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride] += dcols[:, a, b].transpose(1, 0, 2, 3)
    return dxp[:, :, pad:pad + h, pad:pad + w]


def _pool_windows(x, size, stride):
    """(N, C, Ho, Wo, size*size): every pooling window's pixels, row by row."""
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    return np.stack([x[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride]
                     for a in range(size) for b in range(size)], axis=-1)


def _pool_scatter(d, shape, size, stride):
    """Add each window's gradient (N, C, Ho, Wo, size*size) back onto its pixels."""
    dx = np.zeros(shape, dtype=d.dtype)
    ho, wo = d.shape[2], d.shape[3]
    for a in range(size):
        for b in range(size):
            dx[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride] += d[..., a * size + b]
    return dx


def _max_pool(x, size, stride):
    return np.max(_pool_windows(x, size, stride), axis=-1)


def _max_pool_dx(g, x, size, stride):
    """Each window's gradient goes to its max pixel (the first one on a tie)."""
    win = _pool_windows(x, size, stride)
    d = np.zeros_like(win)
    np.put_along_axis(d, np.argmax(win, axis=-1)[..., None], g[..., None], axis=-1)
    return _pool_scatter(d, x.shape, size, stride)


def _avg_pool(x, size, stride):
    return np.mean(_pool_windows(x, size, stride), axis=-1)


def _avg_pool_dx(g, x, size, stride):
    """Each window's gradient spread evenly over its pixels."""
    d = np.repeat((g / (size * size))[..., None], size * size, axis=-1)
    return _pool_scatter(d, x.shape, size, stride)


def _per_channel(v, x):
    """A per-feature (D,) or per-channel (C,) vector shaped to broadcast against x."""
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def _channel_sum(a):
    """Sum over every axis but the feature/channel axis 1."""
    return np.sum(a, axis=(0,) + tuple(range(2, a.ndim)))


def _bn_xhat(x, running_mean, running_var, eps):
    """x normalised with the running statistics (eval mode)."""
    return (x - _per_channel(running_mean, x)) * _per_channel(1.0 / np.sqrt(running_var + eps), x)


def _bn_eval(x, gamma, beta, running_mean, running_var, eps):
    return _bn_xhat(x, running_mean, running_var, eps) * _per_channel(gamma, x) + _per_channel(beta, x)


HELPER_DEPS = {
    "_softmax_ce_dscores": ("_softmax",),
    "_svm_loss": ("_svm_margins",), "_svm_dscores": ("_svm_margins",),
    "_conv2d": ("_im2col",), "_conv2d_dW": ("_im2col",),
    "_max_pool": ("_pool_windows",), "_max_pool_dx": ("_pool_windows", "_pool_scatter"),
    "_avg_pool": ("_pool_windows",), "_avg_pool_dx": ("_pool_scatter",),
    "_bn_xhat": ("_per_channel",), "_bn_eval": ("_bn_xhat", "_per_channel"),
}
