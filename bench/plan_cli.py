"""CLI wall-clock benchmark: `python -m planner plan` and `frontier` on a store whose fits are saved.

Run from the project root:  .venv/bin/python bench/plan_cli.py [--repeats N]

Both shared reference files are imported with `python -m measure import` into a temporary
store, as bench/plan_scale.py does, and a synthetic chat workload of 52,002 queries
(Alpaca's size, `planner.workload.synthetic_workload`) is written as CSV.  Timed, each as a
subprocess, with the median of N runs:

- `planner plan` on a copy of the store without saved fits (it fits, then saves them);
- `planner fit` (reads the saved fits);
- `planner plan` on the store whose fits are saved, beside a bare
  `python -c "import numpy, pandas, scipy, cvxpy, duckdb, sklearn"` in the same run;
- an 11-point `planner frontier`.

Goals: plan <= 2 x the bare import; frontier <= 5 s.  The machine is shared, so read the
ratios measured in the same run rather than absolute figures.  It asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "reference" / "wilkins2024"
N_ALPACA = 52_002
BARE_IMPORT = "import numpy, pandas, scipy, cvxpy, duckdb, sklearn"
PLAN_GOAL_X_IMPORT = 2.0
FRONTIER_GOAL_S = 5.0


CPU_S: dict[str, list[float]] = {}  # CPU seconds (user + sys) of each timed command's runs


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    cpu, start = _children_cpu_s(), time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    CPU_S.setdefault(" ".join(argv), []).append(_children_cpu_s() - cpu)
    return wall, done


def median_wall(argv: list[str], repeats: int) -> tuple[float, list[float], str]:
    walls, last = [], None
    for _ in range(repeats):
        wall, last = timed(argv)
        if last.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({last.returncode}):\n{last.stderr}")
        walls.append(wall)
    return statistics.median(walls), walls, last.stdout


def fits_line(stdout: str) -> str:
    return next((line for line in stdout.splitlines() if line.startswith("fits:")), "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    if not (SHARED / "swing-a100-grid.csv").exists():
        print(f"../shared reference data absent ({SHARED}): nothing to measure")
        return 0
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="plan_cli_"))
    try:
        db, cold_db, workload = tmp / "bench.duckdb", tmp / "cold.duckdb", tmp / "chat.csv"
        subprocess.run(
            [py, "-m", "measure", "import", "--db", str(db)]
            + [str(SHARED / f) for f in ("swing-a100-grid.csv", "systems-sweeps.csv")],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        from planner.workload.load import synthetic_workload

        synthetic_workload("chat", N_ALPACA, seed=0).queries.to_csv(workload, index=False)
        plan = ["-m", "planner", "plan", "--workload", str(workload)]
        frontier = ["-m", "planner", "frontier", "--workload", str(workload), "--points", "11"]

        cold = []
        for _ in range(args.repeats):  # a fresh copy each time: no saved fits in it
            shutil.copyfile(db, cold_db)
            wall, done = timed([py, *plan, "--db", str(cold_db)])
            cold.append(wall)
        print(f"store: both shared files imported; workload: {N_ALPACA:,} chat queries")
        print(f"  plan, no saved fits (fits, saves)   {statistics.median(cold):6.2f} s wall")
        print(f"      {fits_line(done.stdout)}")

        first, _ = timed([py, "-m", "planner", "fit", "--db", str(db)])
        fit_s, _, _ = median_wall([py, "-m", "planner", "fit", "--db", str(db)], args.repeats)
        print(f"  planner fit, first (fits, saves)    {first:6.2f} s wall")
        print(f"  planner fit, fits saved             {fit_s:6.2f} s wall")

        runs = {"bare": [], "plan": [], "frontier": []}
        argvs = {
            "bare": [py, "-c", BARE_IMPORT],
            "plan": [py, *plan, "--db", str(db)],
            "frontier": [py, *frontier, "--db", str(db)],
        }
        plan_out = ""
        for _ in range(args.repeats):  # interleaved: a busy spell slows all three alike
            for name, argv in argvs.items():
                wall, _, stdout = median_wall(argv, 1)
                runs[name].append(wall)
                plan_out = stdout if name == "plan" else plan_out
        bare_s, bare_all = statistics.median(runs["bare"]), runs["bare"]
        plan_s, plan_all = statistics.median(runs["plan"]), runs["plan"]
        front_s, front_all = statistics.median(runs["frontier"]), runs["frontier"]
        cpu = {name: statistics.median(CPU_S[" ".join(argv)]) for name, argv in argvs.items()}
        print(f"  bare import ({BARE_IMPORT})")
        print(
            f"                                      {bare_s:6.2f} s wall  {_runs(bare_all)}, "
            f"{cpu['bare']:.2f} s CPU"
        )
        print(
            f"  plan, fits saved                    {plan_s:6.2f} s wall  {_runs(plan_all)}, "
            f"{cpu['plan']:.2f} s CPU"
        )
        print(f"      {fits_line(plan_out)}")
        print(
            f"  frontier (11 points), fits saved    {front_s:6.2f} s wall  {_runs(front_all)}, "
            f"{cpu['frontier']:.2f} s CPU"
        )
        print(
            f"ratios: plan / bare import {plan_s / bare_s:.2f} wall, "
            f"{cpu['plan'] / cpu['bare']:.2f} CPU (goal <= {PLAN_GOAL_X_IMPORT:g}); "
            f"frontier {front_s:.2f} s wall (goal <= {FRONTIER_GOAL_S:g} s), "
            f"{front_s / bare_s:.2f} x the bare import; "
            f"plan without / with saved fits {statistics.median(cold) / plan_s:.1f}x"
        )
        print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _runs(walls: list[float]) -> str:
    return "(runs: " + ", ".join(f"{w:.2f}" for w in walls) + ")"


if __name__ == "__main__":
    sys.exit(main())
