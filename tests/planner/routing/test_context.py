"""Impossible queries (issue 11): a query longer than an arm's context never goes there,
the plan refuses one that no arm takes (naming its row and the limit), and a baseline that
would use such an arm says it is infeasible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.fits.catalogue import load_catalogue
from planner.fleet.spec import Fleet
from planner.routing.arms import build_arms
from planner.routing.baselines import run_baselines
from planner.routing.optimize import InfeasiblePlanError, Planner
from planner.routing.paper_milp import solve_per_query
from planner.workload.load import Workload
from tests.planner.plan_fixtures import report


def _workload(rows, name="w"):
    q = pd.DataFrame(rows, columns=["input_tokens", "output_tokens"])
    q["task"], q["count"] = "general", 1
    return Workload(q, name)


@pytest.mark.parametrize("tokens", [100_000, 1_000_000])
def test_a_query_no_arm_takes_is_refused_naming_its_row_and_the_limit(tokens):
    cat = load_catalogue()
    planner = Planner(
        build_arms(cat.reports), _workload([(100, 10), (200, 20), (tokens, 20)]), Fleet()
    )
    with pytest.raises(InfeasiblePlanError) as err:
        planner.solve("paper", zeta=0.5)
    text = str(err.value)
    assert f"workload row 3 ({tokens:,} input + 20 output = {tokens + 20:,} tokens)" in text
    assert "the longest context is 32,768 tokens (Mistral (7B), Mixtral (8x7B))" in text
    with pytest.raises(InfeasiblePlanError, match="workload row 3"):
        planner.solve("energy")


def _short_and_long_case():
    """'short' (1 J per output token, context 4096 from its measured grid) and 'long'
    (3 J per output token, registry context of Mistral 7B: 32768 tokens)."""
    fleet = Fleet.from_dict({"llm": {"short": {"accuracy": 50}}})
    reps = []
    for model, joules in (("short", 1.0), ("Mistral-7B-v0.1", 3.0)):
        reps.append(report(model, "s", "energy", (joules,), ("tout",), cov_scale=None))
        reps.append(report(model, "s", "runtime", (0.01,), ("tout",), cov_scale=None))
    workload = _workload([(100, 10), (5000, 10), (3000, 2000), (20, 30)])
    return Planner(build_arms(reps, fleet), workload, fleet), fleet


def test_the_plan_never_routes_beyond_a_context_and_the_reference_agrees():
    planner, fleet = _short_and_long_case()
    short = [a.model for a in planner.data.arms].index("short")
    # distinct queries in (tin, tout) order: 20+30, 100+10, 3000+2000, 5000+10 tokens
    assert planner.data.allowed[:, short].tolist() == [True, True, False, False]
    for kwargs in ({"objective": "energy"}, {"objective": "paper", "zeta": 0.9}):
        plan = planner.solve(**kwargs)
        assert plan.assignments()["model"].tolist() == [
            "short",
            "Mistral-7B-v0.1",
            "Mistral-7B-v0.1",
            "short",
        ]
        assert not plan.violations
        ref = solve_per_query(planner.data, **kwargs)
        assert plan.objective_value == pytest.approx(ref["objective_value"], rel=1e-9)
    assert plan.arms["over_context_queries"].tolist() == [0, 0]


def test_baselines_that_cross_a_context_say_they_are_infeasible():
    planner, fleet = _short_and_long_case()
    plans = run_baselines(planner.data.arms, planner.data.workload, fleet, data=planner.data)
    single = plans["single:short@s"]
    assert single.message.startswith("infeasible: 2 queries on short @ s are longer than its ")
    assert any("context of 4,096 tokens" in v for v in single.violations)
    assert not plans["single:Mistral-7B-v0.1@s"].violations
    cheapest = plans["cheapest_energy"]  # a policy that chooses per query takes only arms that fit
    assert not cheapest.violations and cheapest.arms["over_context_queries"].sum() == 0
    best = plans["most_accurate_fastest"]  # both score 50 %: the arm that takes every query
    assert "Mistral-7B-v0.1" in best.name and not best.violations
    round_robin = plans["round_robin"]
    assert round_robin.violations and round_robin.message.startswith("infeasible: ")


def test_an_llm_without_a_known_context_is_limited_to_what_was_measured():
    planner, _ = _short_and_long_case()
    short = next(a for a in planner.data.arms if a.model == "short")
    assert short.context_tokens == 4096
    assert "longest query measured" in short.context_source
    assert np.isinf(planner.data.context_tokens).sum() == 0
