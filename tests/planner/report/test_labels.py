"""Names from data in charts and the HTML report: plotly draws them as text, never as links
or markup (``planner.report.labels``)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from planner.fleet.spec import Fleet
from planner.report import exports, figures, fit_views
from planner.report import measurement_views as views
from planner.report.labels import arm_label, plotly_text
from planner.routing.arms import build_arms
from planner.routing.baselines import run_baselines
from planner.routing.optimize import Planner
from planner.workload.load import synthetic_workload
from tests.planner.plan_fixtures import PUBLISHED, report

LINK_SYSTEM = '<a href="https://example.com/phish">Swing A100 (click for specs)</a>'
MARKDOWN_SYSTEM = "[M1 specs](https://example.com/md) **bold** <br>"
LINK_MODEL = '<a href="https://example.com/model">Llama</a> & <b>co</b>'
MARKDOWN_MODEL = "[Mistral](https://example.com/mistral) _x_"
WORKLOAD = '<a href="https://example.com/workload">chat</a>'


def strings(value) -> list[str]:
    """Every string in a figure's JSON (decoded: to_json writes '<' as \\u003c)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def figure_strings(fig) -> list[str]:
    return strings(json.loads(fig.to_json()))


def assert_literal(figs, expected: list[str]) -> None:
    """No string of any figure holds a tag from data; each expected name is there escaped."""
    texts = [s for fig in figs for s in figure_strings(fig)]
    tags = [s for s in texts if re.search(r"<(a|b|i)[\s>]|<a\b|&(?!amp;|lt;|gt;)", s)]
    assert not tags, tags
    joined = "\n".join(texts)
    for name in expected:
        assert plotly_text(name) in joined, name


def test_plotly_text_escapes_what_plotly_reads_as_markup():
    assert plotly_text('<a href="x">A&amp;B</a>') == '&lt;a href="x"&gt;A&amp;amp;B&lt;/a&gt;'
    assert plotly_text("Llama-2 (7B) · swing") == "Llama-2 (7B) · swing"
    assert plotly_text(3) == "3"


@pytest.fixture(scope="module")
def hostile():
    """A planner whose LLMs and systems carry HTML and markdown in their names."""
    (e7, r7), (e13, r13) = PUBLISHED["Llama-2-7b-chat-hf"], PUBLISHED["Llama-2-13b-chat-hf"]
    reports = []
    for model, system, e, r in (
        (LINK_MODEL, LINK_SYSTEM, e7, r7),
        (LINK_MODEL, MARKDOWN_SYSTEM, e13, r13),
        (MARKDOWN_MODEL, LINK_SYSTEM, e13, r7),
    ):
        reports.append(report(model, system, "energy", e, sources=("estimated",)))
        reports.append(report(model, system, "runtime", r))
    fleet = Fleet.from_dict(
        {"llm": {LINK_MODEL: {"accuracy": 50}, MARKDOWN_MODEL: {"accuracy": 60}}}
    )
    workload = synthetic_workload("chat", 200, seed=2)
    workload.name = WORKLOAD
    planner = Planner(build_arms(reports, fleet), workload, fleet)
    plan = planner.solve("paper", zeta=0.5)
    baselines = run_baselines(planner.data.arms, workload, fleet, data=planner.data)
    frontier = planner.frontier(zetas=[0.0, 0.5, 1.0])
    estimated = fit_views.estimated_arms(reports)
    return planner, plan, baselines, frontier, estimated


def test_plan_figures_draw_hostile_names_as_text(hostile):
    planner, plan, baselines, frontier, estimated = hostile
    used = plan.arms[plan.arms["queries"] > 0]
    assert len(used) >= 1
    figs = [
        figures.allocation_figure(plan, estimated),
        figures.comparison_figure(plan, baselines),
        figures.frontier_figure(frontier, baselines, plan),
        figures.zeta_figure(frontier, [0.0, 0.5, 1.0]),
        figures.workload_figure(planner.data.workload.queries, f"Workload: {WORKLOAD}"),
    ]
    labels = [arm_label(m, s, True) for m, s in zip(used["model"], used["system"])]
    baseline_names = [b.name for b in baselines.values()]
    assert any(LINK_SYSTEM in n for n in baseline_names)
    assert_literal(figs, labels + baseline_names + [f"Workload: {WORKLOAD}"])


class Anchors(HTMLParser):
    """The ``<a>`` elements of a page (script bodies are not markup: not parsed)."""

    def __init__(self):
        super().__init__()
        self.anchors: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append(dict(attrs))


def test_html_report_has_no_link_from_data(hostile):
    planner, plan, baselines, frontier, estimated = hostile
    setup = exports.PlanSetup(
        fleet=planner.fleet, fits="fits of store evil.duckdb", estimated_arms=estimated
    )
    page = exports.html_bytes(plan, baselines, setup, frontier, [0.0, 0.5, 1.0]).decode()
    parser = Anchors()
    parser.feed(page)
    assert parser.anchors == []
    assert not re.search(r"<a\s[^>]*example\.com", page)
    assert "<b>co</b>" not in page and "<br>" not in page.split("<h2>Plan against")[1]
    # the names are in the report, as text: escaped in its tables and lists ...
    assert "&lt;a href=&quot;https://example.com/phish&quot;&gt;Swing A100" in page
    # ... and escaped for plotly inside its charts' JSON
    assert '&lt;a href=\\"https:\\u002f\\u002fexample.com\\u002fphish\\"&gt;' in page


def test_fit_charts_draw_a_hostile_form_as_text():
    e, _ = PUBLISHED["Llama-2-7b-chat-hf"]
    rep = report(LINK_MODEL, LINK_SYSTEM, "energy", e, form='<a href="https://example.com/f">x</a>')
    tin, tout = np.meshgrid([8.0, 64.0, 512.0], [8.0, 64.0, 512.0])
    points = pd.DataFrame({"tin": tin.ravel(), "tout": tout.ravel()})
    points["y"] = rep.predict(points["tin"], points["tout"]) * 1.1
    points["predicted"] = rep.predict(points["tin"], points["tout"])
    figs = [
        fit_views.heatmap(rep),
        fit_views.measured_vs_predicted(rep, points),
        fit_views.residuals(rep, points),
    ]
    assert_literal(figs, [f"Predicted energy ({rep.form} form)", f"{rep.form} form"])


def test_measurement_scatter_draws_hostile_names_as_text():
    df = pd.DataFrame(
        {
            "model": [LINK_MODEL, MARKDOWN_MODEL],
            "system": [MARKDOWN_SYSTEM, LINK_SYSTEM],
            "energy_source": ["imported", "estimated"],
            "flags": [[], []],
            "input_tokens": [10, 20],
            "output_tokens": [30, 40],
            "runtime_s": [1.0, 2.0],
            "gpu_energy_j": [100.0, 200.0],
            "cpu_energy_j": [10.0, 20.0],
            "batch_size": [1, 1],
        }
    )
    fig = views.scatter(views.per_query(df), "input_tokens", "energy_j")
    assert_literal(
        [fig],
        [arm_label(LINK_MODEL, MARKDOWN_SYSTEM), arm_label(MARKDOWN_MODEL, LINK_SYSTEM, True)],
    )
