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
        "4",
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
    # the first level's 4 requests succeed, the second level's first request fails
    with FakeServer("tiny", lambda i: "ok" if i < 4 else mode) as server:
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
    assert "leaves no steady requests" in capsys.readouterr().err
