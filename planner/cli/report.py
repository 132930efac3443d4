"""`python -m planner report`: the stakeholder HTML report of a plan, for scripted use.

    python -m planner report --db PATH --workload FILE [--fleet FILE]
        [--zeta Z | --min-accuracy A] [--baseline KEY] [--points N] --out report.html

The same self-contained page as the dashboard's Export page (``planner.report.exports.
html_bytes``): the paper objective at ``--zeta`` (default 0.5), or least energy above
``--min-accuracy``; the summary compares with ``--baseline`` (default: the most accurate
LLM on its fastest system); the frontier over zeta has ``--points`` plans (0 leaves it
out).  The report names the store and the workload by file name alone.  Errors end with
one line naming the file or setting, as the other subcommands' do; the file is written
whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from planner.cli._table import say
from planner.cli.plan import (
    MAX_FRONTIER_POINTS,
    UserError,
    add_inputs,
    baselines_of,
    check_points,
    guarded,
    prepare,
)

DEFAULT_POINTS = 11  # the dashboard's frontier over zeta: 0, 0.1, ..., 1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="write the stakeholder HTML report of a plan",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_inputs(p)
    goal = p.add_mutually_exclusive_group()
    goal.add_argument(
        "--zeta", type=float, default=0.5, help="energy weight of the paper objective (0.5)"
    )
    goal.add_argument(
        "--min-accuracy",
        type=float,
        dest="min_accuracy",
        help="least energy above this token-weighted mean accuracy, percent",
    )
    p.add_argument(
        "--baseline",
        help="key of the baseline the summary compares with (default: most_accurate_fastest)",
    )
    p.add_argument(
        "--points",
        type=int,
        default=DEFAULT_POINTS,
        help=(
            f"plans on the frontier over zeta: 0 (none) or 2 to {MAX_FRONTIER_POINTS}; "
            f"default {DEFAULT_POINTS}"
        ),
    )
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.set_defaults(func=run_report)


def fits_label(source: str, db) -> tuple[str, str]:
    """(where the fits came from, citation) in the report's words: the store by its file
    name alone (the report leaves this machine)."""
    from measure.paths import DEFAULT_DB_PATH

    store = f"store {Path(db if db is not None else DEFAULT_DB_PATH).name}"
    if "reference catalogue" not in source:
        return f"Fits of the measurements in {store}", ""
    from planner.fits.catalogue import load_catalogue

    return (
        f"Reference catalogue (published fits and fits of the paper's data; {store} has "
        "no measurements)",
        load_catalogue().citation,
    )


def _build(args) -> bytes:
    import numpy as np

    from planner.report.exports import PlanSetup, html_bytes
    from planner.report.narrative import choose_baseline

    if args.points != 0:
        check_points(args.points)
    planner, source = prepare(args)
    objective = "paper" if args.min_accuracy is None else "energy"
    plan = planner.solve(
        objective,
        zeta=args.zeta,
        min_accuracy=args.min_accuracy,
        time_limit_s=args.time_limit_s,
    )
    baselines = baselines_of(planner, args, objective, args.zeta)
    try:
        compare_to = choose_baseline(baselines, args.baseline)
    except ValueError as exc:
        raise UserError(f"--baseline: {exc}") from exc
    zetas = [] if args.points == 0 else [float(z) for z in np.linspace(0, 1, args.points)]
    frontier = planner.frontier(zetas=zetas, time_limit_s=args.time_limit_s) if zetas else []
    fits, citation = fits_label(source, args.db)
    settings = {
        "objective": objective,
        "zeta": args.zeta if objective == "paper" else None,
        "min_accuracy": args.min_accuracy,
        "form": args.form,
        "energy": args.energy,
        "seed": args.seed,
    }
    setup = PlanSetup(
        fleet=planner.fleet,
        fits=fits,
        citation=citation,
        form=args.form,
        settings=settings,
        estimated_arms=frozenset((a.model, a.system) for a in planner.data.arms if a.is_estimated),
    )
    return html_bytes(plan, baselines, setup, frontier, zetas, compare_to=compare_to)


def _write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary file beside it, renamed)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_report(args) -> int:
    page, code = guarded(lambda: _build(args))
    if code is not None:
        return code
    try:
        _write(args.out, page)
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        say(f"error: cannot write {args.out}: {reason}", file=sys.stderr)
        return 2
    say(f"wrote {args.out} ({len(page) / 1e6:.1f} MB)")
    return 0
