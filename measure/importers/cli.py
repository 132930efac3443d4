"""`python -m measure import FILE... [--db PATH] [--system NAME]`: import published files.

Each file's format is told from its content: the paper's CSVs become `measurements`, and
ML.ENERGY Leaderboard v3 JSON files (`tasks/<task>.json`, `models/<org>__<model>__<task>.json`)
become `serving` rows, one per configuration.  Each file lands whole or not at all.  Good files land even when others are malformed; the
exit code is 1 if any file failed, with one line per failure on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from measure.flags import INFORMATIONAL_FLAGS
from measure.importers.mlenergy import (
    CITATION,
    ServingImportSummary,
    import_mlenergy_file,
    is_json,
)
from measure.importers.paper import ImportSummary, import_file
from measure.importers.paper_format import MalformedFileError
from measure.paths import DEFAULT_DB_PATH
from measure.store import Store, StoreError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "import",
        help="import published measurements (the paper's CSVs, ML.ENERGY JSON) into the store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="CSV or ML.ENERGY JSON file(s) to import"
    )
    parser.add_argument(
        "--db", default=str(DEFAULT_DB_PATH), help="DuckDB store (default: %(default)s)"
    )
    parser.add_argument(
        "--system",
        default=None,
        help="system name for files without a System column (a file whose "
        "System, or ML.ENERGY gpu_model, differs is refused, never renamed)",
    )
    parser.add_argument(
        "--kv-cache",
        choices=("on", "off"),
        default=None,
        help="record the KV-cache setting (default: unknown, stored as NULL)",
    )
    parser.add_argument("--dtype", default=None, help="record the weights' dtype, e.g. bfloat16")
    parser.add_argument(
        "--batch-size-from-file",
        action="store_true",
        help="store the file's Batch Size as the batch size (default: 1, as in "
        "the paper's files each measurement is one prompt)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    store = Store(args.db)
    try:
        store.check()  # a path that is no store fails once, not once per file
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    kv_cache = None if args.kv_cache is None else args.kv_cache == "on"
    summaries: list[ImportSummary | ServingImportSummary] = []
    errors: list[dict] = []
    for path in args.files:
        try:
            if is_json(path):
                if args.kv_cache is not None or args.dtype or args.batch_size_from_file:
                    raise MalformedFileError(
                        path,
                        None,
                        "--kv-cache, --dtype and --batch-size-from-file apply to the paper's "
                        "CSVs; an ML.ENERGY file names its own weight_precision and batches "
                        "(import it in a command of its own)",
                    )
                summaries.append(import_mlenergy_file(path, store, system=args.system))
                continue
            summaries.append(
                import_file(
                    path,
                    store,
                    system=args.system,
                    kv_cache=kv_cache,
                    batch_size_from_file=args.batch_size_from_file,
                    dtype=args.dtype,
                )
            )
        except MalformedFileError as exc:
            errors.append({"file": exc.file, "line": exc.line, "error": str(exc)})
        except StoreError as exc:
            errors.append({"file": path, "line": None, "error": f"{path}: {exc}"})
    if args.json:
        print(
            json.dumps(
                {
                    "db": str(store.path),
                    "imported": [s.to_json() for s in summaries],
                    "failed": errors,
                },
                indent=2,
            )
        )
    else:
        for summary in summaries:
            print(format_summary(summary))
    for error in errors:
        print("error: " + " ".join(str(error["error"]).splitlines()), file=sys.stderr)
    return 1 if errors else 0


def format_summary(summary: ImportSummary | ServingImportSummary) -> str:
    """A few readable lines for one imported file."""
    if isinstance(summary, ServingImportSummary):
        return format_serving_summary(summary)
    if summary.already_present:
        return f"{summary.file}: already imported (run {summary.run_id}); nothing added"
    lines = [
        f"{summary.file}: {summary.n_measurements} measurements, {summary.n_startup} "
        f"start-up rows (run {summary.run_id})",
        f"  models:  {', '.join(summary.models) or '-'}",
        f"  systems: {', '.join(summary.systems) or '-'}",
    ]
    out = {k: v for k, v in summary.flag_counts.items() if k not in INFORMATIONAL_FLAGS}
    noted = {k: v for k, v in summary.flag_counts.items() if k in INFORMATIONAL_FLAGS}
    if out:
        flags = ", ".join(f"{k} {v}" for k, v in out.items())
        lines.append(f"  flagged (kept, out of fits by default): {flags}")
    if noted:
        flags = ", ".join(f"{k} {v}" for k, v in noted.items())
        lines.append(f"  noted (kept, still in fits): {flags}")
    lines += [f"  note: {note}" for note in summary.notes]
    if summary.startup_flag_counts:
        flags = ", ".join(f"{k} {v}" for k, v in summary.startup_flag_counts.items())
        lines.append(f"  start-up rows flagged: {flags}")
    return "\n".join(lines)


def format_serving_summary(summary: ServingImportSummary) -> str:
    """A few readable lines for one imported ML.ENERGY file."""
    if summary.already_present:
        return f"{summary.file}: already imported (run {summary.run_id}); nothing added"
    per = "; ".join(
        f"{task}: " + ", ".join(f"{system} {n}" for system, n in sorted(systems.items()))
        for task, systems in sorted(summary.rows_per_task_system.items())
    )
    lines = [
        f"{summary.file}: {summary.n_rows} serving configurations (run {summary.run_id})",
        f"  models:    {len(summary.models)} ({', '.join(summary.models) or '-'})",
        f"  GPU kinds: {', '.join(summary.systems) or '-'}",
        f"  per task and GPU kind: {per or '-'}",
        f"  energy: imported, GPU only ({CITATION})",
    ]
    if summary.flag_counts:
        flags = ", ".join(f"{k} {v}" for k, v in summary.flag_counts.items())
        lines.append(f"  flagged (kept, out of fits by default): {flags}")
    lines += [f"  note: {note}" for note in summary.notes]
    return "\n".join(lines)
