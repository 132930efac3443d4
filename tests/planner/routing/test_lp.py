"""The column LP/MILP wrapper: a run stopped by the time limit never passes off HiGHS's
placeholder point (zeros) as a solution."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from planner.routing._lp import solve_columns


def test_time_limited_integer_program_keeps_only_a_point_meeting_the_rows():
    rng = np.random.default_rng(0)
    n_groups, n_arms = 400, 4
    gi = np.repeat(np.arange(n_groups), n_arms)
    cost = rng.uniform(0, 1, len(gi))
    counts = rng.integers(1, 5, n_groups).astype(float)
    weights = rng.uniform(0.5, 1.5, (6, len(gi)))
    rhs = 0.5 * weights @ np.repeat(counts / n_arms, n_arms) * np.array([1, 1, 1, -1, -1, -1])
    coupling = sp.csr_matrix(weights * np.array([1, 1, 1, -1, -1, -1])[:, None])
    res = solve_columns(cost, gi, counts, coupling, rhs, integer=True, time_limit_s=1e-3)
    if res.x is None:
        assert res.value is None and not res.has_solution
        return
    served = np.bincount(gi, weights=res.x, minlength=n_groups)
    assert np.allclose(served, counts)
    assert np.all(coupling @ res.x >= rhs - 1e-6 * np.maximum(1, np.abs(rhs)))
