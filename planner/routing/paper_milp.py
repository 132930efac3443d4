"""The paper's own formulation, for checking: one binary per (query, arm), solved directly.

Wilkins, Keshav and Mortier (HotCarbon '24) route each query with a binary x[i, K] (solved
with PuLP; here cvxpy + HiGHS MILP), with the objective of ``problem.objective_cost`` and
the share, capacity and accuracy rows that ``planner.routing.problem`` writes down, each
written here afresh, and no query on an arm whose context it exceeds.  It grows with the number of queries, not distinct queries, so it is
a reference for tests and the scale benchmark, not a planner.
"""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np

from planner.routing._lp import MILP_OPTIONS, silence_highs_banner
from planner.routing.plan import PlanData
from planner.routing.problem import objective_cost, objective_value


def solve_per_query(
    data: PlanData,
    objective: str = "paper",
    zeta: float = 0.5,
    min_accuracy: float | None = None,
    time_limit_s: float | None = None,
) -> dict:
    """Solve per query; returns status, objective value (as ``Plan.objective_value``),
    per-query arm indices (input order) and seconds."""
    silence_highs_banner()
    qg, _ = data.query_groups()
    n, k = len(qg), data.shape[1]
    cost = objective_cost(data, objective, zeta)[qg]
    x = cp.Variable((n, k), boolean=True)
    cons = [cp.sum(x, axis=1) == 1]
    forbidden = ~data.allowed[qg]  # a query longer than an arm's context
    if forbidden.any():
        cons.append(cp.sum(cp.multiply(forbidden.astype(float), x)) == 0)
    for llm, need in data.min_queries.items():
        mask = np.flatnonzero(data.arm_llm == data.llms.index(llm))
        cons.append(cp.sum(x[:, mask]) >= need)
    for s, cap in enumerate(data.capacity_device_s):
        if np.isfinite(cap):
            mask = np.flatnonzero(data.arm_system == s)
            cons.append(cp.sum(cp.multiply(data.device_s[qg][:, mask], x[:, mask])) <= cap)
    if min_accuracy is not None:
        cons.append(cp.sum(cp.multiply(data.acc_tokens[qg] / data.total_tokens, x)) >= min_accuracy)
    problem = cp.Problem(cp.Minimize(cp.sum(cp.multiply(cost, x))), cons)
    opts = dict(MILP_OPTIONS)
    if time_limit_s is not None:
        opts["time_limit"] = float(time_limit_s)
    t0 = time.perf_counter()
    problem.solve(solver=cp.HIGHS, highs_options=opts)
    seconds = time.perf_counter() - t0
    if x.value is None:
        return {
            "status": problem.status,
            "objective_value": None,
            "query_arm": None,
            "seconds": seconds,
        }
    query_arm = np.argmax(np.rint(x.value), axis=1)
    alloc = data.alloc_from_query_arms(query_arm)
    return {
        "status": problem.status,
        "objective_value": objective_value(data, alloc, objective, zeta),
        "query_arm": query_arm,
        "seconds": seconds,
    }
