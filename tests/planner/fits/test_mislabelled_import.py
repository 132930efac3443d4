"""A per-GPU file whose redundant total column is mislabelled imports and fits (issue 10):
the importer's informational flag on the column it did not use keeps no row out of fits."""

from __future__ import annotations

from measure.importers import import_file
from measure.store import Store
from planner.fits import fit_store
from tests.measure.importers.test_import_mislabel import per_gpu_copy_of_the_grid


def test_mislabelled_per_gpu_file_fits_every_llm(shared_reference_dir, tmp_path, store_path):
    path, n_inference, _ = per_gpu_copy_of_the_grid(shared_reference_dir, tmp_path)
    store = Store(store_path)
    import_file(path, store, system="argonne-swing")
    rows = store.measurements(include_flagged=True)  # flags filtered by fitting's own rule
    assert len(rows) == n_inference and all(len(f) == 1 for f in rows["flags"])
    reports = fit_store(rows, forms=("paper",), targets=("energy",), energy="gpu")
    fitted = {r.model for r in reports}
    assert fitted == set(rows["model"]) and len(fitted) == 4
    assert all(r.n == n_inference // 4 for r in reports)
