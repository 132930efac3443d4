"""Serving arms in the routing planner: one arm per measured serving setup at an operating
point, planned end to end (HiGHS) with energies e(b) x output tokens and instance time
output tokens / T(b), idle energy of the provisioned GPUs reported apart, names unique per
setup, ITL targets, LLMs without a score left out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planner.fleet.spec import Fleet, FleetError, LLMSpec, SystemSpec
from planner.routing.arms import (
    PAPER_OPERATING_POINT,
    build_arms,
    build_serving_arms,
    serving_operating_point,
)
from planner.routing.baselines import run_baselines
from planner.routing.optimize import Planner
from planner.routing.plan import PlanData
from planner.serving.embedded import embedded_arms, read_embedded
from planner.serving.idle import idle_power
from planner.workload.load import Workload, synthetic_workload

SMALL = "Qwen/Qwen3-8B"
LARGE = "Qwen/Qwen3-30B-A3B-Instruct-2507"  # measured on one and on two H100s


@pytest.fixture(scope="module")
def catalogue():
    return read_embedded()


@pytest.fixture(scope="module")
def chat_h100(catalogue):
    """The committed catalogue's chat setups of two LLMs on H100 (three setups)."""
    arms = embedded_arms(catalogue, tasks=["lm-arena-chat"], systems=["H100"])
    return [a for a in arms if a.setup.model in (SMALL, LARGE)]


def fleet(devices=None, window_h=24.0, **llm) -> Fleet:
    scores = {SMALL: 60.0, LARGE: 70.0}
    return Fleet(
        llm={m: LLMSpec(accuracy=scores[m], **llm.get(m, {})) for m in scores},
        system={"H100": SystemSpec(devices=devices, window_h=window_h)},
    )


def workload(n: int = 60, seed: int = 1) -> Workload:
    rng = np.random.default_rng(seed)
    return Workload(
        pd.DataFrame(
            {
                "input_tokens": rng.integers(10, 400, n),
                "output_tokens": rng.integers(20, 800, n),
                "task": "chat",
                "count": 1,
            }
        ),
        name="test",
    )


def test_one_arm_per_setup_at_its_largest_batch_with_unique_names(chat_h100):
    arms = build_serving_arms(chat_h100, fleet())
    assert len(arms) == 3 and len({a.name for a in arms}) == 3
    assert {(a.model, a.devices_per_instance) for a in arms} == {(SMALL, 1), (LARGE, 1), (LARGE, 2)}
    by_setup = {a.setup.label: a for a in chat_h100}
    for arm in arms:
        setup = next(s for s in by_setup.values() if arm.name.startswith(s.setup.label))
        top = setup.model.predict(setup.model.max_batch_)
        assert arm.energy.curve.terms == ("tout",) and arm.runtime.curve.terms == ("tout",)
        assert arm.energy.curve.coef[0] == pytest.approx(top.energy_per_token_j)
        assert arm.runtime.curve.coef[0] == pytest.approx(1.0 / top.throughput_tps)
        assert arm.operating_point == f"continuous batching, batch {top.batch:.0f} (vllm)"
        assert any("prefill folded in" in n for n in arm.notes)
        assert arm.idle_power_w == pytest.approx(idle_power("H100").power_w)
    assert "largest measured batch" in arms.notices[0]
    PlanData(arms, workload(), fleet())  # two setups of one (LLM, system) are two arms


def test_serving_plan_end_to_end_energies_and_instance_time_by_hand(chat_h100):
    """A minimum share for the larger LLM splits the queries between arms (an LP with
    HiGHS); every figure of the plan is e(b) x tout and tout / T(b) x GPUs, summed by hand."""
    wl = workload(200)
    fl = fleet(**{LARGE: {"share": 0.3}})
    fl.min_share_fraction = 1.0
    arms = build_serving_arms(chat_h100, fl)
    plan = Planner(arms, wl, fl).solve("energy")
    assert plan.status == "optimal" and not plan.violations
    table = plan.assignments()
    by_name = {a.name: a for a in arms}
    hand_energy = sum(
        by_name[n].energy.curve.coef[0] * g["output_tokens"].sum() for n, g in table.groupby("arm")
    )
    hand_device_s = sum(
        by_name[n].runtime.curve.coef[0]
        * by_name[n].devices_per_instance
        * g["output_tokens"].sum()
        for n, g in table.groupby("arm")
    )
    assert table["arm"].nunique() >= 2  # the share made it split
    assert (table["model"] == LARGE).sum() == 60
    assert plan.energy_j == pytest.approx(hand_energy, rel=1e-9)
    assert plan.active_energy_j == plan.energy_j
    assert plan.arms["device_hours"].sum() * 3600 == pytest.approx(hand_device_s, rel=1e-9)
    used = plan.arms[plan.arms["queries"] > 0]
    for _, row in used.iterrows():
        arm = by_name[row["arm"]]
        mine = table[table["arm"] == row["arm"]]["output_tokens"]
        assert row["energy_j"] == pytest.approx(arm.energy.curve.coef[0] * mine.sum())
        assert row["mean_latency_s"] == pytest.approx(mine.mean() * arm.itl_ms_p50 / 1000)
        assert row["operating_point"] == arm.operating_point


def test_idle_energy_is_idle_power_times_gpus_times_the_time_not_busy(chat_h100):
    wl = workload(100)
    fl = fleet(devices=4, window_h=2.0)
    arms = build_serving_arms(chat_h100, fl)
    plan = Planner(arms, wl, fl).solve("paper", zeta=0.5)
    busy_gpu_s = float((plan.arms["runtime_s"] * plan.arms["gpus_per_instance"]).sum())
    watts = idle_power("H100").power_w
    # idle W x GPUs x (window - busy time of a GPU, the busy GPU-seconds spread over 4)
    expected = watts * 4 * (2.0 * 3600 - busy_gpu_s / 4)
    assert plan.idle_energy_j == pytest.approx(expected, rel=1e-9)
    row = plan.idle.iloc[0]
    assert row["system"] == "H100" and row["gpus"] == 4
    assert row["busy_gpu_hours"] * 3600 == pytest.approx(busy_gpu_s)
    assert plan.total_energy_j == pytest.approx(plan.energy_j + expected)


def test_a_plan_busier_than_its_gpus_warns_with_the_excess(chat_h100):
    # one GPU for 3.6 s cannot serve 100 queries: idle is floored at 0 for H100, and the
    # plan's warnings name the system and by how many GPU-hours it overran
    from planner.routing.plan import make_plan

    fl = fleet(devices=1, window_h=0.001)
    arms = build_serving_arms(chat_h100, fl)
    data = PlanData(arms, workload(100), fl)
    alloc = np.zeros((len(data.count), len(arms)))
    alloc[:, 0] = data.count  # everything on the first arm, capacity or not
    plan = make_plan(data, alloc, name="overrun", status="test")
    row = plan.idle.iloc[0]
    excess_h = row["busy_gpu_hours"] - 1 * 0.001
    assert excess_h > 0 and row["idle_energy_j"] == 0.0
    (said,) = [w for w in plan.warnings if w.startswith("H100: the plan keeps its GPUs busy")]
    assert f"{excess_h:.3g} GPU-hours more than its 1 GPUs x 0.001 h window" in said
    # within its GPUs, no such warning
    roomy = fleet(devices=64, window_h=24.0)
    data = PlanData(build_serving_arms(chat_h100, roomy), workload(100), roomy)
    plan = make_plan(data, alloc, name="fits", status="test")
    assert not any("GPU-hours more than" in w for w in plan.warnings)


def test_without_a_device_count_idle_counts_the_fewest_whole_instances(chat_h100):
    wl = workload(100)
    fl = fleet(devices=None, window_h=1.0)
    arms = build_serving_arms(chat_h100, fl)
    plan = Planner(arms, wl, fl).solve("energy")
    used = plan.arms[plan.arms["queries"] > 0]
    gpus = sum(
        math.ceil(r["runtime_s"] / 3600.0) * r["gpus_per_instance"] for _, r in used.iterrows()
    )
    busy = float((used["runtime_s"] * used["gpus_per_instance"]).sum())
    assert plan.idle["gpus"].iloc[0] == gpus
    assert plan.idle_energy_j == pytest.approx(idle_power("H100").power_w * (gpus * 3600 - busy))
    assert "no device count" in plan.idle["provisioning"].iloc[0]


def test_an_itl_target_picks_a_smaller_batch_and_leaves_out_setups_that_miss_it(chat_h100):
    target = 25.0
    arms = build_serving_arms(chat_h100, fleet(), itl_ms_p90_max=target)
    for arm in arms:
        assert arm.itl_ms_p90 <= target + 1e-6
    top = {a.name.split(" · ")[0]: a for a in build_serving_arms(chat_h100, fleet())}
    for arm in arms:
        assert arm.energy.curve.coef[0] >= top[arm.name.split(" · ")[0]].energy.curve.coef[0]
    with pytest.raises(Exception, match="no batch meets ITL p90 <= 0.5 ms"):
        build_serving_arms(chat_h100, fleet(), itl_ms_p90_max=0.5)
    point, words = serving_operating_point(chat_h100[0], target)
    assert point.itl_ms_p90 <= target + 1e-6 and f"{target:g} ms" in words


def test_an_llm_without_a_score_is_left_out_and_none_scored_is_an_error(chat_h100, monkeypatch):
    import planner.fleet.spec as spec

    monkeypatch.setattr(spec, "default_accuracy", lambda model: None)
    only_small = Fleet(llm={SMALL: LLMSpec(accuracy=60.0)})
    arms = build_serving_arms(chat_h100, only_small)
    assert {a.model for a in arms} == {SMALL}
    assert any(LARGE in n and "no accuracy score" in n for n in arms.notices)
    with pytest.raises(FleetError, match="none has an accuracy score"):
        build_serving_arms(chat_h100, Fleet())


def test_baselines_run_over_serving_arms_one_per_setup(chat_h100):
    wl = workload(50)
    arms = build_serving_arms(chat_h100, fleet())
    plans = run_baselines(arms, wl, fleet())
    singles = [k for k in plans if k.startswith("single:")]
    assert len(singles) == 3  # the two setups of LARGE on H100 are two baselines
    for key in singles:
        plan = plans[key]
        assert plan.energy_j > 0 and plan.idle_energy_j >= 0


def test_paper_arms_keep_one_prompt_at_a_time_and_count_no_idle_energy():
    from planner.fits.catalogue import load_catalogue

    reports = load_catalogue().reports
    arms = build_arms(reports, Fleet(), form="default")
    assert {a.operating_point for a in arms} == {PAPER_OPERATING_POINT}
    assert all(a.name == f"{a.model} @ {a.system}" for a in arms)
    plan = Planner(arms, synthetic_workload("chat", 200, seed=0)).solve("paper")
    assert plan.idle_energy_j == 0.0 and plan.idle.empty
    assert plan.arms["operating_point"].eq(PAPER_OPERATING_POINT).all()


def test_the_summary_json_carries_active_and_idle_energy_apart(chat_h100):
    import json

    from planner.report.exports import PlanSetup, summary_json
    from planner.report.summary import summarize

    wl = workload(40)
    fl = fleet(devices=2, window_h=1.0)
    arms = build_serving_arms(chat_h100, fl)
    planner = Planner(arms, wl, fl)
    plan = planner.solve("paper", zeta=0.5)
    summary = summarize(plan, fl)
    assert summary["active_energy_j"] == plan.energy_j > 0
    assert summary["idle_energy_j"] == plan.idle_energy_j > 0
    assert summary["total_facility_kwh"] == pytest.approx(
        (plan.energy_j + plan.idle_energy_j) / 3.6e6 * fl.facility.pue
    )
    baselines = run_baselines(arms, wl, fl, data=planner.data)
    setup = PlanSetup(fleet=fl, fits="serving", citation="", form=None, settings={})
    payload = json.loads(summary_json(plan, baselines, setup))
    assert payload["plan"]["idle"][0]["system"] == "H100"
    assert {a["operating_point"] for a in payload["plan"]["arms"]} == {
        a.operating_point for a in arms
    }


def test_a_system_without_a_safe_idle_figure_is_planned_with_its_idle_not_counted():
    import pandas as pd

    from planner.routing.arms import build_serving_arms
    from planner.serving.catalogue import serving_arms

    rows = pd.DataFrame(
        {
            "row_key": ["a", "b", "c"],
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "system": "L4",
            "n_gpus": 1,
            "weight_precision": "bfloat16",
            "engine": "vllm",
            "task": "chat",
            "mean_batch": [1.0, 8.0, 32.0],
            "energy_per_output_token_j": [2.0, 0.5, 0.2],
            "output_throughput_tps": [40.0, 250.0, 700.0],
            "itl_ms_p90": [25.0, 32.0, 45.0],
            "energy_source": "nvml",
            "energy_scope": "gpu",
        }
    )
    arms = build_serving_arms(serving_arms(rows))
    assert len(arms) == 1 and arms[0].idle_power_w is None
    assert any("idle energy of L4 is not counted" in n for n in arms.notices)
