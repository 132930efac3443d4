"""Import of a large paper-format CSV: time and peak memory, beside hashing and DuckDB's read_csv.

Generates a paper-format CSV (the Swing grid's columns, short prompts, some quoted and spanning
lines; 1,000,000 rows, about 100 MB, by default) in a temporary folder, then runs each step in its
own child process and reports its wall time and peak resident memory (``os.wait4``'s
``ru_maxrss`` of that child):

(a) ``python -m measure import FILE --db NEW`` (the whole command, start-up included),
(b) the same command again on the same bytes ("already imported"),
(c) hashing the file as the importer does (``paper_format.sha256_of``),
(d) DuckDB's own ``read_csv`` of the file into a table of a new database file,
(e) a bare Python child that imports what (a) imports and does nothing (the floor of (a)/(b)).

Prints figures and ratios side by side; asserts nothing.  ``--rows N`` changes the size.
Run as ``.venv/bin/python bench/import_scale.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = (
    "Timestamp,Phase,Runtime (s),GPU Energy (mJ),Number of Output Tokens,"
    "Number of Input Tokens,Iteration,Model,Number of GPUs,Prompt,Total Number of Tokens,"
    "Batch Size,System"
)
# Short prompts keep the file near 100 bytes a row; some are quoted and span lines.
PROMPTS = ("Hi", "What is 2+2?", '"Say ""hi""."', '"int main(void)\n{ return 0; }"', "Name a city.")
MODELS = ("Llama-2-7b-chat-hf", "Mistral-7B-v0.1", "falcon-7b", "Llama-2-13b-chat-hf")
GRID = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)


def write_file(path: Path, rows: int, seed: int = 0) -> None:
    """A paper-format file of ``rows`` records: per model a tokenizer and a model-load row,
    then inference rows over the token grid."""
    rng = random.Random(seed)
    stamp = 1714146368.0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        written = 0
        while written < rows:
            model = MODELS[(written // 1000) % len(MODELS)]
            if written % 1000 == 0:
                for phase in ("tokenizer", "model load"):
                    out.write(
                        f"{stamp:.1f},{phase},{rng.uniform(0.3, 50):.4f},"
                        f"{rng.randint(10_000, 3_000_000)},32,0,0,{model},1,startup,0,32,"
                        "argonne-swing\n"
                    )
                    written += 1
                    stamp += 1.0
                continue
            tin, tout = rng.choice(GRID), rng.choice(GRID)
            runtime = 0.08 * tout * rng.uniform(0.9, 1.1)
            energy_mj = int(runtime * rng.uniform(150, 300) * 1000)
            out.write(
                f"{stamp:.1f},start-inference-A-{tout},{runtime:.4f},{energy_mj},{tout},{tin},"
                f"{written % 10},{model},1,{rng.choice(PROMPTS)},{tin + tout},32,argonne-swing\n"
            )
            written += 1
            stamp += runtime


def measured(code: str, *args: str) -> dict:
    """Run ``python -c code args`` as a child: its wall time, the step's own seconds (the
    last line it prints), peak resident memory (``os.wait4`` on its pid) and what it said."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parent.parent,
    )
    lines = proc.stdout.read().decode().strip().splitlines()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    try:
        step = float(lines[-1])
        lines = lines[:-1]
    except (IndexError, ValueError):
        step = float("nan")
    return {
        "wall_s": wall,
        "step_s": step,
        "peak_mb": usage.ru_maxrss / 1024.0,  # Linux reports KiB
        "rc": proc.returncode,
        "said": " | ".join(line.strip() for line in lines[:2])[:80],
    }


# Every child loads what `measure import` loads (its parser, pandas, DuckDB) first, so start-up
# costs the same in each; each prints what it has to say, then the seconds its step took.
PRELUDE = (
    "import sys, time\n"
    "from measure.__main__ import SUBCOMMAND_MODULES, main\n"
    "from measure.cli import build_parser\n"
    "build_parser('measure', '', SUBCOMMAND_MODULES)\n"
    "import measure.importers, measure.store\n"
    "t = time.perf_counter()\n"
)
IMPORT = PRELUDE + (
    "code = main(sys.argv[1:])\nprint(f'{time.perf_counter() - t:.3f}')\nsys.exit(code)"
)
HASH = PRELUDE + (
    "from measure.importers.paper_format import sha256_of\n"
    "with open(sys.argv[1], 'rb') as f: sha256_of(f, sys.argv[1])\n"
    "print(f'{time.perf_counter() - t:.3f}')"
)
READ_CSV = PRELUDE + (
    "import duckdb\n"
    "con = duckdb.connect(sys.argv[2])\n"
    "con.execute('SET enable_progress_bar = false')\n"
    "con.execute('CREATE TABLE t AS SELECT * FROM read_csv(?)', [sys.argv[1]])\n"
    "n = con.execute('SELECT count(*) FROM t').fetchall()[0][0]\n"
    "con.close()\n"
    "print(f'{n} rows'); print(f'{time.perf_counter() - t:.3f}')"
)
FLOOR = PRELUDE + "print(f'{time.perf_counter() - t:.3f}')"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-scale-") as tmp:
        tmp = Path(tmp)
        csv_path, db = tmp / "big-grid.csv", tmp / "store.duckdb"
        t = time.perf_counter()
        write_file(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"file: {args.rows:,} rows, {size_mb:.1f} MB, written in {time.perf_counter() - t:.1f} s"
        )
        steps = {
            "e": ("start-up only (python + importer CLI)", measured(FLOOR)),
            "a": ("(a) measure import", measured(IMPORT, "import", str(csv_path), "--db", str(db))),
            "b": (
                "(b) measure import, same bytes",
                measured(IMPORT, "import", str(csv_path), "--db", str(db)),
            ),
            "c": ("(c) sha256 of the file", measured(HASH, str(csv_path))),
            "d": (
                "(d) duckdb read_csv into a table",
                measured(READ_CSV, str(csv_path), str(tmp / "plain.duckdb")),
            ),
        }
        print(f"\n{'step':<40} {'wall s':>7} {'step s':>7} {'peak MB':>8}  rc  said")
        for name, r in steps.values():
            print(
                f"{name:<40} {r['wall_s']:7.2f} {r['step_s']:7.2f} {r['peak_mb']:8.0f}  "
                f"{r['rc']:>2}  {r['said']}"
            )
        a, b, c, d = (steps[k][1] for k in "abcd")
        print("\nratios (step s: after the same start-up in each child)")
        print(f"  import / duckdb read_csv, step time:   {a['step_s'] / d['step_s']:7.1f}x")
        print(f"  import / duckdb read_csv, peak memory: {a['peak_mb'] / d['peak_mb']:7.1f}x")
        print(f"  import again / hash, step time:        {b['step_s'] / c['step_s']:7.1f}x")
        print(f"  import again / hash, wall:             {b['wall_s'] / c['wall_s']:7.1f}x")
        print(f"  import peak memory per MB of file:     {a['peak_mb'] / size_mb:7.2f} MB")
        print(f"  store size after the import: {db.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
