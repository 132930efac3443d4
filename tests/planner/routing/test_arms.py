"""Pairing energy and runtime fit reports into arms, with their labels kept."""

from __future__ import annotations

import pytest

from planner.fleet.spec import Fleet, FleetError
from planner.routing.arms import ArmError, build_arms
from tests.planner.plan_fixtures import published_reports, report


def test_published_reports_pair_into_arms_with_labels():
    arms = build_arms(published_reports(), energy="gpu")
    assert len(arms) == 7
    arm = next(a for a in arms if a.model == "Llama-2-70b-chat-hf")
    assert (arm.system, arm.form, arm.accuracy, arm.devices_per_instance) == (
        "argonne-swing",
        "paper",
        64.52,
        4,
    )
    assert arm.energy_sources == ["imported"] and not arm.is_estimated
    assert arm.energy_j(100, 200) == pytest.approx(-12.03 * 100 + 414.82 * 200 + 0.315 * 2e4)
    assert arm.notes == []


def test_missing_energy_kind_is_used_and_said():
    arms = build_arms(published_reports(["falcon-7b"]))  # energy="total" asked, gpu given
    assert "using 'gpu' energy (GPU only)" in arms[0].notes[0]
    assert "GPU only" in arms[0].label()["notes"]


def test_form_preference_and_choice():
    reps = published_reports(["falcon-7b"])
    reps += [
        report("falcon-7b", "argonne-swing", t, (1.0, 2.0), ("1", "tout"), form="default")
        for t in ("energy", "runtime")
    ]
    assert build_arms(reps)[0].form == "default"
    assert build_arms(reps, form="paper")[0].form == "paper"
    with pytest.raises(ArmError, match="of form 'other'"):
        build_arms(reps, form="other")


def test_an_arm_needs_both_targets_and_estimates_are_labelled():
    reps = [report("falcon-7b", "M1-Pro", "energy", (1.0, 2.0, 0.0), sources=("estimated",))]
    with pytest.raises(ArmError, match="both an energy and a runtime fit"):
        build_arms(reps)
    reps.append(report("falcon-7b", "M1-Pro", "runtime", (0.1, 0.2, 0.0)))
    arm = build_arms(reps)[0]
    assert arm.is_estimated and arm.label()["is_estimated"]


def test_unknown_llm_without_score_is_refused_naming_it():
    reps = [report("tiny-llama", "laptop", t, (1.0, 1.0, 0.0)) for t in ("energy", "runtime")]
    with pytest.raises(FleetError, match="'tiny-llama'"):
        build_arms(reps)
    fleet = Fleet.from_dict({"llm": {"tiny-llama": {"accuracy": 20, "devices_per_instance": 2}}})
    arm = build_arms(reps, fleet)[0]
    assert (arm.accuracy, arm.devices_per_instance) == (20.0, 2)


def test_arms_know_their_llm_and_context():
    reps = published_reports(["Mistral-7B-v0.1", "falcon-7b"])
    reps += [
        report("Mistral (7B)", "M1-Pro", t, (1.0, 2.0), ("1", "tout"), form="default")
        for t in ("energy", "runtime")
    ]
    reps += [report("my-llm", "laptop", t, (1.0, 1.0, 0.0)) for t in ("energy", "runtime")]
    fleet = Fleet.from_dict({"llm": {"my-llm": {"accuracy": 20}}})
    arms = {a.name: a for a in build_arms(reps, fleet, energy="gpu")}
    assert arms["Mistral-7B-v0.1 @ argonne-swing"].llm == "Mistral (7B)"
    assert arms["Mistral (7B) @ M1-Pro"].llm == "Mistral (7B)"
    assert arms["Mistral (7B) @ M1-Pro"].context_tokens == 32768
    assert arms["falcon-7b @ argonne-swing"].context_tokens == 2048
    assert "model card" in arms["falcon-7b @ argonne-swing"].context_source
    mine = arms["my-llm @ laptop"]  # not in the registry: the longest query measured
    assert mine.context_tokens == 2048 + 2048 and "longest query measured" in mine.context_source
    assert mine.takes([2000, 3000], [2000, 2000]).tolist() == [True, False]


def test_an_llm_without_a_score_is_left_out_with_a_notice():
    reps = published_reports(["falcon-7b"])
    reps += [report("tiny-llama", "laptop", t, (1.0, 1.0, 0.0)) for t in ("energy", "runtime")]
    arms = build_arms(reps, energy="gpu")
    assert [a.model for a in arms] == ["falcon-7b"]
    (notice,) = arms.notices
    assert "'tiny-llama'" in notice and "left out" in notice
    assert '[llm."tiny-llama"] accuracy = ...' in notice and "A_K column" in notice
    from planner.routing.optimize import Planner
    from planner.workload.load import synthetic_workload

    plan = Planner(arms, synthetic_workload("chat", 20), Fleet()).solve()
    assert notice in plan.warnings
    with pytest.raises(
        FleetError, match=r'\[llm."tiny-llama"\] share = 0.2, but tiny-llama is not'
    ):
        build_arms(reps, Fleet.from_dict({"llm": {"tiny-llama": {"share": 0.2}}}), energy="gpu")


def test_include_false_leaves_systems_and_llms_out():
    reps = published_reports(["falcon-7b", "Mistral-7B-v0.1"])
    reps += published_reports(["falcon-7b"], system="other")
    fleet = Fleet.from_dict(
        {"llm": {"Mistral (7B)": {"include": False}}, "system": {"other": {"include": False}}}
    )
    arms = build_arms(reps, fleet, energy="gpu")
    assert [a.name for a in arms] == ["falcon-7b @ argonne-swing"]
    assert len(arms.left_out) == 2 and any("include = false" in x for x in arms.left_out)
    everything_out = Fleet.from_dict({"system": {"argonne-swing": {"include": False}}})
    with pytest.raises(ArmError, match="left out by the fleet"):
        build_arms(published_reports(["falcon-7b"]), everything_out, energy="gpu")
    shared = Fleet.from_dict({"llm": {"Mistral-7B-v0.1": {"include": False, "share": 0.1}}})
    with pytest.raises(FleetError, match="the fleet excludes it"):
        build_arms(reps, shared, energy="gpu")


def test_misspelt_fleet_names_are_refused_when_arms_are_built():
    with pytest.raises(FleetError, match=r'system."NoSuchSystem"\] names no system'):
        build_arms(
            published_reports(), Fleet.from_dict({"system": {"NoSuchSystem": {"devices": 2}}})
        )
    with pytest.raises(FleetError, match='did you mean "Mistral'):
        build_arms(
            published_reports(), Fleet.from_dict({"llm": {"Mistrel-7B-v0.1": {"accuracy": 3}}})
        )


def test_best_available_form_avoids_one_that_goes_negative_on_the_workload():
    import pandas as pd

    from planner.workload.load import Workload

    reps = published_reports(["Mixtral-8x7B-v0.1"])  # paper form: negative for long prompts
    reps += [  # another form, positive everywhere
        report("Mixtral-8x7B-v0.1", "argonne-swing", t, (1.0, 2.0), ("1", "tout"), form="other")
        for t in ("energy", "runtime")
    ]
    long_prompts = Workload(
        pd.DataFrame({"input_tokens": [1500], "output_tokens": [13], "task": "code", "count": 1})
    )
    chat = Workload(
        pd.DataFrame({"input_tokens": [20], "output_tokens": [200], "task": "chat", "count": 1})
    )
    assert build_arms(reps, energy="gpu", workload=long_prompts)[0].form == "other"
    assert build_arms(reps, energy="gpu", workload=chat)[0].form == "paper"
    assert build_arms(reps, energy="gpu")[0].form == "other"  # no workload: could go negative
    only_paper = build_arms(published_reports(["Mixtral-8x7B-v0.1"]), energy="gpu")[0]
    assert only_paper.form == "paper"
    assert only_paper.energy_j([1500], [13])[0] > 0 and only_paper.runtime_s([1500], [13])[0] > 0


def test_a_fit_with_nothing_positive_in_its_range_is_left_out_with_a_notice():
    reps = published_reports(["falcon-7b"])
    reps += [
        report("Llama-2-7b-chat-hf", "argonne-swing", "energy", (-5.0, 0.0, 0.0)),
        report("Llama-2-7b-chat-hf", "argonne-swing", "runtime", (0.0, 0.1, 0.0)),
    ]
    arms = build_arms(reps, energy="gpu")
    assert [a.model for a in arms] == ["falcon-7b"]
    assert any(
        n.startswith("Llama-2-7b-chat-hf @ argonne-swing is left out: its paper-form energy fit")
        for n in arms.notices
    )
    with pytest.raises(ArmError, match="no arm can be planned: Llama-2-7b-chat-hf"):
        build_arms(reps[2:], energy="gpu")
