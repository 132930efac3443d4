"""Fits refuse non-finite and absurd inputs: rows dropped with a note, or a FitError; never
a non-finite coefficient or figure.  And each fit's energy basis comes from its rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from measure.store import Store
from planner.__main__ import main
from planner.fits.fitting import FitError, arm_targets, fit_arm, fit_store
from tests.planner.fits.test_fitting import grid_rows, write

TARGET_FORMS = [(t, f) for t in ("energy", "runtime") for f in ("paper", "default")]
BAD_ROWS = [3, 17, 40]


def assert_finite(report):
    assert np.all(np.isfinite(report.curve.coef))
    assert report.curve.coef_cov is None or np.all(np.isfinite(report.curve.coef_cov))
    for figure in (report.r2, report.cv_r2, report.cv_median_ape, report.cv_p90_ape):
        assert figure is None or math.isfinite(figure)
    json.dumps(report.to_json(), allow_nan=False)  # raises on NaN or inf anywhere


@pytest.mark.parametrize(("target", "form"), TARGET_FORMS)
@pytest.mark.parametrize("bad", [1e308, math.inf, -math.inf, math.nan, -1e300])
def test_absurd_targets_are_dropped_with_a_note(target, form, bad):
    df = grid_rows()
    column = "runtime_s" if target == "runtime" else "gpu_energy_j"
    clean = fit_arm(df, target, form)
    df.loc[BAD_ROWS, column] = bad
    report = fit_arm(df, target, form)
    assert_finite(report)
    assert report.n == len(df) - len(BAD_ROWS)
    if math.isnan(bad):  # NaN is a missing figure, said as such
        assert f"{len(BAD_ROWS)} rows without a figure for {target} left out" in report.notes
    else:
        assert any(
            n.startswith(f"{len(BAD_ROWS)} rows with non-finite or absurd") for n in report.notes
        )
    assert report.cv_median_ape == pytest.approx(clean.cv_median_ape, rel=0.5)


@pytest.mark.parametrize(("target", "form"), TARGET_FORMS)
@pytest.mark.parametrize("tokens", [10**9, -8])
def test_absurd_token_counts_are_dropped(target, form, tokens):
    df = grid_rows()
    df.loc[BAD_ROWS, "input_tokens"] = tokens
    report = fit_arm(df, target, form)
    assert_finite(report)
    assert report.n == len(df) - len(BAD_ROWS) and report.curve.tin_range[1] <= 1024
    assert any("non-finite or absurd token counts" in n for n in report.notes)


@pytest.mark.parametrize(("target", "form"), TARGET_FORMS)
def test_all_rows_absurd_is_a_clear_fit_error(target, form):
    df = grid_rows()
    df["runtime_s" if target == "runtime" else "gpu_energy_j"] = 1e308
    with pytest.raises(FitError, match=f"no rows with a figure for {target}.*64 rows with non-fin"):
        fit_arm(df, target, form)


def test_runtime_must_be_positive_and_cpu_energy_is_checked_too():
    df = grid_rows()
    df.loc[0, "runtime_s"] = 0.0
    df.loc[1, "runtime_s"] = -2.0
    rows, notes = arm_targets(df, "runtime")
    assert len(rows) == len(df) - 2 and notes[0].startswith("2 rows with non-finite or absurd")
    df = grid_rows()
    df["cpu_energy_j"] = 1.0
    df.loc[5, "cpu_energy_j"] = math.inf
    report = fit_arm(df, "energy", "paper")
    assert report.n == len(df) - 1 and report.energy == "total"
    assert_finite(report)


@pytest.mark.parametrize("form", ["paper", "default"])
def test_undefined_figures_are_none_with_a_note(form):
    df = grid_rows()
    df["runtime_s"] = 0.5  # every target equal: R2 has no variance to explain
    report = fit_arm(df, "runtime", form)
    assert_finite(report)
    assert report.cv_r2 is None and report.cv_median_ape is not None
    assert any("cv_r2" in n and "every target is equal" in n for n in report.notes)


def test_zero_energy_rows_give_no_percentage_errors_not_infinity():
    df = grid_rows()
    df.loc[: len(df) // 2, "gpu_energy_j"] = 0.0  # the paper form keeps them (unflagged)
    report = fit_arm(df, "energy", "paper")
    assert_finite(report)
    assert report.cv_p90_ape is None
    assert any("targets are 0" in n and "cv_p90_ape" in n for n in report.notes)


def test_cli_prints_no_non_finite_figure_for_a_corrupt_runtime(store_path, capsys):
    rows = grid_rows("alpha")
    rows.loc[7, "runtime_s"] = 1e308  # as an imported file once held
    write(Store(store_path), "r", rows)
    assert main(["fit", "--db", str(store_path), "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(constant):
        raise AssertionError(f"{constant} in the output")

    reports = json.loads(out, parse_constant=refuse)
    runtime = [r for r in reports if r["target"] == "runtime"]
    assert len(runtime) == 2 and all(r["n"] == 63 for r in runtime)
    for r in runtime:
        assert max(abs(c) for c in r["coefficients"].values()) < 1
        assert any(n.startswith("1 rows with non-finite or absurd") for n in r["notes"])
    assert main(["fit", "--db", str(store_path)]) == 0
    table = capsys.readouterr().out
    assert "nan" not in table and "inf" not in table and "e+304" not in table


def test_energy_basis_comes_from_the_rows():
    gpu_only = grid_rows()
    both = grid_rows()
    both["cpu_energy_j"] = 3.0
    cpu_only = grid_rows()
    cpu_only["cpu_energy_j"], cpu_only["gpu_energy_j"] = cpu_only["gpu_energy_j"], None
    mixed = both.copy()
    mixed.loc[:15, "cpu_energy_j"] = None
    for form in ("paper", "default"):
        assert fit_arm(gpu_only, "energy", form).energy == "gpu"
        assert fit_arm(both, "energy", form).energy == "total"
        assert fit_arm(both, "energy", form, energy="gpu").energy == "gpu"
        assert fit_arm(cpu_only, "energy", form).energy == "cpu"
        report = fit_arm(mixed, "energy", form)
        assert report.energy == "total"
        assert "CPU energy present on 48 of 64 rows: the others count GPU energy only" in (
            report.notes
        )
        assert fit_arm(mixed, "runtime", form).energy is None
    # a fit's rows can be drawn again from its label (the Models page does)
    rows, _ = arm_targets(cpu_only, "energy", "cpu")
    assert np.allclose(rows["y"], cpu_only["cpu_energy_j"])


def test_fit_store_labels_each_arm_on_its_own(store_path):
    store = write(Store(store_path), "r1", grid_rows("gpu-arm"))
    both = grid_rows("both-arm")
    both["cpu_energy_j"] = 2.0
    write(store, "r2", both)
    labels = {r.model: r.energy for r in fit_store(store, forms=("paper",), targets=("energy",))}
    assert labels == {"gpu-arm": "gpu", "both-arm": "total"}
