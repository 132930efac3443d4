"""Planner scale benchmark: 52,002 queries (Alpaca's size) over every arm of the shared data.

Run from the project root:  .venv/bin/python bench/plan_scale.py [--quick]

Arms: both shared reference files imported with `python -m measure import` into a temporary
store and fitted (default form, total energy) with `fit_store` -- the grid's four LLMs on
argonne-swing plus the three 7B LLMs on the sweeps' four systems; without ../shared, the
committed reference catalogue (the same fits).  Fleet: the paper's shares (gamma 0.05, 0.2,
0.75 at 25 %) on three LLMs, and capacity limits on two systems, so every constraint family
is live.  The aggregated planner is run side by side with the paper's one-binary-per-(query,
arm) formulation (cvxpy + HiGHS MILP) at 2,000 and 20,000 queries: the optima must agree
within the two integer programs' gaps (MIP_REL_GAP of the objective's scale each).
Wall-clock and CPU seconds are printed; the machine is shared, so read ratios measured in
the same run rather than absolute figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.fleet.spec import Fleet  # noqa: E402
from planner.routing import optimize  # noqa: E402
from planner.routing._lp import MIP_REL_GAP  # noqa: E402
from planner.routing.arms import build_arms  # noqa: E402
from planner.routing.optimize import Planner  # noqa: E402
from planner.routing.paper_milp import solve_per_query  # noqa: E402
from planner.routing.problem import energy_scale, objective_cost  # noqa: E402
from planner.workload.load import synthetic_workload  # noqa: E402

SHARED = ROOT.parent / "shared" / "reference" / "wilkins2024"
N_ALPACA = 52_002
FLEET = {
    "min_share_fraction": 0.25,
    "llm": {
        "Llama-2-7b-chat-hf": {"share": 0.05},
        "Llama-2-13b-chat-hf": {"share": 0.2},
        "Mistral (7B)": {"share": 0.75},
    },
    "system": {
        "M1-Pro": {"devices": 2, "window_h": 24},
        "Palmetto Intel+V100": {"devices": 2, "window_h": 24},
    },
}


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self):
        return f"{self.wall:7.2f} s wall ({self.cpu:6.2f} s CPU)"


def load_arms(fleet: Fleet):
    if (SHARED / "swing-a100-grid.csv").exists():
        from measure.store import Store
        from planner.fits.fitting import fit_store

        db = Path(tempfile.mkdtemp()) / "bench.duckdb"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "measure",
                "import",
                "--db",
                str(db),
                str(SHARED / "swing-a100-grid.csv"),
                str(SHARED / "systems-sweeps.csv"),
            ],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        reports = fit_store(Store(db), forms=("default",))
        source = f"fit_store on a store imported from {SHARED}"
    else:
        from planner.fits.catalogue import load_catalogue

        reports = load_catalogue().reports
        source = "the reference catalogue (../shared absent)"
    return build_arms(reports, fleet, form="default"), source


def milp_gaps(planner, objective: str, zeta: float, ref_value: float) -> float:
    """How far two correct answers may differ: our integer phase stops within MIP_REL_GAP
    of the objective's scale (sum over queries of the mean |cost| over arms), the per-query
    MILP within MIP_REL_GAP of its own objective."""
    cost = objective_cost(planner.data, objective, zeta)
    to_value = energy_scale(planner.data) if objective == "energy" else 1.0  # costs: J / max |e|
    scale = float(planner.data.count @ np.abs(cost).mean(axis=1)) * to_value
    return MIP_REL_GAP * (scale + abs(ref_value)) + 1e-9


def side_by_side(arms, fleet, n_queries: int, objective="paper", zeta=0.5, floor=None):
    workload = synthetic_workload("chat", n_queries, seed=0)
    with Clock() as ours:
        planner = Planner(arms, workload, fleet)
        plan = planner.solve(objective, zeta=zeta, min_accuracy=floor)
    with Clock() as theirs:
        ref = solve_per_query(planner.data, objective, zeta=zeta, min_accuracy=floor)
    diff = abs(plan.objective_value - ref["objective_value"])
    allowed = milp_gaps(planner, objective, zeta, ref["objective_value"])
    rel = diff / max(abs(ref["objective_value"]), 1e-300)
    what = f"{objective}" + (f" zeta={zeta}" if objective == "paper" else f" floor={floor:.4g}%")
    print(f"{n_queries:>6} queries ({planner.data.shape[0]} distinct), {what}:")
    print(f"    aggregated planner   {ours}   objective {plan.objective_value:.10g}")
    print(
        f"    per-query binary     {theirs}   objective {ref['objective_value']:.10g} "
        f"({ref['status']})"
    )
    print(
        f"    relative difference {rel:.2e}, {diff / allowed:.2f} of what the two MILP gaps "
        f"allow ({'OK' if diff <= allowed else 'MISMATCH'}); "
        f"per-query / aggregated time: {theirs.wall / ours.wall:.1f}x wall, "
        f"{theirs.cpu / max(ours.cpu, 1e-9):.1f}x CPU"
    )
    ref_j = float(
        np.sum(planner.data.alloc_from_query_arms(ref["query_arm"]) * planner.data.energy_j)
    )
    print(
        f"    energy of the two plans: {plan.energy_j:.6g} J vs {ref_j:.6g} J (equal objectives "
        "can differ in energy; the planner takes the least)"
    )
    print(f"    planner: {plan.message}")
    return diff / allowed


def full_scale(arms, fleet):
    workload = synthetic_workload("chat", N_ALPACA, seed=0)
    with Clock() as build:
        planner = Planner(arms, workload, fleet)
    print(
        f"{N_ALPACA} queries, {planner.data.shape[0]} distinct, {len(arms)} arms "
        f"({planner.data.shape[0] * len(arms)} columns); build {build}"
    )
    with Clock() as first:
        plan = planner.solve("paper", zeta=0.5)
    print(f"    one plan (paper, zeta 0.5), first      {first}   goal <= 1 s")
    with Clock() as again:
        planner.solve("paper", zeta=0.4)
    print(f"    one plan (paper, zeta 0.4), next       {again}")
    print(f"    {plan.message}")
    with Clock() as front:
        plans = planner.frontier()
    print(f"    11-point zeta frontier                 {front}   goal <= 5 s")
    low, high = planner.accuracy_range()
    with Clock() as acc_front:
        acc_plans = planner.frontier(min_accuracies=np.linspace(low, high, 11))
    print(
        f"    11-point accuracy-floor frontier       {acc_front}   "
        f"({sum('integer program' in p.message for p in acc_plans)} needed integer programs)"
    )
    print(
        f"    energy along the zeta frontier: {plans[0].energy_j:.4g} .. {plans[-1].energy_j:.4g} J"
    )
    saved = optimize.FULL_LP_GROUPS
    optimize.FULL_LP_GROUPS = 10**9
    try:
        direct = Planner(arms, workload, fleet)
        with Clock() as one_lp:
            ref = direct.solve("paper", zeta=0.5)
    finally:
        optimize.FULL_LP_GROUPS = saved
    rel = abs(ref.objective_value - plan.objective_value) / abs(ref.objective_value)
    print(
        f"    one LP over all undominated columns   {one_lp}   (relative difference "
        f"{rel:.1e}; column generation is {one_lp.wall / first.wall:.1f}x faster)"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 20,000-query comparison")
    args = parser.parse_args(argv)
    fleet = Fleet.from_dict(FLEET)
    arms, source = load_arms(fleet)
    print(f"arms: {len(arms)} from {source}")
    print(
        "fleet: shares 0.05/0.2/0.75 x 0.25 on Llama-2-7b-chat-hf, Llama-2-13b-chat-hf, "
        "Mistral (7B); M1-Pro and Palmetto Intel+V100 2 devices x 24 h"
    )
    worst = side_by_side(arms, fleet, 2_000)
    worst = max(worst, side_by_side(arms, fleet, 2_000, zeta=0.0))  # ties everywhere
    worst = max(worst, side_by_side(arms, fleet, 2_000, "energy", floor=58.0))
    if not args.quick:
        worst = max(worst, side_by_side(arms, fleet, 20_000))
    full_scale(arms, fleet)
    print(
        f"largest difference from the per-query formulation, as a fraction of what the "
        f"two MILP gaps allow: {worst:.2f}"
    )
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
