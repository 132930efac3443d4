"""The fleet as the dashboard edits it: one table row per LLM (accuracy score, share,
devices per instance), every system alike, and a fleet description (the TOML file's
shape, for ``Fleet.from_dict``) built from them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.fleet.spec import default_accuracy

LLM_COLUMNS = ["model", "accuracy", "share", "devices_per_instance"]


def models_and_systems(reports) -> tuple[list[str], list[str]]:
    """The LLMs and the systems that fitted curves (``FitReport``s) cover, each sorted."""
    pairs = {(r.model, r.system) for r in reports}
    return sorted({m for m, _ in pairs}), sorted({s for _, s in pairs})


def llm_table(models: list[str], devices_hint: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per LLM: A_K (the leaderboard default where one exists, else blank), no
    share, and devices per instance (``devices_hint``, else 1)."""
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
    return pd.DataFrame(rows, columns=LLM_COLUMNS)


def missing_accuracy(table: pd.DataFrame) -> str | None:
    """A message naming the LLMs whose A_K cell is blank, or None when every LLM has one."""
    blank = table.loc[pd.to_numeric(table["accuracy"], errors="coerce").isna(), "model"]
    if blank.empty:
        return None
    names = ", ".join(repr(str(m)) for m in blank)
    return (
        f"No accuracy score (A_K) for {names}: the leaderboard defaults do not cover "
        f"{'it' if len(blank) == 1 else 'them'}. Enter a score in the A_K column to plan."
    )


def _clean(value):
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def fleet_dict(
    table: pd.DataFrame,
    systems: list[str],
    *,
    devices: int,
    window_h: float,
    min_share_fraction: float,
    facility: dict | None = None,
) -> dict:
    """A fleet description from the LLM table, with ``devices`` and ``window_h`` on every
    system; ``facility`` (pue, carbon_g_per_kwh, price_per_kwh) when given.

    Blank accuracy cells stay out (the fleet then says which LLM lacks a score); blank
    shares mean no minimum share for that LLM.
    """
    llm = {}
    for row in table.to_dict("records"):
        entry = {}
        for key in ("accuracy", "share", "devices_per_instance"):
            value = _clean(row.get(key))
            if value is not None:
                entry[key] = int(value) if key == "devices_per_instance" else float(value)
        llm[str(row["model"])] = entry
    out = {
        "min_share_fraction": float(min_share_fraction),
        "llm": llm,
        "system": {
            s: {"devices": int(devices), "window_h": float(window_h)} for s in sorted(systems)
        },
    }
    if facility is not None:
        out["facility"] = {key: float(value) for key, value in facility.items()}
    return out
