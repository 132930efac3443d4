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
