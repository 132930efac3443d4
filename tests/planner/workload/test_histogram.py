"""The token histogram, from numpy arrays."""

from __future__ import annotations

import numpy as np

from planner.workload.histogram import token_histogram
from planner.workload.synthetic import synthetic_tokens


def test_token_histogram_counts_every_query_once_per_trace():
    tin, tout = synthetic_tokens("chat", 3000, seed=1)
    fig = token_histogram(tin, tout)
    assert [sum(t.y) for t in fig.data] == [3000, 3000]
    weighted = token_histogram(np.array([5, 50]), np.array([10, 100]), np.array([2.0, 3.0]))
    assert [sum(t.y) for t in weighted.data] == [5.0, 5.0]
