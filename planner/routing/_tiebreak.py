"""Ties toward lower energy: of the plans with the optimal objective, the one of least energy.

At zeta = 0 the paper objective ignores energy, so every arm of one LLM (and of LLMs with
equal scores) costs the same for a query, and any of them is "optimal".  Rather than put a
small weight on energy (which changes the objective), this is a lexicographic second stage:
minimise energy over the plans whose objective is no worse than the first stage's z*.

Which columns such plans use.  With the LP's duals (y >= 0 on the coupling rows, u on the
groups), any plan costs at least z_LP + sum(reduced * x) + y.(Bx - b), so one of cost <= z*
uses only columns of reduced cost <= z* - z_LP.  When z* is the LP bound (to the MILP
tolerance), those are the zero-reduced-cost columns, and the rows with y > 0 stay tight
(complementary slackness): the LP optimal face.  Energy is minimised there with the row
``cost . x <= z*`` kept explicitly: a second ``RoutingProblem`` (energy cost, the first
stage's rows plus those), solved by the same column generation (over the face's columns,
from the first plan's columns plus each query's least-energy face column) and, when that
LP is fractional, the same integer phase as the first stage.  The second plan replaces the
first only if it meets every row, its objective is not above z* (to 1e-9 relative) and its
energy is lower.
"""

from __future__ import annotations

import numpy as np

from planner.routing._integer import INTEGRAL_TOL, integer_optimum
from planner.routing._lp import LPResult
from planner.routing._pricing import column_generation
from planner.routing.problem import RoutingProblem, Rows, objective_cost

RELATIVE_TOL = 1e-9
FACE_ROUNDS = 8  # pricing rounds over the optimal face before solving over all of it


def energy_ties(problem: RoutingProblem, allowed: np.ndarray) -> bool:
    """Whether some query has two allowed arms of equal cost and different energy."""
    c = np.where(allowed, problem.cost, np.inf)
    order = np.argsort(c, axis=1, kind="stable")
    cs = np.take_along_axis(c, order, axis=1)
    es = np.take_along_axis(problem.data.energy_j, order, axis=1)
    tie = (cs[:, 1:] == cs[:, :-1]) & np.isfinite(cs[:, 1:])
    return bool(np.any(tie & (es[:, 1:] != es[:, :-1])))


def optimal_face(
    problem: RoutingProblem, alloc: np.ndarray, lp: LPResult, reduced: np.ndarray
) -> tuple[np.ndarray, Rows]:
    """(columns, rows) whose integer points are plans at least as good as ``alloc``."""
    cost, rows = problem.cost, problem.rows
    tol = RELATIVE_TOL * max(float(np.max(np.abs(cost))), 1.0)
    allowed = np.isfinite(reduced)
    second = rows.copy()
    z = float(np.sum(cost * alloc))
    gap = max(z - lp.value, 0.0)
    if gap <= problem.mip_tolerance:
        cols = allowed & (reduced <= tol)
        act = problem.row_activity(alloc)
        for j in np.flatnonzero(np.asarray(lp.y) > tol):
            second.append("tight", f"{rows.label[j]} kept tight", -act[j], act[j], -rows.coef[j])
    else:
        cols = allowed & (reduced <= gap + tol)
    second.append(
        "objective",
        "objective no worse than the optimum",
        -(z + RELATIVE_TOL * max(abs(z), 1.0)),
        z,
        -cost,
    )
    return cols | (alloc > 0), second


def least_energy(
    problem: RoutingProblem,
    alloc: np.ndarray,
    lp: LPResult,
    reduced: np.ndarray,
    deadline: float | None,
) -> tuple[np.ndarray, str]:
    """(plan, note): of the plans as good as ``alloc`` on ``problem``'s cost, the least
    energy; the second stage's solves stop at ``deadline``."""
    data = problem.data
    face, second_rows = optimal_face(problem, alloc, lp, reduced)
    if face.sum(axis=1).max() <= 1:
        return alloc, ""
    second = RoutingProblem(data, second_rows, objective_cost(data, "energy"), deadline=deadline)
    cand = (alloc > 0) & face
    cand[np.arange(data.shape[0]), np.argmin(np.where(face, second.cost, np.inf), axis=1)] = True
    res, cols, reduced2, _ = column_generation(second, face, cand, FACE_ROUNDS)
    how = "its LP"
    if (
        res.x is not None
        and reduced2 is not None
        and np.any(np.abs(res.x - np.rint(res.x)) > INTEGRAL_TOL)
    ):
        res, cols, _, _ = integer_optimum(second, cols, reduced2, res)
        how = "an integer program"
    if (
        res.x is None
        or res.status not in ("optimal", "optimal_inaccurate", "user_limit")
        or not (res.slack is None or not np.any(res.slack > 1e-9))
    ):
        return alloc, f"; ties toward lower energy not settled ({res.status})"
    if res.status == "user_limit":
        how += " stopped by its time limit (less energy, not proven least)"
    better = second.allocation(cols, res.x)
    z0, z1 = float(np.sum(problem.cost * alloc)), float(np.sum(problem.cost * better))
    saved = float(np.sum(data.energy_j * (alloc - better)))
    if (
        data.violations(better)
        or not problem.rows_met(better)
        or z1 > z0 + RELATIVE_TOL * max(abs(z0), 1.0)
        or saved <= 0
    ):
        return alloc, ""
    return better, (
        f"; of the plans with this objective, the least energy ({saved:.4g} J "
        f"less, by {how} over {int(cols.sum())} columns)"
    )
