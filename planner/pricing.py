"""Starting points of column generation: which arms of each query enter the first
restricted LP, and the duals that choose them (from an LP over a sample of queries).

Neither affects the optimum -- pricing every left-out column against the final duals
certifies it -- only how many rounds and columns it takes.
"""
from __future__ import annotations

import numpy as np

from planner.constraints import Rows, coupling_matrix
from planner.lp import solve_columns
from planner.plan import PlanData


def candidates(lagr: np.ndarray, scale: float, band: float, cap: int) -> np.ndarray:
    """Per group the arm of least Lagrangian cost, plus up to ``cap - 1`` more within
    ``band * scale`` of it."""
    order = np.argsort(lagr, axis=1)[:, :cap]
    picked = np.take_along_axis(lagr, order, axis=1)
    keep = picked <= picked[:, :1] + band * scale
    cand = np.zeros(lagr.shape, dtype=bool)
    np.put_along_axis(cand, order, keep, axis=1)
    return cand


def sample_duals(data: PlanData, rows: Rows, cost: np.ndarray, allowed: np.ndarray,
                 seed: int, n_sample: int, time_limit_s: float | None) -> np.ndarray:
    """Duals of the LP over a seeded sample of groups (right-hand sides scaled to it);
    zeros when that LP has none (e.g. the sample cannot meet the scaled rows)."""
    rng = np.random.default_rng(seed)
    size = min(int(n_sample), data.shape[0])
    sample = np.sort(rng.choice(data.shape[0], size=size, replace=False))
    frac = data.count[sample].sum() / data.n_queries
    gs, ki = np.nonzero(allowed[sample])
    res = solve_columns(cost[sample[gs], ki], gs, data.count[sample].astype(float),
                        coupling_matrix(data, rows, sample[gs], ki),
                        np.asarray(rows.rhs, float) * frac, time_limit_s=time_limit_s)
    if res.status == "optimal" and res.y is not None and len(res.y) == len(rows):
        return res.y
    return np.zeros(len(rows))
