"""Operating-point model: monotone forms, leave-one-batch-out error, interpolation and the
ML.ENERGY v3 figures the shared README quotes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.serving.operating import CV_TARGETS, OperatingPointModel
from planner.serving.setups import ServingSetup, group_setups, merge_batches

FIELDS = {
    "model_id": "model",
    "gpu_model": "system",
    "num_gpus": "n_gpus",
    "avg_batch_size": "mean_batch",
    "energy_per_token_joules": "energy_per_output_token_j",
    "output_throughput_tokens_per_sec": "output_throughput_tps",
    "median_itl_ms": "itl_ms_p50",
    "p90_itl_ms": "itl_ms_p90",
    "avg_power_watts": "mean_power_w",
    "avg_output_len": "mean_output_tokens",
    "weight_precision": "weight_precision",
    "max_num_seqs": "max_num_seqs",
}
QWEN8_H100_CHAT = ServingSetup("Qwen/Qwen3-8B", "H100", 1, "bfloat16", "lm-arena-chat", "vllm")


def read_mlenergy_tasks(directory: Path) -> pd.DataFrame:
    """The ML.ENERGY task files' configurations as serving rows (until the importer lands)."""
    rows = []
    for path in sorted((directory / "tasks").glob("*.json")):
        doc = json.loads(path.read_text())
        for conf in doc["configurations"]:
            row = {col: conf[field] for field, col in FIELDS.items()}
            row.update(task=doc["task"], engine="vllm", energy_source="imported")
            row["energy_scope"] = "gpu"
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def mlenergy_rows(shared_reference_dir) -> pd.DataFrame:
    directory = shared_reference_dir.parent / "mlenergy-v3"
    if not (directory / "tasks").is_dir():
        pytest.skip(f"ML.ENERGY reference files absent ({directory})")
    return read_mlenergy_tasks(directory)


@pytest.fixture(scope="module")
def setups(mlenergy_rows) -> dict[ServingSetup, pd.DataFrame]:
    return group_setups(mlenergy_rows)


def synthetic_rows(batches=(4, 16, 64, 256), noise=None) -> pd.DataFrame:
    """A setup following the physics: T = 3000 b / (b + 40), P = 300 + 400 (1 - e^-b/64)."""
    b = np.asarray(batches, dtype=float)
    tps = 3000.0 * b / (b + 40.0)
    power = 300.0 + 400.0 * (1.0 - np.exp(-b / 64.0))
    itl = 1000.0 * b / tps
    frame = pd.DataFrame(
        {
            "mean_batch": b,
            "output_throughput_tps": tps,
            "energy_per_output_token_j": power / tps,
            "itl_ms_p50": itl,
            "itl_ms_p90": itl * 1.3,
        }
    )
    if noise is not None:
        frame["output_throughput_tps"] *= noise
    return frame


def test_every_shared_setup_is_monotone_over_batch(setups):
    grid = np.geomspace(1.0, 4096.0, 300)
    assert len(setups) >= 60
    for setup, rows in setups.items():
        model = OperatingPointModel(cv=False).fit(rows)
        e = model.predict_many("energy_per_token_j", grid)
        t = model.predict_many("throughput_tps", grid)
        p50 = model.predict_many("itl_ms_p50", grid)
        p90 = model.predict_many("itl_ms_p90", grid)
        for name, values in (("energy", e), ("throughput", t), ("p50", p50), ("p90", p90)):
            assert np.all(np.isfinite(values)) and np.all(values > 0), (setup.label, name)
        slack = 1e-9
        assert np.all(np.diff(e) <= slack * e[:-1]), setup.label
        assert np.all(np.diff(t) >= -slack * t[:-1]), setup.label
        assert np.all(np.diff(p50) >= -slack * p50[:-1]), setup.label
        assert np.all(np.diff(p90) >= -slack * p90[:-1]), setup.label
        # power is derived as energy per token x throughput, never fitted apart
        point = model.predict(100.0)
        assert point.power_w == pytest.approx(point.energy_per_token_j * point.throughput_tps)
        assert point.ttft_ms_p90 is None and not model.has_ttft_


def test_leave_one_batch_out_matches_an_independent_recomputation(setups):
    rows = setups[QWEN8_H100_CHAT]
    model = OperatingPointModel().fit(rows)
    batches = np.sort(rows["mean_batch"].to_numpy())
    assert len(batches) == 10 and len(model.batches_) == 10
    ape = {t: [] for t in CV_TARGETS}
    columns = {
        "energy_per_token_j": "energy_per_output_token_j",
        "throughput_tps": "output_throughput_tps",
        "itl_ms_p90": "itl_ms_p90",
    }
    for b in batches:
        held = rows[rows["mean_batch"] == b].iloc[0]
        refit = OperatingPointModel(cv=False).fit(rows[rows["mean_batch"] != b])
        point = refit.predict(b)
        assert point.extrapolated == (b in (batches[0], batches[-1]))
        for target, column in columns.items():
            ape[target].append(abs(getattr(point, target) / held[column] - 1.0) * 100.0)
    for target in CV_TARGETS:
        assert model.cv_[target]["n"] == 10
        assert model.cv_[target]["median_ape"] == pytest.approx(np.median(ape[target]), rel=1e-9)
        assert model.cv_[target]["p90_ape"] == pytest.approx(np.percentile(ape[target], 90))
        assert model.cv_[target]["median_ape"] < 10.0  # the goal, met on this setup


def test_fit_reproduces_measured_points(setups):
    rows = setups[QWEN8_H100_CHAT]
    model = OperatingPointModel(cv=False).fit(rows)
    for _, row in rows.iterrows():
        point = model.predict(row["mean_batch"])
        assert point.measured and not point.extrapolated
        assert point.energy_per_token_j == pytest.approx(row["energy_per_output_token_j"], rel=0.05)
        assert point.throughput_tps == pytest.approx(row["output_throughput_tps"], rel=0.05)
        assert point.itl_ms_p90 == pytest.approx(row["itl_ms_p90"], rel=0.08)


def test_readme_figures_for_qwen3_8b_on_one_h100(setups):
    model = OperatingPointModel().fit(setups[QWEN8_H100_CHAT])
    # README: 0.444 J/token at max_num_seqs 8 (8.2 ms median ITL); 0.072 J/token at 512 (47 ms)
    assert model.predict(8.0).energy_per_token_j == pytest.approx(0.444, rel=0.10)
    assert model.predict(512.0).energy_per_token_j == pytest.approx(0.072, rel=0.10)
    assert model.predict(8.0).itl_ms_p50 == pytest.approx(8.2, rel=0.10)
    assert model.predict(512.0).itl_ms_p50 == pytest.approx(47.0, rel=0.10)


def test_extrapolated_beyond_the_measured_batches():
    model = OperatingPointModel().fit(synthetic_rows())
    assert model.min_batch_ == 4.0 and model.max_batch_ == 256.0
    inside, measured = model.predict(30.0), model.predict(64.0)
    assert not inside.extrapolated and not inside.measured
    assert measured.measured and not measured.extrapolated
    for b in (1.0, 3.9, 257.0, 4096.0):
        assert model.predict(b).extrapolated
    far = model.predict(4096.0)
    assert far.throughput_tps >= model.predict(256.0).throughput_tps
    assert far.energy_per_token_j <= model.predict(256.0).energy_per_token_j
    assert far.energy_per_token_j > 0


def test_physics_generated_rows_are_predicted_well_held_out():
    model = OperatingPointModel().fit(synthetic_rows(batches=(2, 4, 8, 16, 32, 64, 128, 256, 512)))
    for target in CV_TARGETS:
        assert model.cv_[target]["n"] == 9
        assert model.cv_[target]["median_ape"] < 5.0, (target, model.cv_[target])
    assert "Tmax" in model.form_["throughput_tps"]


def test_interior_is_a_monotone_interpolant_and_ends_follow_the_form():
    rows = synthetic_rows(batches=(2, 8, 32, 128, 512))
    rows["itl_ms_p90"] *= np.array([1.0, 1.0, 3.0, 1.0, 1.0])  # a step, as some setups have
    model = OperatingPointModel(cv=False).fit(rows)
    assert "PCHIP" in model.form_["itl_ms_p90"] and "b^k" in model.form_["itl_ms_p90"]
    # through every measured point, made monotone first (the p90 after the step is clipped up)
    p90 = np.maximum.accumulate(rows["itl_ms_p90"].to_numpy())
    got = model.predict_many("itl_ms_p90", rows["mean_batch"])
    assert got == pytest.approx(p90, rel=1e-9)
    # between two measured points: within their range (no overshoot)
    mid = model.predict_many("itl_ms_p90", [16.0])[0]
    assert p90[1] <= mid <= p90[2]
    # continuous at the ends, where the fitted form takes over
    for end in (2.0, 512.0):
        inside, outside = model.predict_many("throughput_tps", [end, end * (1 + 1e-9)])
        assert outside == pytest.approx(inside, rel=1e-6)
    grid = np.geomspace(0.5, 8192.0, 400)
    p90, e = model.predict_many("itl_ms_p90", grid), model.predict_many("energy_per_token_j", grid)
    slack = 1e-9  # rounding on the flat stretch after the clipped point
    assert np.all(np.diff(p90) >= -slack * p90[:-1]) and np.all(np.diff(e) <= slack * e[:-1])


def test_two_batch_sizes_interpolate_in_log_log_and_say_so():
    rows = synthetic_rows(batches=(8, 128))
    model = OperatingPointModel().fit(rows)
    assert "interpolation" in model.form_["energy_per_token_j"]
    assert all(
        math.isnan(model.cv_[t]["median_ape"]) and model.cv_[t]["n"] == 0 for t in CV_TARGETS
    )
    for _, row in rows.iterrows():
        point = model.predict(row["mean_batch"])
        assert point.throughput_tps == pytest.approx(row["output_throughput_tps"], rel=1e-9)
    # halfway in log batch: the geometric mean of the two measured figures
    mid = model.predict(32.0).energy_per_token_j
    e = rows["energy_per_output_token_j"].to_numpy()
    assert mid == pytest.approx(math.sqrt(e[0] * e[1]), rel=1e-9)


def test_two_points_against_the_physics_are_made_monotone():
    rows = synthetic_rows(batches=(8, 128))
    rows.loc[1, "output_throughput_tps"] = rows.loc[0, "output_throughput_tps"] * 0.8
    model = OperatingPointModel().fit(rows)
    t = model.predict_many("throughput_tps", np.geomspace(1, 4096, 50))
    assert np.all(np.diff(t) >= 0)


def test_one_batch_size_is_flat():
    model = OperatingPointModel().fit(synthetic_rows(batches=(32,)))
    assert "one measured batch size" in model.form_["throughput_tps"]
    a, b = model.predict(1.0), model.predict(1000.0)
    assert a.energy_per_token_j == b.energy_per_token_j and a.extrapolated and b.extrapolated


def test_repeated_batch_sizes_are_averaged():
    rows = synthetic_rows(batches=(8, 64, 64.3, 512))
    merged = merge_batches(rows)
    assert list(merged["n_rows"]) == [1, 2, 1]
    assert merged["mean_batch"].iloc[1] == pytest.approx(64.15)
    assert len(OperatingPointModel().fit(rows).batches_) == 3


def test_best_batch_honours_the_itl_target(setups):
    model = OperatingPointModel(cv=False).fit(setups[QWEN8_H100_CHAT])
    best = model.best_batch(itl_ms_p90_max=25.0)
    assert best is not None and best.itl_ms_p90 <= 25.0 + 1e-9
    grid = np.geomspace(1.0, model.max_batch_, 2000)
    ok = model.predict_many("itl_ms_p90", grid) <= 25.0
    least = model.predict_many("energy_per_token_j", grid)[ok].min()
    assert best.energy_per_token_j <= least * (1 + 1e-9)
    assert best.batch < model.max_batch_  # the target binds
    # no target: the largest measured batch (energy per token never rises with batch)
    assert model.best_batch().batch == pytest.approx(model.max_batch_)
    capped = model.best_batch(itl_ms_p90_max=25.0, max_batch=32.0)
    assert capped.batch == pytest.approx(32.0)
    # below the ITL of a single request: unreachable
    assert model.predict(1.0).itl_ms_p90 > 2.0
    assert model.best_batch(itl_ms_p90_max=2.0) is None


def test_batch_for_throughput():
    model = OperatingPointModel().fit(synthetic_rows())
    target = model.predict(50.0).throughput_tps
    assert model.batch_for_throughput(target) == pytest.approx(50.0, rel=1e-6)
    assert model.batch_for_throughput(1.0) == 1.0
    assert model.batch_for_throughput(model.max_throughput_tps_ * 1.01) is None


def test_bad_rows_and_batches_are_refused_with_the_row_named():
    rows = synthetic_rows()
    rows.loc[2, "energy_per_output_token_j"] = -0.1
    with pytest.raises(ValueError, match="serving row 2: energy_per_output_token_j"):
        OperatingPointModel().fit(rows)
    with pytest.raises(ValueError, match="lack column"):
        OperatingPointModel().fit(synthetic_rows().drop(columns="output_throughput_tps"))
    model = OperatingPointModel().fit(synthetic_rows())
    with pytest.raises(ValueError, match="positive finite"):
        model.predict(0.0)
    with pytest.raises(ValueError, match="positive finite"):
        model.predict(float("nan"))
