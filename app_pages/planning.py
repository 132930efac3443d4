"""The Planner page's logic as plain functions: settings, fleet, cache keys, headline figures.

Nothing here imports streamlit; the page lays out widgets, calls these and caches what they
build (the ``Planner`` once per workload, arms and fleet; solves per zeta).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict

import numpy as np
import pandas as pd

from app_pages.settings import PlanSettings
from planner.fits.curves import FitReport

FRONTIER_ZETAS = tuple(round(i / 10, 2) for i in range(11))
J_PER_KWH = 3.6e6


def accuracy_frame(models: list[str], devices_hint: dict[str, int] | None = None) -> pd.DataFrame:
    """The editable per-LLM table: A_K (leaderboard default), share, devices per instance."""
    from planner.fleet.spec import default_accuracy

    devices_hint = devices_hint or {}
    rows = []
    for model in sorted(set(models)):
        score = default_accuracy(model)
        rows.append(
            {
                "model": model,
                "accuracy": score if score is not None else math.nan,
                "share": math.nan,
                "devices_per_instance": int(devices_hint.get(model, 1)),
            }
        )
    return pd.DataFrame(rows, columns=["model", "accuracy", "share", "devices_per_instance"])


def missing_accuracy(accuracy: pd.DataFrame) -> str | None:
    """A message naming the LLMs whose A_K cell is blank, or None when every LLM has one."""
    blank = accuracy.loc[pd.to_numeric(accuracy["accuracy"], errors="coerce").isna(), "model"]
    if blank.empty:
        return None
    names = ", ".join(repr(str(m)) for m in blank)
    return (
        f"No accuracy score (A_K) for {names}: the leaderboard defaults do not cover "
        f"{'it' if len(blank) == 1 else 'them'}. Enter a score in the A_K column under "
        "'Fleet, facility and accuracy scores' on the Planner page to plan."
    )


def _clean(value):
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def fleet_dict(
    accuracy: pd.DataFrame, systems: list[str], settings: PlanSettings, with_facility: bool = True
) -> dict:
    """A fleet description (the TOML file's shape) from the page's controls.

    Blank accuracy cells stay out (the fleet then says which LLM lacks a score); blank
    shares mean no minimum share for that LLM.
    """
    llm = {}
    for row in accuracy.to_dict("records"):
        entry = {}
        for key in ("accuracy", "share", "devices_per_instance"):
            value = _clean(row.get(key))
            if value is not None:
                entry[key] = int(value) if key == "devices_per_instance" else float(value)
        llm[str(row["model"])] = entry
    out = {
        "min_share_fraction": float(settings.min_share_fraction),
        "llm": llm,
        "system": {
            s: {"devices": int(settings.devices), "window_h": float(settings.window_h)}
            for s in sorted(systems)
        },
    }
    if with_facility:
        out["facility"] = {
            "pue": float(settings.pue),
            "carbon_g_per_kwh": float(settings.carbon_g_per_kwh),
            "price_per_kwh": float(settings.price_per_kwh),
        }
    return out


def digest(*parts) -> str:
    """A short stable key for cache entries built from JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def workload_key(workload) -> str:
    q = workload.queries
    hashed = pd.util.hash_pandas_object(
        q[["input_tokens", "output_tokens", "task", "count"]], index=False
    )
    return digest(workload.name, len(q), int(hashed.sum() % (2**61)))


def reports_key(reports: list[FitReport]) -> str:
    return digest([r.to_json() for r in reports])


def arm_models_and_systems(reports: list[FitReport]) -> tuple[list[str], list[str]]:
    pairs = {(r.model, r.system) for r in reports}
    return sorted({m for m, _ in pairs}), sorted({s for _, s in pairs})


def settings_dict(settings: PlanSettings) -> dict:
    return asdict(settings)


# -- figures shown on the page --------------------------------------------------------
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
    """st.metric arguments: the plan's figures, each with its change against the baseline."""
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
    """planner.report.summary.compare output, in the page's words and units."""
    df = compared.copy()
    df["runtime_h"] = df["runtime_s"] / 3600
    cols = [c for c in COMPARISON_COLUMNS if c in df.columns]
    return df[cols].rename(columns=COMPARISON_COLUMNS).reset_index(drop=True)


def mixes_energy_kinds(arms) -> bool:
    """True when some arms' energy is GPU only and others' GPU + CPU."""
    return len({a.energy_kind for a in arms}) > 1


def workload_caption(workload) -> str:
    groups = workload.queries.groupby(["input_tokens", "output_tokens", "task"]).ngroups
    q = workload.queries
    return (
        f"{workload.name}: {workload.n_queries:,} queries, {groups:,} distinct "
        f"(input, output, task); median input {int(q['input_tokens'].median())} and "
        f"output {int(q['output_tokens'].median())} tokens"
    )
