"""Store fits computed once per version of the store's rows (planner.fits.sources)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from measure.paths import PROJECT_ROOT
from measure.store import RunRecord, Store
from planner.fits import fitting, sources
from planner.fits.sources import load_reports, store_fits
from tests.planner.fits.test_fitting import grid_rows, write


@pytest.fixture
def fit_calls(monkeypatch):
    """Counts the calls of the fitting function behind every store fit."""
    calls = []
    real = fitting.fit_store

    def counting(*args, **kwargs):
        calls.append(kwargs.get("energy"))
        return real(*args, **kwargs)

    monkeypatch.setattr(fitting, "fit_store", counting)
    return calls


def as_json(reports):
    return [r.to_json() for r in reports]


def test_second_load_reads_the_saved_fits_without_refitting(store_path, fit_calls):
    store = write(Store(store_path), "r1", grid_rows("alpha"))
    first = store_fits(store)
    assert first.refitted and first.saved and len(fit_calls) == 1
    assert len(first.reports) == 4 and first.n_rows == 64
    again = store_fits(Store(store_path))
    assert len(fit_calls) == 1 and not again.refitted
    assert as_json(again.reports) == as_json(first.reports)  # the same fits, exactly
    assert again.data_version == first.data_version == store.data_version()
    saved = store.fits()
    assert len(saved) == 1 and json.loads(saved["settings"][0])["energy"] == "total"
    reports, sentence = load_reports(store_path)
    assert len(fit_calls) == 1 and as_json(reports) == as_json(first.reports)
    assert sentence.startswith(f"fits of the measurements in {store_path}")
    assert f"saved fits of data version {first.data_version}" in sentence


def test_a_new_import_changes_the_version_and_refits(store_path, fit_calls):
    store = write(Store(store_path), "r1", grid_rows("alpha"))
    first = store_fits(store)
    write(store, "r2", grid_rows("beta", seed=1))
    second = store_fits(store)
    assert second.data_version != first.data_version and second.refitted
    assert len(fit_calls) == 2
    assert {r.model for r in second.reports} == {"alpha", "beta"}
    assert list(store.fits()["data_version"]) == [second.data_version]  # stale fits dropped
    store_fits(store)
    assert len(fit_calls) == 2


def test_each_setting_has_its_own_fits(store_path, fit_calls, monkeypatch):
    rows = grid_rows("alpha")
    rows["cpu_energy_j"] = 0.5 * rows["gpu_energy_j"]
    store = write(Store(store_path), "r1", rows)
    total, gpu = store_fits(store), store_fits(store, energy="gpu")
    assert len(fit_calls) == 2 and fit_calls == ["total", "gpu"]
    energy = {r.energy for r in total.reports if r.target == "energy"}
    assert energy == {"total"} and {r.energy for r in gpu.reports if r.energy} == {"gpu"}
    assert not store_fits(store, energy="gpu").refitted and len(fit_calls) == 2
    monkeypatch.setattr(sources, "FIT_VERSION", fitting.FIT_VERSION + 1)  # new fitting code
    assert store_fits(store).refitted and len(fit_calls) == 3


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        "[]",
        json.dumps({"format": 1}),
        "REPORTS",  # a well-formed document whose figures are not finite
    ],
)
def test_a_corrupt_saved_document_is_refitted_not_trusted(store_path, fit_calls, document):
    store = write(Store(store_path), "r1", grid_rows("alpha"))
    good = store_fits(store)
    settings = sources.fit_settings(fitting.FORMS, fitting.TARGETS, "total", False)
    if document == "REPORTS":
        data = json.loads(store.stored_fits(settings)[1])
        data["reports"][0]["coefficients"] = {"tin": None, "tout": 1.0, "tin*tout": 2.0}
        document = json.dumps(data)
    assert store.save_fits(good.data_version, settings, document)
    again = store_fits(store)
    assert again.refitted and again.saved and len(fit_calls) == 2
    assert any(n.startswith("saved fits unreadable") for n in again.notes)
    assert as_json(again.reports) == as_json(good.reports)
    assert not store_fits(store).refitted  # the refit replaced the corrupt document


def test_a_locked_store_still_gets_fits_in_memory_and_says_so(store_path, monkeypatch):
    """Another process holds the store open (read-only): reading works, writing does not."""
    store = write(Store(store_path), "r1", grid_rows("alpha"))
    monkeypatch.setattr(sources, "SAVE_LOCK_WAIT_S", 0.2)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); time.sleep(60)",
            str(store_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        start = time.monotonic()
        fits = store_fits(store)
        reports, sentence = load_reports(store_path)
        assert time.monotonic() - start < 30
    finally:
        holder.kill()
        holder.wait()
    assert fits.refitted and not fits.saved and len(fits.reports) == 4
    assert any("fits not saved, the store cannot be written now" in n for n in fits.notes)
    assert "fitted in memory: fits not saved" in sentence and len(reports) == 4
    assert store.fits().empty  # nothing half-written
    assert store_fits(store).saved  # once the other process has gone


def test_a_store_without_a_fits_table_is_read_and_gets_one(store_path):
    """A store written before the fits table existed."""
    import duckdb

    store = write(Store(store_path), "r1", grid_rows("alpha"))
    con = duckdb.connect(str(store_path))
    con.execute("DROP TABLE fits")
    con.close()
    assert store.fits().empty and store.stored_fits("{}")[1] is None
    assert store_fits(store).saved and len(store.fits()) == 1


def test_only_flagged_rows_and_empty_stores(store_path, tmp_path):
    rows = grid_rows("alpha")
    rows["flags"] = [["negative_cpu_energy"]] * len(rows)
    store = write(Store(store_path), "r1", rows)
    fits = store_fits(store)
    assert fits.reports == [] and fits.n_rows == 64 and fits.saved
    with pytest.raises(sources.NoFitsError, match="no arm supports"):
        load_reports(store_path)
    assert len(store_fits(store, include_flagged=True).reports) == 4
    empty = Store(tmp_path / "empty.duckdb")
    empty.write_run(RunRecord("empty", "import", "no rows"), grid_rows().head(0))
    assert store_fits(empty).n_rows == 0 and empty.fits().empty
    reports, sentence = load_reports(empty.path)
    assert "has no measurements: using the reference catalogue" in sentence and reports


def test_reference_store_labels_each_arm_by_its_energy(reference_store, tmp_path):
    """The grid file has no CPU energy, the sweeps file has both: label each from its rows."""
    copy = tmp_path / "reference.duckdb"  # the shared fixture is read, never written
    shutil.copyfile(reference_store, copy)
    fits = store_fits(Store(copy))
    energy = {(r.system, r.form): r.energy for r in fits.reports if r.target == "energy"}
    assert energy[("argonne-swing", "default")] == "gpu"
    assert energy[("argonne-swing", "paper")] == "gpu"
    assert energy[("Swing AMD+A100", "default")] == "total"
    assert energy[("M1-Pro", "paper")] == "total"
    from planner.routing.arms import build_arms

    labels = {a.system: a.label()["energy_kind"] for a in build_arms(fits.reports)}
    assert labels["argonne-swing"] == "gpu" and labels["Palmetto Intel+V100"] == "total"


def test_reading_saved_fits_loads_no_fitting_library(store_path):
    """A plan on saved fits needs neither scikit-learn nor the forms (start-up time)."""
    store = write(Store(store_path), "r1", grid_rows("alpha"))
    store_fits(store)
    code = (
        "import sys; from planner.fits.sources import load_reports; "
        "reports, sentence = load_reports(sys.argv[1]); "
        "assert 'saved fits' in sentence and len(reports) == 4, sentence; "
        "loaded = [m for m in ('sklearn', 'planner.fits.forms') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(store_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
