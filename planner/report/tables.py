"""Plans, arms and workloads in the reader's words and units: the headline figures, the
energy note, the allocation and comparison tables and the workload's caption, shared by the
dashboard and the HTML report (``summary`` computes the figures themselves)."""

from __future__ import annotations

import math

import pandas as pd

from planner.report.units import J_PER_KWH

HEADLINE = (
    # label, summary key, unit, scale, lower is better, what it is
    ("Energy", "facility_kwh", "kWh", 1.0, True, "facility energy: IT energy × PUE"),
    ("CO2e", "co2e_g", "kg", 1e-3, True, "facility energy × grid carbon intensity"),
    ("Cost", "cost", "", 1.0, True, "facility energy × price per kWh"),
    ("Accuracy", "accuracy", "%", 1.0, False, "token-weighted mean A_K"),
    ("Runtime", "runtime_s", "h", 1 / 3600, True, "summed over queries, one at a time"),
)


def _num(value, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    text = f"{value:,.3g}" if abs(value) < 1e3 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def _scaled(summary: dict, key: str, scale: float):
    value = summary.get(key)
    return None if value is None else value * scale


def headline(plan_summary: dict, base_summary: dict | None) -> list[dict]:
    """The plan's figures, each with its change against the baseline, as a metric's keyword
    arguments (label, value, delta, delta_color, help: what st.metric takes)."""
    out = []
    for label, key, unit, scale, lower_better, meaning in HEADLINE:
        value = plan_summary.get(key)
        value = None if value is None else value * scale
        delta = None
        if base_summary is not None and value is not None and base_summary.get(key) is not None:
            base = base_summary[key] * scale
            diff = value - base
            if unit == "%":  # accuracy: a change in points, not a relative change
                delta = f"{diff:+.2f} pts"
            elif base:
                delta = f"{100 * diff / base:+.1f}%"
            else:
                delta = f"{diff:+,.3g} {unit}".strip()
        versus = (
            ""
            if base_summary is None
            else f"; {base_summary.get('name')}: {_num(_scaled(base_summary, key, scale), unit)}"
        )
        out.append(
            {
                "label": f"{label} ({unit})" if unit else label,
                "value": f"{value:.1f}" if unit == "%" and value is not None else _num(value, ""),
                "delta": delta,
                "delta_color": "inverse" if lower_better else "normal",
                "help": meaning + versus,
            }
        )
    return out


def energy_note(plan_summary: dict) -> str:
    """Where the energy figures come from, and their 95% interval."""
    lo, hi = plan_summary.get("energy_ci_j") or (None, None)
    ci = (
        f"95% interval on IT energy {lo / J_PER_KWH:,.4g}–{hi / J_PER_KWH:,.4g} kWh"
        if lo is not None and hi is not None
        else "no interval (fit covariance unknown)"
    )
    kind = "ESTIMATED energy" if plan_summary.get("is_estimated") else "energy"
    return (
        f"{kind} from fits of {plan_summary.get('energy_sources') or 'unknown'} data "
        f"({plan_summary.get('energy_kind')}); facility kWh = IT kWh × PUE "
        f"{plan_summary.get('pue'):g}; {ci}."
    )


def allocation_table(plan) -> pd.DataFrame:
    """Queries, device-hours and energy per (LLM, system) that serves any query."""
    arms = plan.arms[plan.arms["queries"] > 0].copy()
    arms["energy_kwh"] = arms["energy_j"] / J_PER_KWH
    arms["share_%"] = 100 * arms["queries"] / max(int(arms["queries"].sum()), 1)
    cols = [
        "model",
        "system",
        "form",
        "queries",
        "share_%",
        "device_hours",
        "energy_kwh",
        "energy_sources",
        "is_estimated",
        "out_of_range_queries",
    ]
    return arms[[c for c in cols if c in arms.columns]].reset_index(drop=True)


COMPARISON_COLUMNS = {
    "name": "plan",
    "facility_kwh": "facility kWh",
    "co2e_t": "t CO2e",
    "cost": "cost",
    "accuracy": "accuracy %",
    "runtime_h": "runtime h",
    "saving_pct": "plan saves %",
    "accuracy_change_pts": "plan accuracy ± pts",
    "energy_sources": "energy source",
    "is_estimated": "estimated",
    "violations": "breaks",
}


def comparison_table(compared: pd.DataFrame) -> pd.DataFrame:
    """``summary.compare``'s table in the reader's words and units."""
    df = compared.copy()
    df["runtime_h"] = df["runtime_s"] / 3600
    cols = [c for c in COMPARISON_COLUMNS if c in df.columns]
    return df[cols].rename(columns=COMPARISON_COLUMNS).reset_index(drop=True)


def mixes_energy_kinds(arms) -> bool:
    """True when some arms' energy is GPU only and others' GPU + CPU."""
    return len({a.energy_kind for a in arms}) > 1


def workload_caption(workload) -> str:
    """Size, distinct (input, output, task) groups and median token counts of a workload."""
    groups = workload.queries.groupby(["input_tokens", "output_tokens", "task"]).ngroups
    q = workload.queries
    return (
        f"{workload.name}: {workload.n_queries:,} queries, {groups:,} distinct "
        f"(input, output, task); median input {int(q['input_tokens'].median())} and "
        f"output {int(q['output_tokens'].median())} tokens"
    )
