"""Importing uploaded measurement files into a real store, and the views of them."""

import pandas as pd

from app_pages import measurement_views as views
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


def test_views_mark_estimated_and_filter(reference_store):
    df = views.per_query(Store(reference_store).measurements())
    assert not df["estimated"].any()
    df.loc[df.index[:3], "energy_source"] = "estimated"
    df = views.per_query(df)
    assert df["estimated"].sum() == 3
    fig = views.scatter(df, "input_tokens", "energy_j")
    assert any("[estimated]" in t.name for t in fig.data)
    only = views.apply_filters(df, systems=["M1-Pro"], include_flagged=False)
    assert set(only["system"]) == {"M1-Pro"} and not only["flagged"].any()
    assert views.table(only)["flags"].map(lambda f: isinstance(f, str)).all()


def test_per_query_divides_batch_energy():
    df = pd.DataFrame(
        {
            "model": ["m"],
            "system": ["s"],
            "energy_source": ["nvml"],
            "flags": [[]],
            "input_tokens": [10],
            "output_tokens": [10],
            "runtime_s": [4.0],
            "gpu_energy_j": [100.0],
            "cpu_energy_j": [20.0],
            "batch_size": [4],
        }
    )
    out = views.per_query(df)
    assert out.loc[0, "energy_j"] == 30.0 and out.loc[0, "runtime_s"] == 1.0
    assert out.loc[0, "energy_per_token_j"] == 1.5
