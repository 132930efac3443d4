"""`measure serve` when the server fails: one clear error naming the level and the URL,
exit code 1, and the levels measured before the failure kept in the shard and the store.
The server here is a small local one that streams what each test asks (error paths only)."""

from __future__ import annotations

import socket

import pytest

from measure.__main__ import main
from measure.serve.shards import read_serve_shard
from measure.store import Store
from tests.measure.serve.conftest import FakeServer


def serve_args(url, tmp_path, tiny_model_dir, *extra) -> list[str]:
    return [
        "serve",
        "--url",
        url,
        "--tokenizer",
        str(tiny_model_dir),
        "--concurrency",
        "1,2",
        "--requests",
        "6",
        "--warmup",
        "1",
        "--input-tokens",
        "8",
        "--output-tokens",
        "4",
        "--idle-s",
        "0",
        "--db",
        str(tmp_path / "store.duckdb"),
        "--shard-dir",
        str(tmp_path / "shards"),
        "--meters",
        "estimate",
        *extra,
    ]


@pytest.mark.parametrize(
    "mode, problem",
    [
        ("garbage", "malformed server-sent event 1 (not JSON"),
        ("http500", "HTTP 500"),
        ("error-event", "the server reported an error mid-stream: out of memory"),
        ("hang", "timed out"),
    ],
)
def test_a_failing_level_keeps_the_levels_before_it(
    mode, problem, tmp_path, tiny_model_dir, capsys
):
    # the first level's 6 requests succeed, the second level's first request fails
    with FakeServer("tiny", lambda i: "ok" if i < 6 else mode) as server:
        code = main(serve_args(server.url, tmp_path, tiny_model_dir, "--timeout-s", "0.5"))
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "level concurrency 2 failed" in lines[0] and problem in lines[0]
    assert server.url in lines[0]
    assert "1 level(s) measured before it are kept" in lines[0]
    rows = Store(tmp_path / "store.duckdb").serving()
    assert list(rows["row_key"]) == ["c1"] and rows["concurrency"].tolist() == [1]
    (shard_path,) = (tmp_path / "shards").glob("*.jsonl")
    assert [r["row_key"] for r in read_serve_shard(shard_path).levels] == ["c1"]


def test_a_refusing_server_is_one_clear_error(tmp_path, tiny_model_dir, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    code = main(serve_args(f"http://127.0.0.1:{port}", tmp_path, tiny_model_dir))
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == (
        f"error: http://127.0.0.1:{port}/v1/models: connection refused (is the server "
        "running, on this port?)"
    )


def test_bad_settings_exit_2(tmp_path, tiny_model_dir, capsys):
    with FakeServer("tiny") as server:
        code = main(serve_args(server.url, tmp_path, tiny_model_dir, "--requests", "2"))
    assert code == 2
    assert "leaves too few steady requests" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, named",
    [
        (("--watts-per-core", "-3"), "--watts-per-core must be a finite number > 0"),
        (("--watts-per-core", "inf"), "--watts-per-core must be a finite number > 0"),
        (("--meters", "bogus"), "--meters: unknown meter(s) ['bogus']"),
        (("--workload", "absent-workload.jsonl"), "absent-workload.jsonl"),
        (("--server-pid", "0"), "--server-pid must be a process id >= 1"),
        (("--server-pid", "4194304"), "--server-pid 4194304: no such process"),
    ],
)
def test_bad_local_settings_exit_2_before_the_server_is_contacted(
    extra, named, tmp_path, tiny_model_dir, capsys
):
    # nothing listens on the port: a setting checked only after the first request would
    # end as "connection refused" (rc 1), or as an internal error (rc 70)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = serve_args(f"http://127.0.0.1:{port}", tmp_path, tiny_model_dir)
    if "--meters" in extra:
        args = args[: args.index("--meters")] + args[args.index("--meters") + 2 :]
    code = main([*args, *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and named in err, err


def test_a_meter_reading_nothing_flags_its_rows_and_cpu_idle_stays_out_of_idle_power(
    tmp_path, tiny_model_dir
):
    # the CPU-time estimate of a process that sleeps throughout reads 0 J: the rows say so
    # (flagged, out of fits) instead of a silent 0 J, and the idle figure, a CPU estimate,
    # is kept in the run's provenance but not as the rows' (GPU) idle power
    import json
    import subprocess
    import sys

    from measure.flags import NONPOSITIVE_ENERGY_FLAG, disqualifies

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with FakeServer("tiny") as server:
            args = serve_args(
                server.url, tmp_path, tiny_model_dir, "--server-pid", str(sleeper.pid)
            )
            args[args.index("--idle-s") + 1] = "0.2"
            # one level, more requests: a steady window that a loaded machine cannot empty
            args[args.index("1,2")] = "1"
            args[args.index("--requests") + 1] = "12"
            assert main(args) == 0
    finally:
        sleeper.kill()
        sleeper.wait()
    store = Store(tmp_path / "store.duckdb")
    rows = store.serving()
    assert len(rows) == 1
    for flags, energy_j in zip(rows["flags"], rows["energy_j"]):
        assert NONPOSITIVE_ENERGY_FLAG in list(flags) and energy_j <= 0
        assert disqualifies(list(flags))
    assert rows["idle_power_w"].isna().all()
    assert len(store.idle_power()) == 0
    provenance = json.loads(store.runs()["provenance"].iloc[0])
    assert provenance["idle"]["energy_source"] == "estimated"
    assert provenance["idle"]["total_power_w"] is not None and provenance["idle_power_w"] is None
