"""Solving the routing problem over a chosen subset of (group, arm) columns.

Groups with a single chosen column are fixed (all their queries on that arm): they leave
the LP, and their use of the coupling rows moves to the right-hand side.  Results are
mapped back to the chosen columns in ``np.nonzero(chosen)`` order, with the fixed groups'
cost included in the value.  Also the phase-1 feasibility LP that tells which constraint
cannot be met.
"""

from __future__ import annotations

import numpy as np

from planner.routing._lp import MIP_REL_GAP, LPResult, solve_columns
from planner.routing.constraints import (
    FAMILIES,
    InfeasiblePlanError,
    Rows,
    coupling_matrix,
    culprit_message,
    device_scale,
)
from planner.routing.plan import PlanData

FEASIBILITY_TOL = 1e-6


def solve_restricted(
    data: PlanData,
    rows: Rows,
    cost: np.ndarray,
    chosen: np.ndarray,
    *,
    integer: bool = False,
    penalty: float | None = None,
    time_limit_s: float | None = None,
) -> LPResult:
    n_chosen = chosen.sum(axis=1)
    if np.any(n_chosen == 0):
        raise ValueError("every group needs at least one chosen column")
    fixed = n_chosen == 1
    gi_all, ki_all = np.nonzero(chosen)
    free_col = ~fixed[gi_all]
    gf, kf = gi_all[~free_col], ki_all[~free_col]
    fixed_counts = data.count[gf].astype(float)
    coupling = coupling_matrix(data, rows, gi_all, ki_all)  # each row's dense array once
    rhs = np.asarray(rows.rhs, float) - coupling[:, ~free_col] @ fixed_counts
    fixed_cost = float(cost[gf, kf] @ fixed_counts)
    gi, ki = gi_all[free_col], ki_all[free_col]
    if len(gi) == 0:
        res = _no_free_columns(rhs, penalty, integer)
    else:
        free_groups, local = np.unique(gi, return_inverse=True)
        res = solve_columns(
            cost[gi, ki],
            local,
            data.count[free_groups].astype(float),
            coupling[:, free_col],
            rhs,
            integer=integer,
            time_limit_s=time_limit_s,
            penalty=penalty,
            mip_abs_gap=mip_tolerance(data, cost),
        )
    x = None
    if res.x is not None:
        x = np.empty(len(gi_all))
        x[free_col] = res.x
        x[~free_col] = fixed_counts
    value = None if res.value is None else res.value + fixed_cost
    return LPResult(res.status, x, res.y, value, res.seconds, integer, res.slack)


def mip_tolerance(data: PlanData, cost: np.ndarray) -> float:
    """The integer programs' absolute gap: MIP_REL_GAP of the objective's scale (the sum over
    queries of the mean |cost| over arms).  The integer phase certifies a plan against this
    same figure, so both read it here."""
    return MIP_REL_GAP * max(float(data.count @ np.abs(cost).mean(axis=1)), 1e-12)


def allocation(data: PlanData, chosen: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The (groups x arms) integer counts of a solution over the columns ``chosen``."""
    gi, ki = np.nonzero(chosen)
    alloc = np.zeros(data.shape, dtype=np.int64)
    alloc[gi, ki] = np.rint(x).astype(np.int64)
    return alloc


def _no_free_columns(rhs: np.ndarray, penalty: float | None, integer: bool) -> LPResult:
    """Every group fixed: feasible iff 0 >= rhs (after moving the fixed groups over)."""
    short = np.maximum(rhs, 0.0)
    if penalty is None and np.any(short > FEASIBILITY_TOL * np.maximum(1.0, np.abs(rhs))):
        return LPResult("infeasible", None, None, None, 0.0, integer)
    y = None if integer else np.where(short > 0, penalty or 0.0, 0.0)
    value = float(penalty * short.sum()) if penalty is not None else 0.0
    return LPResult(
        "optimal", np.zeros(0), y, value, 0.0, integer, short if penalty is not None else None
    )


def shortfalls(data: PlanData, rows: Rows, *, time_limit_s: float | None = None) -> np.ndarray:
    """Least total violation of the coupling rows (phase 1), per row in the rows' units."""
    every = np.ones(data.shape, dtype=bool)
    res = solve_restricted(
        data, rows, np.zeros(data.shape), every, penalty=1.0, time_limit_s=time_limit_s
    )
    if res.slack is None:
        return np.zeros(len(rows))
    return np.where(res.slack > FEASIBILITY_TOL * np.maximum(1.0, np.abs(rows.rhs)), res.slack, 0.0)


def shortfall_text(data: PlanData, rows: Rows, short: np.ndarray) -> str:
    """What the least-violating allocation still misses, in the user's units."""
    parts = []
    for j in np.flatnonzero(short):
        if rows.family[j] == "share":
            parts.append(f"{rows.label[j]} short by {short[j]:.3g} queries")
        elif rows.family[j] == "capacity":
            hours = short[j] * device_scale(data) / 3600
            parts.append(f"{rows.label[j]} exceeded by {hours:.3g} device-hours")
        else:
            parts.append(f"{rows.label[j]} missed by {short[j] * 100 / data.n_queries:.3g} points")
    return "; ".join(parts)


def infeasibility(data: PlanData, rows: Rows, integer: bool = False) -> Exception:
    """The error naming which constraint family cannot be met, from phase-1 LPs (always
    feasible, so fast), dropping one family at a time.  ``integer``: the integer program
    was infeasible, so a feasible LP means only split queries would meet the rows."""
    short = shortfalls(data, rows)
    if not short.any() and integer:
        return InfeasiblePlanError(
            "no allocation of whole queries meets all constraints together ("
            + "; ".join(rows.label)
            + "); only splitting queries between arms would"
        )
    if not short.any():
        return RuntimeError(
            "the solver reported infeasible, but a feasibility LP found "
            "every constraint satisfiable (numerical trouble)"
        )
    verdict = {f: not shortfalls(data, rows.without(f)).any() for f in FAMILIES if f in rows.family}
    return InfeasiblePlanError(
        culprit_message(rows, verdict) + "; at best, " + shortfall_text(data, rows, short)
    )
