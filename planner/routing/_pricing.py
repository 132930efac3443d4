"""Column generation: the loop, and where it starts.

``column_generation`` solves restricted LPs over growing column sets until pricing every
allowed column against the LP's duals finds none missing; that certifies the restricted
optimum optimal over all allowed columns.  The first stage and the least-energy tie-break
both run it.

Where it starts (the first stage only, on problems too large for one LP): per group the
arms whose Lagrangian cost is (near) the least under duals from the previous solve or an
LP over a sample of queries, improved by a cutting-plane ascent of the Lagrangian dual (a
handful of variables, one per coupling row).  The start affects only how many rounds and
columns the loop takes, never the optimum.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from planner.routing._lp import LPResult, solve_columns
from planner.routing.problem import RoutingProblem

ASCENT_ITERATIONS = 60  # cutting-plane steps at most


class ColumnGeneration(NamedTuple):
    """The last LP, its columns, the reduced costs of every allowed column (+inf for the
    others; None when the LP could not be priced: no solution, or stopped by the time
    limit) and the rounds taken."""

    lp: LPResult
    cand: np.ndarray
    reduced: np.ndarray | None
    rounds: int


def column_generation(
    problem: RoutingProblem, allowed: np.ndarray, cand: np.ndarray, max_rounds: int
) -> ColumnGeneration:
    """Restricted LPs over ``cand`` (grown in place), with elastic coupling rows, priced
    against every ``allowed`` column until none is missing; after ``max_rounds`` rounds,
    one LP over every allowed column.

    A restriction may hold no feasible point, so its coupling rows may be violated at
    ``problem.penalty`` per unit; the duals then draw in the columns that repair it.  Each
    round adds, per group that a left-out column undercuts, its most negative column.  A
    positive slack once nothing is missing means the penalty was not exact: the next round
    solves over every allowed column without slack (which also names the rows if the
    problem is infeasible).
    """
    for rounds in range(1, max_rounds + 2):
        if rounds > max_rounds:
            cand = allowed.copy()
        elastic = not np.array_equal(cand, allowed)
        lp = problem.solve(cand, penalty=problem.penalty if elastic else None)
        if lp.status == "user_limit" or not lp.has_solution or lp.y is None:
            return ColumnGeneration(lp, cand, None, rounds)
        priced = problem.price(lp.y, allowed, cand, problem.pricing_tol)
        if not len(priced.short):
            if lp.slack is not None and np.any(lp.slack > 1e-9):
                cand = allowed.copy()
                continue
            return ColumnGeneration(lp, cand, priced.reduced, rounds)
        short = priced.short
        cand[short, priced.best[short]] = True
    raise AssertionError("unreachable: the last round prices every column")


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
    problem: RoutingProblem, allowed: np.ndarray, seed: int, n_sample: int
) -> np.ndarray:
    """Duals of the LP over a seeded sample of groups (right-hand sides scaled to it);
    zeros when that LP has none (e.g. the sample cannot meet the scaled rows)."""
    data, rows = problem.data, problem.rows
    rng = np.random.default_rng(seed)
    size = min(int(n_sample), data.shape[0])
    sample = np.sort(rng.choice(data.shape[0], size=size, replace=False))
    frac = data.count[sample].sum() / data.n_queries
    gs, ki = np.nonzero(allowed[sample])
    res = solve_columns(
        problem.cost[sample[gs], ki],
        gs,
        data.count[sample].astype(float),
        problem.coupling_matrix(sample[gs], ki),
        problem.rhs * frac,
        time_limit_s=problem.time_left(),
    )
    if res.status == "optimal" and res.y is not None and len(res.y) == len(rows):
        return res.y
    return np.zeros(len(rows))


def ascend_duals(
    problem: RoutingProblem,
    allowed: np.ndarray,
    y0: np.ndarray,
    y_max: float,
    tol: float,
    max_iter: int = ASCENT_ITERATIONS,
) -> np.ndarray:
    """Near-optimal LP duals from ``y0`` by maximising the Lagrangian dual function g(y)
    (``RoutingProblem.dual_function``) over 0 <= y <= y_max.

    g is concave and piecewise linear in one variable per coupling row (a handful); it is
    maximised with Kelley's cutting planes inside a box around the best point that doubles
    whenever the step ends on it.  Each step prices every allowed column in numpy.  Stops
    when the cutting-plane model promises less than ``tol`` more than the best point found;
    the result is only a start for column generation, which certifies the optimum itself.
    """
    from scipy.optimize import linprog

    m = len(problem.rows)
    g = problem.dual_function(allowed)
    cut_at, cut_value, cut_slope = [], [], []
    y = best_y = np.clip(np.asarray(y0, float), 0.0, y_max)
    best = -np.inf
    width = np.maximum(np.abs(y), 1.0)
    for _ in range(max_iter):
        value, slope = g(y)
        cut_at.append(y)
        cut_value.append(value)
        cut_slope.append(slope)
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
