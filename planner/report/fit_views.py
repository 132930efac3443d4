"""Fitted curves as the Models page shows them: tables of every fit's held-out errors,
coefficients and energy source, and charts of one fit (measured vs predicted, residuals,
predicted-value heat map).  Estimated energy is named as such in every one.  A fit's form,
target and unit come from its report (a store or a catalogue file): charts show them through
``labels.plotly_text``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planner.fits.curves import FitReport
from planner.report.labels import plotly_text

GRID_TOKENS = (8, 4096)


def arm_points(measurements: pd.DataFrame, report: FitReport) -> pd.DataFrame:
    """The arm's measured (tin, tout, y) for the report's target, per query; flagged rows out."""
    from planner.fits.fitting import arm_targets, exclude_flagged

    rows = measurements[
        (measurements["model"] == report.model) & (measurements["system"] == report.system)
    ]
    points, _notes = arm_targets(exclude_flagged(rows), report.target, report.energy or "total")
    points["predicted"] = report.predict(points["tin"], points["tout"])
    return points


def measured_vs_predicted(report: FitReport, points: pd.DataFrame) -> go.Figure:
    unit, form, target = (plotly_text(v) for v in (report.curve.unit, report.form, report.target))
    fig = go.Figure()
    fig.add_trace(
        go.Scattergl(
            x=points["y"],
            y=points["predicted"],
            mode="markers",
            name=f"{form} form",
            marker={"size": 5, "opacity": 0.6},
            customdata=points[["tin", "tout"]].to_numpy(),
            hovertemplate="tin %{customdata[0]}, tout %{customdata[1]}<br>"
            "measured %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
        )
    )
    positive = points["y"][points["y"] > 0]
    if len(positive):
        lo, hi = float(positive.min()), float(positive.max())
        fig.add_trace(
            go.Scatter(
                x=[lo, hi],
                y=[lo, hi],
                mode="lines",
                name="y = x",
                line={"dash": "dash", "color": "#616161"},
            )
        )
    fig.update_layout(
        title=f"{target}: measured vs predicted ({form} form)",
        xaxis_title=f"measured ({unit})",
        yaxis_title=f"predicted ({unit})",
        xaxis_type="log",
        yaxis_type="log",
        height=380,
        margin={"t": 50},
    )
    return fig


def residuals(report: FitReport, points: pd.DataFrame) -> go.Figure:
    """Relative residuals (predicted - measured) / measured against output tokens."""
    rel = 100 * (points["predicted"] - points["y"]) / points["y"].where(points["y"] > 0)
    fig = go.Figure(
        go.Scattergl(
            x=points["tout"],
            y=rel,
            mode="markers",
            marker={
                "size": 5,
                "color": np.log2(points["tin"].clip(lower=1)),
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "log2 tin"}},
                "opacity": 0.7,
            },
        )
    )
    fig.add_hline(y=0, line_dash="dash", line_color="#616161")
    fig.update_layout(
        title=f"{plotly_text(report.target)}: residuals ({plotly_text(report.form)} form)",
        xaxis_title="output tokens",
        yaxis_title="(predicted − measured) / measured, %",
        xaxis_type="log",
        height=380,
        margin={"t": 50},
    )
    return fig


def _finite_range(rng: tuple[float, float]) -> tuple[float, float]:
    lo, hi = rng
    lo = GRID_TOKENS[0] if not math.isfinite(lo) or lo <= 0 else lo
    hi = GRID_TOKENS[1] if not math.isfinite(hi) else hi
    return float(lo), float(hi)


def measured_outline(report: FitReport) -> tuple[list, list, str]:
    """(x, y, legend name) of what was measured: the bounding box of a grid, or for two 1-D
    sweeps (``sweep_lines`` = (tin = a, tout = b)) the two lines, since the rest of their
    bounding box was never measured (the planner counts it as extrapolation too)."""
    x0, x1 = _finite_range(report.curve.tin_range)
    y0, y1 = _finite_range(report.curve.tout_range)
    if report.curve.sweep_lines is None:
        return [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], "measured range"
    a, b = report.curve.sweep_lines
    return (
        [a, a, None, x0, x1],
        [y0, y1, None, b, b],
        f"measured: sweeps at tin = {a:g} and tout = {b:g}",
    )


def heatmap(report: FitReport, n: int = 36) -> go.Figure:
    """Predicted value over a log grid of (tin, tout), what was measured outlined."""
    grid = np.unique(np.round(np.geomspace(*GRID_TOKENS, n)))
    tin, tout = np.meshgrid(grid, grid)
    z = report.predict(tin.ravel(), tout.ravel()).reshape(tin.shape)
    positive = z[z > 0]
    floor = float(positive.min()) if positive.size else 1.0
    z_log = np.log10(np.maximum(z, floor))  # colours on a log scale; hover shows the value
    fig = go.Figure(
        go.Heatmap(
            x=grid,
            y=grid,
            z=z_log,
            customdata=z,
            colorscale="YlGn",
            colorbar={"title": {"text": f"log10 {plotly_text(report.curve.unit)}"}},
            hovertemplate="tin %{x}<br>tout %{y}<br>%{customdata:.4g}<extra></extra>",
        )
    )
    x, y, name = measured_outline(report)
    fig.add_trace(
        go.Scatter(x=x, y=y, mode="lines", name=name, line={"color": "#C62828", "width": 2})
    )
    fig.update_layout(
        title=f"Predicted {plotly_text(report.target)} ({plotly_text(report.form)} form)",
        xaxis_title="input tokens",
        yaxis_title="output tokens",
        xaxis_type="log",
        yaxis_type="log",
        height=400,
        margin={"t": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def energy_source_label(report: FitReport) -> str:
    """'imported', 'nvml', ... ; estimated energy is named in capitals."""
    sources = ", ".join(report.energy_sources) or "unknown"
    return f"ESTIMATED ({sources})" if report.is_estimated else sources


def estimated_arms(reports: list[FitReport]) -> frozenset[tuple[str, str]]:
    return frozenset(
        (r.model, r.system) for r in reports if r.target == "energy" and r.is_estimated
    )


def overview(reports: list[FitReport]) -> pd.DataFrame:
    """One row per (model, system, form): held-out errors, n and sources of both targets."""
    rows: dict[tuple, dict] = {}
    for r in reports:
        row = rows.setdefault(
            (r.model, r.system, r.form), {"model": r.model, "system": r.system, "form": r.form}
        )
        prefix = "energy" if r.target == "energy" else "runtime"
        row[f"{prefix} median APE (held out, %)"] = r.cv_median_ape
        row[f"{prefix} p90 APE (held out, %)"] = r.cv_p90_ape
        row[f"{prefix} R² (held out)"] = r.cv_r2
        row[f"{prefix} n"] = r.n
        if r.target == "energy":
            row["energy source"] = energy_source_label(r)
            row["fit source"] = r.source
    return pd.DataFrame(list(rows.values()))


def coefficient_table(reports: list[FitReport], model: str, system: str) -> pd.DataFrame:
    """Coefficients of every form and target of one arm, side by side (one column each)."""
    cols = {}
    for r in sorted(reports, key=lambda r: (r.target, r.form)):
        if r.model == model and r.system == system:
            cols[f"{r.target} · {r.form} ({r.curve.unit})"] = pd.Series(r.curve.coefficients())
    return pd.DataFrame(cols)


def error_table(reports: list[FitReport], model: str, system: str) -> pd.DataFrame:
    """Held-out (cross-validated) and in-sample error figures of one arm's fits."""
    rows = []
    for r in sorted(reports, key=lambda r: (r.target, r.form)):
        if r.model == model and r.system == system:
            rows.append(
                {
                    "target": r.target,
                    "form": r.form,
                    "n": r.n,
                    "held-out median APE %": r.cv_median_ape,
                    "held-out p90 APE %": r.cv_p90_ape,
                    "held-out R²": r.cv_r2,
                    "in-sample R²": r.r2,
                    "energy source": energy_source_label(r),
                    "notes": "; ".join(r.notes),
                }
            )
    return pd.DataFrame(rows)
