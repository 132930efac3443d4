"""Uploaded bytes in, a workload or a store import out, or one clear message: never a traceback.

The pages hand these functions the uploaded file's name and bytes; the functions call
the planner's and importer's own validation and turn their errors into messages that
name the file, row and problem.  Anything unexpected becomes a generic message and the
detail goes to the log.

Streamlit refuses a file over ``server.maxUploadSize`` (.streamlit/config.toml) or of a type
the uploader does not list before this code sees it, with no message on the page; so the
uploaders list every type the readers take, and the byte limits here sit below Streamlit's,
so a large file reaches these functions and is refused in words.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

from planner.workload.formats import FORMATS

log = logging.getLogger("app.uploads")

WORKLOAD_TYPES = tuple(suffix.lstrip(".") for suffix in FORMATS)
MEASUREMENT_TYPES = ("csv",)
MB = 1024 * 1024
# Below Streamlit's maxUploadSize (200 MB); a million-query trace is some 15-60 MB
MAX_WORKLOAD_BYTES = 100 * MB
MAX_MEASUREMENT_BYTES = 50 * MB  # the published measurement files are under 1 MB


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


def _size(n_bytes: int) -> str:
    return f"{n_bytes:,} bytes" if n_bytes < MB else f"{n_bytes / MB:,.1f} MB"


def too_large(name: str, n_bytes: int, max_bytes: int, what: str) -> str | None:
    """The message refusing a file over ``max_bytes``, or None when it fits."""
    if n_bytes <= max_bytes:
        return None
    return (
        f"{name}: the file is {_size(n_bytes)}, over the {_size(max_bytes)} limit for "
        f"{what}. Upload a smaller file (fewer rows, or repeated rows folded into a "
        "count column)."
    )


def read_workload_upload(
    name: str, data: bytes, max_bytes: int = MAX_WORKLOAD_BYTES
) -> UploadOutcome:
    """Parse an uploaded workload file (CSV, JSONL, JSON or Parquet) with planner.workload.load."""
    from planner.workload.load import WorkloadError, load_workload

    name = _safe_name(name)
    if not data:
        return UploadOutcome(error=f"{name}: the file is empty (no queries to plan).")
    refused = too_large(name, len(data), max_bytes, "a workload upload")
    if refused:
        return UploadOutcome(error=refused)
    try:
        buffer = io.BytesIO(data)
        buffer.name = name
        workload = load_workload(buffer, name=name, max_bytes=max_bytes)
    except WorkloadError as exc:
        return UploadOutcome(error=str(exc))
    except Exception:  # the loader's own checks should catch everything; be safe anyway
        log.exception("reading uploaded workload %s", name)
        return UploadOutcome(
            error=f"{name}: could not be read as a CSV, JSONL, JSON or Parquet "
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
    refused = too_large(name, len(data), MAX_MEASUREMENT_BYTES, "a measurement file")
    if refused:
        return UploadOutcome(error=refused)
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
