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

import math

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
            llm,
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
                system,
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
    """Columns worth considering, among the allowed ones (a query never goes to an arm
    whose context it exceeds): per group and LLM, its cheapest allowed arm on a system
    without a capacity limit (of equal costs, the one of least energy), and any allowed arm
    of that LLM on a limited system that comes before it in (cost, energy) order.

    Arms of one LLM share its share row and accuracy; one on an unlimited system uses no
    capacity, so moving queries to it from an arm of the same LLM that is no cheaper and
    (at equal cost) uses no less energy never hurts, nor breaks ties toward more energy.
    """
    d, cost = problem.data, problem.cost
    allowed = d.allowed.copy()
    unlimited = ~np.isfinite(d.capacity_device_s[d.arm_system])
    rows_g = np.arange(d.shape[0])
    for m in range(len(d.llms)):
        free = np.flatnonzero((d.arm_llm == m) & unlimited)
        if not len(free):
            continue
        ok = d.allowed[:, free]
        keep = free[
            lexicographic_argmin(
                np.where(ok, cost[:, free], np.inf), np.where(ok, d.energy_j[:, free], np.inf)
            )
        ]
        has = ok.any(axis=1)  # else every arm of m on a limited system stays a candidate
        best = np.where(has, cost[rows_g, keep], np.inf)
        best_e = np.where(has, d.energy_j[rows_g, keep], np.inf)
        for k in np.flatnonzero(d.arm_llm == m):
            before = (cost[:, k] < best) | ((cost[:, k] == best) & (d.energy_j[:, k] < best_e))
            allowed[:, k] &= ((k == keep) & has) | ((~unlimited[k]) & before)
    return allowed


def lexicographic_argmin(cost: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Per row the column of least cost and, of equal costs, of least energy."""
    tied = cost == cost.min(axis=1, keepdims=True)
    return np.argmin(np.where(tied, energy, np.inf), axis=1)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.3g}"


def devices_to_hold(data: PlanData, system: str, device_s: float) -> int:
    """Devices ``system`` needs to hold ``device_s`` device-seconds in its planning window."""
    spec = data.fleet.system.get(system)
    window_s = (spec.window_h if spec is not None else 24.0) * 3600.0
    return max(int(math.ceil(device_s / window_s - 1e-9)), 1)


def raise_devices(data: PlanData, needs: dict[str, float]) -> str:
    """'raise devices on S to N (and on T to M)' for systems and the device-seconds each
    must hold; empty when none is limited."""
    parts = [
        f"on {system} to {devices_to_hold(data, system, need)}"
        for system, need in needs.items()
        if np.isfinite(data.capacity_device_s[data.systems.index(system)])
    ]
    return "raise devices " + " and ".join(parts) if parts else ""


def _row(data: PlanData, g: int) -> int:
    """The first workload row (1-based) of a distinct query."""
    return int(np.flatnonzero(data.row_group == g)[0]) + 1


def _too_long(data: PlanData) -> None:
    """Every query needs an arm whose context takes it (input + output tokens)."""
    takes = data.allowed.any(axis=1)
    if takes.all():
        return
    bad = np.flatnonzero(~takes)
    g = min(bad, key=lambda i: _row(data, i))
    longest = float(np.max(data.context_tokens))
    which = ", ".join(
        sorted({a.llm for a, c in zip(data.arms, data.context_tokens) if c == longest})
    )
    n = int(data.count[bad].sum())
    others = f" ({n} queries in all are too long for every arm)" if n > 1 else ""
    raise InfeasiblePlanError(
        f"workload row {_row(data, g)} ({data.tin[g]:,.0f} input + {data.tout[g]:,.0f} output "
        f"= {data.tokens[g]:,.0f} tokens) is longer than any arm can take: the longest "
        f"context is {longest:,.0f} tokens ({which}){others}; shorten or split such "
        "queries, or plan with an LLM of a longer context"
    )


def _share_capacity_message(data: PlanData, llm: str, need: int) -> str | None:
    k_mask = np.array([a.llm == llm for a in data.arms])
    takes = data.allowed[:, k_mask].any(axis=1)
    fit = int(data.count[takes].sum())
    if fit < need:
        return (
            f"{llm}'s minimum share is {need} queries, but only {fit} of the workload's "
            f"queries fit its context: lower its share"
        )
    systems = sorted({data.arm_system[k] for k in np.flatnonzero(k_mask)})
    cap = float(np.sum(data.capacity_device_s[systems]))
    if not np.isfinite(cap):
        return None
    per_query = np.min(np.where(data.allowed[:, k_mask], data.device_s[:, k_mask], np.inf), axis=1)
    order = np.argsort(per_query, kind="stable")
    counts = np.minimum(
        data.count[order],
        np.maximum(need - np.concatenate([[0], np.cumsum(data.count[order])[:-1]]), 0),
    )
    needed = float(counts[counts > 0] @ per_query[order][counts > 0])
    if needed <= cap * (1 + 1e-9):
        return None
    names = ", ".join(data.systems[s] for s in systems)
    step = (
        raise_devices(data, {data.systems[systems[0]]: needed})
        if len(systems) == 1
        else f"raise devices on {names} ({_hours(needed - cap)} device-hours more in all)"
    )
    return (
        f"{names} capacity {_hours(cap)} device-hours < {_hours(needed)} needed for "
        f"{llm}'s minimum share ({need} queries on its fastest arms): {step}, or lower "
        "the share"
    )


def precheck(data: PlanData, rows: Rows) -> None:
    """Raise InfeasiblePlanError for a constraint family that cannot be met on its own,
    saying what would make it feasible."""
    _too_long(data)
    for llm, need in sorted(data.min_queries.items()):
        if llm not in data.llms:
            raise InfeasiblePlanError(
                f"the fleet gives {llm} a share, but no arm serves "
                f"{llm} (its minimum share is {need} queries)"
            )
    total_need = sum(data.min_queries.values())
    if total_need > data.n_queries:
        raise InfeasiblePlanError(
            f"minimum shares need {total_need} queries in all but the workload has "
            f"{data.n_queries}: lower the shares"
        )
    for llm, need in sorted(data.min_queries.items()):
        message = _share_capacity_message(data, llm, need)
        if message:
            raise InfeasiblePlanError(message)
    capacity = float(np.sum(data.capacity_device_s))
    if np.isfinite(capacity):
        fastest = data.allowed_min(data.device_s)
        needed = float(data.count @ fastest)
        if needed > capacity * (1 + 1e-9):
            raise InfeasiblePlanError(
                f"total capacity {_hours(capacity)} device-hours < {_hours(needed)} needed to "
                f"serve all {data.n_queries} queries even on their fastest arms: "
                + _fastest_devices(data, fastest)
            )
    _single_query_fits(data)
    if "accuracy" in rows.family:
        floor = rows.value[rows.family.index("accuracy")]
        best = best_accuracy(data)
        if floor > best + 1e-9:
            raise InfeasiblePlanError(
                f"accuracy floor {floor:g} % is above the best achievable {best:.4g} % "
                f"(every query on its most accurate LLM): lower the floor to "
                f"{_floor_down(best)} % or below"
            )


def best_accuracy(data: PlanData) -> float:
    """The token-weighted accuracy (percent) of every query on its most accurate allowed arm."""
    most = np.max(np.where(data.allowed, data.acc_tokens, -np.inf), axis=1)
    return float(data.count @ most) / data.total_tokens


def _floor_down(x: float) -> str:
    """A percentage rounded down to two decimals, as a floor one can type."""
    return f"{math.floor(x * 100 + 1e-9) / 100:g}"


def _fastest_devices(data: PlanData, fastest: np.ndarray) -> str:
    """The next step when capacity cannot hold the workload: per limited system, the devices
    that hold the queries whose fastest allowed arm is on it."""
    arm = np.argmin(np.where(data.allowed, data.device_s, np.inf), axis=1)
    need = np.bincount(
        data.arm_system[arm], weights=data.count * fastest, minlength=len(data.systems)
    )
    short = {
        data.systems[s]: float(need[s])
        for s in range(len(data.systems))
        if need[s] > data.capacity_device_s[s] * (1 + 1e-9)
    }
    return raise_devices(data, short) or "raise devices on the limited systems"


def _single_query_fits(data: PlanData) -> None:
    """Every query needs some allowed arm whose system's whole capacity holds one such query."""
    cap = data.capacity_device_s[data.arm_system][None, :]
    fits = (data.allowed & (data.device_s <= cap * (1 + 1e-9))).any(axis=1)
    if fits.all():
        return
    g = int(np.flatnonzero(~fits)[0])
    k = int(np.argmin(np.where(data.allowed[g], data.device_s[g] - cap[0], np.inf)))
    system = data.systems[data.arm_system[k]]
    raise InfeasiblePlanError(
        f"a query of {data.tin[g]:g} input and {data.tout[g]:g} output tokens needs "
        f"{_hours(data.device_s[g, k])} device-hours on {data.arms[k].name}, more than "
        f"{system} capacity {_hours(cap[0, k])} device-hours "
        f"(and no arm's system holds it): {raise_devices(data, {system: data.device_s[g, k]})}"
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


def shortfalls(data: PlanData, rows: Rows, integer: bool = False) -> np.ndarray:
    """Least total violation of the coupling rows (phase 1), per row in the rows' units;
    ``integer``: by an allocation of whole queries."""
    res = RoutingProblem(data, rows, np.zeros(data.shape)).solve(
        data.allowed, integer=integer, penalty=1.0
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
            hours = short[j] * data.device_scale / 3600
            parts.append(f"{rows.label[j]} exceeded by {hours:.3g} device-hours")
        else:
            parts.append(f"{rows.label[j]} missed by {short[j] * 100 / data.n_queries:.3g} points")
    return "; ".join(parts)


def next_steps(data: PlanData, rows: Rows, short: np.ndarray, at_least: bool = False) -> str:
    """What would meet the rows a least-violating allocation misses: devices that hold a
    capacity's shortfall, a lower share, the floor that allocation reaches.  ``at_least``:
    the allocation split queries, so more may be needed (said in the step)."""
    steps = []
    for j in np.flatnonzero(short):
        if rows.family[j] == "share":
            steps.append(f"lower {rows.subject[j]}'s share")
        elif rows.family[j] == "capacity":
            need = rows.value[j] + short[j] * data.device_scale
            step = raise_devices(data, {rows.subject[j]: need})
            steps.append(step.replace(" to ", " to at least ") if at_least else step)
        elif rows.family[j] == "accuracy":
            reached = _floor_down(rows.value[j] - short[j] * 100 / data.n_queries)
            steps.append(
                f"lower the floor to {reached} % at most"
                if at_least
                else f"lower the floor to {reached} % or below"
            )
    return " and ".join(s for s in steps if s)


def _only_elastic(rows: Rows, family: str, weight: float = 1e4) -> Rows:
    """The rows with every other family's violation ``weight`` times dearer, so that a
    least-violation solve relaxes ``family`` alone wherever that suffices."""
    out = rows.copy()
    for j, f in enumerate(out.family):
        if f != family:
            out.rhs[j] *= weight
            out.coef[j] = out.coef[j] * weight
    return out


WHOLE_STEPS_COLUMNS = 100_000  # up to this many columns, steps are sized for whole queries


def _steps_per_family(data: PlanData, rows: Rows) -> list[str]:
    """For each family that can make the plan feasible by itself, what to change in it
    (how much more capacity, how much lower a floor or share).  Sized for whole queries
    (an integer least-violation solve) on problems up to WHOLE_STEPS_COLUMNS columns;
    above that from the LP, which splits queries, so the figures are the least change."""
    whole = data.shape[0] * data.shape[1] <= WHOLE_STEPS_COLUMNS
    out = []
    for family in dict.fromkeys(rows.family):
        short = shortfalls(data, _only_elastic(rows, family), integer=whole)
        others = np.array([f != family for f in rows.family])
        if short[others].any() or not short.any():
            continue  # relaxing this family alone is not enough
        step = next_steps(data, rows, np.where(others, 0.0, short), at_least=not whole)
        if step:
            out.append(step)
    return out


def infeasibility(data: PlanData, rows: Rows, integer: bool = False) -> Exception:
    """The error naming which constraint family cannot be met, from phase-1 LPs (always
    feasible, so fast), dropping one family at a time, and the next steps: per family that
    can fix it alone, the change that would.  ``integer``: the integer program was
    infeasible, so a feasible LP means only split queries would meet the rows."""
    short = shortfalls(data, rows)
    if not short.any() and integer:
        steps = _steps_per_family(data, rows)
        return InfeasiblePlanError(
            "no allocation of whole queries meets all constraints together ("
            + "; ".join(rows.label)
            + "); only splitting queries between arms would"
            + (f". Next step: {', or '.join(steps)}" if steps else "")
        )
    if not short.any():
        return RuntimeError(
            "the solver reported infeasible, but a feasibility LP found "
            "every constraint satisfiable (numerical trouble)"
        )
    verdict = {f: not shortfalls(data, rows.without(f)).any() for f in dict.fromkeys(rows.family)}
    steps = _steps_per_family(data, rows) or [next_steps(data, rows, short, at_least=True)]
    steps = [s for s in steps if s]
    return InfeasiblePlanError(
        culprit_message(rows, verdict)
        + "; at best, "
        + shortfall_text(data, rows, short)
        + (f". Next step: {', or '.join(steps)}" if steps else "")
    )
