"""Adversarial checks of the routing optimiser: random small instances with capacity on
several systems, minimum shares, accuracy floors, per-task scores, several arms per LLM and
negative (unclipped paper-form) energies, solved both directly and by column generation,
against an integer program over every (distinct query, arm) column written here from the
problem statement (no pruning, its own normalisation); ties at zeta = 0 broken toward the
least energy (lexicographic reference); infeasibility that only whole queries cause."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from planner.fleet.spec import Fleet
from planner.routing import _integer as integer
from planner.routing import optimize
from planner.routing.arms import build_arms
from planner.routing.optimize import InfeasiblePlanError, Planner
from planner.routing.paper_milp import solve_per_query
from planner.routing.problem import RoutingProblem
from planner.workload.load import Workload
from tests.planner.plan_fixtures import report

SYSTEMS = ("s0", "s1", "s2")


def _arm_reports(rng, name, system, negative):
    if negative:  # the paper's form: a negative tin coefficient gives negative energies
        e, terms = rng.uniform([-3, 0.5, 0.0], [0.5, 3.0, 0.01]), ("tin", "tout", "tin*tout")
    else:
        e, terms = rng.uniform([0.5, 0.01, 0.5], [2.0, 0.2, 3.0]), ("1", "tin", "tout")
    r = rng.uniform([0.01, 1e-4, 0.01], [0.05, 1e-3, 0.05])
    return [
        report(name, system, "energy", e, terms, clip=not negative, cov_scale=None),
        report(name, system, "runtime", r, ("1", "tin", "tout"), cov_scale=None),
    ]


def random_planner(seed: int, negative: bool = False) -> Planner:
    rng = np.random.default_rng(seed)
    reports, llm = [], {}
    for m in range(int(rng.integers(2, 4))):
        name = f"m{m}"  # equal scores half the time: ties across LLMs too
        llm[name] = {
            "accuracy": float(
                rng.choice([40.0, 50.0, 60.0]) if rng.random() < 0.5 else rng.uniform(30, 70)
            )
        }
        for system in SYSTEMS:
            if rng.random() < 0.7:
                reports += _arm_reports(rng, name, system, negative)
    models = sorted({r.model for r in reports})
    for m in models:
        if rng.random() < 0.4:
            llm[m]["share"] = float(rng.uniform(0.1, 0.6))
        if rng.random() < 0.4:
            llm[m]["task_accuracy"] = {"math": float(rng.uniform(10, 90))}
    shares = sum(llm[m].get("share", 0.0) for m in models)
    for m in models:  # shares are fractions of all queries: they sum to at most 1
        if shares > 1 and "share" in llm[m]:
            llm[m]["share"] /= shares
    systems = {
        s: {"devices": int(rng.integers(1, 3)), "window_h": float(rng.uniform(2e-3, 0.05))}
        for s in SYSTEMS
        if rng.random() < 0.5
    }
    systems = {s: v for s, v in systems.items() if s in {r.system for r in reports}}
    n = int(rng.integers(6, 25))
    q = pd.DataFrame(
        {
            "input_tokens": rng.integers(1, 5, n) * 50,
            "output_tokens": rng.integers(1, 5, n) * 40,
            "task": rng.choice(["chat", "math"], n),
            "count": rng.integers(1, 4, n),
        }
    )
    fleet = Fleet.from_dict(
        {
            "min_share_fraction": float(rng.uniform(0.3, 1.0)),
            "llm": {m: llm[m] for m in models},
            "system": systems,
        }
    )
    return Planner(build_arms(reports, fleet), Workload(q, f"random-{seed}"), fleet)


def reference(data, objective, zeta=0.5, floor=None, objective_at_most=None):
    """The aggregated integer program over every column; with ``objective_at_most``, the
    least energy among allocations whose objective is at most that (lexicographic)."""
    if objective == "paper":
        e_hat = data.energy_j / data.energy_j.max()
        a_hat = data.acc_tokens / data.acc_tokens.max()
        cost = zeta * e_hat - (1 - zeta) * a_hat
    else:
        cost = data.energy_j
    x = cp.Variable(data.shape, integer=True)
    cons = [x >= 0, cp.sum(x, axis=1) == data.count]
    for model, need in data.min_queries.items():
        cons.append(cp.sum(x[:, data.arm_llm == data.llms.index(model)]) >= need)
    for s, cap in enumerate(data.capacity_device_s):
        mask = data.arm_system == s
        if np.isfinite(cap):
            cons.append(cp.sum(cp.multiply(data.device_s[:, mask], x[:, mask])) <= cap)
    if floor is not None:
        cons.append(cp.sum(cp.multiply(data.acc_tokens, x)) >= floor * data.total_tokens)
    target = cost
    if objective_at_most is not None:
        cons.append(cp.sum(cp.multiply(cost, x)) <= objective_at_most)
        target = data.energy_j / np.abs(data.energy_j).max()
    problem = cp.Problem(cp.Minimize(cp.sum(cp.multiply(target, x))), cons)
    problem.solve(solver=cp.HIGHS, highs_options={"mip_rel_gap": 1e-9, "output_flag": False})
    if x.value is None:
        return None, None
    alloc = np.rint(x.value)
    return float(np.sum(cost * alloc)), alloc


def _cases(planner):
    cases = [("paper", z, None) for z in (0.0, 0.3, 0.7, 1.0)] + [("energy", 0.5, None)]
    try:
        low, high = planner.accuracy_range()
    except InfeasiblePlanError:
        return cases
    return cases + [("energy", 0.5, low + f * (high - low)) for f in (0.3, 0.8, 1.0)]


def _check(planner, objective, zeta, floor):
    data = planner.data
    want, ref_alloc = reference(data, objective, zeta, floor)
    try:
        plan = planner.solve(objective, zeta=zeta, min_accuracy=floor)
    except InfeasiblePlanError:
        assert want is None, f"{objective} {zeta} {floor}: infeasible, but the reference is not"
        return
    assert want is not None, f"{objective} {zeta} {floor}: the reference is infeasible"
    assert plan.objective_value == pytest.approx(want, rel=1e-6, abs=1e-9)
    assert not plan.violations
    assert floor is None or plan.accuracy >= floor - 1e-6
    if objective == "paper" and zeta == 0.0:
        _, least = reference(data, "paper", 0.0, None, want + 1e-9 * abs(want))
        least_j = float(np.sum(least * data.energy_j))
        assert plan.energy_j <= least_j + 1e-6 * abs(least_j) + 1e-9


@pytest.mark.parametrize("column_generation", [False, True])
# seed 6 is left out only for time: its 59 % floor is a hard knapsack (4 s here, 16 s for
# the reference); it agrees too
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 7, 8, 9, 10])
def test_random_instances_equal_the_full_integer_program(seed, column_generation, monkeypatch):
    if column_generation:  # start from a 3-group sample's duals and price every column;
        monkeypatch.setattr(optimize, "FULL_LP_GROUPS", 0)  # first integer attempts
        monkeypatch.setattr(optimize, "SAMPLE_GROUPS", 3)  # with 2 extra columns
        monkeypatch.setattr(integer, "EXTRA_COLUMNS", 2)
    planner = random_planner(seed, negative=seed % 3 == 2)
    for case in _cases(planner):
        _check(planner, *case)


@pytest.mark.parametrize("seed", range(4))
def test_random_instances_equal_the_per_query_binary_formulation(seed):
    planner = random_planner(100 + seed)
    for zeta in (0.0, 0.5):
        try:
            plan = planner.solve("paper", zeta=zeta)
        except InfeasiblePlanError:
            assert solve_per_query(planner.data, "paper", zeta=zeta)["objective_value"] is None
            continue
        ref = solve_per_query(planner.data, "paper", zeta=zeta)
        assert plan.objective_value == pytest.approx(ref["objective_value"], rel=1e-6)


def tie_planner(fleet_dict=None, rows=None):
    """A (accuracy 60) on s1, s2, s3 at 3, 1 and 2 J per output token; B (40) on s1 at
    0.5 J; runtime 1 s per output token everywhere."""
    fleet_dict = fleet_dict or {}
    llm = fleet_dict.setdefault("llm", {})
    llm.setdefault("A", {})["accuracy"] = 60
    llm.setdefault("B", {})["accuracy"] = 40
    fleet = Fleet.from_dict(fleet_dict)
    reps = []
    for model, system, joules in (
        ("A", "s1", 3.0),
        ("A", "s2", 1.0),
        ("A", "s3", 2.0),
        ("B", "s1", 0.5),
    ):
        reps.append(report(model, system, "energy", (joules,), ("tout",), cov_scale=None))
        reps.append(report(model, system, "runtime", (1.0,), ("tout",), cov_scale=None))
    q = pd.DataFrame(
        rows
        or {
            "input_tokens": [10, 10, 20, 5],
            "output_tokens": [10, 30, 20, 40],
            "count": [1, 2, 1, 3],
        }
    )
    q["task"] = "general"
    return Planner(build_arms(reps, fleet), Workload(q, "ties"), fleet)


@pytest.mark.parametrize(
    "fleet, energy_j, on_s2",
    [
        ({}, 210.0, 7),  # no coupling rows
        ({"min_share_fraction": 1.0, "llm": {"B": {"share": 0.2}}}, 190.0, 5),  # a share
        (
            {
                "system": {
                    "s2": {"devices": 1, "window_h": 70 / 3600},  # capacity
                    "s3": {"devices": 1, "window_h": 1.0},
                }
            },
            350.0,
            3,
        ),
    ],
)
def test_zeta_zero_breaks_ties_toward_least_energy(fleet, energy_j, on_s2):
    """At zeta 0 every arm of A costs the same; the plan takes the least energy: all on s2
    (1 J/token); B's two-query share takes the (10, 30) queries (B saves most there); s2's
    70 s hold 70 of the 210 output tokens, the rest goes to s3 (2 J/token)."""
    planner = tie_planner(fleet)
    plan = planner.solve("paper", zeta=0.0)
    assert plan.energy_j == pytest.approx(energy_j)
    assert plan.arms.set_index("system").loc["s2", "queries"] == on_s2
    assert plan.objective_value == pytest.approx(
        solve_per_query(planner.data, "paper", zeta=0.0)["objective_value"]
    )
    assert planner.solve("paper", zeta=0.5).objective_value == pytest.approx(
        solve_per_query(planner.data, "paper", zeta=0.5)["objective_value"]
    )


def test_zeta_zero_tie_between_queries_of_equal_tokens():
    """B (one arm) must take one of two 40-token queries, at equal objective either way:
    against A@s2, B saves 5 J on (30 in, 10 out) and 15 J on (10 in, 30 out)."""
    planner = tie_planner(
        {"min_share_fraction": 1.0, "llm": {"B": {"share": 0.5}}},
        {"input_tokens": [30, 10], "output_tokens": [10, 30], "count": [1, 1]},
    )
    plan = planner.solve("paper", zeta=0.0)
    assert plan.assignments()["model"].tolist() == ["A", "B"]
    assert plan.energy_j == pytest.approx(10.0 + 15.0)


def test_infeasible_only_for_whole_queries_says_so():
    # four 10 s queries, three systems of 15 s: 45 s in all suffices only if queries split
    planner = tie_planner(
        {"system": {s: {"devices": 1, "window_h": 15 / 3600} for s in ("s1", "s2", "s3")}},
        {"input_tokens": [1] * 4, "output_tokens": [10] * 4, "count": [1] * 4},
    )
    with pytest.raises(
        InfeasiblePlanError,
        match="no allocation of whole queries meets all constraints together .*s1 capacity",
    ):
        planner.solve("energy")


def test_a_query_larger_than_every_system_is_named():
    planner = tie_planner(
        {"system": {s: {"devices": 1, "window_h": 15 / 3600} for s in ("s1", "s2", "s3")}},
        {"input_tokens": [1, 1], "output_tokens": [5, 20], "count": [1, 1]},
    )
    with pytest.raises(
        InfeasiblePlanError,
        match=r"a query of 1 input and 20 output tokens "
        r"needs 0.00556 device-hours on A @ s1",
    ):
        planner.solve()


def test_the_least_energy_stage_has_its_own_time_limit(monkeypatch):
    """The tie-break runs after an optimal plan exists: it gets TIEBREAK_TIME_S of its own
    (its integer programs can be hard), and the first stage gets none."""
    limits = {}
    real = RoutingProblem.solve

    def recording(problem, chosen, **kwargs):
        stage = "ties" if "objective" in problem.rows.family else "first"
        limits.setdefault(stage, []).append(problem.time_left())
        return real(problem, chosen, **kwargs)

    monkeypatch.setattr(RoutingProblem, "solve", recording)
    planner = tie_planner(
        {
            "system": {
                "s2": {"devices": 1, "window_h": 70 / 3600},
                "s3": {"devices": 1, "window_h": 1.0},
            }
        }
    )
    plan = planner.solve("paper", zeta=0.0)
    assert plan.energy_j == pytest.approx(350.0)
    assert limits["first"] == [None] * len(limits["first"])
    assert limits["ties"] and all(0 < t <= optimize.TIEBREAK_TIME_S for t in limits["ties"])
