"""The planner's coupling constraints, and telling the user which one cannot be met.

Three families, each written as ``>=`` rows over the (group, arm) columns (the
formulation is in ``planner.routing.problem``):

- ``share``: LLM K serves at least max(1, N * gamma_K * min_share_fraction) queries;
- ``capacity``: device-seconds assigned to system s <= devices_s * window_h * 3600;
- ``accuracy``: token-weighted mean accuracy (percent) >= the floor.

Every row is scaled to "queries" units (capacity in mean device-seconds per query, accuracy
in mean tokens per query at 100 %), so duals are costs per query and are well conditioned.

A new coupling constraint is one more ``rows.append`` in ``coupling_rows`` (family, label,
right-hand side, value in the user's units, coefficients); the solver stages see only B
and b.  Beside it: ``shortfall_text`` words what the least-violating plan misses of it,
``precheck`` may name a cause before any LP, ``PlanData.violations`` checks finished plans,
``paper_milp`` writes the per-query reference, and ``undominated`` must stay valid (it
assumes only capacity rows tell an LLM's arms apart).
"""

from __future__ import annotations

import numpy as np

from planner.routing.plan import PlanData
from planner.routing.problem import FEASIBILITY_TOL, RoutingProblem, Rows


class InfeasiblePlanError(ValueError):
    """No allocation meets the constraints; the message names the constraint."""


def coupling_rows(data: PlanData, min_accuracy: float | None) -> Rows:
    rows = Rows()
    for llm, need in sorted(data.min_queries.items()):
        index = data.llms.index(llm) if llm in data.llms else -1
        rows.append(
            "share",
            f"{llm}'s minimum share ({need} queries)",
            float(need),
            float(need),
            np.broadcast_to((data.arm_llm == index).astype(float), data.shape),
        )
    for s, system in enumerate(data.systems):
        cap = data.capacity_device_s[s]
        if np.isfinite(cap):
            mask = (data.arm_system == s)[None, :]
            rows.append(
                "capacity",
                f"{system} capacity ({cap / 3600:.4g} device-hours)",
                -cap / data.device_scale,
                cap,
                -data.device_s * mask / data.device_scale,
            )
    if min_accuracy is not None:
        rows.append(
            "accuracy",
            f"accuracy floor {min_accuracy:g} %",
            float(min_accuracy) * data.n_queries / 100.0,
            float(min_accuracy),
            data.acc_tokens * (data.n_queries / (100.0 * data.total_tokens)),
        )
    return rows


def undominated(problem: RoutingProblem) -> np.ndarray:
    """Columns worth considering: per group and LLM, its cheapest arm on a system without
    a capacity limit (of equal costs, the one of least energy), and any arm of that LLM on
    a limited system that comes before it in (cost, energy) order.

    Arms of one LLM share its share row and accuracy; one on an unlimited system uses no
    capacity, so moving queries to it from an arm of the same LLM that is no cheaper and
    (at equal cost) uses no less energy never hurts, nor breaks ties toward more energy.
    """
    d, cost = problem.data, problem.cost
    allowed = np.ones(d.shape, dtype=bool)
    unlimited = ~np.isfinite(d.capacity_device_s[d.arm_system])
    rows_g = np.arange(d.shape[0])
    for m in range(len(d.llms)):
        free = np.flatnonzero((d.arm_llm == m) & unlimited)
        if not len(free):
            continue
        keep = free[lexicographic_argmin(cost[:, free], d.energy_j[:, free])]
        best, best_e = cost[rows_g, keep], d.energy_j[rows_g, keep]
        for k in np.flatnonzero(d.arm_llm == m):
            before = (cost[:, k] < best) | ((cost[:, k] == best) & (d.energy_j[:, k] < best_e))
            allowed[:, k] = (k == keep) | ((~unlimited[k]) & before)
    return allowed


def lexicographic_argmin(cost: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Per row the column of least cost and, of equal costs, of least energy."""
    tied = cost == cost.min(axis=1, keepdims=True)
    return np.argmin(np.where(tied, energy, np.inf), axis=1)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.3g}"


def _share_capacity_message(data: PlanData, llm: str, need: int) -> str | None:
    k_mask = np.array([a.model == llm for a in data.arms])
    systems = sorted({data.arm_system[k] for k in np.flatnonzero(k_mask)})
    cap = float(np.sum(data.capacity_device_s[systems]))
    if not np.isfinite(cap):
        return None
    per_query = data.device_s[:, k_mask].min(axis=1)
    order = np.argsort(per_query, kind="stable")
    counts = np.minimum(
        data.count[order],
        np.maximum(need - np.concatenate([[0], np.cumsum(data.count[order])[:-1]]), 0),
    )
    needed = float(counts @ per_query[order])
    if needed <= cap * (1 + 1e-9):
        return None
    names = ", ".join(data.systems[s] for s in systems)
    return (
        f"{names} capacity {_hours(cap)} device-hours < {_hours(needed)} needed for "
        f"{llm}'s minimum share ({need} queries on its fastest arms)"
    )


def precheck(data: PlanData, rows: Rows) -> None:
    """Raise InfeasiblePlanError for a constraint family that cannot be met on its own."""
    for llm, need in sorted(data.min_queries.items()):
        if llm not in data.llms:
            raise InfeasiblePlanError(
                f"the fleet gives {llm} a share, but no arm serves "
                f"{llm} (its minimum share is {need} queries)"
            )
    total_need = sum(data.min_queries.values())
    if total_need > data.n_queries:
        raise InfeasiblePlanError(
            f"minimum shares need {total_need} queries in all but the workload has {data.n_queries}"
        )
    for llm, need in sorted(data.min_queries.items()):
        message = _share_capacity_message(data, llm, need)
        if message:
            raise InfeasiblePlanError(message)
    capacity = float(np.sum(data.capacity_device_s))
    if np.isfinite(capacity):
        needed = float(data.count @ data.device_s.min(axis=1))
        if needed > capacity * (1 + 1e-9):
            raise InfeasiblePlanError(
                f"total capacity {_hours(capacity)} device-hours < {_hours(needed)} needed to "
                f"serve all {data.n_queries} queries even on their fastest arms"
            )
    _single_query_fits(data)
    if "accuracy" in rows.family:
        floor = rows.value[rows.family.index("accuracy")]
        best = float(data.count @ data.acc_tokens.max(axis=1)) / data.total_tokens
        if floor > best + 1e-9:
            raise InfeasiblePlanError(
                f"accuracy floor {floor:g} % is above the best achievable {best:.4g} % "
                f"(every query on its most accurate LLM)"
            )


def _single_query_fits(data: PlanData) -> None:
    """Every query needs some arm whose system's whole capacity holds one such query."""
    cap = data.capacity_device_s[data.arm_system][None, :]
    fits = (data.device_s <= cap * (1 + 1e-9)).any(axis=1)
    if fits.all():
        return
    g = int(np.flatnonzero(~fits)[0])
    k = int(np.argmin(data.device_s[g] - cap[0]))
    raise InfeasiblePlanError(
        f"a query of {data.tin[g]:g} input and {data.tout[g]:g} output tokens needs "
        f"{_hours(data.device_s[g, k])} device-hours on {data.arms[k].name}, more than "
        f"{data.systems[data.arm_system[k]]} capacity {_hours(cap[0, k])} device-hours "
        "(and no arm's system holds it)"
    )


def culprit_message(rows: Rows, feasible_without: dict[str, bool]) -> str:
    """Name the family whose removal makes the problem feasible."""
    fixers = [f for f, ok in feasible_without.items() if ok]
    labels = {
        f: [lab for fam, lab in zip(rows.family, rows.label) if fam == f] for f in feasible_without
    }
    if fixers:
        parts = [f"the {f} constraints ({'; '.join(labels[f])})" for f in fixers]
        return (
            "no allocation meets all constraints together; it becomes feasible without "
            + " or without ".join(parts)
        )
    return (
        "no allocation meets all constraints together, and dropping any one family "
        f"({', '.join(feasible_without)}) is not enough"
    )


def shortfalls(data: PlanData, rows: Rows) -> np.ndarray:
    """Least total violation of the coupling rows (phase 1), per row in the rows' units."""
    every = np.ones(data.shape, dtype=bool)
    res = RoutingProblem(data, rows, np.zeros(data.shape)).solve(every, penalty=1.0)
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
            hours = short[j] * data.device_scale / 3600
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
    verdict = {f: not shortfalls(data, rows.without(f)).any() for f in dict.fromkeys(rows.family)}
    return InfeasiblePlanError(
        culprit_message(rows, verdict) + "; at best, " + shortfall_text(data, rows, short)
    )
