"""Importing uploaded measurement files into a real store."""

from app_pages.uploads import import_measurement_upload, import_summary_rows
from measure.store import Store


def test_upload_imports_and_reports_flags(shared_reference_dir, store_path):
    data = (shared_reference_dir / "systems-sweeps.csv").read_bytes()
    outcome = import_measurement_upload("systems-sweeps.csv", data, store_path)
    assert outcome.ok, outcome.error
    summary = outcome.value
    assert summary.flag_counts.get("negative_cpu_energy", 0) > 0
    assert "M1-Pro" in summary.systems
    assert len(Store(store_path).measurements()) == summary.n_measurements
    rows = dict(import_summary_rows(summary))
    assert "negative_cpu_energy" in rows["flagged rows"]
    again = import_measurement_upload("systems-sweeps.csv", data, store_path)
    assert again.ok and again.value.already_present


def test_malformed_upload_names_file_and_line_and_writes_nothing(store_path):
    bad = b"Model,Phase,Runtime (s)\nx,inference,not-a-number\n"
    outcome = import_measurement_upload("mine.csv", bad, store_path)
    assert not outcome.ok
    assert "mine.csv" in outcome.error
    assert Store(store_path).measurements().empty


def test_conflicting_system_name_is_explained_in_the_page_words(shared_reference_dir, store_path):
    data = (shared_reference_dir / "swing-a100-grid.csv").read_bytes()
    outcome = import_measurement_upload("grid.csv", data, store_path, system="elsewhere")
    assert not outcome.ok
    assert "grid.csv" in outcome.error and "System name" in outcome.error
    assert "--system" not in outcome.error
    assert Store(store_path).measurements().empty


def test_empty_upload_is_refused(store_path):
    assert "empty" in import_measurement_upload("e.csv", b"", store_path).error
