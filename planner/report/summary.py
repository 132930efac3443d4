"""Figures of plans and baselines: energy, facility energy, carbon, cost, accuracy, savings.

Every energy figure keeps its label: ``energy_sources`` (imported, nvml, rapl, estimated,
...) of the arms that serve queries, and ``is_estimated`` when any of them is an estimate;
``warnings`` are the plan's own, ``caveats`` the same and more in plain sentences
(``planner.report.caveats``).  Costs are in the fleet's ``currency``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.fleet.spec import Fleet
from planner.report.caveats import plan_caveats
from planner.report.units import G_PER_KG, J_PER_KWH
from planner.routing.plan import Plan


def json_safe(value):
    """A summary made JSON-safe: NaN/inf -> None, numpy scalars -> Python, keys -> str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _sources(plan: Plan) -> str:
    used = plan.arms[plan.arms["queries"] > 0]
    found = sorted({s for cell in used["energy_sources"] for s in str(cell).split(",") if s})
    return ",".join(found)


def _energy_kind(plan: Plan) -> str:
    used = plan.arms[plan.arms["queries"] > 0]
    return ",".join(sorted({str(k) for k in used["energy_kind"]}))


def summarize(plan: Plan, fleet: Fleet | None = None) -> dict:
    """One plan's figures as a flat dict (plus ``arms``, a list of per-arm dicts)."""
    fac = (fleet or Fleet()).facility
    kwh = plan.energy_j / J_PER_KWH
    facility_kwh = kwh * fac.pue
    co2e_g = None if fac.carbon_g_per_kwh is None else facility_kwh * fac.carbon_g_per_kwh
    n = plan.n_queries
    lo, hi = plan.energy_ci_j
    return {
        "name": plan.name,
        "status": plan.status,
        "message": plan.message,
        "detail": plan.detail,
        "objective": plan.objective,
        "zeta": plan.zeta,
        "min_accuracy": plan.min_accuracy,
        "objective_value": plan.objective_value,
        "solve_seconds": plan.solve_seconds,
        "n_queries": n,
        "energy_j": plan.energy_j,
        # active (queries served; energy_j) and idle (provisioned GPUs serving nothing)
        # energy apart; facility_kwh stays the active energy's, what the plan minimises
        "active_energy_j": plan.energy_j,
        "idle_energy_j": plan.idle_energy_j,
        "total_facility_kwh": (plan.energy_j + plan.idle_energy_j) / J_PER_KWH * fac.pue,
        "energy_ci_j": [None if math.isnan(lo) else lo, None if math.isnan(hi) else hi],
        "energy_kwh": kwh,
        "facility_kwh": facility_kwh,
        "pue": fac.pue,
        "co2e_g": co2e_g,
        "co2e_kg": None if co2e_g is None else co2e_g / G_PER_KG,
        "co2e_t": None if co2e_g is None else co2e_g / 1e6,
        "cost": None if fac.price_per_kwh is None else facility_kwh * fac.price_per_kwh,
        "currency": fac.currency,
        "accuracy": plan.accuracy,
        "runtime_s": plan.runtime_s,
        "mean_runtime_s": plan.runtime_s / n if n else None,
        "energy_sources": _sources(plan),
        "energy_kind": _energy_kind(plan),
        "is_estimated": plan.is_estimated,
        "violations": list(plan.violations),
        "warnings": list(plan.warnings),
        "caveats": plan_caveats(plan),
        "out_of_range_queries": int(plan.arms["out_of_range_queries"].sum()),
        "idle": [] if plan.idle is None else plan.idle.to_dict("records"),
        "arms": [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in plan.arms.to_dict("records")
        ],
    }


SUMMARY_COLUMNS = (
    "name",
    "status",
    "energy_j",
    "idle_energy_j",
    "energy_kwh",
    "facility_kwh",
    "co2e_g",
    "co2e_kg",
    "co2e_t",
    "cost",
    "currency",
    "accuracy",
    "runtime_s",
    "mean_runtime_s",
    "energy_sources",
    "energy_kind",
    "is_estimated",
    "violations",
)


def _row(plan: Plan, fleet, kind: str) -> dict:
    s = summarize(plan, fleet)
    row = {"kind": kind, **{c: s[c] for c in SUMMARY_COLUMNS}}
    row["energy_ci_lo_j"], row["energy_ci_hi_j"] = s["energy_ci_j"]
    row["violations"] = "; ".join(s["violations"])
    row["objective_value"] = s["objective_value"]
    return row


def compare(plan: Plan, baselines: dict[str, Plan], fleet: Fleet | None = None) -> pd.DataFrame:
    """The plan and each baseline side by side, with the plan's savings against each."""
    rows = [{"key": "plan", **_row(plan, fleet, "plan")}]
    rows += [{"key": key, **_row(b, fleet, "baseline")} for key, b in baselines.items()]
    df = pd.DataFrame(rows)
    df["saving_j"] = df["energy_j"] - plan.energy_j
    df["saving_pct"] = np.where(
        df["energy_j"] != 0,
        100.0 * df["saving_j"] / df["energy_j"].where(df["energy_j"] != 0),
        np.nan,
    )
    df["accuracy_change_pts"] = plan.accuracy - df["accuracy"]
    return df


def frontier_table(
    plans: list[Plan], baselines: dict[str, Plan] | None = None, fleet: Fleet | None = None
) -> pd.DataFrame:
    """Energy/accuracy points of a frontier, with baselines as separate points."""
    rows = []
    for p in plans:
        rows.append({**_row(p, fleet, "frontier"), "zeta": p.zeta, "min_accuracy": p.min_accuracy})
    for key, b in (baselines or {}).items():
        rows.append({**_row(b, fleet, "baseline"), "key": key, "zeta": None, "min_accuracy": None})
    return pd.DataFrame(rows)
