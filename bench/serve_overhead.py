"""The load generator's own cost: client CPU time per request, and the largest concurrency one
client process sustains before its overhead distorts measured latencies by more than 1%.

The server is a trivial streaming one started here in its own process (asyncio, no model):
every request gets ``--tokens`` events, event k sent at start + k x ``--interval-ms`` on an
absolute schedule, so its latencies are known and the same at any concurrency.  The client
is ``measure serve``'s own (``measure.serve.loadgen.send_level`` over
``measure.serve.client``).  Per concurrency level, side by side in one run:

- ``client CPU/request``: this process's CPU time over the level / requests;
- ``e2e p50`` and ``ITL p99`` as measured, and ``e2e ratio`` = median end-to-end latency /
  the same at concurrency 1 (1.00 means no distortion; the server's ideal e2e is
  tokens x interval).  Anything above 1 is the client's threads (and, on a busy machine,
  the trivial server's) getting in each other's way.

The answer is the largest level whose e2e ratio stays <= 1.01.

    .venv/bin/python bench/serve_overhead.py [--levels 1,2,4,...,256] [--tokens 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure.serve.client import Endpoint  # noqa: E402
from measure.serve.loadgen import LevelLoad, RequestSpec, send_level  # noqa: E402

GOAL_RATIO = 1.01


def trivial_server(port: int, interval_s: float, ready) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = json.loads(await reader.readexactly(length)) if length else {}
        n = int(body.get("max_tokens", 16))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        start = time.perf_counter()
        for k in range(n):
            delay = start + k * interval_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(b'data: {"choices": [{"index": 0, "text": " w7"}]}\n\n')
            await writer.drain()
        usage = {"prompt_tokens": 4, "completion_tokens": n}
        final = {"choices": [{"text": "", "finish_reason": "length"}], "usage": usage}
        writer.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def level(endpoint: Endpoint, concurrency: int, requests: int, tokens: int) -> dict:
    specs = [RequestSpec(4, tokens, "w5 w6 w7 w8")] * requests
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = send_level(
        endpoint, LevelLoad(concurrency=concurrency), specs, {"model": "m"}, 30.0, 0
    )
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    steady = results[concurrency:]  # the first round starts all at once
    itl = [x for r in steady for x in r.itl_s]
    return {
        "c": concurrency,
        "n": requests,
        "cpu_ms_per_request": 1000 * cpu_s / requests,
        "cpu_share": cpu_s / wall_s,
        "e2e_ms_p50": 1000 * float(np.median([r.e2e_s for r in steady])),
        "itl_ms_p99": 1000 * float(np.percentile(itl, 99)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--levels", default="1,2,4,8,16,32,64,128,256")
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--interval-ms", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=4, help="requests per level = rounds x c")
    args = p.parse_args()
    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=trivial_server, args=(port, args.interval_ms / 1000, ready), daemon=True
    )
    server.start()
    ready.wait(30)
    endpoint = Endpoint.parse(f"http://127.0.0.1:{port}")
    ideal_ms = args.tokens * args.interval_ms
    print(
        f"trivial server: {args.tokens} tokens every {args.interval_ms:g} ms "
        f"(ideal e2e {ideal_ms - args.interval_ms:.0f} ms from first byte)"
    )
    level(endpoint, 1, 4, args.tokens)  # warm the imports and the server
    rows, base = [], None
    try:
        for c in [int(v) for v in args.levels.split(",")]:
            row = level(endpoint, c, max(args.rounds * c, 16) + c, args.tokens)
            base = base or row["e2e_ms_p50"]
            row["ratio"] = row["e2e_ms_p50"] / base
            rows.append(row)
            print(
                f"c={c:>4}  requests {row['n']:>5}  client CPU/request "
                f"{row['cpu_ms_per_request']:6.2f} ms  client CPU share {row['cpu_share']:5.2f}  "
                f"e2e p50 {row['e2e_ms_p50']:7.1f} ms  ITL p99 {row['itl_ms_p99']:6.2f} ms  "
                f"e2e ratio {row['ratio']:.4f}",
                flush=True,
            )
    finally:
        server.terminate()
    ok = [r["c"] for r in rows if r["ratio"] <= GOAL_RATIO]
    largest = 0
    for r in rows:  # the largest level before the first one over the goal
        if r["ratio"] > GOAL_RATIO:
            break
        largest = r["c"]
    cpu = np.median([r["cpu_ms_per_request"] for r in rows])
    print(
        f"client CPU per request (median over levels): {cpu:.2f} ms for {args.tokens} "
        f"streamed tokens ({1000 * cpu / args.tokens:.0f} us per token event)"
    )
    print(
        f"largest concurrency with e2e distortion <= {100 * (GOAL_RATIO - 1):.0f}%: {largest} "
        f"(levels within: {ok})"
    )


if __name__ == "__main__":
    main()
