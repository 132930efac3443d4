"""The routing optimiser: hand-checkable cases, the paper's per-query formulation on random
instances, integrality, capacity, shares, infeasibility messages and time limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.fleet.spec import Fleet, FleetError
from planner.routing import optimize
from planner.routing.arms import build_arms
from planner.routing.optimize import InfeasiblePlanError, Planner
from planner.routing.paper_milp import solve_per_query
from planner.workload.load import Workload, synthetic_workload
from tests.planner.plan_fixtures import published_arms, random_arms, report


def _workload(rows, name="w"):
    q = pd.DataFrame(rows, columns=["input_tokens", "output_tokens"])
    q["task"], q["count"] = "general", 1
    return Workload(q, name)


def two_arm_case(fleet_dict=None):
    """Arm A: 1 J and 1 s per output token, accuracy 40; arm B: 3 J and 1 s, accuracy 60.
    Queries (10 in, 10 out) and (10 in, 30 out).  Energies q1: A 10, B 30; q2: A 30, B 90;
    a = A_K * (tin + tout): q1: A 800, B 1200; q2: A 1600, B 2400."""
    fleet_dict = fleet_dict or {}
    fleet_dict.setdefault("llm", {})
    fleet_dict["llm"].setdefault("A", {})["accuracy"] = 40
    fleet_dict["llm"].setdefault("B", {})["accuracy"] = 60
    fleet = Fleet.from_dict(fleet_dict)
    reps = []
    for model, joules in (("A", 1.0), ("B", 3.0)):
        reps.append(report(model, f"s{model}", "energy", (joules,), ("tout",), cov_scale=None))
        reps.append(report(model, f"s{model}", "runtime", (1.0,), ("tout",), cov_scale=None))
    return Planner(build_arms(reps, fleet), _workload([(10, 10), (10, 30)]), fleet)


def _models(plan):
    return plan.assignments()["model"].tolist()


def test_hand_checkable_paper_objective():
    planner = two_arm_case()
    # zeta 0.5: q1 A -1/9 vs B -1/12; q2 A -1/6 vs B 0 -> both on A, objective -5/18
    plan = planner.solve("paper", zeta=0.5)
    assert _models(plan) == ["A", "A"]
    assert plan.objective_value == pytest.approx(-5 / 18)
    assert plan.energy_j == pytest.approx(40.0) and plan.accuracy == pytest.approx(40.0)
    # zeta 0.4 (between 1/3 and 3/7): q1 -> B (-1/6), q2 -> A (-4/15): objective -13/30
    plan = planner.solve("paper", zeta=0.4)
    assert _models(plan) == ["B", "A"]
    assert plan.objective_value == pytest.approx(-13 / 30)
    assert plan.accuracy == pytest.approx((1200 + 1600) / 60)
    assert _models(planner.solve("paper", zeta=0.2)) == ["B", "B"]


def test_hand_checkable_energy_with_accuracy_floor_needs_the_integer_program():
    planner = two_arm_case()
    assert planner.solve("energy").energy_j == pytest.approx(40.0)
    # floor 45 %: the LP moves 3/4 of q1 to B (fractional); the integer optimum is B, A (60 J)
    plan = planner.solve("energy", min_accuracy=45)
    assert _models(plan) == ["B", "A"] and plan.energy_j == pytest.approx(60.0)
    assert "fractional" in plan.detail and "integer program" in plan.detail
    assert plan.message.startswith("Optimal:") and "integer program" in plan.message
    plan = planner.solve("energy", min_accuracy=50)
    assert _models(plan) == ["A", "B"] and plan.energy_j == pytest.approx(100.0)


def test_capacity_moves_queries():
    # system sA holds 20 device-seconds: q2 (30 s) cannot run on A any more
    planner = two_arm_case({"system": {"sA": {"devices": 1, "window_h": 20 / 3600}}})
    plan = planner.solve("paper", zeta=0.5)
    assert _models(plan) == ["A", "B"]
    assert plan.objective_value == pytest.approx(-1 / 9)
    assert plan.arms.set_index("model").loc["A", "device_hours"] == pytest.approx(10 / 3600)


def test_minimum_shares():
    # B must serve at least max(1, 2 * 0.5 * 1.0) = 1 query
    planner = two_arm_case({"min_share_fraction": 1.0, "llm": {"B": {"share": 0.5}}})
    plan = planner.solve("paper", zeta=0.5)
    # q1 on B costs 1/9 - 1/12 = 1/36 more; q2 on B costs 1/6 more -> q1 goes to B
    assert _models(plan) == ["B", "A"]
    assert plan.objective_value == pytest.approx(-1 / 12 - 1 / 6)


def test_infeasible_share_against_capacity_names_both():
    planner = two_arm_case(
        {
            "min_share_fraction": 1.0,
            "llm": {"A": {"share": 1.0}},
            "system": {"sA": {"devices": 1, "window_h": 20 / 3600}},
        }
    )
    with pytest.raises(
        InfeasiblePlanError,
        match=r"sA capacity 0.00556 device-hours < 0.0111 needed for A's "
        r"minimum share",
    ):
        planner.solve()


@pytest.mark.parametrize(
    "fleet, call, message",
    [
        (
            {"min_share_fraction": 1.0, "llm": {"A": {"share": 0.6}, "B": {"share": 0.4}}},
            {},
            "minimum shares need 3 queries in all but the workload has 2: lower the shares",
        ),
        (
            {
                "system": {
                    "sA": {"devices": 1, "window_h": 1 / 3600},
                    "sB": {"devices": 1, "window_h": 1 / 3600},
                }
            },
            {},
            "total capacity 0.000556 device-hours < 0.0111 needed to serve all 2 queries "
            "even on their fastest arms: raise devices on sA to 40",
        ),
        (
            {},
            {"objective": "energy", "min_accuracy": 61},
            "accuracy floor 61 % is above the best achievable 60 % .*: lower the floor to 60 %",
        ),
    ],
)
def test_infeasible_prechecks(fleet, call, message):
    with pytest.raises(InfeasiblePlanError, match=message):
        two_arm_case(fleet).solve(**call)


def test_a_share_for_an_llm_without_arms_is_refused():
    with pytest.raises(
        FleetError, match=r'\[llm."C"\] names no LLM in the fits being planned \(A, B\)'
    ):
        two_arm_case({"llm": {"C": {"accuracy": 50, "share": 0.5}}})
    # a Planner given arms and a fleet that do not match still names the LLM
    fleet = Fleet.from_dict({"llm": {"C": {"accuracy": 50, "share": 0.5}}})
    planner = Planner(two_arm_case().data.arms, _workload([(10, 10), (10, 30)]), fleet)
    with pytest.raises(InfeasiblePlanError, match="gives C a share, but no arm serves C"):
        planner.solve()


def test_infeasible_only_together_is_found_by_dropping_families():
    # A must serve both queries (share) but 50 % accuracy needs q2 on B
    planner = two_arm_case({"min_share_fraction": 1.0, "llm": {"A": {"share": 1.0}}})
    with pytest.raises(InfeasiblePlanError) as err:
        planner.solve("energy", min_accuracy=50)
    text = str(err.value)
    assert "feasible without the share constraints (A's minimum share (2 queries))" in text
    assert "or without the accuracy constraints (accuracy floor 50 %)" in text


def test_bad_arguments():
    planner = two_arm_case()
    with pytest.raises(ValueError, match="unknown objective"):
        planner.solve("carbon")
    with pytest.raises(ValueError, match="zeta must be in"):
        planner.solve(zeta=1.5)
    with pytest.raises(ValueError, match="percentage"):
        planner.solve("energy", min_accuracy=150)


def _random_instance(seed):
    rng = np.random.default_rng(seed)
    reports, llm = random_arms(int(rng.integers(2, 6)), rng, n_models=int(rng.integers(2, 4)))
    n = int(rng.integers(8, 30))
    tin = rng.integers(1, 6, n) * 50
    tout = rng.integers(1, 6, n) * 40
    q = pd.DataFrame(
        {
            "input_tokens": tin,
            "output_tokens": tout,
            "task": rng.choice(["chat", "math"], n),
            "count": rng.integers(1, 4, n),
        }
    )
    models = sorted(llm)
    share_model = models[int(rng.integers(len(models)))]
    llm[share_model]["share"] = float(rng.uniform(0.2, 0.9))
    llm[models[0]]["task_accuracy"] = {"math": float(rng.uniform(10, 90))}
    systems = {}
    if seed % 2:
        systems["s0"] = {"devices": 1, "window_h": float(rng.uniform(0.02, 0.2))}
    fleet = Fleet.from_dict({"min_share_fraction": 0.5, "llm": llm, "system": systems})
    return Planner(build_arms(reports, fleet), Workload(q, f"random-{seed}"), fleet)


def _same(a, b):
    assert a == pytest.approx(b, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_equals_the_papers_per_query_binary_formulation(seed):
    planner = _random_instance(seed)
    for kwargs in (
        {"objective": "paper", "zeta": 0.3},
        {"objective": "paper", "zeta": 0.8},
        {"objective": "energy"},
        {"objective": "energy", "min_accuracy": None},
    ):
        try:
            plan = planner.solve(**kwargs)
        except InfeasiblePlanError:
            ref = solve_per_query(planner.data, **kwargs)
            assert ref["objective_value"] is None
            continue
        ref = solve_per_query(planner.data, **kwargs)
        _same(plan.objective_value, ref["objective_value"])
        assert not plan.violations
    try:
        low, high = planner.accuracy_range()
    except InfeasiblePlanError:
        return
    floor = low + 0.6 * (high - low)
    try:
        plan = planner.solve("energy", min_accuracy=floor)
    except InfeasiblePlanError:
        assert (
            solve_per_query(planner.data, "energy", min_accuracy=floor)["objective_value"] is None
        )
    else:
        _same(
            plan.objective_value,
            solve_per_query(planner.data, "energy", min_accuracy=floor)["objective_value"],
        )
        assert plan.accuracy >= floor - 1e-9


def test_assignments_follow_input_order_and_counts():
    q = pd.DataFrame(
        {
            "input_tokens": [10, 10, 10],
            "output_tokens": [30, 10, 30],
            "task": "general",
            "count": [2, 1, 3],
        }
    )
    planner = two_arm_case({"min_share_fraction": 1.0, "llm": {"B": {"share": 0.5}}})
    planner = Planner(planner.data.arms, Workload(q, "counted"), planner.fleet)
    plan = planner.solve("paper", zeta=0.5)
    a = plan.assignments()
    assert a["row"].tolist() == [1, 1, 2, 3, 3, 3]
    assert (a["output_tokens"].tolist()) == [30, 30, 10, 30, 30, 30]
    assert len(a) == plan.n_queries == 6
    per_arm = a.groupby("model").size().to_dict()
    assert per_arm == plan.arms.set_index("model")["queries"][lambda s: s > 0].to_dict()
    assert per_arm["B"] >= 3


@pytest.fixture(scope="module")
def big_planner():
    fleet = Fleet.from_dict(
        {
            "llm": {
                "Llama-2-7b-chat-hf": {"share": 0.05},
                "Llama-2-13b-chat-hf": {"share": 0.2},
                "Llama-2-70b-chat-hf": {"share": 0.75},
            }
        }
    )
    return Planner(published_arms(fleet=fleet), synthetic_workload("chat", 12000, seed=3), fleet)


def test_column_generation_equals_the_full_lp(big_planner, monkeypatch):
    assert big_planner.data.shape[0] > optimize.FULL_LP_GROUPS  # column generation is used
    fast = [big_planner.solve("paper", zeta=z) for z in (0.3, 0.7)]
    floor = big_planner.solve("energy", min_accuracy=60.0)
    assert big_planner.last_stats["method"] == "column generation"
    assert fast[0].detail.startswith("LP optimum is an integral vertex")
    monkeypatch.setattr(optimize, "FULL_LP_GROUPS", 10**9)
    full = Planner(big_planner.data.arms, big_planner.data.workload, big_planner.fleet)
    for plan, z in zip(fast, (0.3, 0.7)):
        _same(plan.objective_value, full.solve("paper", zeta=z).objective_value)
    _same(floor.objective_value, full.solve("energy", min_accuracy=60.0).objective_value)
    assert full.last_stats["columns"] == full.data.shape[0] * full.data.shape[1]


def test_frontier_over_zeta_and_over_accuracy(big_planner):
    plans = big_planner.frontier()
    assert [p.zeta for p in plans] == pytest.approx(np.linspace(0, 1, 11))
    energies = [p.energy_j for p in plans]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(energies, energies[1:]))
    low, high = big_planner.accuracy_range()
    floors = [low, (low + high) / 2, high, high + 1]
    plans = big_planner.frontier(min_accuracies=floors)
    assert len(plans) == 3 and "above the best achievable" in big_planner.last_stats["skipped"][0]
    assert [p.accuracy >= f - 1e-9 for p, f in zip(plans, floors)] == [True] * 3
    assert plans[0].energy_j <= plans[1].energy_j <= plans[2].energy_j


def test_time_limit_gives_best_plan_or_says_none_found(big_planner):
    try:
        plan = big_planner.solve("energy", min_accuracy=61.3, time_limit_s=1e-3)
    except optimize.PlanningTimeout as exc:
        assert "time limit" in str(exc)
    else:
        assert plan.status in ("time_limit", "optimal")
        if plan.status == "time_limit":
            assert "time limit reached" in plan.detail
            assert plan.message.startswith("Stopped at the 0.001 s time limit: this plan is")
            assert "not proven optimal" in plan.message


def test_energy_interval_from_coefficient_covariances(big_planner):
    plan = big_planner.solve("paper", zeta=0.5)
    lo, hi = plan.energy_ci_j
    assert lo < plan.energy_j < hi
    assert (hi - lo) / plan.energy_j < 0.01  # 1e-4 relative coefficient sd in the fixture
    planner = two_arm_case()  # no covariance -> no interval, not a made-up one
    assert np.isnan(planner.solve().energy_ci_j[0])


@pytest.mark.parametrize("zeta", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_the_papers_case_study_setting(zeta):
    """Llama-2 7B/13B/70B with the published fits, 200 chat queries, shares 0.05/0.2/0.75
    at 25 %: the same optimum as the paper's own per-query binary formulation."""
    fleet = Fleet.from_dict(
        {
            "min_share_fraction": 0.25,
            "llm": {
                "Llama-2-7b-chat-hf": {"share": 0.05},
                "Llama-2-13b-chat-hf": {"share": 0.2},
                "Llama-2-70b-chat-hf": {"share": 0.75},
            },
        }
    )
    arms = published_arms(
        ["Llama-2-7b-chat-hf", "Llama-2-13b-chat-hf", "Llama-2-70b-chat-hf"], fleet
    )
    planner = Planner(arms, synthetic_workload("chat", 200, seed=11), fleet)
    plan = planner.solve("paper", zeta=zeta)
    ref = solve_per_query(planner.data, "paper", zeta=zeta)
    _same(plan.objective_value, ref["objective_value"])
    served = plan.arms.set_index("model")["queries"]
    assert served["Llama-2-7b-chat-hf"] >= 3 and served["Llama-2-13b-chat-hf"] >= 10
    assert served["Llama-2-70b-chat-hf"] >= 38 and served.sum() == 200
