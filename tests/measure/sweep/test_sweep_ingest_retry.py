"""A sweep whose store updates fail mid-run (another process holding the store) exits 0 when
its final update lands every trial, and says the earlier ones were retried; it exits 1, asking
for `measure merge`, only when the store is still behind the shard at the end.  A shard with
NaN or Infinity is refused naming its line."""

from __future__ import annotations

import pytest

from measure.__main__ import main
from measure.store import Store, StoreError
from measure.sweep import session
from measure.sweep.shards import ShardError, read_shard


def _sweep(tmp_path, monkeypatch, fail_calls):
    """Run a tiny 2-cell sweep (4 trials, a store update after each) where the store updates
    numbered in ``fail_calls`` (1-based, over the whole run) raise as a locked store does."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never download in tests
    real = session.ingest_shard
    calls: list[int] = []

    def flaky_ingest(shard, store):
        calls.append(len(calls) + 1)
        if fail_calls(len(calls)):
            raise StoreError(f"cannot open store {store.path}: Could not set lock on file")
        return real(shard, store)

    monkeypatch.setattr(session, "ingest_shard", flaky_ingest)
    db = tmp_path / "s.duckdb"
    args = ["sweep", "--db", str(db), "--shard-dir", str(tmp_path / "shards")]
    args += ["--inputs", "8", "--outputs", "4,6", "--max-trials", "2", "--min-trials", "2"]
    args += ["--ingest-every-s", "0", "--warmup", "0", "--no-progress", "--system", "t"]
    code = main(args)
    return code, calls, db


def test_finished_sweep_whose_final_ingest_lands_exits_0(tmp_path, monkeypatch, capsys):
    code, calls, db = _sweep(tmp_path, monkeypatch, lambda n: n in (1, 2))
    err = capsys.readouterr().err
    assert len(calls) >= 4 and code == 0
    assert "2 store update(s) during the run failed and were retried" in err
    assert "measure merge" not in err
    shard = read_shard(next((tmp_path / "shards").glob("*.jsonl")))
    assert len(shard.trials) == 4
    assert Store(db).measurement_count(shard.run_id) == 4  # every trial, once
    assert len(Store(db).measurements()) == 4


def test_sweep_whose_final_ingest_fails_exits_1_and_says_merge(tmp_path, monkeypatch, capsys):
    code, calls, db = _sweep(tmp_path, monkeypatch, lambda n: n >= 3)
    err = capsys.readouterr().err
    assert code == 1
    shard_path = next((tmp_path / "shards").glob("*.jsonl"))
    assert f"run `python -m measure merge {shard_path} --db {db}`" in err
    assert "retried" not in err
    assert main(["merge", str(shard_path), "--db", str(db)]) == 0  # the shard kept them all
    assert len(Store(db).measurements()) == 4


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_shard_with_non_finite_number_is_refused_with_its_line(tmp_path, constant):
    path = tmp_path / "run.jsonl"
    path.write_text(
        '{"type": "header", "run_id": "r", "config": {}, "provenance": {}}\n'
        '{"type": "trial", "trial_key": "k", "runtime_s": ' + constant + "}\n"
    )
    with pytest.raises(ShardError, match=r"line 2: malformed record \(a non-finite number"):
        read_shard(path)
