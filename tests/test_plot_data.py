"""Display reductions of the training plots (plot_data.py): a long run's curves are smoothed and
enveloped incrementally, and agree with the whole-series functions."""
from __future__ import annotations

import numpy as np

from app.train.plot_data import Envelope, Smoother, envelope, moving_average
from app.train.series import GrowingSeries


def _reference_average(y, window):
    cs = np.cumsum(np.concatenate(([0.0], y)))
    idx = np.arange(1, y.shape[0] + 1)
    lo = np.maximum(idx - window, 0)
    return (cs[idx] - cs[lo]) / (idx - lo)


def test_moving_average_is_the_trailing_mean_shorter_at_the_start():
    rng = np.random.default_rng(3)
    for n in (1, 5, 10, 11, 1000):
        for w in (2, 10, 500):
            y = rng.random(n)
            assert np.allclose(moving_average(y, w), _reference_average(y, w)), (n, w)
    assert moving_average(np.array([1.0, 3.0, 5.0]), 2).tolist() == [1.0, 2.0, 4.0]


def test_incremental_smoothing_and_envelope_match_a_fresh_computation_as_a_run_grows():
    rng = np.random.default_rng(0)
    s, smoother, env = GrowingSeries(), Smoother(), Envelope()
    for step in range(200):
        k = int(rng.integers(1, 400))
        x0 = len(s)
        spikes = (rng.random(k) < 0.002) * 50.0
        s.extend(np.arange(x0, x0 + k, dtype=float), rng.random(k) + spikes)
        x, y = s.view()
        assert np.allclose(smoother.update(s, y, 10), moving_average(y, 10)), step
        ex, ey = env.update(s, x, y, 640)
        fx, fy = Envelope().update(s, x, y, 640)
        assert np.array_equal(ex, fx) and np.array_equal(ey, fy), step  # the cache changes nothing
        assert len(ex) <= 640 + 2 and np.all(np.diff(ex) > 0)
        assert ey.max() == y.max() and ey.min() == y.min()  # spikes and dips stay visible
    assert len(s) > 20000


def test_a_new_series_or_window_resets_the_caches():
    a, b = GrowingSeries(), GrowingSeries()
    a.extend(np.arange(50.0), np.ones(50))
    b.extend(np.arange(50.0), np.full(50, 3.0))
    smoother = Smoother()
    assert np.allclose(smoother.update(a, a.view()[1], 5), 1.0)
    assert np.allclose(smoother.update(b, b.view()[1], 5), 3.0)  # another run's series
    y = np.arange(50.0)
    assert np.allclose(smoother.update(b, y, 7), moving_average(y, 7))  # the window changed: recomputed


def test_envelope_of_a_short_series_is_the_series():
    x = np.arange(10.0)
    y = np.sin(x)
    ex, ey = Envelope().update(None, x, y, 640)
    assert np.array_equal(ex, x) and np.array_equal(ey, y)
    ex, ey = envelope(x, y, 640)
    assert np.array_equal(ex, x) and np.array_equal(ey, y)
