"""Loading the embedded serving catalogue: fits with held-out errors from the file against
refitting every held-out batch (what ``serving_arms`` does), side by side in one run.

Run from the project root:  .venv/bin/python bench/serving_catalogue_load.py [--task TASK]

The dashboard opens on this catalogue, so its load is on the first view's path:
``load_embedded_serving`` fits each setup's operating-point model once and takes the
leave-one-batch-size-out errors from data/serving_catalogue.json (computed when the file
was built); ``planner.serving.catalogue.serving_arms`` on the same rows refits the model
once per held-out batch size.  Both must give the same fitted figures.  The machine is
shared: read the ratio, measured in the same run, rather than the absolute seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.serving.catalogue import serving_arms  # noqa: E402
from planner.serving.embedded import embedded_arms, read_embedded  # noqa: E402


def clock(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=None, help="only this task's setups (default: all)")
    args = parser.parse_args()
    tasks = None if args.task is None else [args.task]
    catalogue, read_s, _ = clock(read_embedded)
    rows = catalogue.rows if tasks is None else catalogue.rows[catalogue.rows["task"].isin(tasks)]
    print(f"read data/serving_catalogue.json: {len(rows)} points in {read_s:.2f} s")
    fast, fast_wall, fast_cpu = clock(lambda: embedded_arms(catalogue, tasks=tasks))
    full, full_wall, full_cpu = clock(lambda: serving_arms(rows))
    print(f"{len(fast)} setups")
    print(
        f"  load_embedded_serving (errors from the file): {fast_wall:6.2f} s wall, {fast_cpu:6.2f} s CPU"
    )
    print(
        f"  serving_arms (refits every held-out batch):   {full_wall:6.2f} s wall, {full_cpu:6.2f} s CPU"
    )
    print(f"  CPU ratio: {full_cpu / max(fast_cpu, 1e-9):.1f}x")
    worst = 0.0
    for a, b in zip(fast, full):
        assert a.setup == b.setup
        for batch in (a.model.min_batch_, a.model.max_batch_):
            pa, pb = a.model.predict(batch), b.model.predict(batch)
            worst = max(worst, abs(pa.energy_per_token_j / pb.energy_per_token_j - 1))
        for target, figures in b.model.cv_.items():
            stored = a.model.cv_[target]["median_ape"]
            if figures["n"]:
                worst_cv = abs(stored - figures["median_ape"])
                assert worst_cv < 1e-3, (a.setup.label, target, stored, figures)
    print(
        f"  same fits: largest relative difference in energy per token {worst:.2g}; "
        "held-out errors equal to 1e-3 points"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
