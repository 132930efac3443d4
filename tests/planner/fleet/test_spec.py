"""Fleet files: the issue's example, defaults, accuracy lookup by either file's names, errors."""

from __future__ import annotations

import math

import pytest

from planner.fleet.spec import (
    DEFAULT_ACCURACY,
    Fleet,
    FleetError,
    default_accuracy,
    leaderboard_name,
    load_fleet,
)

ISSUE_EXAMPLE = """
min_share_fraction = 0.25          # of each share, as in the paper
[llm."Llama-2-7b-chat-hf"]
accuracy = 50.97                   # A_K in percent
share = 0.05                       # gamma_K
devices_per_instance = 1
[llm."Llama-2-7b-chat-hf".task_accuracy]
math = 14.6
[system."argonne-swing"]
devices = 8
window_h = 24
[facility]
pue = 1.2
carbon_g_per_kwh = 400
price_per_kwh = 0.15
"""


def test_issue_example_loads(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(ISSUE_EXAMPLE)
    fleet = load_fleet(path)
    assert fleet.min_share_fraction == 0.25
    assert fleet.accuracy_for("Llama-2-7b-chat-hf") == 50.97
    assert fleet.accuracy_for("Llama-2-7b-chat-hf", "math") == 14.6
    assert fleet.accuracy_for("Llama-2-7b-chat-hf", "chat") == 50.97
    assert fleet.share("Llama-2-7b-chat-hf") == 0.05
    assert fleet.capacity_device_s("argonne-swing") == 8 * 24 * 3600
    assert math.isinf(fleet.capacity_device_s("M1-Pro"))
    assert (fleet.facility.pue, fleet.facility.carbon_g_per_kwh) == (1.2, 400)
    assert Fleet.from_dict(fleet.to_dict()).to_dict() == fleet.to_dict()


@pytest.mark.parametrize(
    "name, leaderboard",
    [
        ("Llama-2-7b-chat-hf", "Llama-2 (7B)"),
        ("falcon-7b", "Falcon (7B)"),
        ("Mistral-7B-v0.1", "Mistral (7B)"),
        ("Llama-2-13b-chat-hf", "Llama-2 (13B)"),
        ("falcon-40b", "Falcon (40B)"),
        ("Llama-2-70b-chat-hf", "Llama-2 (70B)"),
        ("Mixtral-8x7B-v0.1", "Mixtral (8x7B)"),
        ("Llama-2 (7B)", "Llama-2 (7B)"),
        ("Mistral (7B)", "Mistral (7B)"),
    ],
)
def test_default_accuracy_under_both_files_names(name, leaderboard):
    assert leaderboard_name(name) == leaderboard
    assert default_accuracy(name) == DEFAULT_ACCURACY[leaderboard]
    assert Fleet().accuracy_for(name) == DEFAULT_ACCURACY[leaderboard]


def test_published_scores_and_devices():
    assert DEFAULT_ACCURACY["Llama-2 (7B)"] == 50.97
    assert DEFAULT_ACCURACY["Mixtral (8x7B)"] == 68.47
    assert Fleet().devices_per_instance("Llama-2-70b-chat-hf") == 4
    assert Fleet().devices_per_instance("tiny-llama") == 1


def test_devices_per_instance_by_system():
    fleet = Fleet.from_dict(
        {"llm": {"Llama-2-70b-chat-hf": {"devices_per_instance": {"Palmetto Intel+V100": 8}}}}
    )
    assert fleet.devices_per_instance("Llama-2-70b-chat-hf", "Palmetto Intel+V100") == 8
    assert fleet.devices_per_instance("Llama-2-70b-chat-hf", "argonne-swing") == 4
    with pytest.raises(FleetError, match=r'devices_per_instance."M1-Pro": 0 is out of range'):
        Fleet.from_dict({"llm": {"x": {"devices_per_instance": {"M1-Pro": 0}}}})


def test_unknown_llm_needs_a_score():
    with pytest.raises(FleetError, match=r"no accuracy score for LLM 'tiny-llama'"):
        Fleet().accuracy_for("tiny-llama")
    fleet = Fleet.from_dict({"llm": {"tiny-llama": {"accuracy": 12.5}}})
    assert fleet.accuracy_for("tiny-llama") == 12.5


@pytest.mark.parametrize(
    "data, message",
    [
        ({"llm": {"x": {"accuracy": 120}}}, r'llm."x".accuracy: 120 is out of range'),
        ({"llm": {"x": {"share": -0.1}}}, r'llm."x".share: -0.1 is out of range'),
        ({"llm": {"x": {"devices_per_instance": 1.5}}}, "expected a whole number"),
        ({"llm": {"x": {"accuracy": "high"}}}, "expected a number, got 'high'"),
        ({"llm": {"x": {"acuracy": 50}}}, r"unknown key\(s\) acuracy"),
        (
            {"system": {"s": {"devices": 2, "window_h": 0}}},
            r'system."s".window_h: 0 is out of '
            r"range \(must be > 0\)",
        ),
        ({"facility": {"pue": 0.9}}, "facility.pue: 0.9 is out of range"),
        ({"min_share_fraction": 2}, "min_share_fraction: 2 is out of range"),
        ({"systems": {}}, r"unknown key\(s\) systems"),
    ],
)
def test_bad_values_name_the_key(data, message):
    with pytest.raises(FleetError, match=message):
        Fleet.from_dict(data, source="fleet.toml")


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[llm\n")
    with pytest.raises(FleetError, match="broken.toml: not valid TOML"):
        load_fleet(path)
    with pytest.raises(FleetError, match="absent.toml: cannot read"):
        load_fleet(tmp_path / "absent.toml")


def test_an_entry_under_any_name_of_an_llm_is_that_llms():
    fleet = Fleet.from_dict(
        {"llm": {"Mistral (7B)": {"accuracy": 30, "share": 0.1, "devices_per_instance": 2}}}
    )
    for name in ("Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", "Mistral (7B)"):
        assert fleet.accuracy_for(name) == 30
        assert fleet.share(name) == 0.1
        assert fleet.devices_per_instance(name, "argonne-swing") == 2
    assert fleet.accuracy_for("Mixtral-8x7B-v0.1") == 68.47  # other LLMs keep their default


def test_two_entries_for_one_llm_are_refused():
    with pytest.raises(
        FleetError,
        match=r'fleet.toml: \[llm."Mistral \(7B\)"\] and \[llm."Mistral-7B-v0.1"\] name one LLM',
    ):
        Fleet.from_dict(
            {"llm": {"Mistral (7B)": {"accuracy": 30}, "Mistral-7B-v0.1": {"accuracy": 40}}},
            source="fleet.toml",
        )


def test_shares_over_one_are_refused_naming_them():
    llm = {"Mistral (7B)": {"share": 0.9}, "Mixtral (8x7B)": {"share": 0.5}}
    with pytest.raises(FleetError, match=r"fleet.toml: the shares sum to 1.4, more than 1") as err:
        Fleet.from_dict({"llm": llm}, source="fleet.toml")
    assert 'llm."Mistral (7B)".share = 0.9' in str(err.value)
    llm["Mixtral (8x7B)"]["share"] = 0.1
    assert Fleet.from_dict({"llm": llm}).share("Mixtral-8x7B-v0.1") == 0.1


def test_include_switches_and_their_round_trip():
    fleet = Fleet.from_dict(
        {
            "llm": {"falcon-7b": {"include": False}},
            "system": {"M1-Pro": {"include": False}, "argonne-swing": {"devices": 2}},
        }
    )
    assert not fleet.includes_llm("Falcon (7B)") and fleet.includes_llm("Llama-2 (7B)")
    assert not fleet.includes_system("M1-Pro") and fleet.includes_system("argonne-swing")
    data = fleet.to_dict()
    assert data["llm"]["falcon-7b"] == {"include": False}
    assert data["system"]["argonne-swing"] == {"devices": 2, "window_h": 24.0}
    assert Fleet.from_dict(data).to_dict() == data
    with pytest.raises(FleetError, match=r'system."M1-Pro".include: expected true or false'):
        Fleet.from_dict({"system": {"M1-Pro": {"include": "no"}}})


def test_names_are_checked_against_the_fits_with_a_suggestion():
    models = ["Mistral-7B-v0.1", "Mistral (7B)", "falcon-7b"]
    systems = ["argonne-swing", "M1-Pro"]
    ok = Fleet.from_dict({"llm": {"mistralai/Mistral-7B-v0.1": {}}, "system": {"M1-Pro": {}}})
    ok.check_names(models, systems)  # any spelling of a planned LLM is fine
    bad = Fleet.from_dict(
        {"llm": {"Mistrel (7B)": {"accuracy": 3}}, "system": {"NoSuchSystem": {"devices": 1}}},
        source="fleet.toml",
    )
    with pytest.raises(FleetError) as err:
        bad.check_names(models, systems)
    text = str(err.value)
    assert text.startswith("fleet.toml: ")
    assert '[llm."Mistrel (7B)"] names no LLM in the fits being planned' in text
    assert "(Falcon (7B), Mistral (7B))" in text and 'did you mean "Mistral (7B)"?' in text
    assert '[system."NoSuchSystem"] names no system' in text and "(M1-Pro, argonne-swing)" in text
    typo = Fleet.from_dict({"system": {"argonne-Swing": {"devices": 1}}})
    with pytest.raises(FleetError, match='did you mean "argonne-swing"'):
        typo.check_names(models, systems)
    unknown = Fleet.from_dict({"llm": {"Mixtral (8x7B)": {}}})  # real LLM, but no fits of it
    with pytest.raises(FleetError, match=r'\[llm."Mixtral \(8x7B\)"\] names no LLM'):
        unknown.check_names(models, systems)
