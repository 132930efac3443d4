"""The Slurm serve template run with bash and the environment Slurm would give it (no cluster
here): it starts a real `transformers serve` of the tiny model, meters two levels into a
shard, stops the server; then the sweep's merge job ingests that shard.  And
submit_serve.sh against a stand-in `sbatch`."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from measure.paths import PROJECT_ROOT
from measure.serve.shards import read_serve_shard
from measure.store import Store

SLURM = PROJECT_ROOT / "measure" / "slurm"


@pytest.mark.slow
@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("fastapi", "uvicorn")),
    reason='the serving extra is not installed: pip install "transformers[serving]"',
)
def test_serve_job_writes_a_shard_and_merge_ingests_it(tmp_path, tiny_model_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PROJECT_DIR": str(PROJECT_ROOT),
        "PYTHON": sys.executable,
        "SHARD_DIR": str(tmp_path / "shards"),
        "SLURM_JOB_ID": "5151",
        "PORT": str(port),
        "SERVER_CMD": 'transformers serve "$MODEL" --host 127.0.0.1 --port $PORT '
        "--continuous-batching --device cpu",
        "HEALTH_TIMEOUT_S": "120",
    }
    args = ["--concurrency", "1,2", "--requests", "6", "--warmup", "1", "--idle-s", "0"]
    args += ["--input-tokens", "4", "--output-tokens", "3", "--engine", "transformers serve"]
    done = subprocess.run(
        ["bash", str(SLURM / "serve.sbatch"), str(tiny_model_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shard = tmp_path / "shards" / "serve-5151.jsonl"
    assert [r["row_key"] for r in read_serve_shard(shard).levels] == ["c1", "c2"]
    assert "slurm job 5151" in shard.read_text()  # the engine note in the provenance
    # the server is gone with the job
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    db = tmp_path / "store.duckdb"
    merged = subprocess.run(
        ["bash", str(SLURM / "merge.sbatch"), str(tmp_path / "shards"), str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert merged.returncode == 0, merged.stderr
    rows = Store(db).serving()
    assert sorted(rows["row_key"]) == ["c1", "c2"] and set(rows["run_id"]) == {"serve-5151"}


def test_submit_serve_queues_the_job_then_the_merge(tmp_path):
    log = tmp_path / "sbatch.log"
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/bash\necho "$*" >> {log}\n'
        'if [[ "$*" == *serve.sbatch* ]]; then echo 901; else echo 902; fi\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(SLURM / "submit_serve.sh"), "/models/m", "s.duckdb", "--concurrency", "1,8"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    serve_call, merge_call = log.read_text().splitlines()
    assert serve_call.endswith("serve.sbatch /models/m --concurrency 1,8")
    assert "--dependency=afterany:901" in merge_call and "data/shards/901 s.duckdb" in merge_call
    assert "merge job 902" in done.stdout
