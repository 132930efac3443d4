"""Import the paper's published files (../shared) through the CLI into a fresh store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from measure.__main__ import main
from measure.store import Store

GRID = "swing-a100-grid.csv"
SWEEPS = "systems-sweeps.csv"


@pytest.fixture
def imported(shared_reference_dir, store_path, capsys):
    files = [str(shared_reference_dir / GRID), str(shared_reference_dir / SWEEPS)]
    code = main(["import", *files, "--db", str(store_path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    return Store(store_path), {s["file"].rsplit("/", 1)[-1]: s for s in out["imported"]}


def _inference_rows(path) -> pd.DataFrame:
    df = pd.read_csv(path)
    return df[df["Phase"].str.contains("inference")]


def test_row_counts_match_inference_rows_counted_independently(imported, shared_reference_dir):
    store, summaries = imported
    stored = store.measurements()
    for name in (GRID, SWEEPS):
        raw = pd.read_csv(shared_reference_dir / name)
        n_inference = int(raw["Phase"].str.contains("inference").sum())
        assert summaries[name]["n_measurements"] == n_inference
        assert summaries[name]["n_startup"] == len(raw) - n_inference
        assert (stored["source_file"].str.endswith(name)).sum() == n_inference
    assert len(store.startup_phases()) == sum(s["n_startup"] for s in summaries.values())
    assert set(store.startup_phases()["phase"]) == {"tokenizer", "model load", "load model"}


def test_model_and_system_names_are_the_files_own(imported, shared_reference_dir):
    store, summaries = imported
    stored = store.measurements()
    for name in (GRID, SWEEPS):
        raw = _inference_rows(shared_reference_dir / name)
        mine = stored[stored["source_file"].str.endswith(name)]
        assert set(mine["model"]) == set(raw["Model"])
        assert set(mine["system"]) == set(raw["System"])
        assert summaries[name]["models"] == sorted(set(raw["Model"]))
        assert summaries[name]["systems"] == sorted(set(raw["System"]))
    assert "Llama-2-7b-chat-hf" in set(stored["model"]) and "Llama-2 (7B)" in set(stored["model"])


def test_grid_gpu_energy_is_millijoules_over_1000(imported, shared_reference_dir):
    store, _ = imported
    raw = _inference_rows(shared_reference_dir / GRID)
    stored = store.measurements()
    stored = stored[stored["source_file"].str.endswith(GRID)]
    for model, group in raw.groupby("Model"):
        mine = stored[stored["model"] == model]
        expected = np.sort(group["GPU Energy (mJ)"].to_numpy() / 1000.0)
        np.testing.assert_allclose(np.sort(mine["gpu_energy_j"].to_numpy()), expected, rtol=1e-12)
    assert stored["cpu_energy_j"].isna().all()  # the grid file has no CPU column
    assert (stored["energy_source"] == "imported").all()
    assert (stored["batch_size"] == 1).all() and (stored["declared_batch_size"] == 32).all()
    assert (stored["n_gpus"] == 1).all()


def test_source_line_is_where_the_record_starts(imported, shared_reference_dir):
    """Prompts in the grid span lines; each row's source_line must hold its own record."""
    store, _ = imported
    lines = (shared_reference_dir / GRID).read_text().splitlines()
    stored = store.measurements()
    stored = stored[stored["source_file"].str.endswith(GRID)]
    assert stored["source_line"].max() > len(pd.read_csv(shared_reference_dir / GRID))
    for row in stored.itertuples():
        text = lines[row.source_line - 1]
        assert f",{row.phase}," in text and f",{row.model}," in text
        assert row.trial_key == str(row.source_line)


def test_negative_cpu_energies_are_flagged_and_counted(imported, shared_reference_dir):
    store, summaries = imported
    raw = _inference_rows(shared_reference_dir / SWEEPS)
    n_negative = int((raw["CPU Energy (J)"] < 0).sum())
    assert n_negative > 0
    assert summaries[SWEEPS]["flag_counts"] == {"negative_cpu_energy": n_negative}
    stored = store.measurements()
    flagged = stored[stored["flags"].apply(lambda f: "negative_cpu_energy" in list(f))]
    assert len(flagged) == n_negative and (flagged["cpu_energy_j"] < 0).all()
    clean = store.measurements(include_flagged=False)
    assert len(clean) == len(stored) - n_negative
    assert summaries[GRID]["flag_counts"] == {}


def test_reimport_adds_nothing_and_says_so(imported, shared_reference_dir, capsys):
    store, _ = imported
    before_meas, before_runs = len(store.measurements()), store.runs()
    code = main(["import", str(shared_reference_dir / GRID), "--db", str(store.path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "already imported" in out
    assert len(store.measurements()) == before_meas
    pd.testing.assert_frame_equal(store.runs(), before_runs)
    assert len(before_runs) == 2
    provenance = json.loads(before_runs["provenance"].iloc[0])
    assert "Batch Size" in provenance["batch_size"]


def test_extended_copy_of_imported_file_is_flagged_not_double_counted(
    shared_reference_dir, tmp_path
):
    from measure.importers.paper import import_file
    from measure.store import Store

    store = Store(tmp_path / "dup.duckdb")
    original = shared_reference_dir / "swing-a100-grid.csv"
    first = import_file(original, store)
    extended = tmp_path / "grid-reexported.csv"
    frame = pd.read_csv(original)
    extra = frame.iloc[[-1]].assign(**{"Runtime (s)": 999.0})
    pd.concat([frame, extra]).to_csv(extended, index=False)
    second = import_file(extended, store)
    assert not second.already_present
    assert second.flag_counts.get("duplicate_of_stored") == first.n_measurements
    unflagged = store.measurements(include_flagged=False)
    assert len(unflagged) == first.n_measurements + 1
