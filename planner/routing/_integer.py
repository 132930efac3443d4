"""The integer phase: when the LP optimum is fractional, the integer optimum without
searching every column.

Any integer x costs at least z_LP + sum(reduced * x) (reduced costs from the LP's duals,
all >= 0 at its optimum), so once an integer solution of cost z_int is known, a column whose
reduced cost exceeds z_int - z_LP cannot appear in a better one.  First an integer solution
over the LP's support plus columns of near-zero reduced cost (at most EXTRA_COLUMNS of them,
by whole queries in a seeded order, at first: at zeta = 0 ties give hundreds of thousands
of zero-reduced-cost columns, and a few suffice to make the fractional queries whole) and
the NEAREST_COLUMNS columns of least reduced cost above that band (where capacity binds,
making a query whole moves a little load elsewhere, and these are the cheapest places to
move it; at zeta = 0 the zero-reduced-cost ties would crowd them out if not kept apart);
widening the set until the solution is within the MILP tolerance of the LP bound or the
set holds every column.  Within the tolerance it is optimal to that tolerance, whichever
columns it used; otherwise the MILP over every column within the gap gives the optimum.

Both the first stage and the least-energy tie-break run it, each on its own problem.
"""

from __future__ import annotations

import numpy as np

from planner.routing._lp import LPResult
from planner.routing.constraints import infeasibility
from planner.routing.problem import PlanningTimeout, RoutingProblem

INTEGRAL_TOL = 1e-6
EXTRA_COLUMNS = 5000  # near-zero reduced-cost columns in the first integer attempt
NEAREST_COLUMNS = 256  # and the columns of least reduced cost above that band


def _slack_free(res: LPResult) -> bool:
    return res.slack is None or not np.any(res.slack > 1e-9)


def integer_optimum(
    problem: RoutingProblem, cand: np.ndarray, reduced: np.ndarray, lp: LPResult
) -> tuple[LPResult, np.ndarray, str, float | None]:
    """(final result, its columns, how it was found, integrality gap or None) from the LP
    optimum ``lp`` over the columns ``cand``; ``reduced`` is +inf for columns ruled out
    beforehand (dominated)."""
    tolerance = problem.mip_tolerance
    support = np.zeros(problem.shape, dtype=bool)
    gi, ki = np.nonzero(cand)
    used = lp.x > INTEGRAL_TOL
    support[gi[used], ki[used]] = True
    allowed = np.isfinite(reduced)
    rank = np.random.default_rng(0).permutation(problem.shape[0])
    band, cap, n_nearest = 1e-6 * problem.scale, EXTRA_COLUMNS, NEAREST_COLUMNS
    while True:
        extra, _ = _capped(allowed & (reduced <= band) & ~support, cap, rank)
        near, more = _nearest(
            np.where(allowed & ~support & (reduced > band), reduced, np.inf), n_nearest
        )
        cols = support | extra | near
        first = problem.solve(cols, integer=True, penalty=problem.penalty)
        if not first.has_solution or first.status == "user_limit":
            break
        whole = _slack_free(first)
        if np.array_equal(cols, allowed) or (whole and first.value - lp.value <= tolerance):
            break
        if whole and more:  # whole, but not yet within tolerance: more repairs
            n_nearest *= 4
        else:  # rows not met yet (or no repairs left): widen all
            cap, band, n_nearest = cap * 10, band * 100.0, n_nearest * 10
    note = "over the LP support and the columns of least reduced cost"
    if first.status == "user_limit":
        return first, cols, note, None
    if not first.has_solution or not _slack_free(first):
        return problem.solve(allowed, integer=True), allowed, "over all columns", None
    gap = first.value - lp.value
    if gap <= tolerance:
        return (
            first,
            cols,
            (
                f"{note}; it is within {gap:.2g} of the LP bound, under the "
                f"{tolerance:.2g} MILP tolerance, so no other column can "
                "improve it"
            ),
            gap,
        )
    cols = cols | (reduced <= gap + 1e-9 * max(abs(lp.value), 1.0))
    return (
        problem.solve(cols, integer=True),
        cols,
        "over every column whose reduced cost is within the integrality gap",
        gap,
    )


def _capped(mask: np.ndarray, cap: int, rank: np.ndarray) -> tuple[np.ndarray, bool]:
    """``mask`` cut to at most ``cap`` columns, by whole groups in ``rank`` order, and
    whether anything was cut."""
    per_group = mask.sum(axis=1)
    if per_group.sum() <= cap:
        return mask, False
    order = np.argsort(rank)
    keep = order[np.cumsum(per_group[order]) <= cap]
    out = np.zeros_like(mask)
    out[keep] = mask[keep]
    return out, True


def _nearest(reduced: np.ndarray, n: int) -> tuple[np.ndarray, bool]:
    """The ``n`` columns of least finite reduced cost, and whether any finite one is left out."""
    flat = reduced.ravel()
    finite = int(np.isfinite(flat).sum())
    out = np.zeros(flat.shape, dtype=bool)
    if finite <= n:
        out[np.isfinite(flat)] = True
        return out.reshape(reduced.shape), False
    out[np.argpartition(flat, n)[:n]] = True
    return out.reshape(reduced.shape), True


def integer_plan(
    problem: RoutingProblem, cand: np.ndarray, reduced: np.ndarray, lp: LPResult, lp_summary: str
) -> tuple[np.ndarray, str, str, float | None]:
    """(allocation, status, how, gap) of the integer phase after a fractional LP optimum."""
    gi, _ = np.nonzero(cand)
    n_frac = len(np.unique(gi[np.abs(lp.x - np.rint(lp.x)) > INTEGRAL_TOL]))
    final, cols, note, gap = integer_optimum(problem, cand, reduced, lp)
    if not final.has_solution:
        if final.status.startswith("infeasible"):
            raise infeasibility(problem.data, problem.rows, integer=True)
        if final.status == "user_limit":
            raise PlanningTimeout(
                "time limit reached before an integer plan meeting the constraints was found"
            )
        raise PlanningTimeout(f"no integer plan found: {final.status}")
    status = "time_limit" if final.status == "user_limit" else "optimal"
    if status == "time_limit" and final.value is not None:
        gap = max(final.value - lp.value, 0.0)  # the LP optimum bounds every integer plan
    how = (
        f"LP optimum fractional in {n_frac} distinct quer{'y' if n_frac == 1 else 'ies'} "
        f"({lp_summary}); solved as an integer program (HiGHS MILP) over "
        f"{int(cols.sum())} columns, {note}"
    )
    if status == "time_limit":
        how = "time limit reached: best integer plan found, optimality not proven; " + how
    return problem.allocation(cols, final.x), status, how, gap
