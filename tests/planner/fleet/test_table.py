"""The fleet from the dashboard's per-LLM table: defaults by either file's names, blanks."""

from __future__ import annotations

import math

import pytest

from planner.fleet.spec import Fleet, FleetError
from planner.fleet.table import fleet_dict, llm_table, missing_accuracy

EVIL_MODEL = "</script><img src=x onerror=alert(1)>"


def test_accuracy_defaults_under_both_files_names():
    table = llm_table(["Llama-2 (7B)", "Llama-2-7b-chat-hf", "my-llm"], {"my-llm": 2})
    scores = dict(zip(table["model"], table["accuracy"]))
    assert scores["Llama-2 (7B)"] == scores["Llama-2-7b-chat-hf"] == 50.97
    assert math.isnan(scores["my-llm"])
    assert table.set_index("model").loc["my-llm", "devices_per_instance"] == 2


def test_fleet_from_the_table_and_settings():
    table = llm_table(["Llama-2 (7B)", "my-llm"])
    table.loc[0, "share"] = 0.2
    settings = {"devices": 3, "window_h": 10, "min_share_fraction": 0.25}
    facility = {"pue": 1.5, "carbon_g_per_kwh": 400.0, "price_per_kwh": 0.15}
    fleet = Fleet.from_dict(fleet_dict(table, ["M1-Pro"], **settings, facility=facility))
    assert fleet.share("Llama-2 (7B)") == 0.2 and fleet.share("my-llm") is None
    assert fleet.capacity_device_s("M1-Pro") == 3 * 10 * 3600
    assert fleet.facility.pue == 1.5
    with pytest.raises(FleetError, match="my-llm"):
        fleet.accuracy_for("my-llm")
    no_facility = fleet_dict(table, ["M1-Pro"], **settings)
    assert "facility" not in no_facility


def test_a_missing_score_is_named():
    table = llm_table([EVIL_MODEL, "Llama-2 (7B)"])
    message = missing_accuracy(table)
    assert EVIL_MODEL in message and "A_K column" in message and "Llama" not in message
    table["accuracy"] = table["accuracy"].fillna(50.0)
    assert missing_accuracy(table) is None


def test_one_row_per_llm_whatever_the_fits_call_it():
    from planner.fits.catalogue import load_catalogue
    from planner.fleet.table import models_and_systems

    cat = load_catalogue()
    models, systems = models_and_systems(cat.reports)
    assert "Mistral (7B)" in models and "Mistral-7B-v0.1" not in models
    assert len(models) == 7 and "argonne-swing" in systems
    table = llm_table(models, cat.gpus_per_instance).set_index("model")
    # the catalogue files its GPU counts under the grid file's names for the larger LLMs
    assert table.loc["Mixtral (8x7B)", "devices_per_instance"] == 3
    assert table.loc["Llama-2 (70B)", "devices_per_instance"] == 4
    assert table["accuracy"].notna().all()
    fleet = Fleet.from_dict(
        fleet_dict(table.reset_index(), systems, devices=1, window_h=1.0, min_share_fraction=0.25)
    )
    assert fleet.accuracy_for("Mistral-7B-v0.1") == fleet.accuracy_for("Mistral (7B)") == 60.97
