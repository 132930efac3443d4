"""Solver endings in plain words with the next step (issue 10, item 6); following the step
has the effect it promises."""

from __future__ import annotations

import math
import re

import pytest

from planner.routing import optimize
from planner.routing.optimize import InfeasiblePlanError, PlanningTimeout
from tests.planner.routing.test_optimize import two_arm_case


def test_optimal_plans_say_so_and_keep_the_solvers_account():
    plan = two_arm_case().solve("paper", zeta=0.5)
    assert plan.message == "Optimal: no plan that meets these settings does better."
    assert plan.detail.startswith("no coupling constraints")


def test_a_share_capacity_can_not_hold_names_the_devices_that_would():
    fleet = {
        "min_share_fraction": 1.0,
        "llm": {"A": {"share": 1.0}},
        "system": {"sA": {"devices": 1, "window_h": 20 / 3600}},
    }
    with pytest.raises(
        InfeasiblePlanError, match=r": raise devices on sA to 2, or lower the share"
    ):
        two_arm_case(fleet).solve()
    fleet["system"]["sA"]["devices"] = 2
    assert not two_arm_case(fleet).solve().violations


@pytest.mark.parametrize(
    "window_s, says",
    [
        (10.0, "it becomes feasible without the capacity constraints"),
        (20.0, "only splitting queries between arms would"),
    ],
)
def test_constraints_that_clash_give_a_step_that_works(window_s, says):
    # a 50 % floor needs 17.5 s on B if queries could split, 30 s in whole queries
    fleet = {"system": {"sB": {"devices": 1, "window_h": window_s / 3600}}}
    with pytest.raises(InfeasiblePlanError) as err:
        two_arm_case(dict(fleet)).solve("energy", min_accuracy=50)
    text = str(err.value)
    assert says in text
    steps = re.search(r"Next step: (.*)$", text).group(1).split(", or ")
    assert len(steps) == 2, steps  # more devices on sB, or a lower floor
    for step in steps:
        devices = re.fullmatch(r"raise devices on sB to (\d+)", step)
        floor = re.fullmatch(r"lower the floor to ([\d.]+) % or below", step)
        assert devices or floor, step
        if devices:
            n = int(devices.group(1))
            assert n == math.ceil(30 / window_s)  # whole queries: the 30 s one on B
            more = {"system": {"sB": {"devices": n, "window_h": window_s / 3600}}}
            plan = two_arm_case(more).solve("energy", min_accuracy=50)
        else:
            plan = two_arm_case(dict(fleet)).solve("energy", min_accuracy=float(floor.group(1)))
        assert not plan.violations


def test_no_plan_in_time_names_the_capacity_that_binds(monkeypatch):
    fleet = {"system": {"sA": {"devices": 1, "window_h": 15 / 3600}}}

    def out_of_time(*args, **kwargs):
        raise PlanningTimeout("time limit reached before the LP was solved")

    monkeypatch.setattr(optimize.Planner, "_column_generation", out_of_time)
    with pytest.raises(PlanningTimeout) as err:
        two_arm_case(fleet).solve("paper", zeta=0.5, time_limit_s=15)
    text = str(err.value)
    assert text.startswith("no plan meeting the constraints was found within the 15 s time ")
    # the cheapest plan puts both queries (10 s and 30 s) on A: 40 s against 15 s
    assert "The capacity of sA binds" in text and "raise devices on sA to 3" in text
    assert err.value.detail == "time limit reached before the LP was solved"
    monkeypatch.undo()
    plan = two_arm_case({"system": {"sA": {"devices": 3, "window_h": 15 / 3600}}}).solve()
    assert plan.assignments()["model"].tolist() == ["A", "A"]  # capacity no longer binds


def test_a_plan_stopped_at_the_time_limit_says_how_far_from_optimal_at_most(monkeypatch):
    real = optimize.integer_plan

    def stopped(problem, *args):
        alloc, _, how, _ = real(problem, *args)
        return alloc, "time_limit", "time limit reached: " + how, 0.25

    monkeypatch.setattr(optimize, "integer_plan", stopped)
    plan = two_arm_case().solve("energy", min_accuracy=45, time_limit_s=5)
    assert plan.status == "time_limit" and plan.detail.startswith("time limit reached")
    # energy costs are joules / the largest energy (90 J): a gap of 0.25 is 22.5 J of 60 J
    assert plan.message == (
        "Stopped at the 5 s time limit: this plan is within 22.5 J (38 %) of the least "
        "energy possible, not proven optimal; allow more time to prove it (or to find a "
        "better one)."
    )
