"""Plans, arms and workloads in the reader's words and units: the headline figures, the
energy note, the allocation, comparison and frontier tables and the workload's caption,
shared by the dashboard and the HTML report (``summary`` computes the figures themselves).

Columns a person reads are named in words with their unit (``column_names``): energy in
kWh, CO2e in kg, cost in the fleet's currency, runtime in hours.  The
tables keep numbers as numbers (a dashboard sorts them); the HTML report formats every
cell with ``units.cell``.
"""

from __future__ import annotations

import pandas as pd

from planner.fleet.spec import Facility
from planner.report.caveats import ENERGY_BASES
from planner.report.units import (
    G_PER_KG,
    J_PER_KWH,
    NOTHING,
    RUNTIME_MEANING,
    S_PER_H,
    change,
    number,
    points,
)

DEFAULT_CURRENCY = Facility.currency  # the fleet file's default, owned there

HEADLINE = (
    # label, summary key, unit, scale, lower is better, what it is
    ("Energy", "facility_kwh", "kWh", 1.0, True, "facility energy: IT energy × PUE"),
    ("CO2e", "co2e_g", "kg", 1 / G_PER_KG, True, "facility energy × grid carbon intensity"),
    ("Cost", "cost", "{currency}", 1.0, True, "facility energy × price per kWh"),
    ("Accuracy", "accuracy", "%", 1.0, False, "token-weighted mean A_K"),
    ("Runtime", "runtime_s", "h", 1 / S_PER_H, True, RUNTIME_MEANING),
)


def column_names(currency: str = DEFAULT_CURRENCY) -> dict[str, str]:
    """Summary and table keys as a reader's column headings, each with its unit."""
    return {
        "kind": "Kind",
        "name": "Plan",
        "zeta": "zeta",
        "min_accuracy": "Accuracy floor (%)",
        "model": "LLM",
        "system": "System",
        "form": "Model form",
        "queries": "Queries",
        "share_pct": "Share of queries (%)",
        "device_hours": "Device time (h)",
        "energy_kwh": "IT energy (kWh)",
        "facility_kwh": "Facility energy (kWh)",
        "co2e_kg": "CO2e (kg)",
        "cost": f"Cost ({currency})",
        "accuracy": "Accuracy (%)",
        "runtime_h": "Runtime (h)",
        "energy_change": "Plan's energy against it",
        "accuracy_change": "Plan's accuracy against it",
        "energy_basis": "Energy basis",
        "energy_sources": "Energy source",
        "is_estimated": "Estimated energy",
        "out_of_range_queries": "Extrapolated queries",
        "floored_queries": "Queries at a physical floor",
        "violations": "Breaks",
    }


def _num(value, unit: str) -> str:
    text = number(value)
    return text if text == NOTHING else f"{text} {unit}".strip()


def _scaled(summary: dict, key: str, scale: float):
    value = summary.get(key)
    return None if value is None else value * scale


def headline(plan_summary: dict, base_summary: dict | None) -> list[dict]:
    """The plan's figures, each with its change against the baseline, as a metric's keyword
    arguments (label, value, delta, delta_color, help: what st.metric takes)."""
    out = []
    currency = plan_summary.get("currency") or DEFAULT_CURRENCY
    for label, key, unit, scale, lower_better, meaning in HEADLINE:
        unit = unit.format(currency=currency)
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
                "value": _num(value, ""),
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
        f"95% interval on IT energy {number(lo / J_PER_KWH)} to {number(hi / J_PER_KWH)} kWh"
        if lo is not None and hi is not None
        else "no interval (fit covariance unknown)"
    )
    kind = "ESTIMATED energy" if plan_summary.get("is_estimated") else "energy"
    basis = energy_basis(plan_summary.get("energy_kind"))
    return (
        f"{kind} from fits of {plan_summary.get('energy_sources') or 'unknown'} data "
        f"({basis}); facility kWh = IT kWh × PUE {number(plan_summary.get('pue'))}; {ci}."
    )


def energy_basis(kinds) -> str:
    """Energy kinds (``gpu``, ``total``, ``cpu``; one or comma-separated) in words."""
    names = [k for k in str(kinds or "").split(",") if k]
    return " and ".join(ENERGY_BASES.get(k, k) for k in names) or "unknown basis"


def allocation_table(plan) -> pd.DataFrame:
    """Queries, device time and energy per (LLM, system) that serves any query, under the
    reader's column names."""
    arms = plan.arms[plan.arms["queries"] > 0].copy()
    arms["energy_kwh"] = arms["energy_j"] / J_PER_KWH
    arms["share_pct"] = 100 * arms["queries"] / max(int(arms["queries"].sum()), 1)
    arms["energy_basis"] = arms["energy_kind"].map(energy_basis)
    cols = [
        "model",
        "system",
        "form",
        "queries",
        "share_pct",
        "device_hours",
        "energy_kwh",
        "energy_basis",
        "energy_sources",
        "is_estimated",
        "out_of_range_queries",
        "floored_queries",
    ]
    names = column_names()
    table = arms[[c for c in cols if c in arms.columns]].reset_index(drop=True)
    return table.rename(columns=names)


COMPARISON_COLUMNS = (
    "name",
    "facility_kwh",
    "co2e_kg",
    "cost",
    "accuracy",
    "runtime_h",
    "energy_change",
    "accuracy_change",
    "energy_basis",
    "energy_sources",
    "is_estimated",
    "violations",
)


def _currency(df: pd.DataFrame, currency: str | None) -> str:
    if currency:
        return currency
    if "currency" in df.columns and len(df) and isinstance(df["currency"].iloc[0], str):
        return df["currency"].iloc[0]
    return DEFAULT_CURRENCY


def comparison_table(compared: pd.DataFrame, currency: str | None = None) -> pd.DataFrame:
    """``summary.compare``'s table in the reader's words and units: the plan's energy and
    accuracy against each baseline in words ("12% less"), never as a signed figure."""
    df = compared.copy()
    df["runtime_h"] = df["runtime_s"] / S_PER_H
    if "co2e_kg" not in df.columns and "co2e_g" in df.columns:
        df["co2e_kg"] = df["co2e_g"] / G_PER_KG
    plan = df.iloc[0]  # summary.compare puts the plan first
    is_plan = df["kind"] == "plan" if "kind" in df.columns else df.index == 0
    df["energy_change"] = [
        NOTHING if own else change(plan["energy_j"], energy)
        for own, energy in zip(is_plan, df["energy_j"])
    ]
    df["accuracy_change"] = [
        NOTHING if own else points(plan["accuracy"], accuracy)
        for own, accuracy in zip(is_plan, df["accuracy"])
    ]
    if "energy_kind" in df.columns:
        df["energy_basis"] = df["energy_kind"].map(energy_basis)
    names = column_names(_currency(df, currency))
    cols = [c for c in COMPARISON_COLUMNS if c in df.columns]
    return df[cols].rename(columns=names).reset_index(drop=True)


FRONTIER_COLUMNS = (
    "kind",
    "name",
    "zeta",
    "min_accuracy",
    "facility_kwh",
    "co2e_kg",
    "cost",
    "accuracy",
    "runtime_h",
    "energy_basis",
    "energy_sources",
    "is_estimated",
    "violations",
)


def frontier_view(table: pd.DataFrame, currency: str | None = None) -> pd.DataFrame:
    """``summary.frontier_table`` in the reader's words and units (the Trade-offs table)."""
    df = table.copy()
    df["runtime_h"] = df["runtime_s"] / S_PER_H
    if "co2e_kg" not in df.columns and "co2e_g" in df.columns:
        df["co2e_kg"] = df["co2e_g"] / G_PER_KG
    if "energy_kind" in df.columns:
        df["energy_basis"] = df["energy_kind"].map(energy_basis)
    if df.get("min_accuracy") is not None and df["min_accuracy"].isna().all():
        df = df.drop(columns="min_accuracy")
    cols = [c for c in FRONTIER_COLUMNS if c in df.columns]
    return df[cols].rename(columns=column_names(_currency(df, currency))).reset_index(drop=True)


def mixes_energy_kinds(arms) -> bool:
    """True when arms' energy bases differ (gpu, cpu, total)."""
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
