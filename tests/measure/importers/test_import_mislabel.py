"""Per-GPU files whose redundant total column disagrees (issue 10 item 10): the per-GPU sum is
the source, so a flag on the total is informational and the rows stay usable for fits; a
total off by exactly a unit factor is named as a mislabelled unit."""

from __future__ import annotations

import pandas as pd
import pytest

from measure.__main__ import main
from measure.flags import INFORMATIONAL_FLAGS, disqualifies, row_flags, total_unit_factor
from measure.importers import import_file
from measure.store import Store


def per_gpu_copy_of_the_grid(shared_reference_dir, tmp_path, total_unit: str = "J"):
    """The shared Swing grid in the multi-GPU files' shape: two ``GPU-N Energy (mJ)`` columns
    (each half the measured energy), the ``Output Token Limit`` heading, and a redundant total
    headed ``GPU Energy (J)`` that holds the millijoules, as the paper's multi-GPU files do."""
    frame = pd.read_csv(shared_reference_dir / "swing-a100-grid.csv")
    total_mj = frame.pop("GPU Energy (mJ)")
    at = frame.columns.get_loc("Runtime (s)") + 1
    frame.insert(at, "GPU-0 Energy (mJ)", total_mj / 2)
    frame.insert(at + 1, "GPU-1 Energy (mJ)", total_mj - total_mj / 2)
    frame.insert(at + 2, f"GPU Energy ({total_unit})", total_mj)
    frame["Number of GPUs"] = 2
    frame = frame.rename(columns={"Number of Output Tokens": "Output Token Limit"})
    path = tmp_path / "grid-per-gpu-mislabelled.csv"
    frame.to_csv(path, index=False)
    inference = frame["Phase"].str.contains("inference")
    return path, int(inference.sum()), total_mj[inference].to_numpy() / 1000.0


def test_mislabelled_total_is_named_and_rows_stay_usable_for_fits(
    shared_reference_dir, tmp_path, store_path, capsys
):
    path, n_inference, gpu_j = per_gpu_copy_of_the_grid(shared_reference_dir, tmp_path)
    assert main(["import", str(path), "--db", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert f"noted (kept, still in fits): gpu_total_unit_mislabel {n_inference}" in out
    assert "flagged (kept, out of fits" not in out
    assert "GPU Energy (J) is 1000x the sum of the per-GPU columns" in out
    assert "its values look like mJ, not J" in out
    store = Store(store_path)
    fit_rows = store.measurements(include_flagged=False)
    assert len(fit_rows) == n_inference  # what `planner fit` reads: every row
    assert store.arms()["n_flagged"].sum() == 0
    assert all(list(f) == ["gpu_total_unit_mislabel"] for f in fit_rows["flags"])
    stored = fit_rows.sort_values("source_line")["gpu_energy_j"].to_numpy()
    assert stored == pytest.approx(gpu_j, rel=1e-12)  # the per-GPU sum, in joules
    assert (fit_rows["n_gpus"] == 2).all()
    provenance = store.runs()["provenance"].iloc[0]
    assert "gpu_total_unit_mislabel" in provenance and "per-GPU columns" in provenance


def test_unit_mislabel_summary_is_in_the_json_too(shared_reference_dir, tmp_path, store_path):
    path, n_inference, _ = per_gpu_copy_of_the_grid(shared_reference_dir, tmp_path, "kJ")
    summary = import_file(path, Store(store_path))
    assert summary.flag_counts == {"gpu_total_unit_mislabel": n_inference}
    # mJ values under a kJ heading: 1e6 times the sum
    assert len(summary.notes) == 1 and "1000000x" in summary.notes[0]
    assert "look like mJ, not kJ" in summary.notes[0]
    assert summary.to_json()["notes"] == summary.notes


@pytest.mark.parametrize(
    "total_j, sum_j, factor",
    [
        (1000.0, 1.0, 1e3),
        (0.001, 1.0, 1e-3),
        (3600.0, 1.0, 3.6e3),
        (1.0, 3600.0, 1 / 3.6e3),
        (2.0e6 * 1.004, 2.0, 1e6),  # within the 1% a total may differ by
        (3.6e6, 1.0, 3.6e6),
        (1100.0, 1.0, None),
        (2.0, 1.0, None),
        (-1000.0, 1.0, None),
        (1000.0, 0.0, None),
    ],
)
def test_total_unit_factor(total_j, sum_j, factor):
    found = total_unit_factor(total_j, sum_j)
    assert found == (None if factor is None else pytest.approx(factor))


def test_total_flags_are_informational_and_others_are_not():
    mislabel = row_flags(1.0, 200.0, [100.0, 100.0], 200_000.0, None, 2)
    mismatch = row_flags(1.0, 200.0, [100.0, 100.0], 250.0, None, 2)
    assert mislabel == ["gpu_total_unit_mislabel"] and mismatch == ["gpu_total_mismatch"]
    assert INFORMATIONAL_FLAGS == {"gpu_total_mismatch", "gpu_total_unit_mislabel"}
    assert not disqualifies(mislabel) and not disqualifies(mismatch)
    assert not disqualifies([]) and not disqualifies(None) and not disqualifies(float("nan"))
    assert disqualifies(mismatch + ["negative_cpu_energy"])
    assert disqualifies(["duplicate_of_stored"]) and disqualifies(["output_tokens_short"])
