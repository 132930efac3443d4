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
``cost . x <= z*`` kept explicitly, by an LP and, when that is fractional, by the same
integer phase as the first stage (``planner.routing._integer``).  The second plan replaces the
first only if it meets every row, its objective is not above z* (to 1e-9 relative) and its
energy is lower.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from planner.routing._integer import INTEGRAL_TOL, integer_optimum
from planner.routing._lp import LPResult
from planner.routing._pricing import price
from planner.routing._restricted import allocation, mip_tolerance
from planner.routing.constraints import Rows, row_coef
from planner.routing.plan import PlanData

RELATIVE_TOL = 1e-9


def energy_ties(data: PlanData, cost: np.ndarray, allowed: np.ndarray) -> bool:
    """Whether some query has two allowed arms of equal cost and different energy."""
    c = np.where(allowed, cost, np.inf)
    order = np.argsort(c, axis=1, kind="stable")
    cs = np.take_along_axis(c, order, axis=1)
    es = np.take_along_axis(data.energy_j, order, axis=1)
    tie = (cs[:, 1:] == cs[:, :-1]) & np.isfinite(cs[:, 1:])
    return bool(np.any(tie & (es[:, 1:] != es[:, :-1])))


def row_activity(data: PlanData, rows: Rows, alloc: np.ndarray) -> np.ndarray:
    return np.array([float(np.sum(row_coef(data, rows, j) * alloc)) for j in range(len(rows))])


def rows_met(data: PlanData, rows: Rows, alloc: np.ndarray) -> bool:
    rhs = np.asarray(rows.rhs, dtype=float)
    act = row_activity(data, rows, alloc)
    return bool(np.all(act >= rhs - 1e-9 * np.maximum(1.0, np.abs(rhs))))


def optimal_face(
    data: PlanData,
    rows: Rows,
    cost: np.ndarray,
    alloc: np.ndarray,
    lp: LPResult,
    reduced: np.ndarray,
) -> tuple[np.ndarray, Rows]:
    """(columns, rows) whose integer points are plans at least as good as ``alloc``."""
    tol = RELATIVE_TOL * max(float(np.max(np.abs(cost))), 1.0)
    allowed = np.isfinite(reduced)
    second = Rows(
        *[list(getattr(rows, a)) for a in ("family", "label", "index", "rhs", "value", "coef")]
    )
    z = float(np.sum(cost * alloc))
    gap = max(z - lp.value, 0.0)
    if gap <= mip_tolerance(data, cost):
        cols = allowed & (reduced <= tol)
        act = row_activity(data, rows, alloc)
        for j in np.flatnonzero(np.asarray(lp.y) > tol):
            second.append(
                "tight",
                f"{rows.label[j]} kept tight",
                -1,
                -act[j],
                act[j],
                -row_coef(data, rows, j),
            )
    else:
        cols = allowed & (reduced <= gap + tol)
    second.append(
        "objective",
        "objective no worse than the optimum",
        -1,
        -(z + RELATIVE_TOL * max(abs(z), 1.0)),
        z,
        -cost,
    )
    return cols | (alloc > 0), second


FACE_ROUNDS = 8  # pricing rounds over the optimal face before solving over all of it


def face_lp(
    data: PlanData,
    second: Rows,
    energy: np.ndarray,
    face: np.ndarray,
    alloc: np.ndarray,
    solve: Callable[..., LPResult],
) -> tuple[LPResult, np.ndarray, np.ndarray | None]:
    """(LP result, its columns, reduced costs over the face or None): least energy over the
    face's columns by column generation, from the first plan's columns plus each query's
    least-energy face column (at zeta = 0 the face holds every arm of an LLM, ~70,000
    columns at 52,002 queries, and one LP over all of them took 0.5 s).  A restriction's
    rows are elastic; pricing every face column against its duals certifies the optimum.
    """
    e_max = max(float(np.max(np.abs(energy))), 1e-12)
    penalty, tol = 1e3 * e_max, 1e-9 * max(e_max, 1.0)  # as the first stage's
    least = np.argmin(np.where(face, energy, np.inf), axis=1)
    cand = (alloc > 0) & face
    cand[np.arange(data.shape[0]), least] = True
    for _ in range(FACE_ROUNDS):
        elastic = not np.array_equal(cand, face)
        res = solve(second, energy, cand, False, penalty if elastic else None)
        if res.x is None or res.y is None:
            return res, cand, None
        lagr, least, best, short = price(data, second, energy, face, cand, res.y, tol)
        if not len(short) and (res.slack is None or not np.any(res.slack > 1e-9)):
            return res, cand, lagr - least[:, None]
        if not len(short):
            break  # the penalty was not exact: all of the face
        cand[short, best[short]] = True
    res = solve(second, energy, face, False)
    if res.x is None or res.y is None:
        return res, face, None
    lagr, least, _, _ = price(data, second, energy, face, face, res.y, tol)
    return res, face, lagr - least[:, None]


def least_energy(
    data: PlanData,
    rows: Rows,
    cost: np.ndarray,
    alloc: np.ndarray,
    lp: LPResult,
    reduced: np.ndarray,
    solve: Callable[..., LPResult],
) -> tuple[np.ndarray, str]:
    """(plan, note): of the plans as good as ``alloc`` on ``cost``, the least energy.

    ``solve(rows, cost, cols, integer, penalty=None)`` solves over a column mask.
    """
    face, second = optimal_face(data, rows, cost, alloc, lp, reduced)
    if face.sum(axis=1).max() <= 1:
        return alloc, ""
    energy = data.energy_j / max(float(np.max(np.abs(data.energy_j))), 1e-300)
    res, cols, reduced2 = face_lp(data, second, energy, face, alloc, solve)
    how = "its LP"
    if (
        res.x is not None
        and reduced2 is not None
        and np.any(np.abs(res.x - np.rint(res.x)) > INTEGRAL_TOL)
    ):
        res, cols, _, _ = integer_optimum(
            lambda c, integer=True, penalty=None: solve(second, energy, c, integer, penalty),
            data,
            energy,
            cols,
            reduced2,
            res,
        )
        how = "an integer program"
    if (
        res.x is None
        or res.status not in ("optimal", "optimal_inaccurate", "user_limit")
        or not (res.slack is None or not np.any(res.slack > 1e-9))
    ):
        return alloc, f"; ties toward lower energy not settled ({res.status})"
    if res.status == "user_limit":
        how += " stopped by its time limit (less energy, not proven least)"
    better = allocation(data, cols, res.x)
    z0, z1 = float(np.sum(cost * alloc)), float(np.sum(cost * better))
    saved = float(np.sum(data.energy_j * (alloc - better)))
    if (
        data.violations(better)
        or not rows_met(data, rows, better)
        or z1 > z0 + RELATIVE_TOL * max(abs(z0), 1.0)
        or saved <= 0
    ):
        return alloc, ""
    return better, (
        f"; of the plans with this objective, the least energy ({saved:.4g} J "
        f"less, by {how} over {int(cols.sum())} columns)"
    )
