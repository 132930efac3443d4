"""The stakeholder HTML report of a code-trace plan on the catalogue's defaults: a summary
paragraph first, the plan's caveats, the fleet's currency, one unit per quantity, no local
path, no Python values (False, None, nan) and no negative figure anywhere."""

from __future__ import annotations

import html
import re

import pytest

from planner.fleet.spec import Fleet
from planner.report import exports
from planner.report import html as html_report
from planner.report.caveats import plan_caveats
from planner.report.narrative import DEFAULT_BASELINE, choose_baseline, summary_paragraph
from planner.report.summary import summarize
from planner.routing.baselines import run_baselines
from tests.planner.report.catalogue_plans import code_trace, default_planner

FACILITY = {"pue": 1.3, "carbon_g_per_kwh": 250.0, "price_per_kwh": 0.3, "currency": "EUR"}
ZETAS = [0.0, 0.5, 1.0]
NEGATIVE = re.compile(r"(?<![\w.])[-−]\s?\d")  # a minus sign before a figure (not Llama-2)


def visible_text(page: str) -> str:
    """What a reader sees: the page without its scripts, styles and tags, unescaped."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    workload = code_trace()
    folder = tmp_path_factory.mktemp("private-folder")
    workload.source = str(folder / "code-trace.csv")  # as if read from a file there
    fleet = Fleet.from_dict({"facility": FACILITY})
    planner = default_planner(workload, fleet)
    plan = planner.solve("paper", zeta=0.5)
    baselines = run_baselines(planner.data.arms, workload, fleet, data=planner.data)
    frontier = planner.frontier(zetas=ZETAS)
    setup = exports.PlanSetup(fleet=fleet, fits="Reference catalogue")
    page = exports.html_bytes(plan, baselines, setup, frontier, ZETAS).decode()
    inputs = html_report.ReportInputs(
        plan=plan,
        baselines=baselines,
        fleet=fleet,
        fits=setup.fits,
        sources=exports.data_sources(plan, setup),
        assumptions=exports.assumptions(plan, setup),
        frontier=frontier,
        zetas=ZETAS,
    )
    return plan, baselines, fleet, page, inputs, folder


def test_the_report_opens_with_the_recommendation_and_its_savings(report):
    plan, baselines, fleet, page, _, _ = report
    text = visible_text(page)
    summary = text[text.index("Summary") : text.index("Caveats")]
    assert "Recommendation: serve the 400 queries of code-trace with" in summary
    for row in plan.arms[plan.arms["queries"] > 0].itertuples():
        assert f"{row.model} on {row.system} (" in summary
    assert choose_baseline(baselines) == DEFAULT_BASELINE
    assert baselines[DEFAULT_BASELINE].name in summary
    assert "kg CO2e" in summary and "EUR" in summary  # savings in carbon and money
    assert "Main caveats:" in summary
    paragraph = summary_paragraph(plan, baselines, fleet)
    assert html.escape(paragraph) in page
    assert page.index("Summary") < page.index("Headline figures") < page.index("Charts")


def test_every_caveat_of_the_plan_is_in_the_report(report):
    plan, baselines, _, page, _, _ = report
    caveats = plan_caveats(plan, baselines[DEFAULT_BASELINE])
    assert any("physical floor" in c for c in caveats) and any("extrapolated" in c for c in caveats)
    for caveat in caveats:
        assert html.escape(caveat) in page


def test_one_unit_per_quantity_and_the_fleets_currency(report):
    _, _, _, page, _, _ = report
    text = visible_text(page)
    for heading in ("Energy (kWh)", "CO2e (kg)", "Cost (EUR)", "Runtime (h)"):
        assert heading in text
    assert "Facility energy (kWh)" in text and "IT energy (kWh)" in text
    assert "USD" not in text and "t CO2e" not in text and "runtime_s" not in text
    assert "wall-clock" in text  # what runtime means
    assert "price per kWh (EUR)" in text


def test_no_local_path_and_no_python_values_in_the_report(report):
    _, _, _, page, _, folder = report
    assert str(folder) not in page and "private-folder" not in page
    assert "file code-trace.csv" in visible_text(page)
    text = visible_text(page)
    for word in ("False", "True", "None", "nan", "NaN", "inf"):
        assert not re.search(rf"\b{word}\b", text), word
    assert "{" not in text.split("Assumptions", 1)[1]  # A_K scores as a table, not a dict
    assert re.search(r"<tr><td>Mixtral-8x7B-v0\.1</td><td>68\.47</td></tr>", page)
    # figures to three significant figures: no 0.00862751, no 37.5272
    too_precise = re.compile(r"(?<![\w.])(0\.0*[1-9]\d{3,}|[1-9]\d*\.\d{4,})(?![\w.])")
    assert not too_precise.search(text), too_precise.search(text)


def test_no_negative_energy_carbon_cost_or_runtime_anywhere(report):
    plan, baselines, fleet, page, inputs, _ = report
    assert not NEGATIVE.search(visible_text(page)), NEGATIVE.search(visible_text(page))
    for p in [plan, *baselines.values(), *inputs.frontier]:
        s = summarize(p, fleet)
        for key in ("energy_j", "facility_kwh", "co2e_kg", "cost", "runtime_s"):
            assert s[key] >= 0, (p.name, key)
        assert (p.arms[["energy_j", "runtime_s", "device_hours"]] >= 0).all().all()
    figs = html_report._figures(inputs, DEFAULT_BASELINE)
    assert len(figs) == 5
    for fig in figs:
        for trace in fig.data:
            for axis in ("x", "y"):
                values = getattr(trace, axis)
                if values is not None and all(isinstance(v, (int, float)) for v in values):
                    assert min(values) >= 0, (fig.layout.title.text, trace.name, axis)


def test_every_chart_names_its_source_and_its_baselines(report):
    _, baselines, _, _, inputs, _ = report
    for fig in html_report._figures(inputs, DEFAULT_BASELINE):
        notes = [a.text for a in fig.layout.annotations if a.text.startswith("Source: ")]
        assert len(notes) == 1, fig.layout.title.text
    frontier = html_report._figures(inputs, DEFAULT_BASELINE)[3]
    points = next(t for t in frontier.data if t.name == "baselines")
    assert "text" in points.mode and len(points.text) == len(baselines)
