"""`python -m planner plan` and `python -m planner frontier`: route a workload over the arms.

    python -m planner plan --db PATH --workload FILE [--fleet FILE] [--form paper|default]
        [--objective paper|energy] [--zeta Z] [--min-accuracy A] [--json]
        [--assignments OUT.csv]
    python -m planner frontier ... [--points N] [--json]

Fits come from the store (``--db``); an empty or missing store falls back to the committed
reference catalogue, which the output says.  User errors end with one line on stderr and a
non-zero exit code: 2 for unusable input, 1 for an infeasible or timed-out plan.  The plan's
caveats (``planner.report.caveats``) are printed under its headline and carried in the JSON
(``caveats`` and ``warnings`` of the plan and of every baseline).  The routing package
(cvxpy) is imported when a plan is made, not when the parser is built, so other
subcommands (``fit``) start without it.  Names
from the files (models, systems, tasks, paths) are printed with control characters escaped,
and ``--assignments`` writes task cells a spreadsheet would run as formulas made inert.
"""

from __future__ import annotations

import argparse
import json
import sys

from planner.cli._table import printable, say, write

# Each point is a full plan; 101 is a step of 0.01 in zeta, finer than any trade-off reads,
# and keeps a frontier to minutes (100,000 points ran for hours).
MAX_FRONTIER_POINTS = 101


def add_inputs(p: argparse.ArgumentParser) -> None:
    """The arguments every planning subcommand reads its inputs with (plan, frontier, report)."""
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
    p.add_argument("--seed", type=int, default=0, help="seed of the random baseline")
    p.add_argument(
        "--time-limit", type=float, dest="time_limit_s", help="solver time limit per plan, seconds"
    )


def _common(p: argparse.ArgumentParser) -> None:
    add_inputs(p)
    p.add_argument("--objective", choices=("paper", "energy"), default="paper")
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
        help=(
            "zeta values (paper) or accuracy floors (energy): 2 to "
            f"{MAX_FRONTIER_POINTS}; default 11"
        ),
    )
    front.set_defaults(func=run_frontier)


class UserError(Exception):
    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def prepare(args):
    """(Planner, where the fits came from) for the inputs of ``add_inputs``; a UserError
    names the file or setting that cannot be used."""
    from measure.store import StoreError
    from planner.fits.sources import NoFitsError, load_reports
    from planner.fleet.spec import Fleet, FleetError, load_fleet
    from planner.routing.arms import ArmError, build_arms
    from planner.routing.optimize import Planner
    from planner.workload.load import WorkloadError, load_workload

    try:
        workload = load_workload(
            args.workload, tokenizer=args.tokenizer, allow_download=args.allow_download
        )
        fleet = load_fleet(args.fleet) if args.fleet else Fleet()
        reports, source = load_reports(args.db, form=args.form, energy=args.energy)
        arms = build_arms(reports, fleet, form=args.form, energy=args.energy, workload=workload)
        return Planner(arms, workload, fleet, seed=args.seed), source
    except (WorkloadError, FleetError, ArmError, NoFitsError, StoreError) as exc:
        raise UserError(str(exc)) from exc  # StoreError: locked, corrupt, not DuckDB


def _queries(n: int) -> str:
    return f"{n:,} {'query' if n == 1 else 'queries'}"


def _kwh(energy_j) -> str:
    from planner.report.units import J_PER_KWH, quantity

    return quantity(None if energy_j is None else energy_j / J_PER_KWH, "kWh")


def _print_plan(s: dict, table, source: str) -> None:
    """The plan in the report's units (kWh, kg CO2e, the fleet's currency, hours), its
    caveats under the headline, then the arms and every baseline."""
    from planner.report.units import NOTHING, S_PER_H, change, money, quantity

    say(f"{s['name']}: {s['status']} in {s['solve_seconds']:.2f} s")
    say(f"  {s['message']}")
    lo, hi = s["energy_ci_j"]
    interval = NOTHING if lo is None or hi is None else f"{_kwh(lo)} to {_kwh(hi)}"
    say(
        f"  IT energy {_kwh(s['energy_j'])} (95% interval {interval}), facility "
        f"{quantity(s['facility_kwh'], 'kWh')}, CO2e {quantity(s['co2e_kg'], 'kg')}, "
        f"cost {money(s['cost'], s['currency'])}"
    )
    say(
        f"  accuracy {quantity(s['accuracy'], '%')}, runtime "
        f"{quantity(s['runtime_s'] / S_PER_H, 'h')} of device time (mean "
        f"{quantity(s['mean_runtime_s'], 's')} per query), energy sources: "
        f"{s['energy_sources']}" + (" (ESTIMATED)" if s["is_estimated"] else "")
    )
    for caveat in s["caveats"]:
        say(f"  caveat: {caveat}")
    for arm in s["arms"]:
        if arm["queries"]:
            say(
                f"    {arm['model']} @ {arm['system']}: {_queries(arm['queries'])}, "
                f"{_kwh(arm['energy_j'])}, {quantity(arm['device_hours'], 'device-h')}"
            )
    say(f"fits: {source}")
    say("baselines (and the plan's energy against each):")
    for row in table[table["kind"] == "baseline"].itertuples():
        say(
            f"  {row.name}: {_kwh(row.energy_j)}, accuracy {quantity(row.accuracy, '%')}"
            f"; the plan uses {change(s['energy_j'], row.energy_j)}"
            + (f" [violates: {row.violations}]" if row.violations else "")
        )


def guarded(work):
    """(result, None), or (None, exit code) after one line on stderr for a user error."""
    from planner.routing.optimize import InfeasiblePlanError, PlanningTimeout

    try:
        return work(), None
    except UserError as exc:
        say(f"error: {exc}", file=sys.stderr)
        return None, exc.code
    except (InfeasiblePlanError, PlanningTimeout, ValueError) as exc:
        say(f"error: {exc}", file=sys.stderr)
        return None, 1


def _plan(args):
    planner, source = prepare(args)
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


def baselines_of(planner, args, objective: str, zeta: float = 0.5) -> dict:
    """Every baseline of the planner's data, measured with the plan's objective."""
    from planner.routing.baselines import run_baselines

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
    result, code = guarded(lambda: _plan(args))
    if code is not None:
        return code
    from planner.report.exports import assignments_csv
    from planner.report.summary import compare, json_safe, summarize

    planner, source, plan = result
    baselines = baselines_of(planner, args, args.objective, args.zeta)
    if args.assignments:
        try:  # the export's own CSV: formula-like cells made inert, one rule for app and CLI
            with open(args.assignments, "wb") as out:
                out.write(assignments_csv(plan))
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            say(f"error: cannot write {args.assignments}: {reason}", file=sys.stderr)
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
        write(json.dumps(json_safe(out), indent=1))
    else:
        _print_plan(summary, table, source)
    return 0


def check_points(points: int) -> None:
    if not 2 <= points <= MAX_FRONTIER_POINTS:
        raise UserError(
            f"--points must be from 2 to {MAX_FRONTIER_POINTS} (got {points}): "
            "each point is a whole plan"
        )


def _frontier(args):
    import numpy as np

    check_points(args.points)
    planner, source = prepare(args)
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
    result, code = guarded(lambda: _frontier(args))
    if code is not None:
        return code
    import pandas as pd

    from planner.report.summary import frontier_table, json_safe
    from planner.report.units import quantity

    planner, source, plans = result
    baselines = baselines_of(planner, args, "energy")
    table = frontier_table(plans, baselines, planner.fleet)
    if args.json:
        write(
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
    say(f"fits: {source}")
    for row in table.itertuples():
        label = (
            f"zeta={row.zeta:.3g}"
            if not pd.isna(row.zeta)
            else f"accuracy>={row.min_accuracy:.4g}"
            if not pd.isna(row.min_accuracy)
            else printable(row.name)
        )
        say(
            f"  {row.kind:8s} {label:40s} IT energy {_kwh(row.energy_j)}  "
            f"accuracy {quantity(row.accuracy, '%')}"
        )
    return 0
