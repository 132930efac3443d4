"""A self-contained HTML report of a plan, for stakeholders.

``build_html_report`` writes one HTML file that needs nothing else: plotly.js is embedded
once, every text that came from the user or the data is escaped, and the assumptions and
data sources are spelled out.  It opens with a summary paragraph (``narrative``) and the
plan's caveats (``caveats``), then the headline figures against the chosen baseline, the
allocation, the charts of ``figures`` (each naming its source) and the comparison with
every baseline; given a capacity plan (``ReportInputs.capacity``), its section follows
(``capacity_section``: totals, caveats, the charts of ``capacity_views`` and the baselines),
and ``build_capacity_report`` writes that section as a page of its own.  Figures are formatted by ``units`` (one unit per quantity: kWh, kg CO2e,
the fleet's currency, hours) and never printed as a negative number; a change is in words.
The dashboard's Export page and ``python -m planner report`` both write it through
``exports.html_bytes``.
"""

from __future__ import annotations

import datetime as _dt
import html
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from planner.fleet.spec import Fleet
from planner.report.caveats import plan_caveats
from planner.report.figures import (
    allocation_figure,
    comparison_figure,
    frontier_figure,
    workload_figure,
    zeta_figure,
)
from planner.report.labels import arm_label
from planner.report.narrative import choose_baseline, summary_paragraph
from planner.report.summary import compare, summarize
from planner.report.tables import (
    HEADLINE,
    allocation_table,
    comparison_table,
    energy_note,
)
from planner.report.units import NOTHING, RUNTIME_MEANING, cell, change, number, points

SETTING_DIGITS = 6  # settings are shown as given (an A_K of 50.97 stays 50.97)


@dataclass
class ReportInputs:
    """What the HTML report shows; ``fits``, ``sources`` and ``assumptions`` are plain text
    (no local paths: the report leaves this machine).  ``compare_to`` is the key of the
    baseline the summary and headline compare with (None: ``narrative.choose_baseline``)."""

    plan: object
    baselines: dict
    fleet: Fleet
    fits: str
    sources: list[str]
    assumptions: dict
    frontier: list = field(default_factory=list)
    zetas: list = field(default_factory=list)
    estimated_arms: frozenset = frozenset()
    compare_to: str | None = None
    title: str = "LLM inference energy plan"
    capacity: object | None = None  # a planner.capacity CapacityPlan: adds its section

    @property
    def workload_name(self) -> str:
        return str(self.plan.data.workload.name)


def _figures(inputs: ReportInputs, compare_to: str | None) -> list[go.Figure]:
    plan, fits = inputs.plan, f"plans on {inputs.fits}"
    wl = plan.data.workload
    figs = [
        workload_figure(
            wl.queries,
            f"Workload: {inputs.workload_name}",
            source=f"workload {inputs.workload_name}, {plan.n_queries:,} queries",
        ),
        allocation_figure(plan, inputs.estimated_arms, source=fits),
        comparison_figure(plan, inputs.baselines, source=fits, highlight=compare_to),
    ]
    if inputs.frontier:
        figs.append(frontier_figure(inputs.frontier, inputs.baselines, plan, source=fits))
        if inputs.zetas and len(inputs.zetas) == len(inputs.frontier):
            figs.append(zeta_figure(inputs.frontier, inputs.zetas, source=fits))
    return figs


def _kv(items: dict) -> str:
    """A two-column table; a dict value becomes a table of its own (e.g. A_K per LLM)."""
    rows = []
    for key, value in items.items():
        shown = (
            "<table>"
            + "".join(
                f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_setting(v))}</td></tr>"
                for k, v in value.items()
            )
            + "</table>"
            if isinstance(value, dict) and value
            else html.escape(_setting(value))
        )
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td>{shown}</td></tr>")
    return f"<table class='kv'>{''.join(rows)}</table>"


def _setting(value) -> str:
    """An assumption's value as given (up to six significant figures); unset settings say
    so rather than print None."""
    if value is None or value == {}:
        return "not set"
    if isinstance(value, float):
        return number(value, SETTING_DIGITS)
    return cell(value)


def _table(df: pd.DataFrame, header: bool = True, classes: str = "tbl") -> str:
    """Any DataFrame as an escaped HTML table, every cell formatted by ``units.cell``."""
    head = (
        "<tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns) + "</tr>"
        if header
        else ""
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table class='{classes}'>{head}{body}</table>"


def _headline(plan_summary: dict, base_summary: dict | None, base_name: str | None) -> str:
    """The headline figures of the plan and of the chosen baseline, with the change in words."""
    currency = plan_summary["currency"]
    columns = ["", "This plan"] + ([base_name, "This plan against it"] if base_summary else [])
    rows = []
    for label, key, unit, scale, _lower_better, meaning in HEADLINE:
        unit = unit.format(currency=currency)
        value = plan_summary.get(key)
        value = None if value is None else value * scale
        row = [f"{label} ({unit})", number(value)]
        if base_summary is not None:
            base = base_summary.get(key)
            base = None if base is None else base * scale
            if value is None or base is None:
                against = NOTHING
            elif key == "accuracy":
                against = points(value, base)
            else:
                against = change(value, base)
            row += [number(base), against]
        rows.append((row, meaning))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + f"<th title='{html.escape(meaning)}'>{html.escape(row[0])}</th>"
        + "".join(f"<td>{html.escape(v)}</td>" for v in row[1:])
        + "</tr>"
        for row, meaning in rows
    )
    return f"<table class='tbl'><tr>{head}</tr>{body}</table>"


def _meanings(currency: str) -> str:
    items = [
        "Energy: facility energy in kWh, the IT energy the fits predict times the PUE; the "
        "charts show IT energy (before PUE).",
        "CO2e: facility energy × grid carbon intensity, in kg.",
        f"Cost: facility energy × price per kWh, in {currency}.",
        "Accuracy: the mean A_K score of the serving LLMs, weighted by each query's tokens "
        "(input + output).",
        "Runtime: " + RUNTIME_MEANING + "; device time also counts every device of an instance.",
    ]
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def build_html_report(inputs: ReportInputs) -> str:
    """One self-contained HTML page: summary, caveats, headline figures, charts, the
    comparison with every baseline, assumptions and data sources."""
    plan, fleet = inputs.plan, inputs.fleet
    key = choose_baseline(inputs.baselines, inputs.compare_to)
    base = inputs.baselines.get(key) if key is not None else None
    plan_summary = summarize(plan, fleet)
    base_summary = None if base is None else summarize(base, fleet)
    figs = _figures(inputs, key)
    charts = "".join(
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        for i, fig in enumerate(figs)
    )
    estimated_note = (
        "<p class='warn'>Some arms' energy models were fitted to ESTIMATED energy, not "
        "measurements: "
        + html.escape(", ".join(arm_label(m, s) for m, s in sorted(inputs.estimated_arms)))
        + ".</p>"
        if inputs.estimated_arms
        else ""
    )
    caveats = plan_caveats(plan, base)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _PAGE.format(
        title=html.escape(inputs.title),
        stamp=stamp,
        workload=html.escape(inputs.workload_name),
        plan_name=html.escape(str(plan.name)),
        status=html.escape(plan.message or str(plan.status)),
        summary=html.escape(summary_paragraph(plan, inputs.baselines, fleet, key)),
        caveats=(
            "<ul class='caveats'>"
            + "".join(f"<li>{html.escape(c)}</li>" for c in caveats)
            + "</ul>"
            if caveats
            else "<p>No caveats found for this plan.</p>"
        ),
        estimated=estimated_note,
        headline=_headline(plan_summary, base_summary, None if base is None else base.name),
        energy_note=html.escape(energy_note(plan_summary)),
        allocation=_table(allocation_table(plan)),
        charts=charts,
        comparison=_table(
            comparison_table(compare(plan, inputs.baselines, fleet), fleet.facility.currency),
            classes="tbl cmp",
        ),
        meanings=_meanings(fleet.facility.currency),
        assumptions=_kv(inputs.assumptions),
        sources="".join(f"<li>{html.escape(s)}</li>" for s in inputs.sources),
        capacity=""
        if inputs.capacity is None
        else capacity_section(inputs.capacity, include_plotlyjs=not figs),
    )


def capacity_section(plan, include_plotlyjs: bool = False) -> str:
    """The capacity plan's section: headline totals with what each means, the caveats in
    plain words, its charts (``capacity_views``, each naming its source) and the table
    against every baseline (infeasible ones marked).  ``include_plotlyjs``: embed plotly.js
    here (when no chart came before)."""
    from planner.report import capacity_views as views

    figs = [
        views.load_figure(plan),
        views.instances_figure(plan),
        views.energy_figure(plan),
        views.grid_figure(plan),
        views.baselines_figure(plan),
    ]
    charts = "".join(
        fig.to_html(
            full_html=False,
            include_plotlyjs=include_plotlyjs and i == 0,
            config={"displaylogo": False},
        )
        for i, fig in enumerate(f for f in figs if f is not None)
    )
    totals = pd.DataFrame(
        [(m["label"], m["value"], m["help"]) for m in views.headline(plan)],
        columns=["Total", "This plan", "What it means"],
    )
    caveats = "".join(f"<li>{html.escape(c)}</li>" for c in views.plan_caveats(plan))
    infeasible = [
        views.baseline_name(k) for k, b in plan.baselines.items() if not b.get("feasible")
    ]
    marked = (
        "<p class='warn'>Infeasible under this plan's constraints: "
        + html.escape(", ".join(infeasible))
        + ".</p>"
        if infeasible
        else ""
    )
    return (
        "<h2>Capacity plan</h2>"
        f"<p class='meta'>Load: {html.escape(str(plan.profile.source))} · "
        f"{plan.data.n_slots:,} slots of {number(plan.data.slot_s / 60.0)} minutes · "
        f"objective: {html.escape(str(plan.objective))} · {html.escape(str(plan.method))}, "
        f"solved in {plan.solve_seconds:.2f} s.</p>"
        f"{_table(totals)}"
        f"<h3>Read these figures with care</h3><ul class='caveats'>{caveats}</ul>"
        f"{charts}"
        "<h3>Against the baselines</h3>"
        f"{marked}<div class='wide'>{_table(views.baselines_table(plan), classes='tbl cmp')}</div>"
        "<p class='meta'>Instances per slot as a mixed-integer program after Mélange (Griggs "
        "et al., 'Mélange: Cost Efficient Large Language Model Serving by Exploiting GPU "
        "Heterogeneity', 2024), with energy, carbon, accuracy and time of day added.</p>"
    )


def build_capacity_report(plan, title: str = "LLM serving capacity plan") -> str:
    """A self-contained HTML page of one capacity plan alone (the Capacity page's download):
    its section (``capacity_section``, plotly.js embedded once) and its data sources."""
    from planner.report import capacity_views as views

    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sources = [views.serving_source(plan), f"load: {plan.profile.source}"]
    return _CAPACITY_PAGE.format(
        title=html.escape(title),
        stamp=stamp,
        section=capacity_section(plan, include_plotlyjs=True),
        sources="".join(f"<li>{html.escape(s)}</li>" for s in sources),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1B2A1E; }}
h1 {{ color: #2E7D32; }} table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: left; }}
table.kv th {{ font-weight: 600; vertical-align: top; }} table.kv table {{ margin: 0; }}
table.tbl td {{ font-variant-numeric: tabular-nums; }}
table.cmp {{ font-size: 0.85rem; }} table.cmp td:last-child {{ min-width: 16rem; }}
.wide {{ overflow-x: auto; }}
.warn {{ color: #B71C1C; font-weight: 600; }} .summary {{ font-size: 1.08rem; line-height: 1.5; }}
.meta {{ color: #555; }} ul.caveats li {{ margin-bottom: 0.3rem; }}
</style></head><body>
<h1>{title}</h1>
<p class="meta">Generated {stamp} · workload: {workload} · plan: {plan_name}. {status}</p>
<h2>Summary</h2>
<p class="summary">{summary}</p>
<h2>Caveats</h2>
{caveats}
{estimated}
<h2>Headline figures</h2>
{headline}
<p class="meta">{energy_note}</p>
<h2>Allocation</h2>
<div class="wide">{allocation}</div>
<h2>Charts</h2>
{charts}
<h2>Plan against every baseline</h2>
<div class="wide">{comparison}</div>
{capacity}
<h2>What the figures mean</h2>
{meanings}
<h2>Assumptions</h2>
{assumptions}
<h2>Data sources</h2>
<ul>{sources}</ul>
<p class="meta">Method after Wilkins, Keshav and Mortier, "Offline Energy-Optimal LLM Serving:
Workload-Based Energy Models for LLM Inference on Heterogeneous Systems" (HotCarbon '24).</p>
</body></html>
"""


_CAPACITY_PAGE = (
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
"""
    + _PAGE[_PAGE.index("<style>") : _PAGE.index("</style>") + len("</style>")]
    + """</head><body>
<h1>{title}</h1>
<p class="meta">Generated {stamp}.</p>
{section}
<h2>Data sources</h2>
<ul>{sources}</ul>
</body></html>
"""
)
