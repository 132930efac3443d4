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
