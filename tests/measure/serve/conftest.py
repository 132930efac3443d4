"""Fixtures for `measure serve` tests: the tiny model folder, and a small local HTTP server
that streams what a test tells it to (for error paths only: the measured path runs
against a real `transformers serve`)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from measure.tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama")


def good_events(n_tokens: int, prompt_tokens: int) -> list[str]:
    events = [
        json.dumps({"choices": [{"index": 0, "text": f" w{10 + i}"}]}) for i in range(n_tokens)
    ]
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": n_tokens}
    events.append(
        json.dumps({"choices": [{"text": "", "finish_reason": "length"}], "usage": usage})
    )
    return events


class FakeServer:
    """``mode(i)`` gives request i's behaviour: "ok", "garbage", "http500", "error-event",
    "hang" (sleeps past the client's timeout)."""

    def __init__(self, model: str, mode=lambda i: "ok"):
        self.model, self.mode, self.count = model, mode, 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                body = json.dumps(
                    {"object": "list", "data": [{"id": fake.model, "owned_by": "fake"}]}
                )
                self._send(200, body.encode(), "application/json")

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    i, fake.count = fake.count, fake.count + 1
                mode = fake.mode(i)
                if mode == "http500":
                    self._send(500, b'{"detail": "boom"}', "application/json")
                    return
                if mode == "hang":
                    time.sleep(3)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if mode == "garbage":
                    self.wfile.write(b"data: {not json at all\n\n")
                    return
                if mode == "error-event":
                    self.wfile.write(b'data: {"error": "out of memory"}\n\n')
                    return
                n = int(request.get("max_tokens", 4))
                for event in good_events(n, len(request["prompt"].split())):
                    self.wfile.write(f"data: {event}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.002)
                self.wfile.write(b"data: [DONE]\n\n")

            def _send(self, status, body, kind):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
