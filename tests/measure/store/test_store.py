import pandas as pd
import pytest

from measure.store import RunRecord, Store, StoreError


def _rows(**overrides):
    base = {
        "trial_key": ["1", "2"],
        "model": ["m", "m"],
        "system": ["s", "s"],
        "input_tokens": [8, 16],
        "output_tokens": [8, 8],
        "runtime_s": [0.1, 0.2],
        "gpu_energy_j": [1.0, 2.0],
        "energy_source": ["imported"] * 2,
        "flags": [[], ["negative_cpu_energy"]],
    }
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
        store.write_run(RunRecord("r2", "import", "g.csv", "def"), _rows(input_tokens=[None, 3]))
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


def test_measurement_count_is_per_run(store_path):
    store = Store(store_path)
    assert store.measurement_count("r1") == 0 and not store.exists()
    store.write_run(RunRecord("r1", "import", "f.csv", "abc"), _rows())
    store.write_run(RunRecord("r2", "import", "g.csv", "def"), _rows().iloc[:1])
    assert store.measurement_count("r1") == 2
    assert store.measurement_count("r2") == 1
    assert store.measurement_count("other") == 0


def test_plain_duckdb_users_can_query_the_documented_columns(store_path):
    """The store is a plain DuckDB file: the issue's columns, by name, without our API."""
    import duckdb

    Store(store_path).write_run(RunRecord("r1", "import", "f.csv", "abc"), _rows())
    columns = (
        "model, system, input_tokens, output_tokens, runtime_s, gpu_energy_j, "
        "cpu_energy_j, energy_source, n_gpus, batch_size, kv_cache, run_id"
    )
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        rows = con.execute(f"SELECT {columns} FROM measurements ORDER BY input_tokens").fetchall()
    finally:
        con.close()
    assert rows[1][:8] == ("m", "s", 16, 8, 0.2, 2.0, None, "imported")
    assert rows[1][9:] == (1, None, "r1")  # batch_size defaults to 1; kv_cache unknown


def test_startup_rows_keep_their_flags(store_path):
    store = Store(store_path)
    startup = pd.DataFrame(
        {
            "trial_key": ["9"],
            "model": ["m"],
            "system": ["s"],
            "phase": ["tokenizer"],
            "runtime_s": [0.4],
            "cpu_energy_j": [-1.0],
            "energy_source": ["imported"],
            "flags": [["negative_cpu_energy"]],
        }
    )
    store.write_run(RunRecord("r1", "import", "f.csv", "abc"), _rows(), startup)
    assert store.startup_phases()["flags"].tolist() == [["negative_cpu_energy"]]


def _serving(keys=("c1", "c2"), **overrides):
    n = len(keys)
    base = {
        "row_key": list(keys),
        "model": ["m"] * n,
        "system": ["H100"] * n,
        "n_gpus": [1] * n,
        "task": ["t"] * n,
        "mean_batch": [1.0 + i for i in range(n)],
        "energy_per_output_token_j": [0.5] * n,
        "output_throughput_tps": [100.0] * n,
        "energy_source": ["nvml"] * n,
        "energy_scope": ["gpu"] * n,
        "flags": [[] for _ in range(n)],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_serving_writes_follow_the_run_write_sequence(store_path):
    # write_serving and write_run share one write sequence: idempotent by source hash,
    # a resumed run adds only new rows and recounts them, a failed insert leaves no run
    store = Store(store_path)
    run = RunRecord("serve-1", "serve", "shard", "h1")
    assert store.write_serving(run, _serving()).inserted_measurements == 2
    again = store.write_serving(RunRecord("serve-2", "serve", "copy", "h1"), _serving())
    assert again.already_present and again.inserted_measurements == 0
    more = store.write_serving(run, _serving(("c2", "c3")), skip_existing_rows=True)
    assert (more.inserted_measurements, more.already_present) == (1, True)
    assert int(store.runs()["n_measurements"].iloc[0]) == 3
    with pytest.raises(StoreError, match="writing run serve-3"):
        store.write_serving(
            RunRecord("serve-3", "serve", "bad", "h3"), _serving(mean_batch=["x", "y"])
        )
    assert list(store.runs()["run_id"]) == ["serve-1"] and len(store.serving()) == 3
