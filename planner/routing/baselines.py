"""What practice does without a planner, measured the same way as an optimised plan.

- every query to one arm (one baseline per arm);
- round robin over the arms, in input order;
- random (seeded);
- the most accurate LLM on its fastest system (common practice);
- per query the arm of least predicted energy;
- the threshold policy of Wilkins et al., "Hybrid Heterogeneous Clusters Can Lower the
  Energy Consumption of LLM Inference Workloads" (E-Energy '24): queries whose tin, tout or
  tin*tout is under a threshold go to one system, the rest to another, for one LLM; the
  best (LLM, system pair, feature, threshold) by total energy is searched.

Baselines ignore capacity and minimum shares; each plan's ``violations`` lists what it breaks.
A baseline that puts a query on an arm whose context it exceeds is infeasible, and its
message says so first; the policies that choose an arm per query or per workload (least
energy, most accurate on fastest) choose among the arms that can take the queries.
LLMs are canonical (``planner.fleet.registry``): arms of one LLM under two spellings are
one LLM to the threshold policy and to "most accurate".
"""

from __future__ import annotations

import numpy as np

from planner.fleet.spec import Fleet
from planner.routing.arms import Arm
from planner.routing.plan import Plan, PlanData, make_plan
from planner.routing.problem import objective_value
from planner.workload.load import Workload

THRESHOLD_FEATURES = ("tin", "tout", "tin*tout")


def _plan(data, name, message, *, row_alloc=None, alloc=None, objective="paper", zeta=0.5):
    if alloc is None:
        alloc = data.alloc_from_rows(row_alloc)
    plan = make_plan(
        data,
        alloc,
        name=name,
        status="baseline",
        message=message,
        objective_value=objective_value(data, alloc, objective, zeta),
        objective=objective,
        zeta=zeta if objective == "paper" else None,
        row_alloc=row_alloc,
    )
    too_long = [v for v in plan.violations if "longer than its context" in v]
    limits = [v for v in plan.violations if v not in too_long]
    if too_long:
        plan.message = "infeasible: " + "; ".join(too_long) + ". " + plan.message
    if limits:
        plan.message += " (ignores the fleet's limits: " + "; ".join(limits) + ")"
    return plan


def _one_arm(data: PlanData, k: int) -> np.ndarray:
    alloc = np.zeros(data.shape, dtype=np.int64)
    alloc[:, k] = data.count
    return alloc


def round_robin_rows(counts: np.ndarray, n_arms: int) -> np.ndarray:
    """Per input row, how many of its queries query i -> arm i mod n_arms gives each arm."""
    offset = np.cumsum(counts) - counts
    k = np.arange(n_arms)[None, :]
    return (offset[:, None] + counts[:, None] - 1 - k) // n_arms - (
        offset[:, None] - 1 - k
    ) // n_arms


def _feature(data: PlanData, feature: str) -> np.ndarray:
    return {"tin": data.tin, "tout": data.tout, "tin*tout": data.tin * data.tout}[feature]


def _sorted_prefixes(data: PlanData, feature: str):
    """(feature values in order, valid split positions, prefix sums of every arm's energy in
    that order): sorted once per feature, shared by every arm pair."""
    f = _feature(data, feature)
    order = np.argsort(f, kind="stable")
    weighted = (data.count[:, None] * data.energy_j)[order]
    prefix = np.vstack([np.zeros((1, data.shape[1])), np.cumsum(weighted, axis=0)])
    fs = f[order]
    # a split is valid only between distinct feature values (or at either end)
    valid = np.ones(len(fs) + 1, dtype=bool)
    valid[1:-1] = fs[1:] != fs[:-1]
    return fs, np.flatnonzero(valid), prefix


def _best_threshold(prefixes, below: int, above: int):
    """(energy, threshold) of the best split 'feature < threshold -> below, else above'."""
    fs, valid, prefix = prefixes
    total = prefix[:, below] + (prefix[-1, above] - prefix[:, above])
    i = int(valid[np.argmin(total[valid])])
    threshold = np.inf if i == len(fs) else float(fs[i])
    return float(total[i]), threshold


def threshold_policy(data: PlanData):
    """The best E-Energy '24 split, or None when no LLM runs on two systems."""
    pairs = [
        (i, j)
        for i, a in enumerate(data.arms)
        for j, b in enumerate(data.arms)
        if i != j and a.llm == b.llm
    ]
    best = None
    prefixes = {f: _sorted_prefixes(data, f) for f in THRESHOLD_FEATURES} if pairs else {}
    for below, above in pairs:
        for feature in THRESHOLD_FEATURES:
            energy, threshold = _best_threshold(prefixes[feature], below, above)
            if best is None or energy < best[0] - 1e-9 * abs(energy):
                best = (energy, below, above, feature, threshold)
    return best


def _threshold_plan(data, **kw):
    best = threshold_policy(data)
    if best is None:
        return None
    _, below, above, feature, threshold = best
    f = _feature(data, feature)
    alloc = np.zeros(data.shape, dtype=np.int64)
    under = f < threshold
    alloc[under, below] = data.count[under]
    alloc[~under, above] = data.count[~under]
    a, b = data.arms[below], data.arms[above]
    rule = (
        f"{feature} < {threshold:g} -> {a.system}, else {b.system}"
        if np.isfinite(threshold)
        else f"all -> {a.system}"
    )
    return _plan(
        data,
        f"threshold ({a.llm}: {rule})",
        f"E-Energy '24 threshold policy, best split by total energy: {rule}",
        alloc=alloc,
        **kw,
    )


def run_baselines(
    arms: list[Arm],
    workload: Workload,
    fleet: Fleet | None = None,
    seed: int = 0,
    *,
    objective: str = "paper",
    zeta: float = 0.5,
    data: PlanData | None = None,
) -> dict[str, Plan]:
    """Every baseline as a Plan, keyed by a short stable name."""
    data = data or PlanData(arms, workload, fleet or Fleet())
    kw = {"objective": objective, "zeta": zeta}
    n_arms = len(data.arms)
    out: dict[str, Plan] = {}
    counts = data.workload.queries["count"].to_numpy(np.int64)
    for k, arm in enumerate(data.arms):
        # a serving arm's name tells its setups of one (model, system) apart
        out[f"single:{arm.name if arm.key else f'{arm.model}@{arm.system}'}"] = _plan(
            data,
            f"all on {arm.name}",
            "every query to one arm",
            alloc=_one_arm(data, k),
            **kw,
        )
    out["round_robin"] = _plan(
        data,
        "round robin",
        "arms in turn, in input order",
        row_alloc=round_robin_rows(counts, n_arms),
        **kw,
    )
    rng = np.random.default_rng(seed)
    out["random"] = _plan(
        data,
        f"random (seed {seed})",
        "each query to a uniformly random arm",
        row_alloc=rng.multinomial(counts, np.full(n_arms, 1.0 / n_arms)),
        **kw,
    )
    acc = np.array([a.accuracy for a in data.arms])
    top = np.flatnonzero(acc == acc.max())
    too_long = (data.count @ ~data.allowed)[top]  # queries each arm cannot take
    runtime = (data.count.astype(float) @ data.runtime_s)[top]
    k = int(top[np.lexsort((runtime, too_long))[0]])
    out["most_accurate_fastest"] = _plan(
        data,
        f"most accurate LLM on fastest system ({data.arms[k].name})",
        "common practice: the highest-scoring LLM, on the system where it runs the workload "
        "fastest",
        alloc=_one_arm(data, k),
        **kw,
    )
    alloc = np.zeros(data.shape, dtype=np.int64)
    takes = np.where(data.allowed.any(axis=1, keepdims=True), data.allowed, True)
    alloc[np.arange(data.shape[0]), np.argmin(np.where(takes, data.energy_j, np.inf), axis=1)] = (
        data.count
    )
    out["cheapest_energy"] = _plan(
        data,
        "cheapest energy per query",
        "each query to its arm of least predicted energy (of those that can take it)",
        alloc=alloc,
        **kw,
    )
    threshold = _threshold_plan(data, **kw)
    if threshold is not None:
        out["threshold"] = threshold
    return out
