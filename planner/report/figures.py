"""Charts of workloads and plans, shared by the dashboard and the HTML report.

A new chart of a plan, a frontier or a workload goes here; charts of fitted curves are in
``fit_views`` and of measurements in ``measurement_views``.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner.report.units import J_PER_KWH
from planner.workload.histogram import token_histogram


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
