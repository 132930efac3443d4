"""`python -m planner plan` and `python -m planner frontier`: route a workload over the arms.

    python -m planner plan --db PATH --workload FILE [--fleet FILE] [--form paper|default]
        [--objective paper|energy] [--zeta Z] [--min-accuracy A] [--json]
        [--assignments OUT.csv]
    python -m planner frontier ... [--points N] [--json]

Fits come from the store (``--db``); an empty or missing store falls back to the committed
reference catalogue, which the output says.  User errors end with one line on stderr and a
non-zero exit code: 2 for unusable input, 1 for an infeasible or timed-out plan.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
import pandas as pd

from measure.store import StoreError
from planner.fits.sources import NoFitsError, load_reports
from planner.fleet.spec import Fleet, FleetError, load_fleet
from planner.report.summary import compare, frontier_table, json_safe, summarize
from planner.routing.arms import ArmError, build_arms
from planner.routing.baselines import run_baselines
from planner.routing.optimize import InfeasiblePlanError, Planner, PlanningTimeout
from planner.workload.load import WorkloadError, load_workload


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="DuckDB measurement store (default: data/energy.duckdb)")
    p.add_argument("--workload", required=True, help="CSV, JSONL, JSON or Parquet workload")
    p.add_argument("--tokenizer", help="local tokenizer path for text columns")
    p.add_argument(
        "--allow-download",
        action="store_true",
        help="let --tokenizer name a hub id (downloads; off by default)",
    )
    p.add_argument("--fleet", help="fleet TOML file (accuracy, shares, devices, facility)")
    p.add_argument(
        "--form",
        choices=("paper", "default"),
        help="model form (default: 'default' where fitted, else 'paper')",
    )
    p.add_argument(
        "--energy",
        choices=("total", "gpu"),
        default="total",
        help="energy fits to use (default: total)",
    )
    p.add_argument("--objective", choices=("paper", "energy"), default="paper")
    p.add_argument("--seed", type=int, default=0, help="seed of the random baseline")
    p.add_argument(
        "--time-limit", type=float, dest="time_limit_s", help="solver time limit per plan, seconds"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def add_parser(subparsers) -> None:
    plan = subparsers.add_parser(
        "plan",
        help="the optimal allocation and the baselines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(plan)
    plan.add_argument(
        "--zeta", type=float, default=0.5, help="energy weight of the paper objective (default 0.5)"
    )
    plan.add_argument(
        "--min-accuracy",
        type=float,
        dest="min_accuracy",
        help="floor on the token-weighted mean accuracy, percent",
    )
    plan.add_argument("--assignments", help="write one row per input query to this CSV")
    plan.set_defaults(func=run_plan)
    front = subparsers.add_parser(
        "frontier",
        help="the energy/accuracy frontier",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(front)
    front.add_argument(
        "--points",
        type=int,
        default=11,
        help="zeta values (paper) or accuracy floors (energy); default 11",
    )
    front.set_defaults(func=run_frontier)


class _UserError(Exception):
    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _prepare(args) -> tuple[Planner, str]:
    try:
        workload = load_workload(
            args.workload, tokenizer=args.tokenizer, allow_download=args.allow_download
        )
        fleet = load_fleet(args.fleet) if args.fleet else Fleet()
        reports, source = load_reports(args.db, form=args.form, energy=args.energy)
        arms = build_arms(reports, fleet, form=args.form, energy=args.energy)
        return Planner(arms, workload, fleet, seed=args.seed), source
    except (WorkloadError, FleetError, ArmError, NoFitsError, StoreError) as exc:
        raise _UserError(str(exc)) from exc  # StoreError: locked, corrupt, not DuckDB


def _fmt(x, unit="", digits=4) -> str:
    return (
        "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}{unit}"
    )


def _print_plan(s: dict, table, source: str) -> None:
    print(f"{s['name']}: {s['status']} in {s['solve_seconds']:.2f} s")
    print(f"  {s['message']}")
    lo, hi = s["energy_ci_j"]
    print(
        f"  energy {_fmt(s['energy_j'], ' J')} (95% {_fmt(lo)}..{_fmt(hi)} J), "
        f"{_fmt(s['energy_kwh'], ' kWh')}, facility {_fmt(s['facility_kwh'], ' kWh')}, "
        f"CO2e {_fmt(s['co2e_g'], ' g')}, cost {_fmt(s['cost'])}"
    )
    print(
        f"  accuracy {_fmt(s['accuracy'], ' %')}, runtime {_fmt(s['runtime_s'], ' s')} "
        f"(mean {_fmt(s['mean_runtime_s'], ' s')}), energy sources: {s['energy_sources']}"
        + (" (ESTIMATED)" if s["is_estimated"] else "")
    )
    for warning in s["warnings"]:
        print(f"  warning: {warning}")
    for arm in s["arms"]:
        if arm["queries"]:
            print(
                f"    {arm['model']} @ {arm['system']}: {arm['queries']} queries, "
                f"{_fmt(arm['energy_j'], ' J')}, {_fmt(arm['device_hours'], ' device-h')}"
            )
    print(f"fits: {source}")
    print("baselines (saving = baseline energy - plan energy):")
    for row in table[table["kind"] == "baseline"].itertuples():
        print(
            f"  {row.name}: {_fmt(row.energy_j, ' J')}, accuracy {_fmt(row.accuracy, ' %')}"
            f", saving {_fmt(row.saving_pct, ' %', 3)}"
            + (f" [violates: {row.violations}]" if row.violations else "")
        )


def _guarded(work):
    """(result, None), or (None, exit code) after one line on stderr for a user error."""
    try:
        return work(), None
    except _UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None, exc.code
    except (InfeasiblePlanError, PlanningTimeout, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None, 1


def _plan(args):
    planner, source = _prepare(args)
    return (
        planner,
        source,
        planner.solve(
            args.objective,
            zeta=args.zeta,
            min_accuracy=args.min_accuracy,
            time_limit_s=args.time_limit_s,
        ),
    )


def _baselines(planner: Planner, args, objective: str, zeta: float = 0.5):
    return run_baselines(
        planner.data.arms,
        planner.data.workload,
        planner.fleet,
        seed=args.seed,
        objective=objective,
        zeta=zeta,
        data=planner.data,
    )


def run_plan(args) -> int:
    result, code = _guarded(lambda: _plan(args))
    if code is not None:
        return code
    planner, source, plan = result
    baselines = _baselines(planner, args, args.objective, args.zeta)
    if args.assignments:
        try:
            plan.assignments().to_csv(args.assignments, index=False)
        except OSError as exc:
            print(f"error: cannot write {args.assignments}: {exc}", file=sys.stderr)
            return 2
    summary = summarize(plan, planner.fleet)
    table = compare(plan, baselines, planner.fleet)
    if args.json:
        out = {
            "objective": args.objective,
            "objective_value": plan.objective_value,
            "solve_seconds": plan.solve_seconds,
            "fits": source,
            "workload": {
                "name": planner.data.workload.name,
                "n_queries": planner.data.n_queries,
                "distinct_queries": planner.data.shape[0],
            },
            "plan": summary,
            "baselines": {k: summarize(b, planner.fleet) for k, b in baselines.items()},
            "comparison": table.to_dict("records"),
        }
        print(json.dumps(json_safe(out), indent=1))
    else:
        _print_plan(summary, table, source)
    return 0


def _frontier(args):
    if args.points < 2:
        raise _UserError("--points must be at least 2")
    planner, source = _prepare(args)
    if args.objective == "paper":
        return (
            planner,
            source,
            planner.frontier(
                zetas=np.linspace(0.0, 1.0, args.points), time_limit_s=args.time_limit_s
            ),
        )
    low, high = planner.accuracy_range()
    return (
        planner,
        source,
        planner.frontier(
            min_accuracies=np.linspace(low, high, args.points), time_limit_s=args.time_limit_s
        ),
    )


def run_frontier(args) -> int:
    result, code = _guarded(lambda: _frontier(args))
    if code is not None:
        return code
    planner, source, plans = result
    baselines = _baselines(planner, args, "energy")
    table = frontier_table(plans, baselines, planner.fleet)
    if args.json:
        print(
            json.dumps(
                json_safe(
                    {
                        "objective": args.objective,
                        "fits": source,
                        "skipped": planner.last_stats.get("skipped", []),
                        "solve_seconds": sum(p.solve_seconds for p in plans),
                        "points": table.to_dict("records"),
                    }
                ),
                indent=1,
            )
        )
        return 0
    print(f"fits: {source}")
    for row in table.itertuples():
        label = (
            f"zeta={row.zeta:.3g}"
            if not pd.isna(row.zeta)
            else f"accuracy>={row.min_accuracy:.4g}"
            if not pd.isna(row.min_accuracy)
            else row.name
        )
        print(
            f"  {row.kind:8s} {label:40s} energy {_fmt(row.energy_j, ' J')}  "
            f"accuracy {_fmt(row.accuracy, ' %')}"
        )
    return 0
