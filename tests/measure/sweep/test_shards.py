"""Shards: durable appends, torn tails after a crash, clear errors, idempotent ingestion."""

from __future__ import annotations

import json

import pytest

from measure.store import Store
from measure.sweep.shards import ShardError, ShardWriter, ingest_shard, read_shard


def header(run_id="run-1"):
    return {
        "type": "header",
        "format": 1,
        "run_id": run_id,
        "config_hash": "abc",
        "config": {"system": "test-sys"},
        "provenance": {"host": "node-1"},
        "started_at": "2026-11-24T00:00:00+00:00",
    }


def trial(i, tin=8, tout=8):
    return {
        "type": "trial",
        "trial_key": f"in{tin}-out{tout}-t{i:03d}",
        "model": "tiny-llama",
        "system": "test-sys",
        "n_gpus": 0,
        "batch_size": 2,
        "kv_cache": True,
        "dtype": "float32",
        "input_tokens": tin,
        "output_tokens": tout,
        "output_tokens_generated": tout,
        "runtime_s": 0.1 + i,
        "gpu_energy_j": None,
        "cpu_energy_j": 1.5 * (i + 1),
        "gpu_energy_per_device_j": None,
        "idle_power_w": None,
        "energy_source": "estimated",
        "flags": [],
        "phase": "inference",
        "iteration": i,
        "measured_at": "2026-11-24T00:00:01+00:00",
        "repetitions": 1,
    }


def write_shard(path, n_trials=3, end=True):
    with ShardWriter(path) as writer:
        writer.write(header())
        for i in range(n_trials):
            writer.write(trial(i))
        writer.write(
            {
                "type": "cell",
                "input_tokens": 8,
                "output_tokens": 8,
                "n_trials": n_trials,
                "reason": "max_trials",
                "ci_halfwidth_s": 0.1,
            }
        )
        if end:
            writer.write({"type": "end", "finished_at": "2026-11-24T00:01:00+00:00"})
    return path


def test_round_trip_and_store_rows(tmp_path, store_path):
    path = write_shard(tmp_path / "run-1.jsonl")
    shard = read_shard(path)
    assert shard.run_id == "run-1" and shard.complete and not shard.torn_tail
    assert [t["_line"] for t in shard.trials] == [2, 3, 4]
    assert set(shard.cells) == {(8, 8)}
    result = ingest_shard(path, Store(store_path))
    assert result.inserted_measurements == 3
    rows = Store(store_path).measurements()
    assert list(rows.cpu_energy_j) == [1.5, 3.0, 4.5]
    assert set(rows.batch_size) == {2} and set(rows.energy_source) == {"estimated"}
    assert list(rows.source_line) == [2, 3, 4]
    run = Store(store_path).runs().iloc[0]
    assert run.kind == "sweep" and run.host == "node-1" and run.system == "test-sys"
    assert json.loads(run.provenance)["config_hash"] == "abc"
    assert ingest_shard(path, Store(store_path)).inserted_measurements == 0  # idempotent


def test_torn_last_line_is_ignored_and_cut_before_appending(tmp_path):
    path = write_shard(tmp_path / "run-1.jsonl", n_trials=2, end=False)
    full = json.dumps(trial(2))
    with open(path, "a") as handle:
        handle.write(full[: len(full) // 2])  # kill -9 in the middle of a write
    shard = read_shard(path)
    assert shard.torn_tail and len(shard.trials) == 2 and not shard.complete
    with ShardWriter(path) as writer:  # a resume cuts the torn tail first
        assert writer.n_lines == 4
        writer.write(trial(2))
    shard = read_shard(path)
    assert not shard.torn_tail
    assert [t["trial_key"] for t in shard.trials][-1] == "in8-out8-t002"


def test_a_complete_record_without_its_newline_is_not_committed(tmp_path):
    path = write_shard(tmp_path / "run-1.jsonl", n_trials=1, end=False)
    with open(path, "a") as handle:
        handle.write(json.dumps(trial(1)))  # the newline never made it to disk
    assert len(read_shard(path).trials) == 1


def test_malformed_line_names_file_and_line(tmp_path):
    path = write_shard(tmp_path / "run-1.jsonl", n_trials=2)
    lines = path.read_text().splitlines()
    lines[2] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ShardError) as info:
        read_shard(path)
    assert info.value.line == 3 and str(path) in str(info.value)


@pytest.mark.parametrize(
    "first, problem",
    [
        ({"type": "trial"}, "not a shard header"),
        ({"type": "header", "run_id": "x", "config": {}}, "has no 'provenance'"),
    ],
)
def test_bad_headers(tmp_path, first, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(first) + "\n")
    with pytest.raises(ShardError, match=problem):
        read_shard(path)


def test_unknown_record_type(tmp_path):
    path = write_shard(tmp_path / "run-1.jsonl", n_trials=1)
    with open(path, "a") as handle:
        handle.write(json.dumps({"type": "mystery"}) + "\n")
    with pytest.raises(ShardError, match="line 5: unknown record type 'mystery'"):
        read_shard(path)
