"""A self-contained HTML report of a plan, for stakeholders.

``build_html_report`` writes one HTML file that needs nothing else: plotly.js is embedded
once, every text that came from the user or the data is escaped, and the assumptions and
data sources are spelled out.  Its charts are those of ``figures``.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from planner.report.figures import (
    allocation_figure,
    arm_label,
    comparison_figure,
    frontier_figure,
    workload_figure,
    zeta_figure,
)


@dataclass
class ReportInputs:
    """What the HTML report shows; ``sources`` and ``assumptions`` are plain text."""

    plan: object
    baselines: dict
    summary: dict
    comparison: pd.DataFrame
    workload_name: str
    sources: list[str]
    assumptions: dict
    frontier: list = field(default_factory=list)
    zetas: list = field(default_factory=list)
    estimated_arms: frozenset = frozenset()
    title: str = "LLM inference energy plan"


def _figures(inputs: ReportInputs) -> list[go.Figure]:
    figs = [
        workload_figure(inputs.plan.data.workload.queries, f"Workload: {inputs.workload_name}"),
        allocation_figure(inputs.plan, inputs.estimated_arms),
        comparison_figure(inputs.plan, inputs.baselines),
    ]
    if inputs.frontier:
        figs.append(frontier_figure(inputs.frontier, inputs.baselines, inputs.plan))
        if inputs.zetas and len(inputs.zetas) == len(inputs.frontier):
            figs.append(zeta_figure(inputs.frontier, inputs.zetas))
    return figs


def _dl(items: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in items.items()
    )
    return f"<table class='kv'>{rows}</table>"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def build_html_report(inputs: ReportInputs) -> str:
    """One self-contained HTML page: headline figures, charts, comparison, assumptions."""
    figs = _figures(inputs)
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
    plan = inputs.plan
    table = inputs.comparison.to_html(
        index=False,
        escape=True,
        float_format=lambda x: f"{x:,.6g}",
        na_rep="",
        border=0,
        classes="cmp",
    )
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _PAGE.format(
        title=html.escape(inputs.title),
        stamp=stamp,
        workload=html.escape(inputs.workload_name),
        plan_name=html.escape(str(plan.name)),
        status=html.escape(f"{plan.status}: {plan.message}"),
        summary=_dl(inputs.summary),
        estimated=estimated_note,
        charts=charts,
        comparison=table,
        assumptions=_dl(inputs.assumptions),
        sources="".join(f"<li>{html.escape(s)}</li>" for s in inputs.sources),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1B2A1E; }}
h1 {{ color: #2E7D32; }} table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: left; }}
table.kv th {{ font-weight: 600; }} .warn {{ color: #B71C1C; font-weight: 600; }}
.meta {{ color: #555; }}
</style></head><body>
<h1>{title}</h1>
<p class="meta">Generated {stamp} · workload: {workload} · plan: {plan_name} ({status})</p>
{estimated}
<h2>Headline figures</h2>
{summary}
<h2>Charts</h2>
{charts}
<h2>Plan against every baseline</h2>
{comparison}
<h2>Assumptions</h2>
{assumptions}
<h2>Data sources</h2>
<ul>{sources}</ul>
<p class="meta">Method after Wilkins, Keshav and Mortier, "Offline Energy-Optimal LLM Serving:
Workload-Based Energy Models for LLM Inference on Heterogeneous Systems" (HotCarbon '24).</p>
</body></html>
"""
