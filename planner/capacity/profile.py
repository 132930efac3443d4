"""Load over time: requests with arrival times -> a load profile per time slot.

A ``LoadProfile`` holds, per slot of ``slot_s`` seconds counted from the first arrival:
requests, input and output tokens, and the size distribution (mean output tokens per
request; p50 and p90 where computed per request), and which part of it may be deferred
(``deferrable``: tokens arriving in ``slot`` that may be served up to ``latest_slot``).

Sources:

- ``profile_from_workload``: a ``planner.workload.Workload`` whose rows carry
  ``arrival_s`` (the trust issue's arrival-time column families; see
  ``planner.workload.load``), in memory;
- ``profile_from_trace``: a CSV or Parquet trace aggregated by DuckDB straight from the
  file (``measure.store.traces``), out of core, memory bounded;
- ``synthetic_profile``: a synthetic arrival process (``planner.capacity.arrivals``).

Deferral: a request's deadline is ``deadline`` seconds after its arrival (a column of
the file) or ``slack_s`` for all; it may be served in any slot that ends by then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.quantities import S_PER_H

__all__ = [
    "LoadProfile",
    "ProfileError",
    "profile_from_aggregate",
    "profile_from_trace",
    "profile_from_workload",
    "synthetic_profile",
]

MAX_SLOTS = 100_000  # a year of 5-minute slots
TOKEN_CHUNK = 2_000_000  # synthetic requests drawn at a time


class ProfileError(ValueError):
    """A load profile cannot be built; the message names the file or setting."""


@dataclass
class LoadProfile:
    slot_s: float
    slots: pd.DataFrame  # one row per slot (see SLOT_COLUMNS)
    deferrable: pd.DataFrame  # slot, latest_slot, requests, input_tokens, output_tokens
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    @property
    def n_requests(self) -> int:
        return int(self.slots["requests"].sum())

    def fixed_output_tokens(self) -> np.ndarray:
        """Output tokens per slot that must be served in their arrival slot."""
        fixed = self.slots["output_tokens"].to_numpy(float).copy()
        if len(self.deferrable):
            np.subtract.at(
                fixed,
                self.deferrable["slot"].to_numpy(np.int64),
                self.deferrable["output_tokens"].to_numpy(float),
            )
        return np.maximum(fixed, 0.0)

    def deferrable_classes(self) -> list[tuple[int, int, float]]:
        return [
            (int(r.slot), int(r.latest_slot), float(r.output_tokens))
            for r in self.deferrable.itertuples()
            if r.output_tokens > 0
        ]

    def frame(self) -> pd.DataFrame:
        """Figure-ready: per slot start (hours), requests, tokens, requests per second."""
        out = self.slots.copy()
        out["start_h"] = out["start_s"] / S_PER_H
        out["requests_per_s"] = out["requests"] / self.slot_s
        return out


SLOT_COLUMNS = (
    "slot",
    "start_s",
    "requests",
    "input_tokens",
    "output_tokens",
    "mean_output_tokens",
    "p50_output_tokens",
    "p90_output_tokens",
    "deferrable_requests",
    "deferrable_output_tokens",
)


def _check_slot(slot_s: float) -> float:
    if not (isinstance(slot_s, (int, float)) and math.isfinite(slot_s) and slot_s > 0):
        raise ProfileError(f"slot length must be a number of seconds > 0, got {slot_s!r}")
    return float(slot_s)


def profile_from_aggregate(
    agg: pd.DataFrame, slot_s: float, source: str, n_slots: int | None = None, notes=None
) -> LoadProfile:
    """A profile from rows (slot, latest_slot or NA, requests, input_tokens,
    output_tokens[, p50_output_tokens, p90_output_tokens]); missing slots are empty."""
    slot_s = _check_slot(slot_s)
    agg = agg.copy()
    last = int(agg["slot"].max()) + 1 if len(agg) else 1
    n_slots = max(int(n_slots or 0), last)
    if n_slots > MAX_SLOTS:
        raise ProfileError(
            f"{source}: {n_slots:,} slots of {slot_s:g} s: more than {MAX_SLOTS:,}; use longer slots"
        )
    latest = pd.to_numeric(agg.get("latest_slot", pd.Series(np.nan, index=agg.index)))
    latest = latest.astype(float).clip(upper=n_slots - 1)
    deferrable = latest.notna() & (latest > agg["slot"])
    agg["latest_slot"] = latest
    totals = agg.groupby("slot")[["requests", "input_tokens", "output_tokens"]].sum()
    slots = pd.DataFrame({"slot": np.arange(n_slots, dtype=np.int64)})
    slots["start_s"] = slots["slot"] * slot_s
    slots = slots.join(totals, on="slot").fillna(0)
    for col in ("requests", "input_tokens", "output_tokens"):
        slots[col] = slots[col].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        slots["mean_output_tokens"] = slots["output_tokens"] / slots["requests"].where(
            slots["requests"] > 0
        )
    for q in ("p50_output_tokens", "p90_output_tokens"):
        if q in agg.columns and not deferrable.any():
            slots[q] = slots["slot"].map(agg.set_index("slot")[q]).astype(float)
        else:
            slots[q] = np.nan
    d = agg[deferrable]
    dsum = d.groupby("slot")[["requests", "output_tokens"]].sum()
    slots["deferrable_requests"] = slots["slot"].map(dsum["requests"]).fillna(0).astype(np.int64)
    slots["deferrable_output_tokens"] = (
        slots["slot"].map(dsum["output_tokens"]).fillna(0).astype(np.int64)
    )
    deferred = (
        d.groupby(["slot", "latest_slot"])[["requests", "input_tokens", "output_tokens"]]
        .sum()
        .reset_index()
    )
    deferred["latest_slot"] = deferred["latest_slot"].astype(np.int64)
    return LoadProfile(slot_s, slots[list(SLOT_COLUMNS)], deferred, source, list(notes or []))


def _latest_slot(arrival_s, slack_s, slot_s, n_slots) -> np.ndarray:
    """The last slot that ends by arrival + slack (NaN where not deferrable)."""
    slot = np.floor(arrival_s / slot_s)
    with np.errstate(invalid="ignore"):
        latest = np.floor((arrival_s + slack_s) / slot_s) - 1
        latest = np.where(slack_s > 0, np.minimum(np.maximum(latest, slot), n_slots - 1), np.nan)
    return latest


def profile_from_workload(
    workload,
    slot_s: float,
    *,
    deadline_s: np.ndarray | None = None,
    slack_s: float | None = None,
    slack_by_task: dict[str, float] | None = None,
) -> LoadProfile:
    """The profile of a workload with arrival times (``queries['arrival_s']``)."""
    slot_s = _check_slot(slot_s)
    q = workload.queries
    if "arrival_s" not in q.columns:
        raise ProfileError(
            f"{workload.source or workload.name}: no arrival-time column (arrival_s, "
            "arrived_at or timestamp): a capacity plan needs when requests arrive"
        )
    a = q["arrival_s"].to_numpy(float)
    count = q["count"].to_numpy(np.int64)
    slot = np.floor(a / slot_s).astype(np.int64)
    n_slots = int(slot.max()) + 1
    slack = np.full(len(q), np.nan)
    if slack_s is not None:
        slack[:] = float(slack_s)
    if slack_by_task:
        tasks = q["task"].astype(str).to_numpy()
        for task, s in slack_by_task.items():
            slack[tasks == task] = float(s)
    if deadline_s is not None:
        given = np.isfinite(deadline_s)
        slack[given] = np.asarray(deadline_s, float)[given]
    latest = _latest_slot(a, slack, slot_s, n_slots)
    frame = pd.DataFrame(
        {
            "slot": slot,
            "latest_slot": latest,
            "requests": count,
            "input_tokens": q["input_tokens"].to_numpy(np.int64) * count,
            "output_tokens": q["output_tokens"].to_numpy(np.int64) * count,
        }
    )
    agg = frame.groupby(["slot", "latest_slot"], dropna=False).sum().reset_index()
    profile = profile_from_aggregate(
        agg, slot_s, workload.source or workload.name, n_slots, workload.notes
    )
    if not len(profile.deferrable):
        # exact per-request quantiles of output tokens (each row counted ``count`` times)
        out = q["output_tokens"].to_numpy(float)
        for name, p in (("p50_output_tokens", 0.5), ("p90_output_tokens", 0.9)):
            profile.slots[name] = _weighted_quantiles(slot, out, count, p, n_slots)
    return profile


def _weighted_quantiles(slot, values, weights, p, n_slots) -> np.ndarray:
    out = np.full(n_slots, np.nan)
    order = np.lexsort((values, slot))
    s, v, w = slot[order], values[order], weights[order]
    bounds = np.flatnonzero(np.diff(s)) + 1
    for idx in np.split(np.arange(len(s)), bounds):
        if len(idx):
            cum = np.cumsum(w[idx])
            k = int(np.searchsorted(cum, p * cum[-1], side="left"))
            out[s[idx[0]]] = v[idx][min(k, len(idx) - 1)]
    return out


def profile_from_trace(
    path,
    slot_s: float,
    *,
    arrival: str,
    output: str,
    input: str | None = None,  # noqa: A002
    arrival_unit_s: float = 1.0,
    deadline: str | None = None,
    slack_s: float | None = None,
    quantiles: bool = False,
    memory_limit: str | None = None,
) -> LoadProfile:
    """A trace file's profile, aggregated by DuckDB out of core (``measure.store.traces``):
    slots on the trace's clock; ``quantiles`` adds p50/p90 output tokens per slot (about
    twice the time)."""
    from measure.store.traces import DEFAULT_TRACE_MEMORY_LIMIT, aggregate_trace

    slot_s = _check_slot(slot_s)
    agg = aggregate_trace(
        path,
        arrival=arrival,
        output=output,
        input=input,
        slot_s=slot_s,
        arrival_unit_s=arrival_unit_s,
        deadline=deadline,
        slack_s=slack_s,
        quantiles=quantiles,
        memory_limit=memory_limit or DEFAULT_TRACE_MEMORY_LIMIT,
    )
    note = f"aggregated by DuckDB from {Path(path).name} (out of core)"
    return profile_from_aggregate(agg, slot_s, str(path), notes=[note])


def synthetic_profile(
    spec,
    hours: float,
    slot_s: float,
    *,
    seed: int = 0,
    kind: str = "chat",
    slack_s: float | None = None,
) -> LoadProfile:
    """A synthetic arrival process's profile (``planner.capacity.arrivals``), with token
    counts of the ``kind`` shape (``planner.workload.synthetic``), drawn in chunks."""
    from planner.capacity.arrivals import parse_arrivals, synthetic_slot_counts
    from planner.workload.synthetic import synthetic_tokens

    slot_s = _check_slot(slot_s)
    if isinstance(spec, str):
        spec = parse_arrivals(spec)
    counts = synthetic_slot_counts(spec, hours, slot_s, seed)
    n_slots = len(counts)
    if n_slots > MAX_SLOTS:
        raise ProfileError(f"{n_slots:,} slots: more than {MAX_SLOTS:,}; use longer slots")
    tin = np.zeros(n_slots)
    tout = np.zeros(n_slots)
    cum = np.cumsum(counts)
    total = int(cum[-1]) if n_slots else 0
    for i, start in enumerate(range(0, total, TOKEN_CHUNK)):
        stop = min(start + TOKEN_CHUNK, total)
        ids = np.searchsorted(cum, np.arange(start, stop), side="right")
        x_in, x_out = synthetic_tokens(kind, stop - start, seed + 1 + i)
        tin += np.bincount(ids, weights=x_in, minlength=n_slots)
        tout += np.bincount(ids, weights=x_out, minlength=n_slots)
    agg = pd.DataFrame(
        {
            "slot": np.arange(n_slots),
            "requests": counts,
            "input_tokens": tin.astype(np.int64),
            "output_tokens": tout.astype(np.int64),
        }
    )
    if slack_s is not None and slack_s > 0:
        # per-slot counts carry no arrival instant: a request may wait whole slots only
        # (as if it arrived at its slot's end), so every deadline is met
        agg["latest_slot"] = np.minimum(
            agg["slot"] + math.floor(slack_s / slot_s) - 1, n_slots - 1
        ).astype(float)
    notes = [
        f"synthetic {spec.label} arrivals over {hours:g} h (seed {seed}), {kind} token "
        "shapes: made up, not measured"
    ]
    return profile_from_aggregate(agg, slot_s, f"synthetic {spec.label}", n_slots, notes)
