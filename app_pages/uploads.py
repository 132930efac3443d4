"""Uploaded bytes in, a workload or a store import out, or one clear message: never a traceback.

The pages hand these functions the uploaded file's name and bytes; the functions call
the planner's and importer's own validation and turn their errors into messages that
name the file, row and problem.  Anything unexpected becomes a generic message and the
detail goes to the log.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("app.uploads")

WORKLOAD_TYPES = ("csv", "jsonl", "json", "parquet")
MEASUREMENT_TYPES = ("csv",)
MAX_WORKLOAD_BYTES = 50 * 1024 * 1024


@dataclass
class UploadOutcome:
    """What an upload produced: ``value`` (a Workload or ImportSummary) or ``error``."""

    value: object | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def _safe_name(name: str) -> str:
    """The uploaded file's base name, never a path."""
    base = Path(str(name or "upload")).name.strip() or "upload"
    return base.replace("\x00", "")


def read_workload_upload(
    name: str, data: bytes, max_bytes: int = MAX_WORKLOAD_BYTES
) -> UploadOutcome:
    """Parse an uploaded workload file (CSV, JSONL or Parquet) with planner.workload.load."""
    from planner.workload.load import WorkloadError, load_workload

    name = _safe_name(name)
    if not data:
        return UploadOutcome(error=f"{name}: the file is empty (no queries to plan).")
    if len(data) > max_bytes:
        return UploadOutcome(
            error=f"{name}: {len(data):,} bytes is over the "
            f"{max_bytes:,}-byte limit for a workload file."
        )
    try:
        buffer = io.BytesIO(data)
        buffer.name = name
        workload = load_workload(buffer, name=name, max_bytes=max_bytes)
    except WorkloadError as exc:
        return UploadOutcome(error=str(exc))
    except Exception:  # the loader's own checks should catch everything; be safe anyway
        log.exception("reading uploaded workload %s", name)
        return UploadOutcome(
            error=f"{name}: could not be read as a CSV, JSONL or Parquet "
            "workload with input and output token columns."
        )
    return UploadOutcome(value=workload)


def import_measurement_upload(
    name: str, data: bytes, store_path: str | Path, system: str | None = None
) -> UploadOutcome:
    """Import an uploaded paper-format measurement file into the store at ``store_path``."""
    from measure.importers.paper import MalformedFileError, import_file
    from measure.store import Store, StoreError

    name = _safe_name(name)
    if not data:
        return UploadOutcome(error=f"{name}: the file is empty.")
    try:
        summary = import_file(
            name, Store(store_path), system=system or None, display_name=name, data=data
        )
    except (MalformedFileError, StoreError, ValueError) as exc:
        return UploadOutcome(error=_in_app_words(str(exc)))
    except Exception:
        log.exception("importing uploaded measurements %s", name)
        return UploadOutcome(
            error=f"{name}: could not be imported as a paper-format measurement file."
        )
    return UploadOutcome(value=summary)


def _in_app_words(message: str) -> str:
    """The importer speaks of CLI options; the page's field is 'System name'."""
    for cli, app in (
        ("with --system NAME", "in the System name field"),
        ("(drop --system)", "(leave the System name field empty)"),
        ("--system", "System name"),
    ):
        message = message.replace(cli, app)
    return message


def import_summary_rows(summary) -> list[tuple[str, str]]:
    """Label/value pairs describing an ImportSummary, for a small table."""
    flags = summary.flag_counts or {}
    flag_text = ", ".join(f"{k}: {v}" for k, v in sorted(flags.items())) or "none"
    return [
        ("file", str(summary.file)),
        ("run id", str(summary.run_id)),
        ("measurements", f"{summary.n_measurements:,}"),
        ("start-up phases", f"{summary.n_startup:,}"),
        ("flagged rows", flag_text),
        ("models", ", ".join(summary.models)),
        ("systems", ", ".join(summary.systems)),
        ("already in the store", "yes (nothing added)" if summary.already_present else "no"),
    ]
