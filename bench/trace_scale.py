"""Trace aggregation benchmark: a 50,000,000-request Parquet trace into a 5-minute profile.

Run from the project root:  .venv/bin/python bench/trace_scale.py [--requests N]

DuckDB writes a synthetic trace (arrival seconds over a week, input and output tokens) to a
temporary directory, deleted afterwards.  Then, each in its own child process, side by side
in one run: DuckDB's own ``GROUP BY`` of the file into 5-minute slots (count and token sums;
the floor of what any aggregation costs), and the planner's load profile
(``planner.capacity.profile.profile_from_trace`` -> ``measure.store.traces``: slots from
the clock, numbered from the first, deferral classes, under a 1 GB DuckDB memory limit),
without and with approximate p50/p90 output tokens per slot.  Each child reports its wall time and its
own peak memory (``ru_maxrss``).  Goal: within 1.5x DuckDB's own time and under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SLOT_S = 300.0
WEEK_S = 7 * 24 * 3600.0


def generate(path: Path, n: int) -> float:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"COPY (SELECT i * {WEEK_S / n!r} + random() AS arrival_s, "
        "CAST(10 + floor(random() * 2000) AS INTEGER) AS input_tokens, "
        "CAST(5 + floor(random() * 800) AS INTEGER) AS output_tokens "
        f"FROM range({int(n)}) t(i)) TO '{path}' (FORMAT parquet)"
    )
    con.close()
    return time.perf_counter() - t0


def child(kind: str, path: str) -> None:
    t0 = time.perf_counter()
    imports_s = 0.0
    if kind == "duckdb":
        import duckdb

        imports_s = time.perf_counter() - t0
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        rows = con.execute(
            "SELECT floor(arrival_s / ?) AS slot, count(*), sum(input_tokens), "
            "sum(output_tokens) FROM read_parquet(?) GROUP BY 1 ORDER BY 1",
            [SLOT_S, path],
        ).fetchall()
        n_slots, requests = len(rows), sum(r[1] for r in rows)
    else:
        from planner.capacity.profile import profile_from_trace

        imports_s = time.perf_counter() - t0
        profile = profile_from_trace(
            path,
            SLOT_S,
            arrival="arrival_s",
            output="output_tokens",
            input="input_tokens",
            quantiles=kind == "profile+quantiles",
        )
        n_slots, requests = profile.n_slots, profile.n_requests
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"kind": kind, "s": seconds, "peak_mb": peak, "slots": n_slots,
                      "requests": int(requests), "imports_s": imports_s}))  # fmt: skip


def run_child(kind: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        path = Path(tmp) / "trace.parquet"
        seconds = generate(path, args.requests)
        size_mb = path.stat().st_size / 2**20
        print(f"trace: {args.requests:,} requests, {size_mb:.0f} MB Parquet, written in "
              f"{seconds:.1f} s")  # fmt: skip
        results = {}
        for kind in ("duckdb", "profile", "profile+quantiles"):
            results[kind] = r = run_child(kind, path)
            print(
                f"  {kind:22s} {r['s']:6.2f} s (of which imports {r['imports_s']:.2f} s), "
                f"peak {r['peak_mb']:6.0f} MB, "
                f"{r['slots']} slots, {r['requests']:,} requests"
            )
        base = results["duckdb"]["s"]
        for kind in ("profile", "profile+quantiles"):
            r = results[kind]
            ratio = r["s"] / base
            ok = ratio <= 1.5 and r["peak_mb"] < 2048
            print(
                f"{kind}: {ratio:.2f}x DuckDB's own GROUP BY, peak {r['peak_mb']:.0f} MB "
                f"(goal <= 1.5x and < 2048 MB: {'met' if ok else 'NOT met'})"
            )
        assert results["profile"]["requests"] == args.requests
    return 0


if __name__ == "__main__":
    sys.exit(main())
