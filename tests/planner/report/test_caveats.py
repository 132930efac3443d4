"""A plan's caveats in plain words (``planner.report.caveats``): a code-trace workload on the
catalogue's defaults says which queries are extrapolated and floored, per arm and with their
share, and that energy bases are mixed; endings, broken limits and estimated energy too."""

from __future__ import annotations

import dataclasses
import re

import pytest

from planner.report.caveats import caveat_list, main_caveats, plan_caveats
from planner.routing.baselines import run_baselines
from tests.planner.report.catalogue_plans import code_trace, default_planner


@pytest.fixture(scope="module")
def trace():
    planner = default_planner(code_trace())
    plan = planner.solve("paper", zeta=0.5)
    baselines = run_baselines(
        planner.data.arms, planner.data.workload, planner.fleet, data=planner.data
    )
    return planner, plan, baselines


def test_a_code_trace_names_extrapolated_and_floored_queries_per_arm_with_their_share(trace):
    _, plan, _ = trace
    caveats = plan_caveats(plan)
    used = plan.arms[plan.arms["queries"] > 0]
    for row in used[used["out_of_range_queries"] > 0].itertuples():
        k = row.out_of_range_queries
        share = f"{100 * k / plan.n_queries:.3g}".rstrip("0").rstrip(".")
        said = [c for c in caveats if c.startswith(f"{row.model} on {row.system} serves {k:,} ")]
        assert len(said) == 1, caveats
        assert f"({share}% of the workload)" in said[0] and "extrapolated" in said[0]
    floored = used[used["floored_queries"] > 0]
    assert len(floored), "the paper-form fits floor long prompts with short outputs"
    for row in floored.itertuples():
        assert any(
            c.startswith(f"{row.model} on {row.system}:") and "physical floor" in c for c in caveats
        ), caveats
    # the raw warnings these sentences restate are not repeated beside them
    assert not any("(extrapolated)" in c for c in caveats)
    assert all(c.endswith(".") and "\n" not in c for c in caveats)


def test_mixed_energy_bases_are_said_once_with_the_arms_on_each(trace):
    _, plan, baselines = trace
    kinds = set(plan.arms.loc[plan.arms["queries"] > 0, "energy_kind"])
    bases = [c for c in caveat_list(plan) if c.kind == "bases"]
    if kinds == {"gpu", "total"}:
        assert len(bases) == 1 and "GPU only" in bases[0].text and "GPU + CPU" in bases[0].text
    # against the round robin (every arm, both bases) the comparison is never like for like
    against = [c for c in caveat_list(plan, baselines["round_robin"]) if c.kind == "bases"]
    assert len(against) == 1 and "baseline it is compared with" in against[0].text
    assert not any("energy fit for this arm: using" in c for c in plan_caveats(plan))


def test_main_caveats_are_short_phrases_with_shares(trace):
    _, plan, _ = trace
    phrases = main_caveats(plan)
    assert any(re.search(r"[\d.]+% of queries extrapolated", p) for p in phrases), phrases
    assert any("physical floor" in p for p in phrases), phrases
    assert len(phrases) == len(set(phrases))


def test_a_plan_stopped_at_its_time_limit_says_so_and_the_next_step(trace):
    _, plan, _ = trace
    message = "Stopped at the 5 s time limit: not proven optimal; allow more time to prove it."
    stopped = dataclasses.replace(plan, status="time_limit", message=message)
    first = caveat_list(stopped)[0]
    assert first.kind == "ending" and first.text == message
    assert not any(c.kind == "ending" for c in caveat_list(plan))  # optimal: nothing to say


def test_a_baseline_says_which_limits_it_breaks(trace):
    _, _, baselines = trace
    broken = [b for b in baselines.values() if b.violations]
    assert broken, "some arm's context is shorter than the trace's longest prompts"
    for b in broken:
        limits = [c for c in caveat_list(b) if c.kind == "limits"]
        assert len(limits) == 1 and b.violations[0] in limits[0].text


def test_estimated_energy_is_named(trace):
    _, plan, _ = trace
    arms = plan.arms.copy()
    served = arms.index[arms["queries"] > 0][0]
    arms.loc[served, "is_estimated"] = True
    estimated = dataclasses.replace(plan, arms=arms)
    said = [c for c in caveat_list(estimated) if c.kind == "estimated"]
    row = arms.loc[served]
    assert len(said) == 1 and f"{row['model']} on {row['system']}" in said[0].text
    assert "not measured" in said[0].text


def test_default_scores_of_different_benchmarks_are_named_once_planned_together():
    from types import SimpleNamespace

    import pandas as pd

    from planner.report.caveats import _benchmarks

    def plan_of(llms):
        return SimpleNamespace(arms=pd.DataFrame({"llm": llms, "queries": [5] * len(llms)}))

    mixed = _benchmarks(plan_of(["Llama-2 (7B)", "Qwen/Qwen3-8B"]))
    assert len(mixed) == 1 and "GPQA Diamond: Qwen/Qwen3-8B" in mixed[0].text
    assert "Open LLM Leaderboard average: Llama-2 (7B)" in mixed[0].text
    assert _benchmarks(plan_of(["Llama-2 (7B)", "Mistral (7B)"])) == []
    assert _benchmarks(plan_of(["Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct"])) == []


def test_idle_energy_above_active_says_how_much_was_provisioned_and_how_busy():
    from types import SimpleNamespace

    import pandas as pd

    from planner.report.caveats import _idle

    table = pd.DataFrame({"gpus": [8.0], "window_h": [24.0], "busy_gpu_hours": [0.48]})
    plan = SimpleNamespace(energy_j=3.6e6, idle_energy_j=7.2e6, idle=table)
    (caveat,) = _idle(plan)
    assert "Idle energy (2 kWh) exceeds active energy (1 kWh)" in caveat.text
    assert "192 GPU-hours" in caveat.text and "0.25%" in caveat.text
    assert _idle(SimpleNamespace(energy_j=8e6, idle_energy_j=7.2e6, idle=table)) == []
