"""The fleet as the dashboard edits it: one table row per LLM (included or not, accuracy
score, share, devices per instance), one per system (included or not, devices, planning
window), and a fleet description (the TOML file's shape, for ``Fleet.from_dict``) built
from them.

Rows are per LLM, not per spelling: fits of ``Mistral-7B-v0.1`` and ``Mistral (7B)`` give
one row, ``Mistral (7B)`` (``planner.fleet.registry``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.fleet.registry import canonical_llm, lookup
from planner.fleet.spec import default_accuracy

LLM_COLUMNS = ["model", "include", "accuracy", "share", "devices_per_instance"]
SYSTEM_COLUMNS = ["system", "include", "devices", "window_h"]


def models_and_systems(reports) -> tuple[list[str], list[str]]:
    """The LLMs (canonical names, one per LLM whatever the sources call it) and the systems
    that fitted curves (``FitReport``s) cover, each sorted."""
    pairs = {(r.model, r.system) for r in reports}
    return sorted({canonical_llm(m) for m, _ in pairs}), sorted({s for _, s in pairs})


def _devices(model: str, hint: dict[str, int]) -> int:
    """Devices per instance: ``hint`` under any name of the LLM, else the registry's, else 1."""
    llm = canonical_llm(model)
    for name, n in hint.items():
        if name == model or canonical_llm(name) == llm:
            return int(n)
    info = lookup(model)
    return int(info.devices_per_instance) if info and info.devices_per_instance else 1


def llm_table(models: list[str], devices_hint: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per name in ``models``: included, A_K (the leaderboard default where one
    exists, else blank), no share, and devices per instance (``devices_hint`` under any of
    the LLM's names, else the registry's figure, else 1)."""
    devices_hint = devices_hint or {}
    rows = []
    for model in sorted(set(models)):
        score = default_accuracy(model)
        rows.append(
            {
                "model": model,
                "include": True,
                "accuracy": score if score is not None else math.nan,
                "share": math.nan,
                "devices_per_instance": _devices(model, devices_hint),
            }
        )
    return pd.DataFrame(rows, columns=LLM_COLUMNS)


def system_table(systems: list[str], *, devices: int, window_h: float) -> pd.DataFrame:
    """One row per system, each included with ``devices`` devices over ``window_h`` hours."""
    rows = [
        {"system": s, "include": True, "devices": int(devices), "window_h": float(window_h)}
        for s in sorted(set(systems))
    ]
    return pd.DataFrame(rows, columns=SYSTEM_COLUMNS)


def _included(table: pd.DataFrame) -> pd.Series:
    """Rows not excluded: an ``include`` cell that is False excludes; blank or absent includes."""
    if "include" not in table:
        return pd.Series(True, index=table.index)
    return table["include"].map(lambda v: _clean(v) is not False)


def missing_accuracy(table: pd.DataFrame) -> str | None:
    """A message naming the LLMs whose A_K cell is blank, or None when every LLM has one.

    Planning does not need every score: ``build_arms`` leaves an LLM without one out, with
    a notice (``Arms.notices``); this message names them for the page.  An excluded LLM
    (``include`` False) needs no score."""
    unscored = pd.to_numeric(table["accuracy"], errors="coerce").isna()
    blank = table.loc[unscored & _included(table), "model"]
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
    systems: list[str] | pd.DataFrame,
    *,
    devices: int | None = None,
    window_h: float | None = None,
    min_share_fraction: float,
    facility: dict | None = None,
) -> dict:
    """A fleet description from the LLM table and the systems; ``facility`` (pue,
    carbon_g_per_kwh, price_per_kwh, currency) when given.

    ``systems`` is a list of names, each given ``devices`` and ``window_h``, or a system
    table (``system_table``'s columns: each row its own devices and window; a blank devices
    cell means no capacity limit, a blank window the fleet's default).  Blank accuracy
    cells stay out (the fleet then says which LLM lacks a score); blank shares mean no
    minimum share for that LLM; a row whose ``include`` is False is written
    ``include = false`` (left out of planning).
    """
    llm = {}
    for row, included in zip(table.to_dict("records"), _included(table)):
        entry = {}
        for key in ("accuracy", "share", "devices_per_instance"):
            value = _clean(row.get(key))
            if value is not None:
                entry[key] = int(value) if key == "devices_per_instance" else float(value)
        if not included:
            entry["include"] = False
        llm[str(row["model"])] = entry
    if not isinstance(systems, pd.DataFrame):
        systems = system_table(systems, devices=devices, window_h=window_h)
    out = {
        "min_share_fraction": float(min_share_fraction),
        "llm": llm,
        "system": {
            str(row["system"]): _system_entry(row, included)
            for row, included in sorted(
                zip(systems.to_dict("records"), _included(systems)),
                key=lambda r: str(r[0]["system"]),
            )
        },
    }
    if facility is not None:
        out["facility"] = {
            key: value if key == "currency" else float(value) for key, value in facility.items()
        }
    return out


def _system_entry(row: dict, included: bool) -> dict:
    entry = {}
    devices, window_h = _clean(row.get("devices")), _clean(row.get("window_h"))
    if devices is not None:  # as typed: the fleet refuses a fractional or negative count
        entry["devices"] = devices
    if window_h is not None:
        entry["window_h"] = window_h
    if not included:
        entry["include"] = False
    return entry
