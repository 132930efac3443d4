"""Charts, totals and the HTML section of a capacity plan (``capacity_views``, ``html``):
figures that add up to the plan's own numbers, a source under every chart (the ML.ENERGY
citation where its points are used), unknown totals said so, infeasible baselines marked,
names from data drawn literally, and the HTML report unchanged without a capacity plan."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from planner.capacity.grid import GridProfile
from planner.capacity.options import OPTION_COLUMNS
from planner.capacity.plan import plan_capacity
from planner.capacity.profile import profile_from_aggregate
from planner.fleet.spec import Facility, Fleet, SystemSpec
from planner.report import capacity_views as views
from planner.report import html as html_report
from planner.report.units import J_PER_KWH
from planner.serving.embedded import CITATION

SLOT_S = 3600.0
HOSTILE = "<b>evil</b>-LLM"  # a name from data, never markup


def options() -> pd.DataFrame:
    """Two arms by hand: a small, fast LLM on H100 and a larger, more accurate one on B200."""
    rows = [
        # model, system, gpus, batch, J/token, tokens/s, itl p90, idle W/GPU, accuracy, source
        (HOSTILE, "H100", 1, 64.0, 0.2, 2000.0, 20.0, 90.0, 40.0, "imported: ML.ENERGY"),
        ("big-llm", "B200", 2, 128.0, 0.5, 3000.0, 25.0, 120.0, 70.0, "measured serving row: nvml"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "model",
            "system",
            "gpus_per_instance",
            "batch",
            "energy_per_token_j",
            "throughput_tps",
            "itl_ms_p90",
            "idle_power_w_per_gpu",
            "accuracy",
            "source",
        ],
    )
    frame["llm"] = frame["model"]
    frame["task"] = "chat"
    frame["ttft_ms_p90"] = np.nan
    frame["idle_source"] = "given in the test"
    frame["arm"] = frame["model"] + " @ " + frame["system"]
    frame["option"] = frame["arm"] + " @ batch " + frame["batch"].astype(str)
    return frame[list(OPTION_COLUMNS)]


def profile(tokens=(5_000_000, 20_000_000, 9_000_000)):
    agg = pd.DataFrame(
        {
            "slot": np.arange(len(tokens)),
            "requests": [t // 200 for t in tokens],
            "input_tokens": [t // 4 for t in tokens],
            "output_tokens": list(tokens),
        }
    )
    return profile_from_aggregate(agg, SLOT_S, "synthetic test load", notes=["made up"])


def grid() -> GridProfile:
    hours = np.arange(24)
    return GridProfile(300.0 + 10 * hours, 0.1 + 0.01 * hours, "grid file test.csv")


@pytest.fixture(scope="module")
def plan():
    fleet = Fleet(facility=Facility(pue=1.25, carbon_g_per_kwh=400.0, price_per_kwh=0.2))
    return plan_capacity(profile(), options(), fleet=fleet, grid=grid(), min_accuracy=55.0)


@pytest.fixture(scope="module")
def limited_plan():
    """B200 limited to 2 GPUs: the most accurate LLM on the newest GPU, sized for the peak,
    breaks the limit; the plan (no accuracy term) does not need B200."""
    fleet = Fleet(system={"B200": SystemSpec(devices=2)})
    return plan_capacity(profile(), options(), fleet=fleet)


def source_of(fig) -> str:
    notes = [a.text for a in fig.layout.annotations if str(a.text).startswith("Source: ")]
    assert len(notes) == 1, [a.text for a in fig.layout.annotations]
    return notes[0].replace("<br>", " ")  # wrapped at spaces


def test_instances_stack_to_the_plans_instances_per_slot(plan):
    fig = views.instances_figure(plan)
    per_slot = np.zeros(plan.data.n_slots)
    for trace in fig.data:
        slots = np.rint(np.asarray(trace.x) * 3600.0 / plan.data.slot_s).astype(int)
        np.add.at(per_slot, slots, np.asarray(trace.y, float))
    assert per_slot.tolist() == plan.n.sum(axis=1).tolist()
    assert fig.layout.barmode == "stack"
    assert per_slot.max() >= 2  # the 20-million-token slot needs more than one instance


def test_energy_splits_into_active_and_idle_that_add_up(plan):
    fig = views.energy_figure(plan)
    active, idle = (np.asarray(t.y, float) for t in fig.data)
    assert (active >= 0).all() and (idle >= 0).all()
    total_kwh = plan.totals["energy_j"] / J_PER_KWH
    assert active.sum() + idle.sum() == pytest.approx(total_kwh, rel=1e-9)
    assert active.sum() == pytest.approx(plan.totals["active_energy_j"] / J_PER_KWH, rel=1e-9)
    assert "PUE 1.25" in fig.layout.title.text


def test_load_figure_shows_requests_per_second(plan):
    fig = views.load_figure(plan)
    bars = np.asarray(fig.data[0].y, float)
    assert bars.tolist() == pytest.approx([r / SLOT_S for r in (25_000, 100_000, 45_000)])
    assert "synthetic test load" in source_of(fig)


def test_grid_figure_follows_the_grid_and_is_absent_without_one(plan, limited_plan):
    fig = views.grid_figure(plan)
    assert np.asarray(fig.data[0].y, float).tolist() == pytest.approx([300.0, 310.0, 320.0])
    assert "grid file test.csv" in source_of(fig)
    assert views.grid_figure(limited_plan) is None  # no intensity, no price: no chart


def test_every_figure_names_its_source_with_the_mlenergy_citation(plan):
    figs = [
        views.load_figure(plan),
        views.instances_figure(plan),
        views.energy_figure(plan),
        views.grid_figure(plan),
        views.baselines_figure(plan),
    ]
    for fig in figs:
        assert source_of(fig)
    for fig in figs[1:3] + figs[4:]:  # the figures drawn from the serving points
        text = html.unescape(source_of(fig))
        assert CITATION in text and "measured serving row: nvml" in text


def test_names_from_data_are_drawn_literally(plan):
    fig = views.instances_figure(plan)
    names = " ".join(str(t.name) for t in fig.data)
    assert "&lt;b&gt;evil&lt;/b&gt;" in names and "<b>" not in names


def test_headline_says_why_a_total_is_unknown(limited_plan):
    shown = {m["label"]: m for m in views.headline(limited_plan)}
    assert shown["Cost (USD)"]["value"] == "—"
    assert "price per GPU-hour" in shown["Cost (USD)"]["help"]
    assert shown["CO2e (kg)"]["value"] == "—"
    assert shown["Energy (kWh)"]["value"] != "—"


def test_infeasible_baselines_are_marked_in_figure_and_table(limited_plan):
    bad = [k for k, b in limited_plan.baselines.items() if not b.get("feasible")]
    assert "peak_most_accurate_newest" in bad
    fig = views.baselines_figure(limited_plan)
    names = list(fig.data[0].y)
    colors = list(fig.data[0].marker.color)
    marked = [i for i, n in enumerate(names) if n.endswith("(infeasible)")]
    assert len(marked) == len(bad)
    assert all(colors[i] == views.INFEASIBLE_COLOR for i in marked)
    table = views.baselines_table(limited_plan)
    assert table["Plan or baseline"].iloc[0] == views.PLAN_NAME and table["Feasible"].iloc[0]
    row = table[table["Plan or baseline"] == views.baseline_name("peak_most_accurate_newest")]
    assert not row["Feasible"].iloc[0]
    assert "over the limit" in row["What it is"].iloc[0]


def test_plan_is_never_worse_than_a_feasible_baseline_on_its_objective(plan):
    for base in plan.baselines.values():
        if base.get("feasible"):
            assert plan.objective_value <= base["objective_value"] * (1 + 1e-6)


def test_no_negative_figure_in_the_table(limited_plan):
    table = views.baselines_table(limited_plan)
    numbers = table.select_dtypes("number").to_numpy(float)
    assert np.nan_to_num(numbers, nan=0.0).min() >= 0
    words = " ".join(table["This plan's energy against it"].astype(str))
    assert not re.search(r"-\d", words)


def test_caveats_are_plain_words_and_include_the_plans_warnings(plan):
    caveats = views.plan_caveats(plan)
    assert caveats[0].startswith("GPU energy only")
    assert any("Made up" in c for c in caveats)  # the load's own note, capitalised
    assert all(c[:1].isupper() for c in caveats)


def test_capacity_report_is_self_contained_and_escaped(plan):
    page = html_report.build_capacity_report(plan)
    assert page.count("<h2>Capacity plan</h2>") == 1
    assert "<script src=" not in page and len(page) > 3_000_000  # plotly.js embedded
    assert "<b>evil</b>" not in page
    assert CITATION.replace("'", "&#x27;") in page
    assert "Mélange" in page and "Read these figures with care" in page


def test_html_report_gains_the_section_only_when_given_a_capacity_plan(plan):
    from planner.report import exports
    from planner.routing.baselines import run_baselines
    from tests.planner.report.catalogue_plans import code_trace, default_planner

    workload = code_trace()
    fleet = Fleet()
    planner = default_planner(workload, fleet)
    routing = planner.solve("paper", zeta=0.5)
    baselines = run_baselines(planner.data.arms, workload, fleet, data=planner.data)
    setup = exports.PlanSetup(fleet=fleet, fits="Reference catalogue")
    inputs = html_report.ReportInputs(
        plan=routing,
        baselines=baselines,
        fleet=fleet,
        fits=setup.fits,
        sources=exports.data_sources(routing, setup),
        assumptions=exports.assumptions(routing, setup),
    )
    without = html_report.build_html_report(inputs)
    assert "Capacity plan" not in without
    inputs.capacity = plan
    with_capacity = html_report.build_html_report(inputs)
    assert with_capacity.count("<h2>Capacity plan</h2>") == 1
    # plotly.js once: embedded with the first chart, not again for the capacity charts
    assert without.count("plotly.js v") >= 1
    assert with_capacity.count("plotly.js v") == without.count("plotly.js v")
