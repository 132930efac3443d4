"""Plan summaries: units, facility figures, savings, energy intervals and labels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planner.fleet.spec import Fleet
from planner.report.summary import compare, frontier_table, summarize
from planner.routing.arms import build_arms
from planner.routing.baselines import run_baselines
from planner.routing.optimize import Planner
from planner.workload.load import Workload, synthetic_workload
from tests.planner.plan_fixtures import published_reports, report


@pytest.fixture(scope="module")
def setup():
    fleet = Fleet.from_dict(
        {"facility": {"pue": 1.25, "carbon_g_per_kwh": 300, "price_per_kwh": 0.1}}
    )
    arms = build_arms(
        published_reports(["Llama-2-7b-chat-hf", "Llama-2-13b-chat-hf", "Mistral-7B-v0.1"]),
        fleet,
        energy="gpu",
    )
    workload = synthetic_workload("chat", 500, seed=1)
    planner = Planner(arms, workload, fleet)
    return planner, planner.solve("energy"), fleet


def test_summary_units(setup):
    planner, plan, fleet = setup
    s = summarize(plan, fleet)
    assert s["energy_kwh"] == pytest.approx(plan.energy_j / 3.6e6)
    assert s["facility_kwh"] == pytest.approx(1.25 * s["energy_kwh"])
    assert s["co2e_g"] == pytest.approx(300 * s["facility_kwh"])
    assert s["co2e_t"] == pytest.approx(s["co2e_g"] / 1e6)
    assert s["cost"] == pytest.approx(0.1 * s["facility_kwh"])
    assert s["mean_runtime_s"] == pytest.approx(plan.runtime_s / 500)
    assert s["energy_sources"] == "imported" and s["energy_kind"] == "gpu"
    assert not s["is_estimated"]
    lo, hi = s["energy_ci_j"]
    assert lo < s["energy_j"] < hi
    assert summarize(plan)["co2e_g"] is None and summarize(plan)["cost"] is None


def test_energy_interval_matches_hand_propagation(setup):
    planner, plan, _ = setup
    d = planner.data
    var = 0.0
    for k, arm in enumerate(d.arms):
        g = plan.alloc[:, k].astype(float) @ arm.energy.curve.design(d.tin, d.tout)
        var += g @ arm.energy.curve.coef_cov @ g
    half = 1.959963984540054 * math.sqrt(var)
    assert plan.energy_ci_j == pytest.approx((plan.energy_j - half, plan.energy_j + half))


def test_compare_savings(setup):
    planner, plan, fleet = setup
    baselines = run_baselines(
        planner.data.arms, planner.data.workload, fleet, objective="energy", data=planner.data
    )
    table = compare(plan, baselines, fleet)
    assert table.iloc[0]["key"] == "plan" and table.iloc[0]["saving_j"] == 0
    rr = table.set_index("key").loc["round_robin"]
    assert rr["saving_j"] == pytest.approx(baselines["round_robin"].energy_j - plan.energy_j)
    assert rr["saving_pct"] == pytest.approx(100 * rr["saving_j"] / rr["energy_j"])
    assert (table["saving_j"] >= -1e-6).all()  # the least-energy plan saves against all


def test_estimated_energy_is_labelled():
    reps = [
        report("X", "laptop", "energy", (0.0, 2.0, 0.0), sources=("estimated",)),
        report("X", "laptop", "runtime", (0.0, 0.1, 0.0)),
    ]
    fleet = Fleet.from_dict({"llm": {"X": {"accuracy": 30}}})
    plan = Planner(build_arms(reps, fleet), synthetic_workload("code", 20), fleet).solve()
    s = summarize(plan, fleet)
    assert s["is_estimated"] and s["energy_sources"] == "estimated"
    assert s["arms"][0]["is_estimated"]
    assert any("estimated, not measured" in w for w in s["warnings"])


def test_extrapolation_and_negative_energy_are_warned():
    reps = [
        report("X", "gpu", "energy", (-5.0, 1.0, 0.0)),  # paper-like, unclipped
        report("X", "gpu", "runtime", (0.0, 0.1, 0.0)),
    ]
    fleet = Fleet.from_dict({"llm": {"X": {"accuracy": 30}}})
    q = pd.DataFrame(
        {"input_tokens": [100, 4000], "output_tokens": [10, 10], "task": "general", "count": 1}
    )
    plan = Planner(build_arms(reps, fleet), Workload(q, "w"), fleet).solve()
    s = summarize(plan, fleet)
    assert s["out_of_range_queries"] == 1  # tin 4000 is outside the fitted 8..2048
    assert any("1 queries are served by arms whose fits did not cover" in w for w in s["warnings"])
    assert any(
        "X @ gpu: the energy of 2 queries raised to the physical floor" in w for w in s["warnings"]
    )
    assert (plan.data.energy_j > 0).all() and plan.energy_j > 0


def test_frontier_table(setup):
    planner, _, fleet = setup
    plans = planner.frontier(zetas=[0.0, 0.5, 1.0])
    baselines = run_baselines(planner.data.arms, planner.data.workload, fleet, data=planner.data)
    table = frontier_table(plans, baselines, fleet)
    assert (table["kind"] == "frontier").sum() == 3
    assert (table["kind"] == "baseline").sum() == len(baselines)
    assert table.loc[table["kind"] == "frontier", "zeta"].tolist() == [0.0, 0.5, 1.0]
    assert np.isfinite(table["energy_j"]).all()


def test_energy_interval_leaves_out_predictions_clipped_at_zero():
    """tout 200 (count 3) predicts 100 J each; tout 50 predicts -100 + 50 < 0, which
    planning raises to the fit's physical floor (its least positive figure per token at the
    corners of its measured range, 1948 J / 4096 tokens, times 60 tokens); a prediction
    clipped at zero adds nothing to the interval."""
    cov = np.diag([4.0, 1e-4])
    reps = [
        report("X", "s", "energy", (-100.0, 1.0), ("1", "tout"), cov_scale=None, clip=True),
        report("X", "s", "runtime", (0.0, 0.1), ("1", "tout"), cov_scale=None),
    ]
    reps[0].curve.coef_cov = cov
    fleet = Fleet.from_dict({"llm": {"X": {"accuracy": 30}}})
    q = pd.DataFrame(
        {"input_tokens": [10, 10], "output_tokens": [50, 200], "task": "general", "count": [2, 3]}
    )
    plan = Planner(build_arms(reps, fleet), Workload(q, "w"), fleet).solve()
    floor = 60 * 1948 / 4096
    assert plan.energy_j == pytest.approx(300.0 + 2 * floor)
    g = np.array([3.0, 600.0])
    half = 1.959963984540054 * math.sqrt(g @ cov @ g)
    assert plan.energy_ci_j == pytest.approx((plan.energy_j - half, plan.energy_j + half))


def test_paper_normalisation_with_floored_energies():
    """e_hat = e / max e over every (query, arm); planning's energies are never negative:
    a paper-like fit's are raised to its physical floor (at (100, 10): its figure at
    (8, 10) is negative too, so its least positive figure per token, 2008 J / 2056 tokens,
    times 110 tokens; at (10, 100): its figure at (8, 100), 60 J)."""
    reps = [
        report("X", "s", "energy", (-5.0, 1.0, 0.0)),
        report("X", "s", "runtime", (0.0, 0.1, 0.0)),
    ]
    fleet = Fleet.from_dict({"llm": {"X": {"accuracy": 30}}})
    q = pd.DataFrame(
        {"input_tokens": [100, 10], "output_tokens": [10, 100], "task": "general", "count": 1}
    )
    data = Planner(build_arms(reps, fleet), Workload(q, "w"), fleet).data
    e_hat, a_hat = data.normalised()
    assert sorted(data.energy_j[:, 0]) == pytest.approx([60.0, 110 * 2008 / 2056])
    assert data.energy_floored.all()
    assert e_hat.max() == 1.0 and e_hat.min() > 0 and a_hat.max() == 1.0
