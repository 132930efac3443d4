"""The cached PlannerBundle and the PlanContext the pages share, on real solves."""

from __future__ import annotations

import pytest

from app_pages import sources
from app_pages.bundle import PlannerBundle
from app_pages.plan_state import PlanContext
from app_pages.settings import FRONTIER_ZETAS, PlanSettings
from planner.fleet.spec import Fleet
from planner.fleet.table import fleet_dict, llm_table, missing_accuracy, models_and_systems
from planner.report import exports
from planner.report.fit_views import estimated_arms
from planner.routing.arms import build_arms
from planner.workload.load import synthetic_workload


@pytest.fixture(scope="module")
def catalogue():
    return sources.catalogue_reports()


def make_context(rs, workload, table=None, settings=None) -> PlanContext:
    """A PlanContext as ``plan_state.plan_context`` builds one, without a session."""
    settings = settings or PlanSettings()
    models, systems = models_and_systems(rs.reports)
    table = llm_table(models, rs.devices_per_instance) if table is None else table
    fd = fleet_dict(table, systems, **settings.fleet_args(), facility=settings.facility())
    fleet = Fleet.from_dict(fd)
    arms = build_arms(rs.reports, fleet)
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
    assert setup.settings == {**setup.settings, "zeta": 0.5, "devices": 8}
    assert setup.estimated_arms == ctx.estimated


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
