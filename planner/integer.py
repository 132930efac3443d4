"""The integer phase: when the LP optimum is fractional, the integer optimum without
searching every column.

Any integer x costs at least z_LP + sum(reduced * x) (reduced costs from the LP's duals,
all >= 0 at its optimum), so once an integer solution of cost z_int is known, a column whose
reduced cost exceeds z_int - z_LP cannot appear in a better one.  First an integer solution
over the LP's support plus columns of near-zero reduced cost (widening until one exists);
if it is within the MILP tolerance of the LP bound it is optimal to that tolerance;
otherwise the MILP over every column within the gap gives the optimum.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from planner.lp import MIP_REL_GAP, LPResult
from planner.plan import PlanData

INTEGRAL_TOL = 1e-6


def _slack_free(res: LPResult) -> bool:
    return res.slack is None or not np.any(res.slack > 1e-9)


def integer_optimum(solve: Callable[..., LPResult], data: PlanData, cost: np.ndarray,
                    cand: np.ndarray, reduced: np.ndarray, lp: LPResult
                    ) -> tuple[LPResult, np.ndarray, str, float | None]:
    """(final result, its columns, how it was found, integrality gap or None).

    ``solve(cols, integer=True, penalty=None)`` solves over a column mask; ``reduced`` is
    +inf for columns ruled out beforehand (dominated).
    """
    scale = max(float(np.max(np.abs(cost))), 1e-12)
    support = np.zeros(data.shape, dtype=bool)
    gi, ki = np.nonzero(cand)
    used = lp.x > INTEGRAL_TOL
    support[gi[used], ki[used]] = True
    allowed = np.isfinite(reduced)
    band = 1e-6 * scale
    while True:
        cols = support | (reduced <= band)
        first = solve(cols, penalty=1e3 * scale)
        if not first.has_solution or first.status == "user_limit" or _slack_free(first) \
                or np.array_equal(cols, allowed):
            break
        band *= 100.0
    note = "over the LP support and near-zero reduced costs"
    if first.status == "user_limit":
        return first, cols, note, None
    if not first.has_solution or not _slack_free(first):
        return solve(allowed), allowed, "over all columns", None
    gap = first.value - lp.value
    tolerance = MIP_REL_GAP * float(data.count @ np.abs(cost).mean(axis=1))
    if gap <= tolerance:
        return first, cols, (f"{note}; it is within {gap:.2g} of the LP bound, under the "
                             f"{tolerance:.2g} MILP tolerance, so no other column can "
                             "improve it"), gap
    cols = cols | (reduced <= gap + 1e-9 * max(abs(lp.value), 1.0))
    return (solve(cols), cols,
            "over every column whose reduced cost is within the integrality gap", gap)
