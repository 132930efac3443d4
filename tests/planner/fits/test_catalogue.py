"""The committed reference catalogue: contents, round trip, and agreement with a fresh fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.fits.catalogue import CITATION, DEFAULT_CATALOGUE_PATH, CatalogueError, load_catalogue
from planner.fits.curves import FitReport
from planner.fits.fitting import fit_store
from tests.planner.fits.test_fitting_reference import PUBLISHED, import_reference, run_cli

PUBLISHED_MULTI_GPU = {"falcon-40b": 3, "Llama-2-70b-chat-hf": 4, "Mixtral-8x7B-v0.1": 3}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_citation_and_accuracy(catalogue):
    assert catalogue.citation == CITATION
    for needle in (
        "arXiv:2407.04014",
        "Table 4.1",
        "5.2",
        "5.3",
        "grantwilkins/energy-inference",
        "5c2cfa4a9bdbccc6a037ece3d2eb64322db115ea",
    ):
        assert needle in catalogue.citation
    assert catalogue.accuracy == {
        "Falcon (7B)": 44.17,
        "Falcon (40B)": 58.07,
        "Llama-2 (7B)": 50.97,
        "Llama-2 (13B)": 55.69,
        "Llama-2 (70B)": 64.52,
        "Mistral (7B)": 60.97,
        "Mixtral (8x7B)": 68.47,
    }
    assert catalogue.min_gpus["Llama-2 (70B)"] == 4 and catalogue.min_gpus["Mistral (7B)"] == 1
    assert catalogue.accuracy_for("Llama-2-13b-chat-hf") == 55.69  # the grid file's name
    assert catalogue.accuracy_for("Mistral (7B)") == 60.97  # the sweeps file's name
    assert catalogue.accuracy_for("unknown") is None


def test_published_fits_for_all_seven(catalogue):
    published = [
        r for r in catalogue.reports if r.form == "paper" and r.source.startswith("published")
    ]
    assert len(published) == 14
    for r in published:
        assert r.system == "argonne-swing" and r.curve.clip_negative is False
        assert r.energy_sources == ["imported"] and not r.is_estimated
        gpus = catalogue.gpus_per_instance[r.model]
        assert gpus == PUBLISHED_MULTI_GPU.get(r.model, 1)
        if r.model in PUBLISHED:
            row = PUBLISHED[r.model]
            coef = row[:3] if r.target == "energy" else row[3:6]
            np.testing.assert_allclose(r.curve.coef, coef, rtol=1e-12)
            assert r.cv_median_ape > 75 and r.n == 81 and r.curve.coef_cov is not None
        else:
            assert r.cv_median_ape is None and r.n == 0 and r.r2 >= 0.97
            assert any(f"{gpus} A100 40GB GPU(s)" in n for n in r.notes)
    llama70 = next(
        r for r in published if r.model == "Llama-2-70b-chat-hf" and r.target == "energy"
    )
    assert llama70.curve.coefficients() == {"tin": -12.03, "tout": 414.82, "tin*tout": 0.315}


def test_default_fits_cover_every_shared_arm(catalogue):
    fitted = [r for r in catalogue.reports if r.form == "default"]
    arms = {(r.model, r.system) for r in fitted}
    assert len(arms) == 4 + 11 and len(fitted) == 30
    for r in fitted:
        assert r.cv_median_ape is not None and r.cv_r2 is not None and r.n > 0
        assert r.curve.coef_cov is not None and min(r.curve.coef) >= 0
        assert r.source.startswith("fitted (default form)")
        # GPU + CPU where the rows have both; the grid's rows have no CPU energy: "gpu"
        basis = "gpu" if r.system == "argonne-swing" else "total"
        assert r.energy == (basis if r.target == "energy" else None)


def test_round_trip(catalogue, tmp_path):
    for report in catalogue.reports:
        again = FitReport.from_json(json.loads(json.dumps(report.to_json())))
        assert again.to_json() == report.to_json()
    raw = json.loads(DEFAULT_CATALOGUE_PATH.read_text())
    assert [r.to_json() for r in catalogue.reports] == raw["reports"]
    assert DEFAULT_CATALOGUE_PATH.stat().st_size < 200_000  # figures, not raw rows


def test_bad_catalogue_files(tmp_path):
    with pytest.raises(CatalogueError, match="not found"):
        load_catalogue(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CatalogueError, match="bad.json unreadable"):
        load_catalogue(bad)
    bad.write_text(json.dumps({"reports": []}))
    with pytest.raises(CatalogueError, match="bad.json malformed"):
        load_catalogue(bad)


@pytest.fixture(scope="module")
def fresh_store(shared_reference_dir, tmp_path_factory):
    return import_reference(shared_reference_dir, tmp_path_factory.mktemp("cat") / "ref.duckdb")


def test_default_entries_match_a_fresh_fit(catalogue, fresh_store):
    fresh = {
        (r.model, r.system, r.target): r
        for r in fit_store(fresh_store, forms=("default",), energy="total")
    }
    committed = [r for r in catalogue.reports if r.form == "default"]
    assert {(r.model, r.system, r.target) for r in committed} == set(fresh)
    for r in committed:
        new = fresh[(r.model, r.system, r.target)]
        assert r.curve.terms == new.curve.terms
        np.testing.assert_allclose(r.curve.coef, new.curve.coef, rtol=1e-6, atol=1e-12)
        assert r.cv_median_ape == pytest.approx(new.cv_median_ape, rel=1e-6)
        assert r.cv_r2 == pytest.approx(new.cv_r2, rel=1e-6) and r.n == new.n


def test_catalogue_cli_rebuilds_the_committed_file(fresh_store, tmp_path):
    out = tmp_path / "catalogue.json"
    done = run_cli("planner", "catalogue", "--db", str(fresh_store.path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "44 fit reports (14 published)" in done.stdout
    rebuilt, committed = load_catalogue(out), load_catalogue()
    assert rebuilt.accuracy == committed.accuracy
    assert [(r.model, r.system, r.target, r.form) for r in rebuilt.reports] == [
        (r.model, r.system, r.target, r.form) for r in committed.reports
    ]
    assert [f["sha256"] for f in rebuilt.data_files] == [f["sha256"] for f in committed.data_files]
    energy: dict[tuple[bool, bool], set] = {}
    for r in rebuilt.reports:
        if r.target == "energy":
            key = (r.system == "argonne-swing", r.source.startswith("published"))
            energy.setdefault(key, set()).add(r.energy)
    assert energy[(True, True)] == {"gpu"}  # the paper fitted GPU energy
    assert energy[(True, False)] == {"gpu"}  # the grid file has no CPU energy
    assert energy[(False, False)] == {"total"}  # the sweeps file has both
