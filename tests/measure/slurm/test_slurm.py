"""The Slurm scripts, run with bash and the environment Slurm would give them (no cluster
here): two array tasks in parallel, each its own shard, then the merge job; and submit.sh
against a stand-in `sbatch` that records what it was asked to queue."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from measure.paths import PROJECT_ROOT
from measure.store import Store
from measure.sweep.shards import read_shard

SLURM = PROJECT_ROOT / "measure" / "slurm"

TASKS = """# two tasks: one grid sliced in two
--model tiny-llama --system slurm-cpu --inputs 8 --outputs 4,8 --max-trials 2 --min-trials 2 --warmup 1

--model tiny-llama --system slurm-cpu --inputs 16 --outputs 4,8 --max-trials 2 --min-trials 2 --warmup 1
"""


@pytest.mark.slow
def test_array_tasks_write_shards_and_merge_ingests_them(tmp_path):
    tasks = tmp_path / "tasks.txt"
    tasks.write_text(TASKS)
    env = {
        **os.environ,
        "PROJECT_DIR": str(PROJECT_ROOT),
        "PYTHON": sys.executable,
        "SHARD_DIR": str(tmp_path / "shards"),
        "SLURM_ARRAY_JOB_ID": "4242",
    }
    procs = [
        subprocess.Popen(
            ["bash", str(SLURM / "sweep_array.sbatch"), str(tasks)],
            env={**env, "SLURM_ARRAY_TASK_ID": str(i)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    shards = sorted((tmp_path / "shards").glob("*.jsonl"))
    assert [p.name for p in shards] == ["task-4242-0.jsonl", "task-4242-1.jsonl"]
    assert all(read_shard(p).complete for p in shards)
    assert not (PROJECT_ROOT / "data" / "shards" / "4242").exists()

    db = tmp_path / "merged.duckdb"
    merged = subprocess.run(
        ["bash", str(SLURM / "merge.sbatch"), str(tmp_path / "shards"), str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert merged.returncode == 0, merged.stderr
    rows = Store(db).measurements()
    assert len(rows) == 8 and set(rows.run_id) == {"task-4242-0", "task-4242-1"}
    assert sorted(set(rows.input_tokens)) == [8, 16] and set(rows.system) == {"slurm-cpu"}

    missing = subprocess.run(
        ["bash", str(SLURM / "sweep_array.sbatch"), str(tasks)],
        env={**env, "SLURM_ARRAY_TASK_ID": "5"},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "no task 5" in missing.stderr


def test_submit_queues_the_array_then_the_merge(tmp_path):
    tasks = tmp_path / "tasks.txt"
    tasks.write_text(TASKS)
    log = tmp_path / "sbatch.log"
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/bash\necho "$*" >> {log}\n'
        'if [[ "$*" == *--array* ]]; then echo 777; else echo 778; fi\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(SLURM / "submit.sh"), str(tasks), "store.duckdb"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    array_call, merge_call = log.read_text().splitlines()
    assert "--array=0-1" in array_call and str(tasks) in array_call
    assert "--dependency=afterany:777" in merge_call
    assert "data/shards/777 store.duckdb" in merge_call
    assert "merge job 778" in done.stdout
