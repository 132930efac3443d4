"""Baselines: same Plan shape, hand-checked policies, never better than the optimum on its
own objective, capacity and share violations reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.fleet.spec import Fleet
from planner.routing.arms import build_arms
from planner.routing.baselines import run_baselines, threshold_policy
from planner.routing.optimize import Planner
from planner.routing.plan import PlanData
from planner.workload.load import Workload, synthetic_workload
from tests.planner.plan_fixtures import published_arms, report


def _hybrid_case(fleet=None):
    """One LLM on two systems: 'small' costs 1 J per output token plus 50 J per query, 'big'
    costs 3 J per output token plus 0 J: under tout = 25 big is cheaper, above it small."""
    fleet = fleet or Fleet.from_dict({"llm": {"L": {"accuracy": 50}}})
    reps = []
    for system, coef in (("small", (50.0, 1.0)), ("big", (0.0, 3.0))):
        reps.append(report("L", system, "energy", coef, ("1", "tout"), cov_scale=None))
        reps.append(report("L", system, "runtime", (1.0, 0.01), ("1", "tout"), cov_scale=None))
    q = pd.DataFrame(
        {
            "input_tokens": 10,
            "output_tokens": [5, 10, 20, 30, 40, 60],
            "task": "general",
            "count": 1,
        }
    )
    arms = build_arms(reps, fleet)
    return arms, Workload(q, "hybrid"), fleet


def test_threshold_policy_finds_the_break_even_split():
    arms, workload, fleet = _hybrid_case()
    data = PlanData(arms, workload, fleet)
    energy, below, above, feature, threshold = threshold_policy(data)
    assert data.arms[below].system == "big" and data.arms[above].system == "small"
    assert feature in ("tout", "tin*tout")
    # big for tout 5, 10, 20 (15+30+60 = 105 J), small for 30, 40, 60 (80+90+110 = 280 J)
    assert energy == pytest.approx(385.0)
    plans = run_baselines(arms, workload, fleet)
    assert plans["threshold"].energy_j == pytest.approx(385.0)
    assert plans["cheapest_energy"].energy_j == pytest.approx(385.0)


def test_every_baseline_has_the_plan_shape_and_counts():
    arms = published_arms(["Llama-2-7b-chat-hf", "Llama-2-13b-chat-hf", "Mistral-7B-v0.1"])
    workload = synthetic_workload("math", 101, seed=2)
    plans = run_baselines(arms, workload, Fleet(), seed=5)
    assert {"round_robin", "random", "most_accurate_fastest", "cheapest_energy"} <= set(plans)
    assert sum(k.startswith("single:") for k in plans) == 3
    assert "threshold" not in plans  # no LLM runs on two systems here
    for plan in plans.values():
        assert plan.n_queries == 101 and plan.arms["queries"].sum() == 101
        assert len(plan.assignments()) == 101 and plan.status == "baseline"
    rr = plans["round_robin"].assignments()
    assert rr["model"].tolist()[:4] == [arms[0].model, arms[1].model, arms[2].model, arms[0].model]
    assert (
        plans["most_accurate_fastest"].arms.set_index("model").loc["Mistral-7B-v0.1", "queries"]
        == 101
    )
    again = run_baselines(arms, workload, Fleet(), seed=5)["random"].assignments()
    assert again.equals(plans["random"].assignments())


@pytest.mark.parametrize("objective, zeta", [("paper", 0.2), ("paper", 0.7), ("energy", 0.5)])
def test_plan_never_worse_than_any_baseline_on_its_objective(objective, zeta):
    arms = published_arms()
    workload = synthetic_workload("chat", 3000, seed=9)
    planner = Planner(arms, workload, Fleet())
    plan = planner.solve(objective, zeta=zeta)
    plans = run_baselines(
        arms, workload, Fleet(), objective=objective, zeta=zeta, data=planner.data
    )
    for name, b in plans.items():
        assert plan.objective_value <= b.objective_value + 1e-9 * abs(b.objective_value), name


def test_baselines_report_capacity_and_share_violations():
    fleet = Fleet.from_dict(
        {
            "min_share_fraction": 1.0,
            "llm": {"L": {"accuracy": 50}},
            "system": {"small": {"devices": 1, "window_h": 2 / 3600}},
        }
    )
    arms, workload, _ = _hybrid_case(fleet)
    plans = run_baselines(arms, workload, fleet)
    small = plans["single:L@small"]
    assert any("small capacity" in v for v in small.violations)
    assert "ignores the fleet's limits" in small.message
    assert not plans["single:L@big"].violations
    plan = Planner(arms, workload, fleet).solve("energy")
    assert not plan.violations
    assert plan.arms.set_index("system").loc["small", "device_hours"] <= 2 / 3600 + 1e-12


def test_constrained_plan_beats_every_baseline_that_meets_the_constraints():
    fleet = Fleet.from_dict(
        {
            "min_share_fraction": 1.0,
            "llm": {"Llama-2-7b-chat-hf": {"share": 0.2}, "Mistral-7B-v0.1": {"share": 0.2}},
        }
    )
    arms = published_arms(["Llama-2-7b-chat-hf", "Mistral-7B-v0.1", "Llama-2-13b-chat-hf"], fleet)
    workload = synthetic_workload("chat", 600, seed=3)
    planner = Planner(arms, workload, fleet)
    plan = planner.solve("paper", zeta=0.6)
    plans = run_baselines(arms, workload, fleet, objective="paper", zeta=0.6, data=planner.data)
    feasible = {k: b for k, b in plans.items() if not b.violations}
    assert {"round_robin", "random"} <= set(feasible)
    assert any(b.violations for b in plans.values())
    for name, b in feasible.items():
        assert plan.objective_value <= b.objective_value + 1e-9 * abs(b.objective_value), name


def test_round_robin_by_rows_matches_query_by_query():
    from planner.routing.baselines import round_robin_rows

    rng = np.random.default_rng(0)
    counts = rng.integers(1, 9, 40)
    per_query = np.arange(counts.sum()) % 3
    rows = np.repeat(np.arange(len(counts)), counts)
    expected = np.zeros((len(counts), 3), dtype=int)
    np.add.at(expected, (rows, per_query), 1)
    assert (round_robin_rows(counts, 3) == expected).all()


def test_counted_rows_are_not_expanded_for_baselines():
    arms = published_arms(["Llama-2-7b-chat-hf", "Mistral-7B-v0.1"])
    q = pd.DataFrame(
        {
            "input_tokens": [10, 20],
            "output_tokens": [100, 50],
            "task": "chat",
            "count": [3_000_000, 1],
        }
    )
    plans = run_baselines(arms, Workload(q, "huge"), Fleet())
    rr = plans["round_robin"].arms.set_index("model")["queries"]
    assert rr.sum() == 3_000_001 and abs(rr.iloc[0] - rr.iloc[1]) <= 1
