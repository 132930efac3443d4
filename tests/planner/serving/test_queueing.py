"""The continuous-batching simulation against cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from planner.serving.queueing import simulate


def _curve(max_batch: int, tmax: float = 3000.0, half: float = 16.0) -> np.ndarray:
    b = np.arange(max_batch + 1, dtype=float)
    return np.where(b > 0, tmax * b / (b + half), 0.0)


def test_requests_far_apart_run_alone_at_batch_one():
    rate = np.array([0.0, 50.0, 80.0])  # T(1) = 50 tokens/s
    arrival = np.array([0.0, 100.0, 250.0])
    tokens = np.array([100, 500, 50])
    r = simulate(arrival, tokens, rate)
    np.testing.assert_allclose(r.finish_s, arrival + tokens / 50.0)
    np.testing.assert_allclose(r.wait_s, 0.0)
    np.testing.assert_allclose(r.mean_batch, 1.0)
    busy = tokens.sum() / 50.0
    assert r.batch_time_s[0, 1] == pytest.approx(busy)
    assert r.batch_time_s[0, 2] == 0.0
    assert r.horizon_s == pytest.approx(251.0)
    assert r.batch_time_s[0, 0] == pytest.approx(251.0 - busy)


def test_processor_sharing_by_hand():
    # T(1) = 10, T(2) = 16: two requests share 8 tokens/s each until the short one ends
    # at 100/8 = 12.5 s; the long one's last 100 tokens then run alone at 10/s: 22.5 s.
    r = simulate([0.0, 0.0], [100, 200], [0.0, 10.0, 16.0])
    np.testing.assert_allclose(r.finish_s, [12.5, 22.5])
    assert r.batch_time_s[0, 2] == pytest.approx(12.5)
    assert r.batch_time_s[0, 1] == pytest.approx(10.0)
    np.testing.assert_allclose(r.mean_batch, [2.0, (2 * 12.5 + 10.0) / 22.5])
    assert r.time_mean_batch() == pytest.approx((2 * 12.5 + 10.0) / 22.5)
    power = np.array([0.0, 100.0, 150.0])
    assert r.active_energy_j(power) == pytest.approx(12.5 * 150 + 10.0 * 100)


def test_queue_and_least_loaded_dispatch():
    # max batch 1 on two instances: the third request waits for the first slot to free
    r = simulate([0.0, 0.0, 0.0, 1.0], [10, 30, 10, 5], [0.0, 10.0], instances=2)
    np.testing.assert_allclose(r.start_s, [0.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(r.finish_s, [1.0, 3.0, 2.0, 2.5])
    np.testing.assert_allclose(r.wait_s, [0.0, 0.0, 1.0, 1.0])
    # instance 0 ran requests 0, 2 and 3 (2.5 s), instance 1 request 1 (3 s)
    np.testing.assert_allclose(r.batch_time_s[:, 1], [2.5, 3.0])
    np.testing.assert_allclose(r.batch_time_s[:, 0], [0.5, 0.0])


def test_tokens_conserved_and_horizon_counts_idle():
    rng = np.random.default_rng(3)
    n = 2000
    rate = _curve(32)
    tokens = rng.integers(1, 400, n)
    arrival = np.cumsum(rng.exponential(0.05, n))
    r = simulate(arrival, tokens, rate, instances=3, horizon_s=1e5)
    served = (r.batch_time_s[:, 1:].sum(axis=0) * rate[1:]).sum()
    assert served == pytest.approx(tokens.sum(), rel=1e-9)
    assert r.horizon_s == 1e5
    np.testing.assert_allclose(r.batch_time_s.sum(axis=1), 1e5)
    assert (r.finish_s >= r.start_s).all() and (r.start_s >= arrival - 1e-12).all()
    assert (r.batch_time_s >= 0).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=">= 0"):
        simulate([0.0], [-1], [0.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        simulate([0.0], [1], [0.0, 0.0])
    with pytest.raises(ValueError, match="instances"):
        simulate([0.0], [1], [0.0, 1.0], instances=0)
