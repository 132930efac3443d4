"""Charts of a plan and a self-contained HTML report of it for stakeholders.

The figure builders are shared with the dashboard.  ``build_html_report`` writes one HTML
file that needs nothing else: plotly.js is embedded once, every text that came from the
user or the data is escaped, and the assumptions and data sources are spelled out.
No streamlit here.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner.workload.histogram import token_histogram

J_PER_KWH = 3.6e6


def arm_label(model: str, system: str, estimated: bool = False) -> str:
    return f"{model} · {system}" + (" [estimated]" if estimated else "")


def workload_figure(queries: pd.DataFrame, title: str | None = None) -> go.Figure:
    """The workload's token histogram (``planner.workload.histogram``), weighted by count."""
    weights = queries["count"].to_numpy(float) if "count" in queries else None
    return token_histogram(
        queries["input_tokens"].to_numpy(), queries["output_tokens"].to_numpy(), weights, title
    )


def allocation_figure(plan, estimated_arms: frozenset = frozenset()) -> go.Figure:
    """Queries and device-hours per (LLM, system) arm of one plan."""
    arms = plan.arms[plan.arms["queries"] > 0].sort_values(["system", "model"])
    labels = [
        arm_label(m, s, (m, s) in estimated_arms) for m, s in zip(arms["model"], arms["system"])
    ]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Queries", "Device-hours"),
        shared_yaxes=True,
        horizontal_spacing=0.06,
    )
    fig.add_trace(
        go.Bar(
            y=labels, x=arms["queries"], orientation="h", name="queries", marker_color="#2E7D32"
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=arms["device_hours"],
            orientation="h",
            name="device-hours",
            marker_color="#5C6BC0",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(automargin=True)
    fig.update_layout(
        title=f"Allocation: {plan.name}",
        showlegend=False,
        height=max(260, 60 + 34 * len(arms)),
        margin={"t": 60, "b": 30},
    )
    return fig


def comparison_figure(plan, baselines: dict) -> go.Figure:
    """Energy (kWh) and accuracy of the plan beside every baseline."""
    plans = [plan] + list(baselines.values())
    names = [p.name for p in plans]
    colors = ["#2E7D32"] + ["#9E9E9E"] * len(baselines)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Energy (kWh, IT)", "Accuracy (A_K %)"),
        shared_yaxes=True,
        horizontal_spacing=0.06,
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[p.energy_j / J_PER_KWH for p in plans],
            orientation="h",
            marker_color=colors,
            name="energy",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[p.accuracy for p in plans],
            orientation="h",
            marker_color=colors,
            name="accuracy",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(
        title="Plan vs baselines",
        showlegend=False,
        height=max(300, 60 + 26 * len(plans)),
        margin={"t": 60, "b": 30},
    )
    return fig


def frontier_figure(frontier: list, baselines: dict, plan=None) -> go.Figure:
    """Energy against accuracy: the optimised frontier as a line, baselines as points."""
    fig = go.Figure()
    pts = sorted((p.accuracy, p.energy_j / J_PER_KWH, p.name) for p in frontier)
    fig.add_trace(
        go.Scatter(
            x=[a for a, _, _ in pts],
            y=[e for _, e, _ in pts],
            mode="lines+markers",
            name="optimised frontier",
            text=[n for _, _, n in pts],
            line={"color": "#2E7D32"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[b.accuracy for b in baselines.values()],
            y=[b.energy_j / J_PER_KWH for b in baselines.values()],
            mode="markers",
            name="baselines",
            text=list(baselines),
            marker={"size": 9, "color": "#616161", "symbol": "diamond"},
        )
    )
    if plan is not None:
        fig.add_trace(
            go.Scatter(
                x=[plan.accuracy],
                y=[plan.energy_j / J_PER_KWH],
                mode="markers",
                name="current plan",
                marker={"size": 14, "color": "#C62828", "symbol": "star"},
            )
        )
    fig.update_layout(
        title="Energy / accuracy frontier",
        xaxis_title="token-weighted accuracy (%)",
        yaxis_title="energy (kWh, IT)",
        height=420,
        margin={"t": 60, "b": 40},
    )
    fig.update_traces(hovertemplate="%{text}<br>accuracy %{x:.2f}%<br>%{y:.4g} kWh<extra></extra>")
    return fig


def zeta_figure(frontier: list, zetas: list[float]) -> go.Figure:
    """Energy, runtime and accuracy against zeta (the paper's offline case-study figure)."""
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=("Energy (kWh)", "Runtime (h)", "Accuracy (%)")
    )
    series = (
        [p.energy_j / J_PER_KWH for p in frontier],
        [p.runtime_s / 3600 for p in frontier],
        [p.accuracy for p in frontier],
    )
    for col, ys in enumerate(series, start=1):
        fig.add_trace(
            go.Scatter(x=list(zetas), y=ys, mode="lines+markers", line={"color": "#2E7D32"}),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="zeta", row=1, col=col)
    fig.update_layout(
        title="Against zeta (0: accuracy only, 1: energy only)",
        showlegend=False,
        height=360,
        margin={"t": 70, "b": 40},
    )
    return fig


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
