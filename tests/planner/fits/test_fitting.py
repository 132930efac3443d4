"""planner.fits.fitting against real DuckDB stores holding synthetic measurements."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measure.store import RunRecord, Store
from planner.fits.fitting import FitError, arm_targets, fit_arm, fit_store

GRID = [8, 16, 32, 64, 128, 256, 512, 1024]


def energy_j(tin, tout):
    return 5.0 + 0.4 * tin + 4.0 * tout + 0.03 * tin * tout + 0.013 * tout**2


def grid_rows(model="m", system="s", seed=0, **extra) -> pd.DataFrame:
    tin, tout = (a.ravel().astype(float) for a in np.meshgrid(GRID, GRID))
    noise = np.exp(np.random.default_rng(seed).normal(0, 0.02, len(tin)))
    df = pd.DataFrame(
        {
            "trial_key": [f"{model}-{system}-{i}" for i in range(len(tin))],
            "model": model,
            "system": system,
            "input_tokens": tin.astype(int),
            "output_tokens": tout.astype(int),
            "runtime_s": 0.01 * tout * noise,
            "gpu_energy_j": energy_j(tin, tout) * noise,
            "cpu_energy_j": None,
            "energy_source": "nvml",
            "batch_size": 1,
            "n_gpus": 1,
        }
    )
    for key, value in extra.items():
        df[key] = value
    return df


def write(store: Store, run_id: str, df: pd.DataFrame) -> Store:
    store.write_run(RunRecord(run_id=run_id, kind="sweep", source=run_id), df)
    return store


def test_flagged_rows_excluded_by_default(store_path):
    df = grid_rows()
    df.loc[5, "gpu_energy_j"] *= 1000  # a wild reading, flagged by its importer
    df["flags"] = [["total_mismatch"] if i == 5 else [] for i in range(len(df))]
    store = write(Store(store_path), "r1", df)
    clean = fit_store(store, forms=("paper",), targets=("energy",))
    dirty = fit_store(store, forms=("paper",), targets=("energy",), include_flagged=True)
    assert clean[0].n == len(df) - 1 and dirty[0].n == len(df)
    assert clean[0].cv_median_ape < dirty[0].cv_median_ape
    from_frame = fit_store(store.measurements(), forms=("paper",), targets=("energy",))
    assert from_frame[0].n == len(df) - 1  # a DataFrame source is filtered too


def test_total_energy_counts_null_cpu_as_absent_and_divides_by_batch(store_path):
    df = grid_rows()
    df["cpu_energy_j"] = [None if i % 2 else 10.0 for i in range(len(df))]
    df["batch_size"] = 4
    df["gpu_energy_j"] *= 4
    rows, notes = arm_targets(
        Store(write(Store(store_path), "r", df).path).measurements(), "energy", "total"
    )
    expected = (df["gpu_energy_j"] + df["cpu_energy_j"].astype(float).fillna(0)) / 4
    assert np.allclose(np.sort(rows["y"]), np.sort(expected))
    assert any("CPU energy present on 32 of 64 rows" in n for n in notes)
    gpu_rows, _ = arm_targets(df, "energy", "gpu")
    assert np.allclose(np.sort(gpu_rows["y"]), np.sort(df["gpu_energy_j"] / 4))
    runtime_rows, _ = arm_targets(df, "runtime")
    assert np.allclose(np.sort(runtime_rows["y"]), np.sort(df["runtime_s"] / 4))


def test_report_fields(store_path):
    store = write(Store(store_path), "r", grid_rows())
    reports = fit_store(store)
    assert {(r.target, r.form) for r in reports} == {
        ("energy", "paper"),
        ("energy", "default"),
        ("runtime", "paper"),
        ("runtime", "default"),
    }
    for r in reports:
        assert r.n == 64 and r.energy_sources == ["nvml"] and not r.is_estimated
        assert r.curve.tin_range == (8.0, 1024.0) and r.curve.tout_range == (8.0, 1024.0)
        assert all(v is not None for v in (r.r2, r.cv_r2, r.cv_median_ape, r.cv_p90_ape))
        assert r.source == str(store_path)
        assert r.energy == ("gpu" if r.target == "energy" else None)  # no CPU energy here
    default = next(r for r in reports if r.form == "default" and r.target == "energy")
    paper = next(r for r in reports if r.form == "paper" and r.target == "energy")
    assert default.cv_median_ape < 5 < paper.cv_median_ape
    assert "no CPU energy in these rows: the fit is of GPU energy alone" in default.notes


def test_mixed_estimated_and_measured_sources_labelled(store_path):
    df = grid_rows()
    df.loc[df.index[::3], "energy_source"] = "estimated"
    store = write(Store(store_path), "r", df)
    report = fit_store(store, forms=("default",), targets=("energy",))[0]
    assert report.energy_sources == ["estimated", "nvml"]
    assert report.is_estimated
    assert any("mix estimated (estimated) and measured (nvml)" in n for n in report.notes)


def test_one_dimensional_sweeps_get_identifiability_note(store_path):
    tin = np.r_[GRID, np.full(8, 38)]
    tout = np.r_[np.full(8, 32), GRID]
    df = pd.DataFrame(
        {
            "trial_key": [str(i) for i in range(16)],
            "model": "m",
            "system": "s",
            "input_tokens": tin,
            "output_tokens": tout,
            "runtime_s": 0.01 * tout,
            "gpu_energy_j": energy_j(tin, tout) * (1 + 0.01 * np.sin(np.arange(16))),
            "energy_source": "nvml",
        }
    )
    store = write(Store(store_path), "r", df)
    paper = fit_store(store, forms=("paper",), targets=("energy",))[0]
    assert paper.form == "paper" and tuple(paper.curve.terms) == ("tin", "tout")
    assert any(
        n.startswith("tin*tout not identifiable") and n.endswith("dropped") for n in paper.notes
    )
    assert any("rows are 1-D sweeps (tin at tout=32, tout at tin=38)" in n for n in paper.notes)


def test_arms_too_small_are_skipped_with_reason(store_path):
    store = write(Store(store_path), "r1", grid_rows("big"))
    write(store, "r2", grid_rows("tiny").iloc[[0, 1, 8, 19, 34]])  # 5 rows, 3 terms
    skipped = []
    reports = fit_store(
        store, forms=("paper",), targets=("energy",), on_skip=lambda *args: skipped.append(args)
    )
    assert [r.model for r in reports] == ["big"]
    assert skipped[0][:4] == ("tiny", "s", "energy", "paper")
    assert "too few rows (5) for 3 terms" in skipped[0][4]


def test_fit_arm_refuses_mixed_arms_and_unknown_options():
    both = pd.concat([grid_rows("a"), grid_rows("b")])
    with pytest.raises(ValueError, match="one \\(model, system\\), got 2"):
        fit_arm(both, "energy", "paper")
    with pytest.raises(ValueError, match="unknown form"):
        fit_arm(grid_rows(), "energy", "cubic")
    with pytest.raises(ValueError, match="unknown energy"):
        fit_arm(grid_rows(), "energy", "paper", energy="cpu")
    with pytest.raises(FitError, match="no rows"):
        fit_arm(grid_rows().head(0), "energy", "paper")


def test_default_form_leaves_out_non_positive_energies():
    df = grid_rows()
    df.loc[0, "gpu_energy_j"] = -3.0
    report = fit_arm(df, "energy", "default")
    assert report.n == len(df) - 1
    assert any("1 rows with energy <= 0 left out" in n for n in report.notes)
    assert fit_arm(df, "energy", "paper").n == len(df)


def test_cpu_only_rows_fit_total_energy_and_skip_gpu_energy(store_path):
    """A CPU-only sweep (this machine's estimated meter) has no GPU energy at all."""
    df = grid_rows(energy_source="estimated")
    df["cpu_energy_j"], df["gpu_energy_j"] = df["gpu_energy_j"], None
    store = write(Store(store_path), "r", df)
    report = fit_store(store, forms=("default",), targets=("energy",))[0]
    assert report.n == len(df) and report.is_estimated
    assert "no GPU energy in these rows: the fit is of CPU energy alone" in report.notes
    assert report.energy == "cpu"
    assert report.cv_median_ape < 5
    skipped = []
    assert (
        fit_store(
            store, targets=("energy",), energy="gpu", on_skip=lambda *args: skipped.append(args)
        )
        == []
    )
    assert [s[3] for s in skipped] == ["paper", "default"]
    assert all("no rows with a figure for energy (gpu energy)" in s[4] for s in skipped)


def test_rows_with_gpu_or_cpu_energy_alone_count_what_they_have():
    df = grid_rows()
    df["cpu_energy_j"] = 7.0
    df.loc[:9, "gpu_energy_j"] = None
    df.loc[60:, "cpu_energy_j"] = None
    rows, notes = arm_targets(df, "energy", "total")
    assert len(rows) == len(df)
    assert rows["y"].iloc[0] == pytest.approx(7.0)
    assert rows["y"].iloc[63] == pytest.approx(df["gpu_energy_j"].iloc[63])
    assert "CPU energy present on 60 of 64 rows: the others count GPU energy only" in notes
    assert "GPU energy present on 54 of 64 rows: the others count CPU energy only" in notes
