"""Column generation's start: the Lagrangian dual ascent reaches the LP bound, so one
pricing round suffices where capacity binds; the integer phase stays within tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from planner.fleet.spec import Fleet
from planner.routing import optimize
from planner.routing._pricing import ascend_duals
from planner.routing.arms import build_arms
from planner.routing.constraints import coupling_rows, undominated
from planner.routing.optimize import Planner
from planner.routing.problem import RoutingProblem, objective_cost
from planner.workload.load import synthetic_workload
from tests.planner.plan_fixtures import PUBLISHED, published_reports, report

SHARES = {
    "Llama-2-7b-chat-hf": {"share": 0.05},
    "Llama-2-13b-chat-hf": {"share": 0.2},
    "Llama-2-70b-chat-hf": {"share": 0.75},
}


def copy_reports():
    """The published fits on a system "other" that is faster and hungrier (energy x1.4,
    runtime x0.7)."""
    return [
        report(model, "other", target, np.asarray(coef) * scale)
        for model, fits in PUBLISHED.items()
        for target, coef, scale in zip(("energy", "runtime"), fits, (1.4, 0.7))
    ]


@pytest.fixture(scope="module")
def capacity_planner():
    """The published fits on one system and a faster, hungrier copy (energy x1.4, runtime
    x0.7) on another, each with 300 device-hours: about 740 would be used at low zeta
    without limits, so capacity binds."""
    limited = {"devices": 1, "window_h": 300.0}
    fleet = Fleet.from_dict(
        {
            "min_share_fraction": 0.25,
            "llm": SHARES,
            "system": {"argonne-swing": limited, "other": limited},
        }
    )
    reports = published_reports() + copy_reports()
    arms = build_arms(reports, fleet, energy="gpu")
    planner = Planner(arms, synthetic_workload("chat", 12000, seed=5), fleet)
    assert planner.data.shape[0] > optimize.FULL_LP_GROUPS
    return planner


def dual_value(problem, allowed, y) -> float:
    lagr = np.where(allowed, problem.lagrangian(y), np.inf)
    return float(np.asarray(problem.rows.rhs) @ y + problem.data.count @ lagr.min(axis=1))


@pytest.mark.parametrize("zeta", [0.1, 0.3])
def test_ascent_reaches_the_full_lps_value(capacity_planner, zeta):
    p = capacity_planner
    cost, rows = objective_cost(p.data, "paper", zeta), coupling_rows(p.data, None)
    assert "capacity" in rows.family
    problem = RoutingProblem(p.data, rows, cost)
    allowed = undominated(problem)
    full = problem.solve(allowed)  # the whole LP at once
    y = ascend_duals(
        problem,
        allowed,
        np.zeros(len(rows)),
        y_max=1e3 * float(np.max(np.abs(cost))),
        tol=1e-9 * abs(full.value),
    )
    assert np.all(y >= 0)
    assert np.any(y[[f == "capacity" for f in rows.family]] > 0)  # capacity binds
    bound = dual_value(problem, allowed, y)
    assert bound <= full.value + 1e-7 * abs(full.value)  # weak duality
    assert bound == pytest.approx(full.value, rel=1e-6)  # and no gap left


def test_new_zetas_take_one_pricing_round_and_match_the_full_lp(capacity_planner, monkeypatch):
    p = capacity_planner
    plans = {z: p.solve("paper", zeta=z) for z in (0.5, 0.3, 0.1)}
    assert p.last_stats["rounds"] == 1
    monkeypatch.setattr(optimize, "FULL_LP_GROUPS", 10**9)
    full = Planner(p.data.arms, p.data.workload, p.fleet)
    tolerance = 1e-7 * float(
        p.data.count @ np.abs(objective_cost(p.data, "paper", 0.1)).mean(axis=1)
    )
    for z, plan in plans.items():
        assert not plan.violations
        assert plan.objective_value == pytest.approx(
            full.solve("paper", zeta=z).objective_value, abs=2 * tolerance, rel=1e-7
        )


def test_least_energy_stage_prices_the_optimal_face(monkeypatch):
    """At zeta = 0 an LLM's arms on both systems tie (the copy uses 1.4x the energy); the
    least-energy second stage solves its LP by column generation over the optimal face and
    ends where one LP over the whole face ends, on fewer columns."""
    from planner.routing import _tiebreak as tiebreak

    fleet = Fleet.from_dict({"min_share_fraction": 0.25, "llm": SHARES})
    arms = build_arms(published_reports() + copy_reports(), fleet, energy="gpu")
    workload = synthetic_workload("chat", 12000, seed=5)
    priced = Planner(arms, workload, fleet).solve("paper", zeta=0.0)
    assert "the least energy" in priced.detail
    monkeypatch.setattr(tiebreak, "FACE_ROUNDS", 0)  # straight to one LP over the face
    whole = Planner(arms, workload, fleet).solve("paper", zeta=0.0)
    assert priced.objective_value == pytest.approx(whole.objective_value, rel=1e-9)
    assert priced.energy_j == pytest.approx(whole.energy_j, rel=1e-9)
    assert not any(a.system == "other" for a in priced.assignments().itertuples())
    columns = [int(m.split(" over ")[-1].split()[0]) for m in (priced.detail, whole.detail)]
    assert columns[0] < columns[1]
