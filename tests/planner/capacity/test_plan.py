"""Options under latency targets, whole plans, baselines and the JSON document."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from planner.capacity.options import (
    InfeasibleTargetError,
    apply_targets,
    candidate_options,
    options_from_rows,
    pareto_front,
)
from planner.capacity.plan import CapacityError, plan_capacity
from planner.capacity.problem import InfeasibleCapacityError
from planner.capacity.profile import synthetic_profile
from planner.fleet.spec import Fleet
from tests.planner.capacity.helpers import serving_rows


@pytest.fixture(scope="module")
def options():
    opts, _ = candidate_options(serving_rows(), use_models=False)
    return opts


def test_options_table_from_serving_rows():
    opts = options_from_rows(serving_rows())
    assert len(opts) == 9
    row = opts[(opts["system"] == "B200") & (opts["batch"] == 64)].iloc[0]
    assert row["energy_per_token_j"] == 0.09
    assert row["throughput_tps"] == 6500
    assert row["llm"] == "Llama-2 (7B)"
    assert row["accuracy"] > 0  # the paper's score for Llama 2 7B, from the registry
    assert row["idle_power_w_per_gpu"] > 0
    assert np.isnan(row["ttft_ms_p90"])


def test_pareto_front_drops_dominated_points():
    rows = serving_rows()
    extra = rows.iloc[[1]].copy()
    extra["mean_batch"] = 100.0
    extra["energy_per_output_token_j"] = 0.5  # more energy and less throughput than batch 64
    opts = options_from_rows(pd.concat([rows, extra], ignore_index=True))
    front = pareto_front(opts)
    assert 100.0 not in set(front["batch"])
    # within a setup, a larger batch here has less energy per token and more throughput
    assert len(front) == 3 and set(front["batch"]) == {256.0}


def test_infeasible_itl_target_names_the_best_arm():
    opts = options_from_rows(serving_rows())
    with pytest.raises(InfeasibleTargetError) as exc:
        apply_targets(opts, itl_ms_p90=5)
    assert str(exc.value) == (
        "p90 ITL 5 ms is below what any arm reaches at its smallest batch: "
        "6 ms on Llama-2 (7B) @ B200 (batch 8)"
    )


def test_ttft_target_is_said_unchecked_where_unmeasured():
    opts = options_from_rows(serving_rows())
    kept, notes = apply_targets(opts, ttft_ms_p90=200)
    assert len(kept) == len(opts)
    assert any("not checked" in n for n in notes)


def test_plan_meets_demand_capacity_and_latency():
    kept, _ = candidate_options(serving_rows(), itl_ms_p90=25, use_models=False)
    assert len(kept) == 3  # batch 64 of each setup: batch 256 breaks the target
    profile = synthetic_profile("diurnal:20", 24, 3600, seed=3)
    plan = plan_capacity(profile, kept)
    d = plan.data
    assert plan.w.sum(axis=1) == pytest.approx(profile.slots["output_tokens"].to_numpy(), rel=1e-9)
    assert np.all(plan.w <= plan.n * d.capacity_tokens + 1e-6)
    used = plan.n.sum(axis=0) > 0
    assert (plan.options.loc[used, "itl_ms_p90"] <= 25).all()
    assert plan.totals["energy_j"] == pytest.approx(
        plan.totals["active_energy_j"] + plan.totals["idle_energy_j"]
    )
    assert plan.totals["idle_energy_j"] >= 0
    frame = plan.instances_frame()
    assert (frame["utilisation"] <= 1 + 1e-9).all()
    assert plan.energy_frame()["energy_j"].sum() == pytest.approx(plan.totals["energy_j"])
    assert len(plan.profile_frame()) == 24


@pytest.mark.parametrize(
    "kwargs",
    [
        {"objective": "energy"},
        {"objective": "energy", "zeta": 0.5},
        {"objective": "energy", "min_accuracy": 52.0},
        {"objective": "carbon"},
        {"objective": "cost", "gpu_hour_price": {"H100": 2.0, "B200": 5.0}},
    ],
)
def test_never_worse_than_a_feasible_baseline(options, kwargs):
    fleet = Fleet.from_dict(
        {"facility": {"pue": 1.2, "carbon_g_per_kwh": 300, "price_per_kwh": 0.2}}
    )
    profile = synthetic_profile("bursty:5,3", 12, 1800, seed=1)
    plan = plan_capacity(profile, options, fleet=fleet, **kwargs)
    feasible = [b for b in plan.baselines.values() if b["feasible"]]
    assert len(feasible) >= 2
    for b in feasible:
        assert plan.objective_value <= b["objective_value"] + 1e-9 * abs(b["objective_value"])
    if "min_accuracy" in kwargs:
        assert plan.totals["accuracy"] >= 52.0 - 1e-6


def test_json_document_has_the_issue_keys(options):
    profile = synthetic_profile("poisson:3", 2, 3600, seed=0)
    plan = plan_capacity(profile, options)
    doc = json.loads(json.dumps(plan.to_json()))
    slot = doc["slots"][0]
    assert {"start", "requests", "output_tokens", "arms"} <= set(slot)
    arm = slot["arms"][0]
    assert {
        "model",
        "system",
        "operating_point",
        "instances",
        "requests",
        "output_tokens",
        "capacity_output_tokens",
        "itl_ms_p90",
        "ttft_ms_p90",
    } <= set(arm)
    assert arm["capacity_output_tokens"] >= arm["output_tokens"]
    assert sum(a["requests"] for a in slot["arms"]) == pytest.approx(slot["requests"])
    totals = doc["totals"]
    for key in ("energy_j", "active_energy_j", "idle_energy_j", "gpu_hours", "co2e_kg", "cost",
                "accuracy", "solve_seconds", "warnings"):  # fmt: skip
        assert key in totals
    assert totals["cost"] is None and any("cost: null" in w for w in totals["warnings"])
    for b in doc["baselines"].values():
        assert "feasible" in b and "energy_j" in b


def test_unscored_llms_are_left_out_with_a_notice(options):
    opts = options.copy()
    opts.loc[opts["llm"] == "Llama-2 (13B)", "accuracy"] = np.nan
    profile = synthetic_profile("poisson:3", 2, 3600, seed=0)
    plan = plan_capacity(profile, opts, zeta=0.3)
    assert "Llama-2 (13B)" not in set(plan.options["llm"])
    assert any("left out" in w and "Llama-2 (13B)" in w for w in plan.warnings)
    opts["accuracy"] = np.nan
    with pytest.raises(CapacityError, match="fleet file"):
        plan_capacity(profile, opts, zeta=0.3)


def test_gpu_limit_infeasible_is_named(options):
    fleet = Fleet.from_dict({"system": {"H100": {"devices": 0}, "B200": {"devices": 1}}})
    profile = synthetic_profile("poisson:200", 1, 3600, seed=0)
    with pytest.raises(InfeasibleCapacityError, match="GPU limits"):
        plan_capacity(profile, options, fleet=fleet)


def test_options_on_a_system_without_idle_power_are_left_out_with_a_note():
    import math

    import pandas as pd

    from planner.capacity.options import InfeasibleTargetError, apply_targets

    options = pd.DataFrame(
        {
            "system": ["H100", "L4"],
            "idle_power_w_per_gpu": [95.0, math.nan],
            "idle_source": ["documented", "no documented or measured idle power for L4"],
            "itl_ms_p90": [10.0, 10.0],
            "ttft_ms_p90": [math.nan, math.nan],
        }
    )
    kept, notes = apply_targets(options)
    assert list(kept["system"]) == ["H100"]
    assert any("options on L4 are left out" in n for n in notes)
    with pytest.raises(InfeasibleTargetError, match="no documented or measured idle power"):
        apply_targets(options[options.system == "L4"])
