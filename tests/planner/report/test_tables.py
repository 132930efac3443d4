"""Plans in the reader's words: headline figures, allocation and comparison tables."""

from __future__ import annotations

import pytest

from planner.report import tables
from planner.report.summary import compare
from planner.routing.arms import build_arms
from tests.planner.report.catalogue_plans import baselines, catalogue, catalogue_fleet


def test_headline_deltas_against_a_baseline():
    plan = {
        "facility_kwh": 5.0,
        "co2e_g": 2000.0,
        "cost": 0.75,
        "accuracy": 60.0,
        "runtime_s": 7200.0,
        "name": "plan",
    }
    base = {
        "facility_kwh": 10.0,
        "co2e_g": 4000.0,
        "cost": 1.5,
        "accuracy": 62.5,
        "runtime_s": 3600.0,
        "name": "common practice",
    }
    metrics = {m["label"]: m for m in tables.headline(plan, base)}
    assert metrics["Energy (kWh)"]["delta"] == "-50.0%"
    assert metrics["CO2e (kg)"]["value"] == "2"
    assert metrics["Accuracy (%)"]["delta"] == "-2.50 pts"
    assert metrics["Runtime (h)"]["delta"] == "+100.0%"
    assert metrics["Energy (kWh)"]["delta_color"] == "inverse"
    assert "common practice" in metrics["Cost (USD)"]["help"]  # the default currency
    assert "wall-clock" in metrics["Runtime (h)"]["help"]  # device time, said so
    assert all(m["delta"] is None for m in tables.headline(plan, None))
    euro = {m["label"] for m in tables.headline({**plan, "currency": "EUR"}, None)}
    assert "Cost (EUR)" in euro


def test_allocation_and_comparison_tables(chat_planner):
    plan = chat_planner.solve("paper", zeta=0.5)
    table = tables.allocation_table(plan)
    assert table["Queries"].sum() == 300 and (table["Queries"] > 0).all()
    assert table["Share of queries (%)"].sum() == pytest.approx(100)
    assert {"LLM", "System", "Device time (h)", "IT energy (kWh)"} <= set(table.columns)
    others = baselines(chat_planner)
    cmp = tables.comparison_table(compare(plan, others, chat_planner.fleet))
    assert {"Plan", "Facility energy (kWh)", "CO2e (kg)", "Cost (USD)", "Runtime (h)"} <= set(
        cmp.columns
    )
    assert "runtime_s" not in cmp.columns and "t CO2e" not in cmp.columns
    assert len(cmp) == 1 + len(others)
    # the plan against each baseline in words, never a signed figure
    against = cmp["Plan's energy against it"].iloc[1:]
    assert against.str.fullmatch(r"[\d.,]+% (less|more)|the same").all(), list(against)
    assert cmp["Plan's energy against it"].iloc[0] == "—"


def test_mixed_energy_kinds_are_flagged(chat_planner):
    arms = chat_planner.data.arms
    assert tables.mixes_energy_kinds(arms)  # best available: paper (gpu) + default (total)
    # default-form fits of the systems sweeps: GPU + CPU energy on every arm
    default = [
        r for r in catalogue().reports if r.form == "default" and r.system != "argonne-swing"
    ]
    default_only = build_arms(default, catalogue_fleet(default), form="default")
    assert {a.energy_kind for a in default_only} == {"total"}
    assert not tables.mixes_energy_kinds(default_only)
