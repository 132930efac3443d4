"""`planner estimate` on the imported ML.ENERGY files (the outside check), against hand
computations from the curves fitted to them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from measure.importers.mlenergy import import_mlenergy_file
from measure.paths import PROJECT_ROOT
from measure.store import Store
from planner.serving.catalogue import serving_arms

MODEL, SYSTEM = "Qwen/Qwen3-8B", "H100"


@pytest.fixture(scope="module")
def store(mlenergy_dir, tmp_path_factory):
    db = tmp_path_factory.mktemp("mlenergy") / "store.duckdb"
    store = Store(db)
    import_mlenergy_file(str(mlenergy_dir / "tasks" / "lm-arena-chat.json"), store)
    return store


@pytest.fixture(scope="module")
def arm(store):
    arms = serving_arms(store.serving(models=[MODEL], systems=[SYSTEM], include_flagged=False))
    (one_gpu,) = [a for a in arms if a.setup.n_gpus == 1]
    return one_gpu


def _estimate(store, path, *extra) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "planner", "estimate", "--db", str(store.path), "--workload",
         str(path), "--model", MODEL, "--system", SYSTEM, "--json", *extra],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_sparse_poisson_workload_equals_the_hand_computation(store, arm, tmp_path):
    rng = np.random.default_rng(2026)
    n = 200
    tokens = rng.integers(50, 1500, n)
    gaps = rng.exponential(3600.0, n)  # Poisson arrivals, one an hour on average
    arrival = np.cumsum(gaps) - gaps[0]
    one = arm.model.predict(1.0)
    service = tokens / one.throughput_tps
    assert (arrival[1:] > arrival[:-1] + service[:-1]).all()  # each request runs alone
    path = tmp_path / "poisson.csv"
    pd.DataFrame({"arrival_s": arrival, "input_tokens": 200, "output_tokens": tokens}).to_csv(
        path, index=False
    )
    out = _estimate(store, path, "--devices", "1", "--idle-power-w", "90", "--pue", "1.2")
    busy, span = service.sum(), arrival[-1] + service[-1]
    active = tokens.sum() * one.energy_per_token_j  # the batch-1 figure, extrapolated below 8
    idle = 90.0 * (span - busy)
    assert out["active_energy_j"] == pytest.approx(active, rel=1e-6)
    assert out["idle_energy_j"] == pytest.approx(idle, rel=1e-6)
    assert out["energy_j"] == pytest.approx(1.2 * (active + idle), rel=1e-6)
    assert out["duration_s"] == pytest.approx(span, rel=1e-6)
    assert out["mean_batch"] == pytest.approx(1.0)
    assert any("extrapolated" in w for w in out["warnings"])  # ML.ENERGY starts at batch 8


def test_back_to_back_workload_equals_the_hand_computation(store, arm, tmp_path):
    batch, instances, rounds, tout = 64, 2, 3, 600
    n = batch * instances * rounds
    path = tmp_path / "batch.csv"
    pd.DataFrame({"input_tokens": np.full(n, 300), "output_tokens": tout}).to_csv(path, index=False)
    out = _estimate(store, path, "--devices", str(instances), "--max-batch", str(batch))
    op = arm.model.predict(float(batch))
    assert out["active_energy_j"] == pytest.approx(n * tout * op.energy_per_token_j, rel=1e-6)
    assert out["duration_s"] == pytest.approx(n * tout / (instances * op.throughput_tps))
    assert out["idle_energy_j"] == pytest.approx(0.0, abs=1e-3)
    # the fitted curve reproduces the published neighbours of batch 64 within a few percent
    rows = store.serving(models=[MODEL], systems=[SYSTEM], include_flagged=False)
    rows = rows[(rows.n_gpus == 1) & (rows.max_num_seqs == 64)]
    measured = float(rows.energy_per_output_token_j.iloc[0])
    assert op.energy_per_token_j == pytest.approx(measured, rel=0.1)
