"""Charts of workloads and plans, shared by the dashboard and the HTML report.

A new chart of a plan, a frontier or a workload goes here; charts of fitted curves are in
``fit_views`` and of measurements in ``measurement_views``.  Every name from data (LLM,
system, plan, baseline, workload) reaches a figure through ``labels.plotly_text``.

Baselines are named on the chart itself (text beside each point or bar, not only on
hover); axes of quantities compared as ratios (energy, and every panel against zeta)
start at zero; ``source`` (where the figures came from) is written under a chart.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner.report.labels import arm_label, baseline_label, plotly_text, plotly_texts
from planner.report.units import J_PER_KWH, S_PER_H, number
from planner.workload.histogram import token_histogram

SOURCE_NOTE_PX = 40  # room under a chart for its source line
SOURCE_LINE_PX = 13  # room for each further line of a wrapped source
LABEL_SIDES = ("top center", "bottom center", "middle right", "middle left")


def with_source(fig: go.Figure, source: str | None, wrap: int | None = None) -> go.Figure:
    """``fig`` with "Source: ..." written under it (nothing when ``source`` is None or
    empty); with ``wrap``, over as many lines of at most ``wrap`` characters as it needs
    (the ML.ENERGY citation alone is longer than a chart is wide).  Each line is escaped
    and the chart grows by the room its lines take."""
    if not source:
        return fig
    text = f"Source: {source}"
    lines = (
        [text]
        if wrap is None
        else textwrap.wrap(text, wrap, break_long_words=False, break_on_hyphens=False)
    )
    room = SOURCE_NOTE_PX + SOURCE_LINE_PX * (len(lines) - 1)
    bottom = (fig.layout.margin.b or 30) + room
    fig.add_annotation(
        text="<br>".join(plotly_text(line) for line in lines),
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-bottom + 8,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font={"size": 10, "color": "#555"},
        align="left",
    )
    fig.update_layout(margin={"b": bottom}, height=(fig.layout.height or 400) + room)
    return fig


def workload_figure(
    queries: pd.DataFrame, title: str | None = None, source: str | None = None
) -> go.Figure:
    """The workload's token histogram (``planner.workload.histogram``), weighted by count,
    its count axis from zero and with room for its labels."""
    weights = queries["count"].to_numpy(float) if "count" in queries else None
    fig = token_histogram(
        queries["input_tokens"].to_numpy(),
        queries["output_tokens"].to_numpy(),
        weights,
        None if title is None else plotly_text(title),
    )
    fig.update_yaxes(rangemode="tozero", automargin=True)
    fig.update_xaxes(automargin=True)
    fig.update_layout(margin={"l": 60})
    return with_source(fig, source)


def allocation_figure(
    plan, estimated_arms: frozenset = frozenset(), source: str | None = None
) -> go.Figure:
    """Queries and device-hours per (LLM, system) arm of one plan."""
    arms = plan.arms[plan.arms["queries"] > 0].sort_values(["system", "model"])
    labels = [
        plotly_text(arm_label(m, s, (m, s) in estimated_arms))
        for m, s in zip(arms["model"], arms["system"])
    ]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Queries", "Device time (h)"),
        shared_yaxes=True,
        horizontal_spacing=0.06,
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=arms["queries"],
            orientation="h",
            name="queries",
            marker_color="#2E7D32",
            text=[f"{int(q):,}" for q in arms["queries"]],
            textposition="auto",
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
            text=[number(h) for h in arms["device_hours"]],
            textposition="auto",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(rangemode="tozero")
    fig.update_layout(
        title=f"Allocation: {plotly_text(plan.name)}",
        showlegend=False,
        height=max(260, 60 + 34 * len(arms)),
        margin={"t": 60, "b": 30},
    )
    return with_source(fig, source)


def comparison_figure(
    plan, baselines: dict, source: str | None = None, highlight: str | None = None
) -> go.Figure:
    """IT energy (kWh) and accuracy of the plan beside every baseline, each bar labelled
    with its figure; ``highlight`` (a baseline's key) is drawn darker."""
    plans = [plan] + list(baselines.values())
    names = plotly_texts(p.name for p in plans)
    colors = ["#2E7D32"] + ["#616161" if k == highlight else "#BDBDBD" for k in baselines]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("IT energy (kWh)", "Accuracy (A_K, %)"),
        shared_yaxes=True,
        horizontal_spacing=0.06,
    )
    energies = [p.energy_j / J_PER_KWH for p in plans]
    fig.add_trace(
        go.Bar(
            y=names,
            x=energies,
            orientation="h",
            marker_color=colors,
            name="energy",
            text=[number(e) for e in energies],
            textposition="auto",
            textangle=0,
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
            text=[number(p.accuracy) for p in plans],
            textposition="auto",
            textangle=0,
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(rangemode="tozero")
    fig.update_layout(
        title="Plan against every baseline",
        showlegend=False,
        height=max(300, 60 + 26 * len(plans)),
        margin={"t": 60, "b": 30},
    )
    return with_source(fig, source)


def frontier_figure(frontier: list, baselines: dict, plan=None, source: str | None = None):
    """IT energy against accuracy: the optimised frontier as a line, each baseline a point
    named beside it; the energy axis starts at zero."""
    fig = go.Figure()
    pts = sorted((p.accuracy, p.energy_j / J_PER_KWH, p.name) for p in frontier)
    fig.add_trace(
        go.Scatter(
            x=[a for a, _, _ in pts],
            y=[e for _, e, _ in pts],
            mode="lines+markers",
            name="optimised frontier",
            text=plotly_texts(n for _, _, n in pts),
            line={"color": "#2E7D32"},
        )
    )
    # neighbouring baselines' names go on alternate sides so that fewer of them overlap
    order = sorted(baselines, key=lambda k: (baselines[k].accuracy, baselines[k].energy_j))
    side = {k: LABEL_SIDES[i % len(LABEL_SIDES)] for i, k in enumerate(order)}
    fig.add_trace(
        go.Scatter(
            x=[b.accuracy for b in baselines.values()],
            y=[b.energy_j / J_PER_KWH for b in baselines.values()],
            mode="markers+text",
            name="baselines",
            text=plotly_texts(baseline_label(k, b) for k, b in baselines.items()),
            textposition=[side[k] for k in baselines],
            textfont={"size": 9, "color": "#424242"},
            marker={"size": 9, "color": "#616161", "symbol": "diamond"},
            cliponaxis=False,
        )
    )
    if plan is not None:
        fig.add_trace(
            go.Scatter(
                x=[plan.accuracy],
                y=[plan.energy_j / J_PER_KWH],
                mode="markers+text",
                name="current plan",
                text=["this plan"],
                textposition="bottom center",
                marker={"size": 14, "color": "#C62828", "symbol": "star"},
            )
        )
    fig.update_layout(
        title="Energy / accuracy frontier",
        xaxis_title="token-weighted accuracy (%)",
        yaxis_title="IT energy (kWh)",
        height=520,
        margin={"t": 60, "b": 40, "l": 90, "r": 40},
    )
    # room beside the outermost points for their names
    xs = [x for trace in fig.data for x in trace.x]
    ys = [y for trace in fig.data for y in trace.y]
    if xs:
        pad = max(max(xs) - min(xs), 1.0) * 0.12
        fig.update_xaxes(range=[min(xs) - pad, max(xs) + pad])
        fig.update_yaxes(range=[0, max(max(ys), 1e-12) * 1.12])
    fig.update_traces(hovertemplate="%{text}<br>accuracy %{x:.3g}%<br>%{y:.3g} kWh<extra></extra>")
    return with_source(fig, source)


def zeta_figure(frontier: list, zetas: list[float], source: str | None = None) -> go.Figure:
    """IT energy, runtime and accuracy against zeta (the paper's offline case-study
    figure), every axis from zero."""
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=("IT energy (kWh)", "Runtime (h)", "Accuracy (%)")
    )
    series = (
        [p.energy_j / J_PER_KWH for p in frontier],
        [p.runtime_s / S_PER_H for p in frontier],
        [p.accuracy for p in frontier],
    )
    for col, ys in enumerate(series, start=1):
        fig.add_trace(
            go.Scatter(x=list(zetas), y=ys, mode="lines+markers", line={"color": "#2E7D32"}),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="zeta", range=[-0.03, 1.03], row=1, col=col)
        fig.update_yaxes(rangemode="tozero", row=1, col=col)
    fig.update_layout(
        title="Against zeta (0: accuracy only, 1: energy only)",
        showlegend=False,
        height=360,
        margin={"t": 70, "b": 40},
    )
    return with_source(fig, source)
