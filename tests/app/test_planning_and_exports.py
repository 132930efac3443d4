"""The Planner page's plain functions, the cached bundle, and the exports, on real solves."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest

from app_pages import exports, planning, sources
from app_pages.bundle import PlannerBundle
from app_pages.plan_state import PlanContext
from planner.fleet.spec import Fleet, FleetError
from planner.routing.arms import build_arms
from planner.workload.load import load_workload, synthetic_workload


@pytest.fixture(scope="module")
def catalogue():
    return sources.catalogue_reports()


def make_context(catalogue, workload, settings=None) -> PlanContext:
    settings = settings or planning.PlanSettings()
    models, systems = planning.arm_models_and_systems(catalogue.reports)
    table = planning.accuracy_frame(models, catalogue.devices_per_instance)
    fd = planning.fleet_dict(table, systems, settings)
    fleet = Fleet.from_dict(fd)
    arms = build_arms(catalogue.reports, fleet)
    return PlanContext(
        catalogue,
        None,
        settings,
        workload,
        fleet,
        fd,
        arms,
        PlannerBundle(arms, workload, fleet),
        sources.estimated_arms(catalogue.reports),
    )


@pytest.fixture(scope="module")
def ctx(catalogue):
    return make_context(catalogue, synthetic_workload("chat", 300, seed=3))


def test_accuracy_defaults_under_both_files_names():
    table = planning.accuracy_frame(["Llama-2 (7B)", "Llama-2-7b-chat-hf", "my-llm"], {"my-llm": 2})
    scores = dict(zip(table["model"], table["accuracy"]))
    assert scores["Llama-2 (7B)"] == scores["Llama-2-7b-chat-hf"] == 50.97
    assert math.isnan(scores["my-llm"])
    assert table.set_index("model").loc["my-llm", "devices_per_instance"] == 2


def test_fleet_from_the_page_settings(catalogue):
    table = planning.accuracy_frame(["Llama-2 (7B)", "my-llm"])
    table.loc[0, "share"] = 0.2
    settings = planning.PlanSettings(devices=3, window_h=10, pue=1.5)
    fleet = Fleet.from_dict(planning.fleet_dict(table, ["M1-Pro"], settings))
    assert fleet.share("Llama-2 (7B)") == 0.2 and fleet.share("my-llm") is None
    assert fleet.capacity_device_s("M1-Pro") == 3 * 10 * 3600
    assert fleet.facility.pue == 1.5
    with pytest.raises(FleetError, match="my-llm"):
        fleet.accuracy_for("my-llm")
    no_facility = planning.fleet_dict(table, ["M1-Pro"], settings, with_facility=False)
    assert "facility" not in no_facility


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
    metrics = {m["label"]: m for m in planning.headline(plan, base)}
    assert metrics["Energy (kWh)"]["delta"] == "-50.0%"
    assert metrics["CO2e (kg)"]["value"] == "2"
    assert metrics["Accuracy (%)"]["delta"] == "-2.50 pts"
    assert metrics["Runtime (h)"]["delta"] == "+100.0%"
    assert metrics["Energy (kWh)"]["delta_color"] == "inverse"
    assert "common practice" in metrics["Cost"]["help"]
    assert all(m["delta"] is None for m in planning.headline(plan, None))


def test_bundle_reuses_plans_and_baselines(ctx):
    first = ctx.bundle.solve("paper", 0.5)
    assert ctx.bundle.solve("paper", 0.5) is first
    assert ctx.bundle.solve("paper", 0.25) is not first
    assert ctx.bundle.baselines() is ctx.bundle.baselines()
    frontier = ctx.bundle.zeta_frontier(planning.FRONTIER_ZETAS)
    assert [p.zeta for p in frontier] == list(planning.FRONTIER_ZETAS)
    energies = [p.energy_j for p in frontier]
    assert energies[0] >= energies[-1]  # zeta 1 weighs energy only


def test_allocation_and_comparison_tables(ctx):
    plan = ctx.bundle.solve("paper", 0.5)
    table = planning.allocation_table(plan)
    assert table["queries"].sum() == 300 and (table["queries"] > 0).all()
    assert table["share_%"].sum() == pytest.approx(100)
    from planner.report.summary import compare

    cmp = planning.comparison_table(compare(plan, ctx.bundle.baselines(), ctx.fleet))
    assert {"plan", "facility kWh", "plan saves %", "energy source"} <= set(cmp.columns)
    assert len(cmp) == 1 + len(ctx.bundle.baselines())


def test_assignments_csv_is_per_query_in_input_order(catalogue):
    csv = b"input_tokens,output_tokens,count\n30,400,2\n8,20,1\n30,400,1\n"
    wl = load_workload(io.BytesIO(csv), name="w.csv")
    ctx = make_context(catalogue, wl)
    plan = ctx.bundle.solve("paper", 0.5)
    out = pd.read_csv(io.BytesIO(exports.assignments_csv(plan)))
    assert list(out["row"]) == [1, 1, 2, 3]
    assert list(out["output_tokens"]) == [400, 400, 20, 400]
    assert out["model"].notna().all() and out["system"].notna().all()


def test_summary_json_carries_plan_baselines_and_sources(ctx):
    plan = ctx.bundle.solve("paper", 0.5)
    data = json.loads(exports.summary_json(ctx, plan, ctx.bundle.baselines()))
    assert data["plan"]["n_queries"] == 300
    assert data["plan"]["energy_sources"] == "imported"
    assert set(data["baselines"]) == set(ctx.bundle.baselines())
    assert data["settings"]["zeta"] == 0.5
    assert any("Reference catalogue" in line for line in data["sources"])
    assert len(data["comparison"]) == 1 + len(data["baselines"])


def test_html_report_is_self_contained_and_escapes_names(catalogue):
    wl = synthetic_workload("math", 120, seed=1)
    wl.name = "<script>alert('x')</script>"
    ctx = make_context(catalogue, wl)
    plan = ctx.bundle.solve("paper", 0.5)
    frontier = ctx.bundle.zeta_frontier((0.0, 0.5, 1.0))
    page = exports.html_bytes(ctx, plan, ctx.bundle.baselines(), frontier, [0.0, 0.5, 1.0]).decode()
    assert "<script>alert('x')</script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script src=" not in page and '<link rel="stylesheet" href="http' not in page
    assert len(page) > 3_000_000  # plotly.js embedded, once
    assert page.count("Plotly.newPlot") == 5  # workload, allocation, comparison, frontier, zeta
    assert "Assumptions" in page and "Wilkins" in page and "zeta" in page


def test_mixed_energy_kinds_are_flagged(ctx, catalogue):
    assert planning.mixes_energy_kinds(ctx.arms)  # best available: paper (gpu) + default (total)
    default_only = build_arms(catalogue.of_form("default"), ctx.fleet, form="default")
    assert not planning.mixes_energy_kinds(default_only)


EVIL_MODEL = "</script><img src=x onerror=alert(1)>"


def test_uploaded_model_names_are_escaped_and_a_missing_score_is_named(
    shared_reference_dir, tmp_path
):
    from app_pages import uploads

    text = (shared_reference_dir / "systems-sweeps.csv").read_text()
    text = text.replace("Falcon (7B)", EVIL_MODEL).replace("M1-Pro", "<b>M1</b>")
    db = tmp_path / "evil.duckdb"
    outcome = uploads.import_measurement_upload("<i>x</i>.csv", text.encode(), db)
    assert outcome.ok, outcome.error
    rs = sources.store_reports(str(db))
    models, systems = planning.arm_models_and_systems(rs.reports)
    table = planning.accuracy_frame(models, rs.devices_per_instance)
    message = planning.missing_accuracy(table)
    assert EVIL_MODEL in message and "A_K column" in message and "Llama" not in message
    table["accuracy"] = table["accuracy"].fillna(50.0)
    assert planning.missing_accuracy(table) is None
    fd = planning.fleet_dict(table, systems, planning.PlanSettings())
    fleet = Fleet.from_dict(fd)
    arms = build_arms(rs.reports, fleet)
    wl = synthetic_workload("chat", 100, seed=1)
    ctx = PlanContext(
        rs,
        None,
        planning.PlanSettings(),
        wl,
        fleet,
        fd,
        arms,
        PlannerBundle(arms, wl, fleet),
        sources.estimated_arms(rs.reports),
    )
    plan = ctx.bundle.solve("paper", 0.5)
    page = exports.html_bytes(ctx, plan, ctx.bundle.baselines()).decode()
    assert EVIL_MODEL not in page and "<img src=x" not in page and "<b>M1</b>" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page  # named, escaped


def test_allocation_csv_defuses_spreadsheet_formulas(catalogue):
    csv = b'input_tokens,output_tokens,task\n30,400,=HYPERLINK("http://x")\n8,20,@cmd\n8,20,chat\n'
    wl = load_workload(io.BytesIO(csv), name="f.csv")
    plan = make_context(catalogue, wl).bundle.solve("paper", 0.5)
    out = pd.read_csv(io.BytesIO(exports.assignments_csv(plan)))
    assert list(out["task"]) == ['\'=HYPERLINK("http://x")', "'@cmd", "chat"]
    assert list(out["input_tokens"]) == [30, 8, 8]
