"""`measure serve` against a real `transformers serve` of the tiny model, on a loopback port:
three labelled levels into the store, kill -9 and Ctrl-C mid-run then --resume without
duplicates.  Skips where the serving extra (FastAPI, Uvicorn) is not installed."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from measure.__main__ import main
from measure.paths import PROJECT_ROOT
from measure.serve.shards import read_serve_shard
from measure.store import Store
from tests.measure.meters.test_meters import FakeGpus, fake_nvml  # noqa: F401 (a fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("fastapi", "uvicorn")),
        reason='the serving extra is not installed: pip install "transformers[serving]"',
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    cli = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which(
        "transformers"
    )
    if cli is None:
        pytest.skip("the `transformers` command is not on the PATH")
    port = free_port()
    proc = subprocess.Popen(
        [cli, "serve", str(tiny_model_dir), "--host", "127.0.0.1", "--port", str(port)]
        + ["--continuous-batching", "--device", "cpu"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not come up: {proc.stderr.read()[-2000:]}")
            time.sleep(0.5)
        # the first request builds the continuous-batching engine (seconds): not in a test
        body = b'{"prompt": "w5 w6", "max_tokens": 2}'
        request = urllib.request.Request(
            f"{url}/v1/completions", body, {"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=120).read()
        yield url
    finally:
        proc.kill()
        proc.wait()


def serve_args(url: str, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "serve",
        "--url",
        url,
        "--concurrency",
        "1,2,4",
        "--requests",
        "10",  # at concurrency 4 the window spans 5 request starts, so tokens always land in it
        "--warmup",
        "1",
        "--input-tokens",
        "8",
        "--output-tokens",
        "4",
        "--idle-s",
        "0.5",
        "--engine",
        "transformers serve",
        "--task",
        "tiny-test",
        "--db",
        str(tmp_path / "store.duckdb"),
        "--shard-dir",
        str(tmp_path / "shards"),
        "--run-id",
        "tiny-run",
        *extra,
    ]


def test_three_levels_land_labelled_in_the_store(server, tmp_path, tiny_model_dir):
    assert main(serve_args(server, tmp_path)) == 0
    rows = Store(tmp_path / "store.duckdb").serving()
    assert sorted(rows["concurrency"]) == [1, 2, 4]
    assert set(rows["row_key"]) == {"c1", "c2", "c4"}
    assert (rows["model"] == str(tiny_model_dir)).all()
    assert set(rows["engine"]) == {"transformers serve"} and set(rows["task"]) == {"tiny-test"}
    assert set(rows["energy_source"]) == {"estimated"} and set(rows["energy_scope"]) == {"cpu"}
    assert (rows["output_throughput_tps"] > 0).all() and (
        rows["energy_per_output_token_j"] > 0
    ).all()
    for column in ("itl_ms_p50", "itl_ms_p90", "itl_ms_p99", "ttft_ms_p50", "e2e_ms_p90"):
        assert rows[column].notna().all() and (rows[column] > 0).all(), column
    assert (rows["itl_ms_p90"] >= rows["itl_ms_p50"]).all()
    # the server reported its usage: exactly the asked-for lengths
    assert (rows["mean_input_tokens"] == 8).all() and (rows["mean_output_tokens"] == 4).all()
    # requests in flight: about the concurrency (the client starts the next at once)
    for batch, c in zip(rows["mean_batch"], rows["concurrency"]):
        assert 0.8 * c <= batch <= c + 1e-6
    # the idle figure here is the CPU-time estimate, not GPU idle power: in the run's
    # provenance, not in the rows' idle_power_w (which Store.idle_power() reads per GPU)
    assert rows["idle_power_w"].isna().all()
    run = Store(tmp_path / "store.duckdb").runs().iloc[0]
    assert run["kind"] == "serve"
    assert server in str(run["provenance"])
    idle = json.loads(run["provenance"])["idle"]
    assert idle["energy_source"] == "estimated" and idle["total_power_w"] >= 0


def level_lines(path: Path) -> int:
    return path.read_text().count('"type": "level"') if path.exists() else 0


def start(url: str, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "measure", *serve_args(url, tmp_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_for_levels(path: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while level_lines(path) < n:
        if proc.poll() is not None:
            raise AssertionError(f"measure serve ended early: {proc.stderr.read()}")
        assert time.monotonic() < deadline, "timed out waiting for a level"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["kill -9", "ctrl-c"])
def test_stopped_mid_run_then_resumed_without_duplicates(how, server, tmp_path):
    shard = tmp_path / "shards" / "tiny-run.jsonl"
    proc = start(server, tmp_path)
    wait_for_levels(shard, 1, proc)
    if how == "kill -9":
        proc.kill()
        proc.wait()
        assert level_lines(shard) <= 2  # at most the level in flight is lost
    else:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "--resume" in err
        # it finished the level in flight rather than dropping it
        assert 1 <= level_lines(shard) <= 3
    assert main(serve_args(server, tmp_path, "--resume")) == 0
    levels = read_serve_shard(shard).levels
    assert sorted(r["row_key"] for r in levels) == ["c1", "c2", "c4"]
    rows = Store(tmp_path / "store.duckdb").serving()
    assert sorted(rows["row_key"]) == ["c1", "c2", "c4"]
    assert read_serve_shard(shard).sessions == 2


def test_gpu_energy_from_nvml_over_the_chosen_gpus(server, tmp_path, fake_nvml):  # noqa: F811
    # NVML faked at the vendor boundary (this machine has no GPU): 2 GPUs, GPU 1 chosen
    gpus = FakeGpus(n=2)
    fake_nvml(gpus)
    args = serve_args(server, tmp_path, "--gpus", "1", "--meters", "nvml,estimate")
    args[args.index("1,2,4")] = "2"
    assert main(args) == 0
    (row,) = Store(tmp_path / "store.duckdb").serving().to_dict("records")
    assert (row["energy_source"], row["energy_scope"]) == ("nvml+estimated", "gpu+cpu")
    assert (row["system"], row["n_gpus"]) == ("A100", 1)
    # GPU 1's counter steps 10 J per read: one step in the window, one in the idle window
    assert row["energy_j"] >= 10.0 and row["idle_power_w"] > 0
    # the rows' idle power is the GPU channel's alone; the whole figure (CPU estimate too)
    # is in the run's provenance
    idle = json.loads(Store(tmp_path / "store.duckdb").runs()["provenance"].iloc[0])["idle"]
    assert row["idle_power_w"] == pytest.approx(idle["idle_power_w"])
    assert idle["total_power_w"] >= idle["idle_power_w"]
    assert idle["energy_source"] == "nvml+estimated"
    tokens = row["output_throughput_tps"] * row["window_s"]
    assert row["energy_per_output_token_j"] == pytest.approx(row["energy_j"] / tokens)
