"""Sweeps as separate processes: kill -9 and resume, parallel shards merged, readers during a
sweep.  Each starts Python with torch, so these take tens of seconds on 2 cores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from measure.paths import PROJECT_ROOT
from measure.store import Store, StoreError
from measure.sweep.shards import read_shard

pytestmark = pytest.mark.slow


def sweep_cmd(tmp_path: Path, *extra: str, system="test-cpu", shards="shards") -> list[str]:
    return [
        sys.executable,
        "-m",
        "measure",
        "sweep",
        "--system",
        system,
        "--db",
        str(tmp_path / "store.duckdb"),
        "--shard-dir",
        str(tmp_path / shards),
        "--no-progress",
        "--warmup",
        "1",
        *extra,
    ]


def run(cmd: list[str], timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def count_trials(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_text().count('"type": "trial"')


def wait_for(predicate, proc: subprocess.Popen, timeout_s=120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended early: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for the sweep")
        time.sleep(0.05)


GRID = ["--inputs", "8,16", "--outputs", "4,8,16", "--max-trials", "3", "--min-trials", "3"]
N_TRIALS = 2 * 3 * 3


def test_kill_9_then_resume_completes_the_grid_without_duplicates(tmp_path):
    args = [*GRID, "--min-window-s", "0.08", "--run-id", "killed", "--ingest-every-s", "0.3"]
    shard_path = tmp_path / "shards" / "killed.jsonl"
    proc = subprocess.Popen(
        sweep_cmd(tmp_path, *args),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: count_trials(shard_path) >= 6, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    before = {t["trial_key"]: t["runtime_s"] for t in read_shard(shard_path).trials}
    assert 6 <= len(before) < N_TRIALS and not read_shard(shard_path).complete

    done = run(sweep_cmd(tmp_path, *args, "--resume"))
    assert done.returncode == 0, done.stderr
    rows = Store(tmp_path / "store.duckdb").measurements()
    assert len(rows) == N_TRIALS and rows.trial_key.is_unique and set(rows.run_id) == {"killed"}
    assert rows.groupby(["input_tokens", "output_tokens"]).size().eq(3).all()
    kept = rows.set_index("trial_key").runtime_s
    for key, runtime_s in before.items():  # every durable trial survived as is
        assert kept[key] == pytest.approx(runtime_s)
    shard = read_shard(shard_path)
    assert shard.complete and len(shard.trials) == N_TRIALS and shard.sessions == 2


def test_parallel_sweeps_merge_into_one_store_without_loss_or_doubles(tmp_path):
    grid = ["--inputs", "8,16", "--outputs", "4,8", "--max-trials", "2", "--min-trials", "2"]
    procs = [
        subprocess.Popen(
            sweep_cmd(tmp_path, *grid, system=name, shards=f"shards-{name}"),
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("node-a", "node-b")
    ]
    for proc in procs:  # both also write the shared store as they go
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    shard_files = sorted(tmp_path.glob("shards-*/*.jsonl"))
    assert len(shard_files) == 2
    expected = {(s.run_id, t["trial_key"]) for s in map(read_shard, shard_files) for t in s.trials}
    assert len(expected) == 16

    merged = tmp_path / "merged.duckdb"
    cmd = [
        sys.executable,
        "-m",
        "measure",
        "merge",
        str(tmp_path / "shards-node-a"),
        str(shard_files[1]),
        "--db",
        str(merged),
    ]
    first = run(cmd)
    assert first.returncode == 0, first.stderr
    assert "16 new rows" in first.stdout
    again = run(cmd)
    assert again.returncode == 0 and "0 new rows" in again.stdout
    for db in (merged, tmp_path / "store.duckdb"):
        rows = Store(db).measurements()
        assert set(zip(rows.run_id, rows.trial_key)) == expected and len(rows) == 16
        assert set(rows.system) == {"node-a", "node-b"}


def test_readers_and_fits_see_no_lock_errors_while_a_sweep_writes(tmp_path):
    from planner.fits.fitting import fit_store  # what `planner fit` and the app run

    db = tmp_path / "store.duckdb"
    proc = subprocess.Popen(
        sweep_cmd(tmp_path, *GRID, "--min-window-s", "0.1", "--ingest-every-s", "0.2"),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads, lock_errors, seen, fits_during_sweep = 0, [], [], 0
    while proc.poll() is None:
        if db.exists():
            try:
                seen.append(len(Store(db).measurements()))
                reads += 1
                if seen[-1] >= 9:  # enough rows for the fits to run
                    reports = fit_store(Store(db))
                    fits_during_sweep += bool(reports) and proc.poll() is None
            except StoreError as exc:
                lock_errors.append(str(exc))
        time.sleep(0.02)
    out, err = proc.communicate()
    assert proc.returncode == 0, err  # and the sweep's own store updates all succeeded
    assert "could not update the store" not in err
    assert lock_errors == []
    assert reads > 10 and seen == sorted(seen) and 0 < seen[0] < N_TRIALS and seen[-1] <= N_TRIALS
    assert len(Store(db).measurements()) == N_TRIALS
    assert fits_during_sweep >= 1  # fitted while the sweep was still writing


def test_ctrl_c_stops_after_the_trial_in_flight_and_leaves_a_resumable_run(tmp_path):
    args = [*GRID, "--min-window-s", "0.08", "--run-id", "interrupted"]
    shard_path = tmp_path / "shards" / "interrupted.jsonl"
    proc = subprocess.Popen(
        sweep_cmd(tmp_path, *args),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: count_trials(shard_path) >= 4, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping after the trial in flight" in err and "--resume" in err
    assert "Traceback" not in err
    shard = read_shard(shard_path)
    assert not shard.torn_tail and not shard.complete and 4 <= len(shard.trials) < N_TRIALS
    rows = Store(tmp_path / "store.duckdb").measurements()
    assert len(rows) == len(shard.trials)  # everything measured reached the store

    done = run(sweep_cmd(tmp_path, *args, "--resume"))
    assert done.returncode == 0, done.stderr
    rows = Store(tmp_path / "store.duckdb").measurements()
    assert len(rows) == N_TRIALS and rows.trial_key.is_unique
