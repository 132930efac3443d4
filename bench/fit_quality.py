"""Held-out quality of the paper's form vs our default form on the shared reference data.

Imports the shared files into a temporary store through `python -m measure import`, fits
with `python -m planner fit --json`, and prints for every LLM of the Swing grid and both
targets the 5-fold CV R2, median and 90th-percentile APE of both forms side by side (folds
hold out whole (tin, tout) configurations, so repeated measurements of one configuration
never sit on both sides; the default form's term choice is redone in every fold), and
whether the default form meets the goal (cv median APE <= 10%, cv R2 >= 0.97).  A second
table gives the same for the 1-D sweeps (systems-sweeps.csv), which have no goal.

    .venv/bin/python bench/fit_quality.py [--shared DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure.paths import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "reference" / "wilkins2024"
GOAL_MEDIAN_APE, GOAL_CV_R2 = 10.0, 0.97
GRID_SYSTEM = "argonne-swing"


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout


def fits(shared: Path) -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.duckdb")
        cli(
            "-m",
            "measure",
            "import",
            str(shared / "swing-a100-grid.csv"),
            str(shared / "systems-sweeps.csv"),
            "--db",
            db,
        )
        start = time.perf_counter()
        reports = json.loads(cli("-m", "planner", "fit", "--db", db, "--json"))
        return reports, time.perf_counter() - start


def side_by_side(reports: list[dict], systems: set[str] | None, goal: bool) -> list[str]:
    head = (
        f"{'LLM':<21} {'system':<20} {'target':<8}| {'paper: cvR2':>11} {'medAPE%':>8} "
        f"{'p90APE%':>8} | {'default: cvR2':>13} {'medAPE%':>8} {'p90APE%':>8}"
        + (" | goal met" if goal else "")
    )
    lines = [head, "-" * len(head)]
    arms = sorted(
        {(r["model"], r["system"]) for r in reports if systems is None or r["system"] in systems},
        key=lambda a: (a[1], a[0]),
    )
    for model, system in arms:
        for target in ("energy", "runtime"):
            pick = {
                r["form"]: r
                for r in reports
                if (r["model"], r["system"], r["target"]) == (model, system, target)
            }
            p, d = pick["paper"], pick["default"]
            met = d["cv_median_ape"] <= GOAL_MEDIAN_APE and d["cv_r2"] >= GOAL_CV_R2
            lines.append(
                f"{model:<21.21} {system:<20.20} {target:<8}| {p['cv_r2']:>11.4f} "
                f"{p['cv_median_ape']:>8.1f} {p['cv_p90_ape']:>8.1f} | {d['cv_r2']:>13.4f} "
                f"{d['cv_median_ape']:>8.1f} {d['cv_p90_ape']:>8.1f}"
                + (f" | {'yes' if met else 'NO'}" if goal else "")
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=SHARED,
        help="folder with the shared reference CSVs (%(default)s)",
    )
    args = parser.parse_args(argv)
    if not (args.shared / "swing-a100-grid.csv").exists():
        print(f"error: no swing-a100-grid.csv in {args.shared}", file=sys.stderr)
        return 1
    reports, fit_s = fits(args.shared)
    grid = [r for r in reports if r["system"] == GRID_SYSTEM]
    print("Swing A100 grid (swing-a100-grid.csv), 5-fold CV, energy = GPU (no CPU column)")
    print("\n".join(side_by_side(grid, {GRID_SYSTEM}, goal=True)))
    defaults = [r for r in grid if r["form"] == "default"]
    met = sum(r["cv_median_ape"] <= GOAL_MEDIAN_APE and r["cv_r2"] >= GOAL_CV_R2 for r in defaults)
    print(
        f"goal (default cv median APE <= {GOAL_MEDIAN_APE:g}% and cv R2 >= {GOAL_CV_R2}): "
        f"met for {met} of {len(defaults)} (LLM, target)"
    )
    paper_apes = [r["cv_median_ape"] for r in grid if r["form"] == "paper"]
    print(f"paper form cv median APE range: {min(paper_apes):.0f}-{max(paper_apes):.0f}%")
    print()
    print(
        "1-D sweeps (systems-sweeps.csv), energy = GPU + CPU, no goal; tin*tout dropped "
        "(not identifiable)"
    )
    print(
        "\n".join(side_by_side(reports, {r["system"] for r in reports} - {GRID_SYSTEM}, goal=False))
    )
    print(
        f"\nfitting {len(reports)} reports (both forms, both targets, nested CV for the "
        f"default form's term choice) took {fit_s:.1f} s including CLI start-up"
    )
    return 0 if met == len(defaults) else 1


if __name__ == "__main__":
    sys.exit(main())
