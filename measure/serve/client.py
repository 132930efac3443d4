"""Streaming completions from an OpenAI-compatible server, over plain HTTP.

The standard library's ``http.client`` does the talking: no extra dependency, and a
request's own cost stays small and predictable (bench/serve_overhead.py measures it).
One connection per request, so a slow stream never holds up another.

Server-sent events are parsed line by line (``data: {...}`` events separated by blank
lines; ``data: [DONE]`` or the end of the body ends the stream).  Every event that carries
text is a token arrival: its time feeds time-to-first-token and inter-token latencies.
An event that is no JSON, or holds an ``error``, or a non-2xx status, raises
:class:`ServeError` with the URL and what was wrong.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class ServeError(RuntimeError):
    """The server refused, timed out, answered an HTTP error or streamed a malformed
    event; the message names the URL and the problem."""


@dataclass
class RequestResult:
    """One streamed request; times are ``time.perf_counter()`` seconds."""

    start_s: float
    end_s: float
    token_times_s: list[float] = field(default_factory=list)  # arrival of each text event
    prompt_tokens: int | None = None  # from the server's usage, where it sent one
    output_tokens: int | None = None
    finish_reason: str | None = None
    requested_input_tokens: int = 0
    requested_output_tokens: int = 0

    @property
    def ttft_s(self) -> float | None:
        return self.token_times_s[0] - self.start_s if self.token_times_s else None

    @property
    def e2e_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def itl_s(self) -> list[float]:
        t = self.token_times_s
        return [b - a for a, b in zip(t, t[1:])]

    @property
    def generated_tokens(self) -> int:
        """Output tokens: the server's usage where sent, else the text events counted."""
        return self.output_tokens if self.output_tokens is not None else len(self.token_times_s)

    @property
    def input_tokens(self) -> int:
        return self.prompt_tokens if self.prompt_tokens is not None else self.requested_input_tokens


@dataclass(frozen=True)
class Endpoint:
    """Where the server is: ``http://host:port`` plus an optional path prefix."""

    url: str
    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServeError(f"server URL {url!r}: give http://HOST:PORT")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ServeError(f"server URL {url!r}: the port is not a number") from None
        prefix = parts.path.rstrip("/")
        if prefix.endswith("/v1"):  # "http://h:p/v1" is how OpenAI clients spell it
            prefix = prefix[: -len("/v1")]
        return cls(url.rstrip("/"), parts.scheme, parts.hostname, port, prefix)

    def connection(self, timeout_s: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=timeout_s)

    def where(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.prefix}{path}"


def get_json(endpoint: Endpoint, path: str, timeout_s: float = 10.0) -> tuple[dict, dict]:
    """GET a JSON document; returns (document, response headers in lower case)."""
    conn = endpoint.connection(timeout_s)
    where = endpoint.where(path)
    try:
        conn.request("GET", endpoint.prefix + path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        raise ServeError(f"{where}: {_network_problem(exc, timeout_s)}") from None
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        raise ServeError(f"{where}: HTTP {response.status} {_snippet(body)}")
    try:
        return json.loads(body), headers
    except ValueError:
        raise ServeError(f"{where}: the answer is not JSON ({_snippet(body)})") from None


def stream_completion(
    endpoint: Endpoint,
    body: dict,
    timeout_s: float,
    requested_input_tokens: int = 0,
) -> RequestResult:
    """POST ``body`` (with ``"stream": true``) to ``/v1/completions`` and read the stream.
    ``timeout_s`` bounds connecting and each wait for the next bytes."""
    path = "/v1/completions"
    where = endpoint.where(path)
    payload = json.dumps({**body, "stream": True}).encode()
    conn = endpoint.connection(timeout_s)
    start_s = time.perf_counter()
    result = RequestResult(
        start_s,
        start_s,
        requested_input_tokens=requested_input_tokens,
        requested_output_tokens=int(body.get("max_tokens") or 0),
    )
    try:
        conn.request(
            "POST",
            endpoint.prefix + path,
            body=payload,
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        )
        response = conn.getresponse()
        if not 200 <= response.status < 300:
            raise ServeError(f"{where}: HTTP {response.status} {_snippet(response.read())}")
        _read_events(response, result, where)
    except (OSError, http.client.HTTPException) as exc:
        raise ServeError(f"{where}: {_network_problem(exc, timeout_s)}") from None
    finally:
        conn.close()
    result.end_s = time.perf_counter()
    return result


def _read_events(response, result: RequestResult, where: str) -> None:
    data: list[str] = []
    n_event = 0
    for raw in response:  # the body, line by line, as it arrives
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line == "" and data:
            n_event += 1
            if _event(" ".join(data), result, where, n_event):
                return
            data = []
        elif line and not line.startswith((":", "event:", "id:", "retry:")):
            raise ServeError(
                f"{where}: malformed server-sent event {n_event + 1} (a line that is no "
                f"'data:' field: {line[:120]!r})"
            )
    if data:  # a last event without its blank line
        n_event += 1
        _event(" ".join(data), result, where, n_event)
    if n_event == 0:
        raise ServeError(f"{where}: the stream ended without a single event")


def _event(text: str, result: RequestResult, where: str, n: int) -> bool:
    """Take one event's data; True at ``[DONE]``."""
    now = time.perf_counter()
    if text.strip() == "[DONE]":
        return True
    try:
        event = json.loads(text)
    except ValueError:
        raise ServeError(
            f"{where}: malformed server-sent event {n} (not JSON: {text[:120]!r})"
        ) from None
    if not isinstance(event, dict):
        raise ServeError(f"{where}: malformed server-sent event {n} (not a JSON object)")
    if event.get("error"):
        raise ServeError(f"{where}: the server reported an error mid-stream: {event['error']}")
    choices = event.get("choices") or []
    if not isinstance(choices, list):
        raise ServeError(f"{where}: malformed server-sent event {n} ('choices' is no list)")
    for choice in choices:
        if not isinstance(choice, dict):
            raise ServeError(f"{where}: malformed server-sent event {n} (a choice is no object)")
        if choice.get("text"):
            result.token_times_s.append(now)
        if choice.get("finish_reason"):
            result.finish_reason = str(choice["finish_reason"])
    usage = event.get("usage")
    if isinstance(usage, dict):
        for key, attr in (
            ("prompt_tokens", "prompt_tokens"),
            ("completion_tokens", "output_tokens"),
        ):
            if isinstance(usage.get(key), int):
                setattr(result, attr, usage[key])
    return False


def _network_problem(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, on this port?)"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout_s:g} s (timed out)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc})"
    if isinstance(exc, http.client.IncompleteRead | http.client.RemoteDisconnected):
        return f"the server closed the connection mid-answer ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:200] + ("..." if len(text) > 200 else "")
