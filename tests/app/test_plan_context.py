"""The cached PlannerBundle and the PlanContext the pages share, on real solves."""

from __future__ import annotations

import pytest

from app_pages import sources
from app_pages.bundle import PlannerBundle
from app_pages.plan_state import PlanContext
from app_pages.settings import DEFAULT_DEVICES, DEFAULT_WINDOW_H, FRONTIER_ZETAS, PlanSettings
from planner.fleet.spec import Fleet
from planner.fleet.table import (
    fleet_dict,
    llm_table,
    missing_accuracy,
    models_and_systems,
    system_table,
)
from planner.report import exports
from planner.report.fit_views import estimated_arms
from planner.routing.arms import build_arms
from planner.workload.load import synthetic_workload


@pytest.fixture(scope="module")
def catalogue():
    return sources.catalogue_reports()


def make_context(rs, workload, table=None, settings=None, systems=None) -> PlanContext:
    """A PlanContext as ``plan_state.plan_context`` builds one, without a session."""
    settings = settings or PlanSettings()
    models, names = models_and_systems(rs.reports)
    table = llm_table(models, rs.devices_per_instance) if table is None else table
    if systems is None:
        systems = system_table(names, devices=DEFAULT_DEVICES, window_h=DEFAULT_WINDOW_H)
    fd = fleet_dict(table, systems, **settings.fleet_args(), facility=settings.facility())
    fleet = Fleet.from_dict(fd)
    arms = build_arms(rs.reports, fleet, workload=workload)
    return PlanContext(
        rs,
        None,
        settings,
        workload,
        fleet,
        arms,
        PlannerBundle(arms, workload, fleet),
        estimated_arms(rs.reports),
    )


@pytest.fixture(scope="module")
def ctx(catalogue):
    return make_context(catalogue, synthetic_workload("chat", 300, seed=3))


def test_bundle_reuses_plans_and_baselines(ctx):
    first = ctx.bundle.solve("paper", 0.5)
    assert ctx.bundle.solve("paper", 0.5) is first
    assert ctx.bundle.solve("paper", 0.25) is not first
    assert ctx.bundle.baselines() is ctx.bundle.baselines()
    frontier = ctx.bundle.zeta_frontier(FRONTIER_ZETAS)
    assert [p.zeta for p in frontier] == list(FRONTIER_ZETAS)
    energies = [p.energy_j for p in frontier]
    assert energies[0] >= energies[-1]  # zeta 1 weighs energy only


def test_exports_name_the_pages_fits_and_settings(ctx):
    setup = ctx.setup()
    assert setup.fits == ctx.rs.label and setup.fleet is ctx.fleet
    assert setup.settings == {**setup.settings, "zeta": 0.5, "min_share_fraction": 0.25}
    assert {s.devices for s in setup.fleet.system.values()} == {DEFAULT_DEVICES}
    assert setup.estimated_arms == ctx.estimated


def test_the_fleet_tables_set_each_system_and_leave_out_what_is_unticked(catalogue):
    """Devices and window per system, include per system and per LLM, a blank devices cell
    (no capacity limit) and the currency, as the Planner page's tables give them."""
    models, names = models_and_systems(catalogue.reports)
    llms = llm_table(models, catalogue.devices_per_instance)
    llms.loc[llms["model"] == "Falcon (40B)", "include"] = False
    systems = system_table(names, devices=4, window_h=12.0)
    systems.loc[systems["system"] == "M1-Pro", ["devices", "window_h"]] = [2, 0.5]
    systems.loc[systems["system"] == "Swing AMD+A100", "include"] = False
    systems.loc[systems["system"] == "argonne-swing", "devices"] = None
    settings = PlanSettings(currency="EUR")
    ctx = make_context(catalogue, synthetic_workload("chat", 200, seed=2), llms, settings, systems)
    fleet = ctx.fleet
    assert fleet.capacity_device_s("M1-Pro") == 2 * 0.5 * 3600
    assert fleet.capacity_device_s("Palmetto Intel+A100") == 4 * 12.0 * 3600
    assert fleet.capacity_device_s("argonne-swing") == float("inf")
    assert not fleet.includes_system("Swing AMD+A100") and not fleet.includes_llm("falcon-40b")
    assert fleet.facility.currency == "EUR"
    assert {a.system for a in ctx.arms}.isdisjoint({"Swing AMD+A100"})
    assert "Falcon (40B)" not in {a.llm for a in ctx.arms}
    assert len(ctx.arms.left_out) == 4  # three Swing AMD+A100 arms and falcon-40b's
    plan = ctx.bundle.solve("paper", 0.5)
    used = plan.arms[plan.arms["queries"] > 0]
    assert plan.n_queries == 200 and "Swing AMD+A100" not in set(used["system"])


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
    models, _ = models_and_systems(rs.reports)
    table = llm_table(models, rs.devices_per_instance)
    message = missing_accuracy(table)
    assert EVIL_MODEL in message and "A_K column" in message and "Llama" not in message
    table["accuracy"] = table["accuracy"].fillna(50.0)
    assert missing_accuracy(table) is None
    ctx = make_context(rs, synthetic_workload("chat", 100, seed=1), table)
    plan = ctx.bundle.solve("paper", 0.5)
    page = exports.html_bytes(plan, ctx.bundle.baselines(), ctx.setup()).decode()
    assert EVIL_MODEL not in page and "<img src=x" not in page and "<b>M1</b>" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page  # named, escaped


def test_exports_name_the_store_by_its_file_name_only(tmp_path):
    """The summary JSON and the HTML report leave the server: they name the store's file,
    never the folder it sits in."""
    import json

    from tests.app.hostile_store import LINK_MODEL, hostile_store

    db = hostile_store(tmp_path / "energy.duckdb")
    rs = sources.store_reports(str(db))
    models, _ = models_and_systems(rs.reports)
    table = llm_table(models, rs.devices_per_instance)
    table["accuracy"] = table["accuracy"].fillna(50.0)
    ctx = make_context(rs, synthetic_workload("chat", 100, seed=1), table)
    plan = ctx.bundle.solve("paper", 0.5)
    baselines = ctx.bundle.baselines()
    summary = exports.summary_json(plan, baselines, ctx.setup()).decode()
    page = exports.html_bytes(plan, baselines, ctx.setup()).decode()
    for text in (summary, page):
        assert str(tmp_path) not in text and "energy.duckdb" in text
    data = json.loads(summary)
    assert "Fitted models: Fits of the measurements in store energy.duckdb." in data["sources"]
    assert LINK_MODEL in data["assumptions"]["accuracy scores A_K (%)"]  # names kept as data
