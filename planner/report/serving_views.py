"""Serving arms as the Models page shows them: per arm, energy per output token, output
throughput and inter-token latency p90 against the running batch -- the measured points
and the fitted operating-point model's curve (``planner.serving.operating``), on a log
batch axis -- and a table of every arm with its held-out errors.

Every figure says where its points come from (the arm's ``source``, e.g. the ML.ENERGY
citation) and what they leave out (the arm's caveats: GPU energy only, prefill folded in,
idle excluded), under the chart.  The fitted curve is drawn solid over the measured batches
and dashed where it extrapolates (down to one request); an operating point, where one is
given, is marked.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planner.report.figures import with_source
from planner.report.labels import plotly_text

# target -> (serving column of the measured points, axis title, colour)
SERVING_TARGETS = {
    "energy_per_token_j": ("energy_per_output_token_j", "energy per output token (J)", "#C62828"),
    "throughput_tps": ("output_throughput_tps", "output tokens/s of the instance", "#2E7D32"),
    "itl_ms_p90": ("itl_ms_p90", "inter-token latency p90 (ms)", "#1565C0"),
}
TARGET_TITLES = {
    "energy_per_token_j": "Energy per output token",
    "throughput_tps": "Throughput",
    "itl_ms_p90": "Inter-token latency p90",
}
CURVE_POINTS = 120
CV_NAMES = {
    "energy_per_token_j": "energy/token",
    "throughput_tps": "throughput",
    "itl_ms_p90": "ITL p90",
}


def setup_rows(rows: pd.DataFrame, setup) -> pd.DataFrame:
    """The measured points of one serving setup (``ServingSetup``) among serving rows."""
    mask = pd.Series(True, index=rows.index)
    for key in ("model", "system", "n_gpus", "weight_precision", "task", "engine"):
        if key in rows.columns:
            mask &= rows[key].astype(str) == str(getattr(setup, key))
    return rows[mask].sort_values("mean_batch")


def figure_source(arm) -> str:
    """The line under an arm's figures: where the points come from and what they leave out."""
    caveats = "; ".join(getattr(arm, "caveats", []) or [])
    return f"{arm.source}" + (f". Leaves out / assumes: {caveats}" if caveats else "")


def serving_figure(
    arm, rows: pd.DataFrame, target: str, *, batch: float | None = None, source: str | None = None
) -> go.Figure:
    """One target of one serving arm against batch: measured points (``rows``: that setup's
    serving rows, ``setup_rows``) and the fitted curve, log batch axis; ``batch`` marks an
    operating point.  ``source`` defaults to ``figure_source(arm)``."""
    if target not in SERVING_TARGETS:
        raise ValueError(f"unknown serving target {target!r}: use one of {list(SERVING_TARGETS)}")
    column, axis, colour = SERVING_TARGETS[target]
    model = arm.model
    fig = go.Figure()
    if column in rows.columns and len(rows):
        measured = rows[["mean_batch", column]].dropna()
        fig.add_trace(
            go.Scatter(
                x=measured["mean_batch"],
                y=measured[column],
                mode="markers",
                name="measured",
                marker={"size": 8, "color": colour, "line": {"width": 1, "color": "#212121"}},
                hovertemplate="batch %{x:.4g}<br>measured %{y:.4g}<extra></extra>",
            )
        )
    lo, hi = float(model.min_batch_), float(model.max_batch_)
    inside = np.geomspace(lo, hi, CURVE_POINTS) if hi > lo else np.array([lo])
    below = np.geomspace(min(1.0, lo), lo, 30) if lo > 1.0 else np.array([])
    for batches, dash, name in ((inside, "solid", "fitted"), (below, "dash", "extrapolated")):
        if not len(batches):
            continue
        y = model.predict_many(target, batches)
        if np.all(np.isnan(y)):
            continue
        fig.add_trace(
            go.Scatter(
                x=batches,
                y=y,
                mode="lines",
                name=name,
                line={"color": colour, "dash": dash, "width": 2},
                hovertemplate="batch %{x:.4g}<br>fitted %{y:.4g}<extra></extra>",
            )
        )
    if batch is not None and math.isfinite(float(batch)) and float(batch) > 0:
        value = float(model.predict_many(target, [float(batch)])[0])
        fig.add_trace(
            go.Scatter(
                x=[float(batch)],
                y=[value],
                mode="markers",
                name="operating point",
                marker={"size": 14, "symbol": "star", "color": "#F9A825"},
                hovertemplate="operating point: batch %{x:.4g}<br>%{y:.4g}<extra></extra>",
            )
        )
    cv = (getattr(model, "cv_", None) or {}).get(target, {})
    held_out = cv.get("median_ape")
    note = (
        f" (held-out median error {held_out:.2g} %)"
        if held_out is not None and math.isfinite(held_out)
        else ""
    )
    fig.update_layout(
        title=f"{TARGET_TITLES[target]}{note}<br><sup>{plotly_text(arm.setup.label)}</sup>",
        xaxis_title="running batch (requests decoded together)",
        yaxis_title=axis,
        xaxis_type="log",
        height=360,
        margin={"t": 70},
        legend={"orientation": "h", "y": -0.25},
    )
    fig.update_yaxes(rangemode="tozero")
    return with_source(fig, figure_source(arm) if source is None else source)


def serving_figures(
    arm, rows: pd.DataFrame, *, batch: float | None = None, source: str | None = None
) -> dict[str, go.Figure]:
    """``serving_figure`` for energy per token, throughput and ITL p90."""
    return {t: serving_figure(arm, rows, t, batch=batch, source=source) for t in SERVING_TARGETS}


def serving_overview(arms) -> pd.DataFrame:
    """One row per serving arm: its setup, measured batches, figures at its largest
    measured batch and the held-out median errors of the operating-point model."""
    rows = []
    for arm in arms:
        setup, model = arm.setup, arm.model
        top = model.predict(float(model.max_batch_))
        row = {
            "model": setup.model,
            "system": setup.system,
            "gpus": int(setup.n_gpus),
            "precision": setup.weight_precision,
            "task": setup.task,
            "batches": int(arm.n_points),
            "batch_range": f"{model.min_batch_:.0f}-{model.max_batch_:.0f}",
            "energy_per_token_j_at_max": top.energy_per_token_j,
            "throughput_tps_at_max": top.throughput_tps,
            "itl_ms_p90_at_max": top.itl_ms_p90,
        }
        for target, name in CV_NAMES.items():
            value = (getattr(model, "cv_", None) or {}).get(target, {}).get("median_ape")
            row[f"cv {name} (%)"] = (
                float(value) if value is not None and math.isfinite(value) else math.nan
            )
        rows.append(row)
    return pd.DataFrame(rows)
