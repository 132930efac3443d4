"""Charts and tables of a capacity plan (``planner.capacity.plan.CapacityPlan``), shared by
the dashboard's Capacity page and the HTML report's capacity section.

Each figure is drawn from one of the plan's figure-ready frames (``profile_frame``,
``instances_frame``, ``energy_frame``) or its totals and baselines; ``captions`` words,
per figure, where its figures come from (the load's source; the serving data's, with the
ML.ENERGY citation where its points are used) and what they leave out.  Every name from
data reaches a figure through ``labels.plotly_text``; energy is in kWh, carbon in kg CO2e,
cost in the plan's currency, as in ``units``.  Nothing here imports streamlit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner.report.figures import with_source
from planner.report.labels import plotly_text
from planner.report.units import J_PER_KWH, NOTHING, change, number, points

__all__ = [
    "BASELINE_NAMES",
    "baseline_name",
    "baselines_figure",
    "baselines_table",
    "captions",
    "energy_figure",
    "grid_figure",
    "headline",
    "instances_figure",
    "load_figure",
    "plan_caveats",
    "serving_source",
]

BASELINE_NAMES = {
    "peak_most_accurate_newest": "Most accurate LLM, newest GPU, for the peak",
    "zeta_routing_peak": "Offline routing, for the peak",
}
PLAN_NAME = "This plan"
ACTIVE_COLOR, IDLE_COLOR = "#2E7D32", "#BDBDBD"
PLAN_COLOR, BASE_COLOR, INFEASIBLE_COLOR = "#2E7D32", "#9E9E9E", "#E57373"
# One colour per arm, in the order of their share (drawn the same in the app and the report)
ARM_COLORS = ("#1E88E5", "#43A047", "#FB8C00", "#8E24AA", "#00ACC1", "#E53935", "#6D4C41",
              "#C0CA33", "#3949AB", "#D81B60", "#546E7A", "#FDD835")  # fmt: skip
SOURCE_WRAP = 150  # characters per line of a chart's source note
# (label, totals key, unit, scale from the totals' unit, what it means)
HEADLINE = (
    ("Energy", "energy_j", "kWh", 1 / J_PER_KWH, "active + idle energy of the provisioned "
     "GPUs, times the PUE"),
    ("Active energy", "active_energy_j", "kWh", 1 / J_PER_KWH, "while instances serve, at "
     "their operating points"),
    ("Idle energy", "idle_energy_j", "kWh", 1 / J_PER_KWH, "provisioned GPUs waiting for "
     "requests, at their idle power"),
    ("GPU-hours", "gpu_hours", "h", 1.0, "GPUs provisioned × slot length, summed"),
    ("CO2e", "co2e_kg", "kg", 1.0, "energy × the grid's carbon intensity in each slot"),
    ("Cost", "cost", "{currency}", 1.0, "GPU-hours × price per GPU-hour + energy × "
     "electricity price"),
    ("Accuracy", "accuracy", "%", 1.0, "mean accuracy score of the serving LLMs, weighted "
     "by the output tokens each serves"),
)  # fmt: skip


def baseline_name(key: str) -> str:
    """A baseline's key (``planner.capacity.baselines``) in words."""
    if key in BASELINE_NAMES:
        return BASELINE_NAMES[key]
    if str(key).startswith("one_kind:"):
        return f"{key.split(':', 1)[1]} only (optimal on it)"
    return str(key)


def serving_source(plan) -> str:
    """Where the plan's operating points come from, in words: the options' own sources
    (the ML.ENERGY citation where its points are used)."""
    from planner.serving.embedded import CITATION

    sources = sorted(set(plan.options["source"].astype(str)))
    mlenergy = any("imported" in s or "ML.ENERGY" in s for s in sources)
    others = [s for s in sources if "imported" not in s and "ML.ENERGY" not in s]
    parts = ([f"serving points: {CITATION}"] if mlenergy else []) + [
        f"serving points: {s}" for s in others
    ]
    return "; ".join(parts) or "serving points: unknown source"


def _arm_label(row) -> str:
    return f"{row.llm} @ {row.system} (batch {number(row.batch)})"


def _start_label(plan) -> str:
    return f"Slot start (hours from the start; {number(plan.data.slot_s / 60.0)}-minute slots)"


def load_figure(plan) -> go.Figure:
    """Requests per second in each slot (bars) and mean output tokens per request (line)."""
    frame = plan.profile_frame()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=frame["start_h"],
            y=frame["requests_per_s"],
            name="requests/s",
            marker_color="#5C6BC0",
            customdata=np.stack([frame["requests"], frame["output_tokens"]], axis=1),
            hovertemplate="slot at %{x:.2f} h<br>%{y:.3g} requests/s<br>%{customdata[0]:,} "
            "requests<br>%{customdata[1]:,} output tokens<extra></extra>",
            offset=0,
            width=plan.data.slot_s / 3600.0,
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=frame["start_h"] + plan.data.slot_s / 7200.0,
            y=frame["mean_output_tokens"],
            name="mean output tokens per request",
            mode="lines+markers",
            line={"color": "#FB8C00"},
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="requests per second", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="output tokens per request", rangemode="tozero", secondary_y=True)
    fig.update_xaxes(title_text=_start_label(plan))
    fig.update_layout(
        title=f"Load: {plotly_text(plan.profile.source)}",
        height=360,
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 60, "b": 80},
    )
    return with_source(fig, captions(plan)["load"], wrap=SOURCE_WRAP)


def instances_figure(plan, unit: str = "instances") -> go.Figure:
    """Instances (or GPUs: ``unit="gpus"``) provisioned per slot, stacked by arm."""
    frame = plan.instances_frame()
    fig = go.Figure()
    if len(frame):
        frame = frame.assign(label=[_arm_label(r) for r in frame.itertuples()])
        order = frame.groupby("label")[unit].sum().sort_values(ascending=False).index
        for i, label in enumerate(order):
            part = frame[frame["label"] == label]
            fig.add_trace(
                go.Bar(
                    x=part["start_h"],
                    y=part[unit],
                    name=plotly_text(label),
                    marker_color=ARM_COLORS[i % len(ARM_COLORS)],
                    customdata=np.stack(
                        [part["instances"], part["gpus"], 100 * part["utilisation"]], axis=1
                    ),
                    hovertemplate=plotly_text(label)
                    + "<br>slot at %{x:.2f} h: %{customdata[0]} instances, %{customdata[1]} "
                    "GPUs, %{customdata[2]:.0f}% busy<extra></extra>",
                    offset=0,
                    width=plan.data.slot_s / 3600.0,
                )
            )
    most = float(frame.groupby("slot")[unit].sum().max()) if len(frame) else 0.0
    if most <= 12:  # whole instances: no 0.5 ticks
        fig.update_yaxes(dtick=1)
    fig.update_layout(
        barmode="stack",
        showlegend=True,
        title="Instances provisioned per slot, by arm (LLM @ GPU, batch)"
        if unit == "instances"
        else "GPUs provisioned per slot, by arm",
        height=380,
        legend={"orientation": "h", "y": -0.3},
        margin={"t": 60, "b": 90},
    )
    fig.update_yaxes(title_text="instances" if unit == "instances" else "GPUs", rangemode="tozero")
    fig.update_xaxes(title_text=_start_label(plan))
    return with_source(fig, captions(plan)["instances"], wrap=SOURCE_WRAP)


def energy_figure(plan) -> go.Figure:
    """Energy per slot in kWh, stacked: active (serving) and idle (provisioned, waiting)."""
    frame = plan.energy_frame()
    fig = go.Figure()
    for column, name, color in (
        ("active_energy_j", "active (serving)", ACTIVE_COLOR),
        ("idle_energy_j", "idle (provisioned, waiting)", IDLE_COLOR),
    ):
        fig.add_trace(
            go.Bar(
                x=frame["start_h"],
                y=np.maximum(frame[column].to_numpy(float), 0.0) / J_PER_KWH,
                name=name,
                marker_color=color,
                offset=0,
                width=plan.data.slot_s / 3600.0,
                hovertemplate="slot at %{x:.2f} h: %{y:.3g} kWh<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        title=f"Energy per slot, active and idle (kWh, PUE {number(plan.data.pue)} included)",
        height=360,
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 60, "b": 80},
    )
    fig.update_yaxes(title_text="kWh", rangemode="tozero")
    fig.update_xaxes(title_text=_start_label(plan))
    return with_source(fig, captions(plan)["energy"], wrap=SOURCE_WRAP)


def grid_figure(plan) -> go.Figure | None:
    """Carbon intensity (gCO2e/kWh) and electricity price per slot; None when the plan has
    neither."""
    frame = plan.profile_frame()
    intensity = frame["gco2e_per_kwh"].to_numpy(float)
    price = frame["price_per_kwh"].to_numpy(float)
    if not (np.isfinite(intensity).any() or np.isfinite(price).any()):
        return None
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = frame["start_h"] + plan.data.slot_s / 7200.0
    if np.isfinite(intensity).any():
        fig.add_trace(
            go.Scatter(x=x, y=intensity, name="gCO2e/kWh", mode="lines", line={"color": "#6D4C41"}),
            secondary_y=False,
        )
    if np.isfinite(price).any():
        fig.add_trace(
            go.Scatter(
                x=x,
                y=price,
                name=f"price per kWh ({plotly_text(plan.currency)})",
                mode="lines",
                line={"color": "#1E88E5", "dash": "dot"},
            ),
            secondary_y=True,
        )
    fig.update_yaxes(title_text="gCO2e per kWh", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(
        title_text=f"{plotly_text(plan.currency)} per kWh", rangemode="tozero", secondary_y=True
    )
    fig.update_xaxes(title_text=_start_label(plan))
    fig.update_layout(
        title="Grid: carbon intensity and electricity price per slot",
        height=340,
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 60, "b": 80},
    )
    return with_source(fig, captions(plan)["grid"], wrap=SOURCE_WRAP)


def _rows(plan) -> list[tuple[str, dict, bool]]:
    """(name, totals, feasible) of the plan, then of each baseline with totals."""
    rows = [(PLAN_NAME, plan.totals, True)]
    for key, base in plan.baselines.items():
        rows.append((baseline_name(key), base, bool(base.get("feasible"))))
    return rows


def baselines_figure(plan) -> go.Figure:
    """Energy, GPU-hours and (where known) CO2e and cost of the plan beside each baseline;
    infeasible baselines drawn red and named so (their totals, where they have any, kept)."""
    rows = [r for r in _rows(plan) if r[1].get("energy_j") is not None or not r[2]]
    panels = [("Energy (kWh)", "energy_j", 1 / J_PER_KWH), ("GPU-hours", "gpu_hours", 1.0)]
    if plan.totals.get("co2e_kg") is not None:
        panels.append(("CO2e (kg)", "co2e_kg", 1.0))
    if plan.totals.get("cost") is not None:
        panels.append((f"Cost ({plotly_text(plan.currency)})", "cost", 1.0))
    if plan.totals.get("accuracy") is not None:  # a baseline using less may be less accurate
        panels.append(("Accuracy (%)", "accuracy", 1.0))
    names = [plotly_text(name if ok else f"{name} (infeasible)") for name, _, ok in rows]
    colors = [
        PLAN_COLOR if i == 0 else (BASE_COLOR if ok else INFEASIBLE_COLOR)
        for i, (_, _, ok) in enumerate(rows)
    ]
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[p[0] for p in panels],
        shared_yaxes=True,
        horizontal_spacing=0.04,
    )
    for col, (_, key, scale) in enumerate(panels, start=1):
        values = [
            None if totals.get(key) is None else max(float(totals[key]), 0.0) * scale
            for _, totals, _ in rows
        ]
        fig.add_trace(
            go.Bar(
                y=names,
                x=[0.0 if v is None else v for v in values],
                orientation="h",
                marker_color=colors,
                text=[NOTHING if v is None else number(v) for v in values],
                textposition="auto",
                textangle=0,
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(rangemode="tozero")
    fig.update_layout(
        title="This plan against the baselines (red: infeasible under the plan's constraints)",
        height=max(300, 80 + 34 * len(rows)),
        margin={"t": 70, "b": 30},
    )
    # the bars' labels take the left of the figure: the note wraps narrower
    return with_source(fig, captions(plan)["baselines"], wrap=85)


def headline(plan) -> list[dict]:
    """The plan's totals as metrics: label (with unit), value (formatted; a dash where
    unknown) and help (what the figure means)."""
    out = []
    for label, key, unit, scale, meaning in HEADLINE:
        value = plan.totals.get(key)
        unit = unit.format(currency=plan.currency)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            value = max(float(value), 0.0) * scale
            shown = number(value)
        else:
            shown = NOTHING
        help_text = meaning
        if value is None:
            help_text += f". Unknown for this plan: {_unknown_reason(key)}"
        out.append({"label": f"{label} ({unit})", "value": shown, "help": help_text})
    return out


def _unknown_reason(key: str) -> str:
    return {
        "co2e_kg": "no carbon intensity was given (a grid file or a flat figure)",
        "cost": "it needs a price per GPU-hour for every system and an electricity price",
        "accuracy": "an LLM the plan uses has no accuracy score",
    }.get(key, "not computed")


def plan_caveats(plan) -> list[str]:
    """What a reader must know about the totals, in plain words: the plan's own warnings,
    and the assumptions behind every figure."""
    out = [
        "GPU energy only: CPU, memory, network and cooling beyond the PUE are not counted.",
        "An instance is assumed to run at its operating point while it serves and to idle "
        "otherwise; ramping between the two, start-up and queueing delays are not modelled.",
        "Latency targets are met by leaving out operating points above them (p90 figures "
        "measured at steady state); a p90 time to first token is checked only where it was "
        "measured.",
    ]
    out += [w[:1].upper() + w[1:] for w in plan.warnings]
    # the plan's JSON speaks of null; a reader is told the figure is not reported
    return [c.replace(": null (", ": not reported (") for c in out]


def baselines_table(plan) -> pd.DataFrame:
    """One row per baseline (the plan first): feasible, totals in report units, energy
    against the plan in words, and what the baseline is or why it is infeasible."""
    plan_energy = plan.totals.get("energy_j")
    records = []
    for key, (name, totals, ok) in zip(["plan", *plan.baselines], _rows(plan)):
        energy = totals.get("energy_j")
        why = totals.get("note") or ""
        if not ok and totals.get("violations"):
            why = f"{why}: " if why else ""
            why += "; ".join(map(str, totals["violations"]))
        acc, plan_acc = totals.get("accuracy"), plan.totals.get("accuracy")
        records.append(
            {
                "Plan or baseline": name,
                "Feasible": ok,
                "Energy (kWh)": None if energy is None else max(energy, 0.0) / J_PER_KWH,
                "Active (kWh)": _kwh(totals.get("active_energy_j")),
                "Idle (kWh)": _kwh(totals.get("idle_energy_j")),
                "GPU-hours": totals.get("gpu_hours"),
                "CO2e (kg)": totals.get("co2e_kg"),
                f"Cost ({plan.currency})": totals.get("cost"),
                "Accuracy (%)": acc,
                "This plan's energy against it": NOTHING
                if key == "plan" or energy is None or plan_energy is None
                else change(plan_energy, energy),
                "This plan's accuracy against it": NOTHING
                if key == "plan"
                else points(plan_acc, acc),
                "What it is": "the optimal plan of these settings" if key == "plan" else why,
            }
        )
    return pd.DataFrame.from_records(records)


def _kwh(value):
    return None if value is None else max(float(value), 0.0) / J_PER_KWH


def _minimises(plan) -> str:
    if plan.zeta is not None:
        return f"zeta × {plan.objective} − (1 − zeta) × accuracy (zeta = {number(plan.zeta)})"
    if plan.min_accuracy is not None:
        return f"{plan.objective} at an accuracy of at least {number(plan.min_accuracy)}%"
    return f"{plan.objective} alone"


def captions(plan) -> dict[str, str]:
    """Per figure: where its numbers come from and what they leave out, in plain words."""
    serving = serving_source(plan)
    load = plan.profile.source
    synthetic = "synthetic" in str(load)
    slot_min = plan.data.slot_s / 60.0
    grid_note = next((w for w in plan.warnings if w.startswith("carbon intensity")), None)
    return {
        "load": f"load: {load} in {number(slot_min)}-minute slots"
        + (" (made up from an arrival process, not measured traffic)" if synthetic else ""),
        "instances": f"{serving}; instances sized so each arm's share of the slot's output "
        "tokens fits what its operating point sustains (optimal plan, HiGHS)",
        "energy": f"{serving}; active = energy per output token × tokens served; idle = "
        "per-GPU idle power × provisioned GPUs × the time they do not serve; GPU energy only, "
        f"times PUE {number(plan.data.pue)}",
        "grid": grid_note
        or "a flat carbon intensity and electricity price (no hourly grid file given)",
        "baselines": f"{serving}; every baseline uses the same operating points and targets; "
        "red bars break a constraint of the plan (GPU limits, accuracy floor); the plan "
        f"minimises {_minimises(plan)}, so a baseline may use less energy at lower accuracy",
    }
