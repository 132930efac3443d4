import pandas as pd
import pytest

from measure.store import RunRecord, Store, StoreError


def _rows(**overrides):
    base = {"trial_key": ["1", "2"], "model": ["m", "m"], "system": ["s", "s"],
            "input_tokens": [8, 16], "output_tokens": [8, 8], "runtime_s": [0.1, 0.2],
            "gpu_energy_j": [1.0, 2.0], "energy_source": ["imported"] * 2,
            "flags": [[], ["negative_cpu_energy"]]}
    base.update(overrides)
    return pd.DataFrame(base)


def test_write_is_idempotent_by_source_hash(store_path):
    store = Store(store_path)
    first = store.write_run(RunRecord("r1", "import", "f.csv", "abc"), _rows())
    again = store.write_run(RunRecord("r2", "import", "f.csv", "abc"), _rows())
    assert first.inserted_measurements == 2 and not first.already_present
    assert again.already_present and again.inserted_measurements == 0
    assert len(store.measurements()) == 2
    assert len(store.measurements(include_flagged=False)) == 1


def test_failed_write_leaves_store_unchanged(store_path):
    store = Store(store_path)
    store.write_run(RunRecord("r1", "import", "f.csv", "abc"), _rows())
    with pytest.raises(StoreError, match="input_tokens"):
        store.write_run(RunRecord("r2", "import", "g.csv", "def"),
                        _rows(input_tokens=[None, 3]))
    assert list(store.runs()["run_id"]) == ["r1"]
    assert len(store.measurements()) == 2


def test_resumed_run_adds_only_new_trials(store_path):
    store = Store(store_path)
    run = RunRecord("sweep-1", "sweep", "shard")
    store.write_run(run, _rows())
    more = _rows(trial_key=["2", "3"])
    result = store.write_run(run, more, skip_existing_rows=True)
    assert result.inserted_measurements == 1
    assert sorted(store.measurements()["trial_key"]) == ["1", "2", "3"]
    assert int(store.runs()["n_measurements"].iloc[0]) == 3


def test_reads_on_missing_store_are_empty(tmp_path):
    store = Store(tmp_path / "nothing.duckdb")
    assert store.measurements().empty
    assert not (tmp_path / "nothing.duckdb").exists()
