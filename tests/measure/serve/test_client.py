"""The streaming client and the load generator's pieces, against a small local server."""

from __future__ import annotations

import io

import pytest

from measure.serve.client import (
    Endpoint,
    RequestResult,
    ServeError,
    _read_events,
    stream_completion,
)
from measure.serve.loadgen import LoadError, PromptMaker, read_workload
from tests.measure.serve.conftest import FakeServer


class Lines(io.BytesIO):
    """An HTTP body read line by line, as http.client's response is."""


def parse(text: str) -> RequestResult:
    result = RequestResult(0.0, 0.0)
    _read_events(Lines(text.encode()), result, "http://x/v1/completions")
    return result


def test_events_give_token_times_and_usage():
    body = (
        ": a comment\r\n"
        'data: {"choices": [{"text": "a"}]}\r\n\r\n'
        'data: {"choices": [{"text": "b"}]}\n\n'
        'data: {"choices": [{"text": "", "finish_reason": "length"}], '
        '"usage": {"prompt_tokens": 7, "completion_tokens": 2}}\n\n'
        "data: [DONE]\n\n"
    )
    result = parse(body)
    assert len(result.token_times_s) == 2
    assert (result.prompt_tokens, result.output_tokens, result.finish_reason) == (7, 2, "length")


@pytest.mark.parametrize(
    "body, problem",
    [
        ("data: {oops\n\n", "malformed server-sent event 1 (not JSON"),
        ('data: {"choices": [{"text": "a"}]}\n\ngarbage line\n', "malformed server-sent event 2"),
        ('data: {"error": "CUDA out of memory"}\n\n', "error mid-stream: CUDA out of memory"),
        ('data: {"choices": "x"}\n\n', "'choices' is no list"),
        ("", "ended without a single event"),
    ],
)
def test_malformed_streams_name_the_url_and_event(body, problem):
    with pytest.raises(ServeError) as info:
        parse(body)
    assert problem in str(info.value)
    assert "http://x/v1/completions" in str(info.value)


def test_endpoint_parse():
    e = Endpoint.parse("http://127.0.0.1:8000/v1/")
    assert (e.host, e.port, e.prefix) == ("127.0.0.1", 8000, "")
    assert Endpoint.parse("localhost:9").where("/health") == "http://localhost:9/health"
    with pytest.raises(ServeError, match="give http://HOST:PORT"):
        Endpoint.parse("ftp://x")


def test_stream_against_a_local_server_and_its_failures():
    modes = {0: "ok", 1: "http500", 2: "hang"}
    with FakeServer("m", lambda i: modes.get(i, "ok")) as server:
        e = Endpoint.parse(server.url)
        result = stream_completion(e, {"model": "m", "prompt": "w5 w6", "max_tokens": 3}, 5.0, 2)
        assert result.generated_tokens == 3 and result.input_tokens == 2
        assert result.ttft_s > 0 and len(result.itl_s) == 2 and result.e2e_s >= result.ttft_s
        with pytest.raises(ServeError, match=r"HTTP 500 .*boom"):
            stream_completion(e, {"model": "m", "prompt": "w5", "max_tokens": 3}, 5.0)
        with pytest.raises(ServeError, match="timed out"):
            stream_completion(e, {"model": "m", "prompt": "w5", "max_tokens": 3}, 0.3)
        port = server.httpd.server_address[1]
    with pytest.raises(ServeError, match="connection refused"):
        stream_completion(Endpoint.parse(f"http://127.0.0.1:{port}"), {"prompt": "x"}, 2.0)


def test_prompts_have_exact_token_counts(tiny_model_dir):
    maker = PromptMaker(tiny_model_dir, seed=3)
    for n in (1, 7, 64, 300):
        assert maker.count(maker.prompt(n)) == n


def test_prompt_maker_refuses_a_folder_without_tokenizer(tmp_path):
    with pytest.raises(LoadError, match=f"tokenizer {tmp_path}"):
        PromptMaker(tmp_path)


def test_workload_files(tmp_path):
    good = tmp_path / "w.csv"
    good.write_text("input_tokens,output_tokens\n8,4\n16,2\n")
    assert read_workload(good) == [(8, 4), (16, 2)]
    jsonl = tmp_path / "w.jsonl"
    jsonl.write_text('{"prompt_tokens": 3, "completion_tokens": 5}\n')
    assert read_workload(jsonl) == [(3, 5)]
    bad = tmp_path / "bad.csv"
    bad.write_text("input_tokens,output_tokens\n8,4\n8,-1\n")
    with pytest.raises(LoadError, match=r"bad.csv, row 3: output_tokens = '-1'"):
        read_workload(bad)


def test_poisson_arrivals_and_fixed_concurrency(tiny_model_dir):
    from measure.serve.loadgen import LevelLoad, RequestSpec, send_level

    specs = [RequestSpec(2, 3, "w5 w6")] * 12
    started: list[int] = []
    with FakeServer("m") as server:
        e = Endpoint.parse(server.url)
        t0 = __import__("time").perf_counter()
        results = send_level(e, LevelLoad(rate=40.0), specs, {"model": "m"}, 5.0, 1, started.append)
        poisson_s = results[-1].start_s - t0
        capped = send_level(e, LevelLoad(concurrency=2), specs, {"model": "m"}, 5.0, 1)
    assert started == list(range(12)) and len(results) == 12
    # 11 exponential gaps at 40/s: about 0.27 s; far from all-at-once and from 1 s
    assert 0.05 < poisson_s < 1.0
    starts = sorted(r.start_s for r in results)
    assert all(b >= a for a, b in zip(starts, starts[1:]))
    # never more than 2 in flight at fixed concurrency 2
    events = sorted([(r.start_s, 1) for r in capped] + [(r.end_s, -1) for r in capped])
    in_flight = max(__import__("itertools").accumulate(d for _, d in events))
    assert in_flight <= 2 and all(r.generated_tokens == 3 for r in capped)
