"""`python -m planner capacity`: how many instances of which arm to provision, slot by slot.

    python -m planner capacity --db PATH (--workload FILE | --synthetic SPEC --hours H
        [--seed S]) [--fleet FILE] [--grid FILE] [--slot-minutes M] [--ttft-p90-ms X]
        [--itl-p90-ms Y] [--objective energy|carbon|cost] [--zeta Z | --min-accuracy A]
        [--gpu-hour-price P | SYSTEM=P,...] [--slack-minutes M] [--json]

Serving measurements come from the store's ``serving`` table (``--db``; import ML.ENERGY
files with ``python -m measure import``).  The workload needs arrival times; a CSV or
Parquet file is aggregated by DuckDB straight from the file (out of core), other formats
are read whole.  ``--synthetic``: ``poisson:RATE``, ``diurnal:PEAK`` or ``bursty:RATE,CV``
(requests per second) over ``--hours`` (1 to 168).  A ``deadline`` column (seconds after
arrival) or ``--slack-minutes`` lets requests move to later slots before their deadline.
Accuracy scores come from the fleet (``[llm."X"] accuracy``) or the registry; prices per
GPU-hour from ``--gpu-hour-price``; the grid CSV (hour, gco2e_per_kwh, price_per_kwh) gives
carbon intensity and price per hour.

JSON: ``slots`` (``start`` in seconds from the first slot's start -- a trace's slots lie
on its clock, multiples of the slot length; other files' count from the first arrival --
``requests`` and
``output_tokens`` served in the slot, ``arms`` with ``model``, ``system``,
``operating_point``, ``instances``, ``requests``, ``output_tokens``,
``capacity_output_tokens``, ``itl_ms_p90``, ``ttft_ms_p90``), ``totals`` (``energy_j``,
``active_energy_j``, ``idle_energy_j``, ``gpu_hours``, ``co2e_kg``, ``cost``, ``accuracy``,
``solve_seconds``, ``warnings``) and ``baselines`` (the same totals and ``feasible``).
Unusable input exits 2, an infeasible plan 1, each with one line ``error: ...``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from planner.cli._table import say, write
from planner.quantities import J_PER_KWH

TRACE_SUFFIXES = (".csv", ".parquet", ".pq")
DEADLINE_COLUMNS = ("deadline", "deadline_s")


class UserError(Exception):
    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "capacity",
        help="GPUs of which kind to provision, slot by slot, under latency targets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", help="DuckDB store with serving measurements")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--workload", help="CSV, Parquet, JSONL or JSON with arrival times")
    src.add_argument("--synthetic", help="poisson:RATE | diurnal:PEAK | bursty:RATE,CV")
    p.add_argument("--hours", type=float, default=24.0, help="synthetic horizon (default 24)")
    p.add_argument("--seed", type=int, default=0, help="synthetic seed (default 0)")
    p.add_argument("--kind", default="chat", help="synthetic token shape: chat, math, code")
    p.add_argument("--fleet", help="fleet TOML (accuracy, GPU limits, PUE, prices)")
    p.add_argument("--grid", help="hourly CSV: hour,gco2e_per_kwh,price_per_kwh")
    p.add_argument("--slot-minutes", type=float, default=60.0, help="slot length (default 60)")
    p.add_argument("--ttft-p90-ms", type=float, help="p90 time-to-first-token target, ms")
    p.add_argument("--itl-p90-ms", type=float, help="p90 inter-token latency target, ms")
    p.add_argument("--objective", choices=("energy", "carbon", "cost"), default="energy")
    trade = p.add_mutually_exclusive_group()
    trade.add_argument("--zeta", type=float, help="energy weight against accuracy, 0..1")
    trade.add_argument("--min-accuracy", type=float, help="floor on mean accuracy, percent")
    p.add_argument("--gpu-hour-price", help="price per GPU-hour: P, or SYSTEM=P,SYSTEM=P")
    p.add_argument("--slack-minutes", type=float, help="every request may wait this long")
    p.add_argument("--utilisation", type=float, default=1.0, help="cap on instance load, (0, 1]")
    p.add_argument("--serving-task", action="append", help="serving task(s) to plan with")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit for traces")
    p.add_argument(
        "--size-quantiles",
        action="store_true",
        help="p50/p90 output tokens per slot of a CSV/Parquet trace (about twice the time)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_capacity)


def _price(text: str | None):
    if text is None:
        return None
    try:
        if "=" not in text:
            return _nonnegative(float(text), text)
        out = {}
        for part in text.split(","):
            system, _, value = part.partition("=")
            out[system.strip()] = _nonnegative(float(value), part)
        return out
    except ValueError:
        raise UserError(
            f"--gpu-hour-price {text!r}: give a finite number >= 0, or "
            "SYSTEM=PRICE,SYSTEM=PRICE with each such a number"
        ) from None


def _nonnegative(value: float, text: str) -> float:
    # a negative price would make the cost objective provision GPUs to earn money
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(text)
    return value


def _pick(columns, names) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _profile(args, slot_s: float):
    from planner.capacity.profile import (
        profile_from_trace,
        profile_from_workload,
        synthetic_profile,
    )

    slack_s = None if args.slack_minutes is None else args.slack_minutes * 60.0
    if args.synthetic:
        return synthetic_profile(
            args.synthetic, args.hours, slot_s, seed=args.seed, kind=args.kind, slack_s=slack_s
        )
    path = Path(args.workload)
    if path.suffix.lower() in TRACE_SUFFIXES:
        from measure.store.traces import trace_columns
        from planner.workload.load import (
            ARRIVAL_COLUMNS,
            INPUT_COLUMNS,
            MILLISECOND_TRACES,
            OUTPUT_COLUMNS,
        )

        cols = trace_columns(path)
        arrival = _pick(cols, ARRIVAL_COLUMNS)
        output = _pick(cols, OUTPUT_COLUMNS)
        if arrival is None or output is None:
            what = "arrival-time" if arrival is None else "output-token"
            names = ARRIVAL_COLUMNS if arrival is None else OUTPUT_COLUMNS[:4]
            raise UserError(
                f"{path}: no {what} column (one of {', '.join(names)}; found {', '.join(cols)})"
            )
        tin = _pick(cols, INPUT_COLUMNS)
        ms = (arrival.lower(), (tin or "").lower()) in MILLISECOND_TRACES
        return profile_from_trace(
            path,
            slot_s,
            arrival=arrival,
            output=output,
            input=tin,
            arrival_unit_s=0.001 if ms else 1.0,
            deadline=_pick(cols, DEADLINE_COLUMNS),
            slack_s=slack_s,
            quantiles=args.size_quantiles,
            memory_limit=args.memory_limit,
        )
    import numpy as np

    from planner.workload.formats import read_table
    from planner.workload.load import load_workload

    workload = load_workload(path)
    frame, _, _ = read_table(path)
    column = _pick(frame.columns, DEADLINE_COLUMNS)
    deadline = None
    if column is not None:
        import pandas as pd

        deadline = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(np.nan_to_num(deadline, nan=0.0) < 0)
        if len(bad):
            raise UserError(f"{path}: row {int(bad[0]) + 1}: column {column!r} is negative")
    return profile_from_workload(workload, slot_s, deadline_s=deadline, slack_s=slack_s)


def _plan(args):
    from measure.store import Store
    from planner.capacity.grid import load_grid
    from planner.capacity.options import candidate_options
    from planner.capacity.plan import plan_capacity
    from planner.fleet.spec import load_fleet

    if not args.slot_minutes > 0:
        raise UserError(f"--slot-minutes must be > 0, got {args.slot_minutes}")
    fleet = load_fleet(args.fleet) if args.fleet else None
    grid = load_grid(args.grid) if args.grid else None
    price = _price(args.gpu_hour_price)
    profile = _profile(args, args.slot_minutes * 60.0)
    store = Store(args.db)
    rows = store.serving() if store.exists() else None
    notes = []
    if rows is None or len(rows) == 0:
        # as `planner plan` falls back to the reference catalogue: a first run plans at once
        from planner.serving.embedded import read_embedded

        embedded = read_embedded()
        rows = embedded.rows
        notes.append(
            f"no serving measurements in {store.path}: planned on the embedded catalogue "
            f"({embedded.citation}); import files with `python -m measure import FILE.json` "
            "or measure with `python -m measure serve` to plan on your own"
        )
    tasks = args.serving_task
    if not tasks and rows["task"].nunique() > 1:
        top = rows["task"].value_counts().index[0]
        tasks = [top]
        notes.append(
            f"serving measurements of task {top!r} used (also in the store: "
            f"{', '.join(sorted(set(rows['task']) - {top}))}); choose with --serving-task"
        )
    options, option_notes = candidate_options(
        rows,
        fleet=fleet,
        tasks=tasks,
        itl_ms_p90=args.itl_p90_ms,
        ttft_ms_p90=args.ttft_p90_ms,
    )
    return plan_capacity(
        profile,
        options,
        fleet=fleet,
        grid=grid,
        objective=args.objective,
        zeta=args.zeta,
        min_accuracy=args.min_accuracy,
        gpu_hour_price=price,
        utilisation=args.utilisation,
        notes=notes + option_notes,
    )


def _guarded(args):
    from measure.store import StoreError
    from measure.store.traces import TraceError
    from planner.capacity.grid import GridError
    from planner.capacity.options import InfeasibleTargetError
    from planner.capacity.plan import CapacityError
    from planner.capacity.problem import InfeasibleCapacityError
    from planner.capacity.profile import ProfileError
    from planner.fleet.spec import FleetError
    from planner.workload.formats import WorkloadError

    try:
        return _plan(args), None
    except UserError as exc:
        return str(exc), exc.code
    except (InfeasibleTargetError, InfeasibleCapacityError, TimeoutError) as exc:
        return str(exc), 1
    except (
        StoreError,
        TraceError,
        GridError,
        CapacityError,
        ProfileError,
        FleetError,
        WorkloadError,
        ValueError,
    ) as exc:
        return str(exc), 2


def _kwh(j) -> str:
    return "n/a" if j is None else f"{j / J_PER_KWH:,.3g} kWh"


def run_capacity(args) -> int:
    result, code = _guarded(args)
    if code is not None:
        say(f"error: {result}", file=sys.stderr)
        return code
    plan = result
    doc = plan.to_json()
    if args.json:
        write(json.dumps(doc, indent=1))
        return 0
    t = doc["totals"]
    say(
        f"capacity plan ({plan.objective}"
        + (f", zeta={plan.zeta:g}" if plan.zeta is not None else "")
        + (f", accuracy >= {plan.min_accuracy:g} %" if plan.min_accuracy is not None else "")
        + f"): {plan.data.n_slots} slots of {plan.data.slot_s / 60:g} min, "
        f"{plan.profile.n_requests:,} requests, solved in {plan.solve_seconds:.2f} s"
    )
    say(
        f"  energy {_kwh(t['energy_j'])} (active {_kwh(t['active_energy_j'])}, idle "
        f"{_kwh(t['idle_energy_j'])}), {t['gpu_hours']:,.1f} GPU-hours, CO2e "
        + ("n/a" if t["co2e_kg"] is None else f"{t['co2e_kg']:,.3g} kg")
        + ", cost "
        + ("n/a" if t["cost"] is None else f"{t['cost']:,.2f} {plan.currency}")
        + ", accuracy "
        + ("n/a" if t["accuracy"] is None else f"{t['accuracy']:.4g} %")
    )
    frame = plan.instances_frame()
    if len(frame):
        mix = frame.groupby(["option"])["instances"].agg(["max", "mean"])
        for option, row in mix.sort_values("max", ascending=False).head(8).iterrows():
            say(f"    {option}: up to {int(row['max'])} instance(s), mean {row['mean']:.2f}")
    for warning in t["warnings"]:
        say(f"  note: {warning}")
    say("baselines:")
    for name, b in doc["baselines"].items():
        energy = b.get("energy_j")
        say(
            f"  {name}: {_kwh(energy)}"
            + ("" if b["feasible"] else f" [infeasible: {'; '.join(b.get('violations') or [])}]")
        )
    return 0
