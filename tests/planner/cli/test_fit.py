"""`python -m planner fit` / `catalogue`: output, and one-line errors for user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from measure.paths import PROJECT_ROOT
from measure.store import RunRecord, Store
from planner.__main__ import main
from tests.planner.fits.test_fitting import grid_rows

JSON_KEYS = {
    "model",
    "system",
    "target",
    "form",
    "coefficients",
    "r2",
    "cv_r2",
    "cv_median_ape",
    "cv_p90_ape",
    "n",
    "tin_range",
    "tout_range",
    "notes",
}


def small_store(path: Path) -> Store:
    store = Store(path)
    rows = pd.concat([grid_rows("alpha"), grid_rows("beta", seed=1)], ignore_index=True)
    store.write_run(RunRecord(run_id="r", kind="sweep", source="test"), rows)
    return store


def test_json_output_has_the_pinned_keys(store_path, capsys):
    small_store(store_path)
    assert main(["fit", "--db", str(store_path), "--json", "--target", "energy"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 4  # 2 arms x 2 forms
    for report in reports:
        assert JSON_KEYS <= report.keys()
        assert report["target"] == "energy" and report["energy"] == "gpu"  # no CPU energy
        assert report["source"] == str(store_path)
    forms = {r["form"] for r in reports}
    assert forms == {"paper", "default"}
    paper = next(r for r in reports if r["form"] == "paper")
    assert list(paper["coefficients"]) == ["tin", "tout", "tin*tout"]


def test_filters_and_single_form(store_path, capsys):
    small_store(store_path)
    argv = [
        "fit",
        "--db",
        str(store_path),
        "--json",
        "--form",
        "default",
        "--model",
        "beta",
        "--target",
        "runtime",
    ]
    assert main(argv) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [(r["model"], r["form"], r["target"]) for r in reports] == [
        ("beta", "default", "runtime")
    ]
    assert "1" in reports[0]["coefficients"]


def test_readable_table(store_path, capsys):
    small_store(store_path)
    assert main(["fit", "--db", str(store_path), "--form", "paper"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    for column in ("model", "system", "target", "form", "cv R2", "cv medAPE%", "cv p90APE%"):
        assert column in header
    assert sum(line.startswith(("alpha", "beta")) for line in out.splitlines()) == 4
    assert "tin*tout: " in out and "[J (gpu)]" in out and "[s]" in out


def test_missing_and_empty_store_fail_with_one_line(tmp_path):
    missing = tmp_path / "missing.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "planner", "fit", "--db", str(missing)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: store {missing} does not exist: import measurements first "
        "(python -m measure import FILE --db ...)"
    ]
    assert "Traceback" not in done.stderr and not missing.exists()
    empty = Store(tmp_path / "empty.duckdb")
    empty.write_run(RunRecord("empty", "import", "no rows"), pd.DataFrame())
    done = subprocess.run(
        [sys.executable, "-m", "planner", "fit", "--db", str(empty.path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "has no (unflagged) measurements" in done.stderr and "Traceback" not in done.stderr


def test_unknown_model_filter_is_a_clear_error(store_path, capsys):
    small_store(store_path)
    assert main(["fit", "--db", str(store_path), "--model", "gamma"]) == 1
    assert "no (unflagged) measurements matching --model/--system" in capsys.readouterr().err


def test_catalogue_refuses_a_store_without_the_reference_files(store_path, tmp_path, capsys):
    small_store(store_path)
    out = tmp_path / "cat.json"
    assert main(["catalogue", "--db", str(store_path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "holds none of the shared reference files" in err and not out.exists()


def test_energy_gpu_fits_gpu_energy_alone(store_path, capsys):
    rows = grid_rows("alpha")
    rows["cpu_energy_j"] = 0.5 * rows["gpu_energy_j"]
    Store(store_path).write_run(RunRecord(run_id="r", kind="sweep", source="test"), rows)
    fits = {}
    for energy in ("total", "gpu"):
        assert (
            main(
                [
                    "fit",
                    "--db",
                    str(store_path),
                    "--json",
                    "--target",
                    "energy",
                    "--form",
                    "paper",
                    "--energy",
                    energy,
                ]
            )
            == 0
        )
        fits[energy] = json.loads(capsys.readouterr().out)[0]
    assert fits["gpu"]["energy"] == "gpu" and fits["total"]["energy"] == "total"
    for term, value in fits["gpu"]["coefficients"].items():
        assert fits["total"]["coefficients"][term] == pytest.approx(1.5 * value, rel=1e-9)


def test_no_fittable_arm_says_why_and_prints_no_empty_table(store_path, capsys):
    rows = grid_rows("alpha").head(2)
    rows["gpu_energy_j"] = None  # an arm whose rows carry no energy at all
    Store(store_path).write_run(RunRecord(run_id="r", kind="sweep", source="test"), rows)
    assert main(["fit", "--db", str(store_path), "--target", "energy"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert err[-1] == f"error: no arm in {store_path} has enough rows to fit"
    assert all("no rows with a figure for energy" in line for line in err[:-1]) and err[:-1]


def test_fit_saves_the_fits_that_plan_and_fit_then_read(store_path, capsys, monkeypatch):
    from planner.fits import fitting
    from planner.fits.sources import load_reports

    store = small_store(store_path)
    assert main(["fit", "--db", str(store_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(store.fits()) == 1 and len(printed) == 8

    def no_refit(*args, **kwargs):
        raise AssertionError("refitted although the store's fits are current")

    monkeypatch.setattr(fitting, "fit_store", no_refit)
    reports, sentence = load_reports(store_path)
    assert "saved fits of data version" in sentence
    assert sorted(json.dumps(r.to_json(), sort_keys=True) for r in reports) == sorted(
        json.dumps({**r, "source": str(store_path)}, sort_keys=True) for r in printed
    )
    assert main(["fit", "--db", str(store_path), "--json", "--model", "beta"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again == [r for r in printed if r["model"] == "beta"]
