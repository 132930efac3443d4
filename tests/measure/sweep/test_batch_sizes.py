"""`measure sweep --batch-sizes 1,2`: one run per batch size, batched generate with the KV
cache on, exact output lengths, rows with their batch size."""

from __future__ import annotations

from measure.__main__ import main
from measure.store import Store


def test_batch_sizes_give_one_run_each_with_exact_lengths(tmp_path, capsys):
    args = ["sweep", "--batch-sizes", "1,3", "--inputs", "8", "--outputs", "6"]
    args += ["--max-trials", "2", "--min-trials", "2", "--warmup", "1", "--no-progress"]
    args += ["--db", str(tmp_path / "s.duckdb"), "--shard-dir", str(tmp_path / "shards")]
    args += ["--system", "batch-cpu", "--run-id", "bs"]
    assert main(args) == 0
    rows = Store(tmp_path / "s.duckdb").measurements()
    assert sorted(set(rows["batch_size"])) == [1, 3]
    assert set(rows["run_id"]) == {"bs-b1", "bs-b3"}
    assert (rows["output_tokens_generated"] == 6).all() and rows["kv_cache"].all()
    assert len(rows) == 4
    # resuming finds both runs complete and adds nothing
    assert main([*args, "--resume"]) == 0
    assert len(Store(tmp_path / "s.duckdb").measurements()) == 4


def test_batch_sizes_refuse_nonsense(tmp_path, capsys):
    try:
        main(["sweep", "--batch-sizes", "0,2"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "give whole numbers >= 1" in capsys.readouterr().err
