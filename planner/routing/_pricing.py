"""Starting points of column generation: which arms of each query enter the first
restricted LP, and the duals that choose them: from the previous solve's duals, or an LP
over a sample of queries, improved by a cutting-plane ascent of the Lagrangian dual (a
handful of variables, one per coupling row).

Neither affects the optimum -- pricing every left-out column against the final duals
certifies it -- only how many rounds and columns it takes.
"""

from __future__ import annotations

import numpy as np

from planner.routing._lp import solve_columns
from planner.routing.constraints import Rows, coupling_matrix, lagrangian, row_coef
from planner.routing.plan import PlanData


def candidates(lagr: np.ndarray, scale: float, band: float, cap: int) -> np.ndarray:
    """Per group the arm of least Lagrangian cost, plus up to ``cap - 1`` more within
    ``band * scale`` of it."""
    order = np.argsort(lagr, axis=1)[:, :cap]
    picked = np.take_along_axis(lagr, order, axis=1)
    keep = picked <= picked[:, :1] + band * scale
    cand = np.zeros(lagr.shape, dtype=bool)
    np.put_along_axis(cand, order, keep, axis=1)
    return cand


def sample_duals(
    data: PlanData,
    rows: Rows,
    cost: np.ndarray,
    allowed: np.ndarray,
    seed: int,
    n_sample: int,
    time_limit_s: float | None,
) -> np.ndarray:
    """Duals of the LP over a seeded sample of groups (right-hand sides scaled to it);
    zeros when that LP has none (e.g. the sample cannot meet the scaled rows)."""
    rng = np.random.default_rng(seed)
    size = min(int(n_sample), data.shape[0])
    sample = np.sort(rng.choice(data.shape[0], size=size, replace=False))
    frac = data.count[sample].sum() / data.n_queries
    gs, ki = np.nonzero(allowed[sample])
    res = solve_columns(
        cost[sample[gs], ki],
        gs,
        data.count[sample].astype(float),
        coupling_matrix(data, rows, sample[gs], ki),
        np.asarray(rows.rhs, float) * frac,
        time_limit_s=time_limit_s,
    )
    if res.status == "optimal" and res.y is not None and len(res.y) == len(rows):
        return res.y
    return np.zeros(len(rows))


def price(
    data: PlanData,
    rows: Rows,
    cost: np.ndarray,
    allowed: np.ndarray,
    cand: np.ndarray,
    y: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pricing step against duals ``y``: (Lagrangian costs of the allowed columns, each
    group's least over its candidates, each group's least allowed column, and the groups
    whose least allowed column undercuts their candidates by more than ``tol``)."""
    lagr = np.where(allowed, lagrangian(data, rows, cost, y), np.inf)
    least = np.where(cand, lagr, np.inf).min(axis=1)
    best = np.argmin(lagr, axis=1)
    short = np.flatnonzero(lagr[np.arange(data.shape[0]), best] < least - tol)
    return lagr, least, best, short


ASCENT_ITERATIONS = 60  # cutting-plane steps at most (about 2 ms each at 21,000 groups)


def ascend_duals(
    data: PlanData,
    rows: Rows,
    cost: np.ndarray,
    allowed: np.ndarray,
    y0: np.ndarray,
    y_max: float,
    tol: float,
    max_iter: int = ASCENT_ITERATIONS,
) -> np.ndarray:
    """Near-optimal LP duals from ``y0`` by maximising the Lagrangian dual function

        g(y) = b'y + sum_g n_g min_k (c_gk - B_gk'y),   0 <= y <= y_max,

    a concave piecewise-linear function of one variable per coupling row (a handful), with
    Kelley's cutting planes inside a box around the best point that doubles whenever the
    step ends on it.  Each step prices every allowed column in numpy; g's supergradient
    b - B x(y) comes with it.  Stops when the cutting-plane model promises less than
    ``tol`` more than the best point found; the result is only a start for column
    generation, which certifies the optimum itself.
    """
    from scipy.optimize import linprog

    m = len(rows)
    coef = np.stack([np.asarray(row_coef(data, rows, j), float) for j in range(m)])
    masked = np.where(allowed, cost, np.inf)
    rhs, counts = np.asarray(rows.rhs, float), data.count.astype(float)
    groups = np.arange(data.shape[0])
    cut_at, cut_value, cut_slope = [], [], []
    y = best_y = np.clip(np.asarray(y0, float), 0.0, y_max)
    best = -np.inf
    width = np.maximum(np.abs(y), 1.0)
    for _ in range(max_iter):
        lagr = masked - np.tensordot(y, coef, axes=1)
        arm = np.argmin(lagr, axis=1)
        value = float(rhs @ y + counts @ lagr[groups, arm])
        cut_at.append(y)
        cut_value.append(value)
        cut_slope.append(rhs - coef[:, groups, arm] @ counts)
        if value > best:
            best, best_y = value, y
        low, high = np.maximum(best_y - width, 0.0), np.minimum(best_y + width, y_max)
        slopes = np.array(cut_slope)
        step = linprog(
            np.r_[np.zeros(m), -1.0],  # max t, t <= g_i + s_i'(y - y_i)
            A_ub=np.column_stack([-slopes, np.ones(len(slopes))]),
            b_ub=np.array(cut_value) - np.einsum("ij,ij->i", slopes, np.array(cut_at)),
            bounds=list(zip(low, high)) + [(None, None)],
            method="highs",
        )
        if step.status != 0:
            break
        y, promised = step.x[:m], -step.fun
        on_box = np.any((y <= low + 1e-12) & (low > 0)) or np.any(
            (y >= high - 1e-12) & (high < y_max)
        )
        if promised - best <= tol and not on_box:
            break
        if on_box:
            width = width * 2.0
    return best_y
