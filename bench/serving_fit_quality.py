"""Held-out quality of the serving operating-point forms on the ML.ENERGY v3 task files.

Reads the shared ML.ENERGY task files (``tasks/*.json``), fits every serving setup with
``planner.serving.serving_arms`` and prints per arm the number of batch sizes and the
leave-one-batch-size-out median and 90th-percentile absolute percentage error of energy per
output token, throughput and p90 inter-token latency, then a summary: how many arms with at
least 4 batch sizes meet the goal (median APE <= 10 % on each of the three targets), and the
worst arm per target.

    .venv/bin/python bench/serving_fit_quality.py [DIR]   (default ../shared/reference/mlenergy-v3)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

from measure.paths import PROJECT_ROOT
from planner.serving.catalogue import serving_arms
from planner.serving.operating import CV_TARGETS, OperatingPointModel
from planner.serving.setups import group_setups

SHARED = PROJECT_ROOT.parent / "shared" / "reference" / "mlenergy-v3"
GOAL_MEDIAN_APE = 10.0
GOAL_MIN_BATCHES = 4
# ML.ENERGY task-file field -> serving column (the store's names)
FIELDS = {
    "model_id": "model",
    "gpu_model": "system",
    "num_gpus": "n_gpus",
    "tensor_parallel": "tensor_parallel",
    "expert_parallel": "expert_parallel",
    "data_parallel": "data_parallel",
    "weight_precision": "weight_precision",
    "max_num_seqs": "max_num_seqs",
    "avg_batch_size": "mean_batch",
    "avg_output_len": "mean_output_tokens",
    "energy_per_token_joules": "energy_per_output_token_j",
    "energy_per_request_joules": "energy_per_request_j",
    "avg_power_watts": "mean_power_w",
    "output_throughput_tokens_per_sec": "output_throughput_tps",
    "median_itl_ms": "itl_ms_p50",
    "p90_itl_ms": "itl_ms_p90",
    "p95_itl_ms": "itl_ms_p95",
    "p99_itl_ms": "itl_ms_p99",
}
SHORT = {"energy_per_token_j": "J/tok", "throughput_tps": "tput", "itl_ms_p90": "ITLp90"}


def read_tasks(directory: Path) -> pd.DataFrame:
    """Every configuration of the task files as serving rows (no store involved)."""
    files = sorted((directory / "tasks").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no ML.ENERGY task files in {directory / 'tasks'}")
    rows = []
    for path in files:
        doc = json.loads(path.read_text())
        for i, conf in enumerate(doc["configurations"]):
            row = {col: conf.get(field) for field, col in FIELDS.items()}
            row.update(
                task=doc["task"],
                engine="vllm",
                energy_source="imported",
                energy_scope="gpu",
                source_file=path.name,
                source_position=f"configurations[{i}]",
            )
            rows.append(row)
    return pd.DataFrame(rows)


def fmt(cv: dict) -> str:
    if cv["n"] == 0:
        return f"{'-':>6} {'-':>6}"
    return f"{cv['median_ape']:6.1f} {cv['p90_ape']:6.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", nargs="?", type=Path, default=SHARED)
    args = parser.parse_args(argv)
    try:
        df = read_tasks(args.directory)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    arms = serving_arms(df)
    elapsed = time.perf_counter() - start
    head = "  ".join(f"{SHORT[t] + ' med':>6} {'p90':>6}" for t in CV_TARGETS)
    print(f"{'arm':<78} {'n_b':>3}  {head}  goal")
    eligible, met = 0, 0
    worst: dict[str, tuple[float, str]] = {t: (-1.0, "") for t in CV_TARGETS}
    for arm in arms:
        cv = arm.model.cv_
        ok = ""
        if arm.n_points >= GOAL_MIN_BATCHES:
            eligible += 1
            good = all(cv[t]["median_ape"] <= GOAL_MEDIAN_APE for t in CV_TARGETS)
            met += good
            ok = "yes" if good else "no"
            for t in CV_TARGETS:
                if cv[t]["n"] and cv[t]["median_ape"] > worst[t][0]:
                    worst[t] = (cv[t]["median_ape"], arm.setup.label)
        cells = "  ".join(fmt(cv[t]) for t in CV_TARGETS)
        print(f"{arm.setup.label:<78} {arm.n_points:>3}  {cells}  {ok}")
    print()
    cpu = time.process_time()
    for rows in group_setups(df).values():
        OperatingPointModel(cv=False).fit(rows)
    cpu = time.process_time() - cpu
    print(
        f"{len(arms)} arms from {len(df)} configurations, fitted with LOBO in {elapsed:.1f} s; "
        f"without LOBO (as the embedded loader fits) {cpu:.1f} CPU-s"
    )
    for t in CV_TARGETS:
        meds = [a.model.cv_[t]["median_ape"] for a in arms if a.n_points >= GOAL_MIN_BATCHES]
        meds = [m for m in meds if not math.isnan(m)]
        n_ok = sum(m <= GOAL_MEDIAN_APE for m in meds)
        print(
            f"  {t:<20} arms within {GOAL_MEDIAN_APE:.0f}%: {n_ok}/{len(meds)}; median of medians "
            f"{pd.Series(meds).median():.1f}%; worst {worst[t][0]:.1f}% ({worst[t][1]})"
        )
    print(
        f"summary: {met}/{eligible} arms with >= {GOAL_MIN_BATCHES} batch sizes meet "
        f"LOBO median APE <= {GOAL_MEDIAN_APE:.0f}% on energy per token, throughput and p90 ITL"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
