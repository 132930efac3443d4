"""Reading workload files into raw tables, with errors that name the file and row.

Row numbers are 1-based as a user sees them: for CSV "data row N" (the header row not
counted), for JSONL "line N" of the file (blank lines counted), for a JSON list
"record N", for Parquet "row N".
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from pathlib import Path

import pandas as pd

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_TOKENS = 1_000_000
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class WorkloadError(ValueError):
    """A workload file cannot be used; the message names the file, row and problem."""


class RowLabels:
    """How a user finds the row at 0-based position ``index`` of the table read from a file."""

    def __init__(self, kind: str, lines: list[int] | None = None):
        self.kind = kind
        self.lines = lines

    def __call__(self, index: int) -> str:
        if self.kind == "jsonl":
            return f"line {self.lines[index] if self.lines else index + 1}"
        if self.kind == "json":
            return f"record {index + 1}"
        if self.kind == "parquet":
            return f"row {index + 1}"
        return f"data row {index + 1} (header row not counted)"


def _read_bytes(source, name: str | None, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        file = str(path)
        if not path.exists():
            raise WorkloadError(f"{file}: no such file")
        if path.is_dir():
            raise WorkloadError(f"{file}: is a directory, not a workload file")
        size = path.stat().st_size
        if size > max_bytes:
            raise WorkloadError(f"{file}: {size:,} bytes is over the {max_bytes:,}-byte limit")
        try:
            return path.read_bytes(), file
        except OSError as exc:
            raise WorkloadError(f"{file}: cannot read: {exc}") from exc
    file = getattr(source, "name", None) or name or "<uploaded workload>"
    data = source.read(max_bytes + 1)
    if isinstance(data, str):
        data = data.encode()
    if len(data) > max_bytes:
        raise WorkloadError(f"{file}: over the {max_bytes:,}-byte limit")
    return data, str(file)


def _kind(file: str, data: bytes) -> str:
    kind = FORMATS.get(Path(file).suffix.lower())
    if kind:
        return kind
    head = data.lstrip()[:4]
    if data[:4] == b"PAR1":
        return "parquet"
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl"
    return "csv"


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WorkloadError(f"{file}: line {line}: not UTF-8 text ({exc.reason})") from exc


def _records_frame(records: list, file: str, label) -> pd.DataFrame:
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise WorkloadError(
                f"{file}: {label(i)}: expected an object with named fields, "
                f"got {type(rec).__name__}"
            )
    return pd.DataFrame.from_records(records)


def _read_jsonl(text: str, file: str) -> tuple[pd.DataFrame, list[int]]:
    records, lines = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkloadError(f"{file}: line {lineno}: not valid JSON ({exc.msg})") from exc
        lines.append(lineno)
        records.append(rec)
    return _records_frame(records, file, lambda i: f"line {lines[i]}"), lines


def _read_json(text: str, file: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{file}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise WorkloadError(f"{file}: expected a JSON list of records")
    return _records_frame(data, file, lambda i: f"record {i + 1}")


def _read_csv(text: str, file: str) -> pd.DataFrame:
    sep = "\t" if file.lower().endswith(".tsv") else ","
    try:
        with warnings.catch_warnings():
            # index_col=False: rows longer than the header are an error, not an index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, index_col=False
            )
    except pd.errors.EmptyDataError as exc:
        raise WorkloadError(f"{file}: empty file (no header and no rows)") from exc
    except pd.errors.ParserWarning as exc:
        raise WorkloadError(f"{file}: {_long_row(text, sep)}") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WorkloadError(f"{file}: cannot parse as CSV: {detail}") from exc
    header = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    seen: dict[str, str] = {}
    for name in header:
        key = name.strip().lower()
        if key in seen:
            raise WorkloadError(
                f"{file}: header row: column {name!r} appears more than once "
                f"(also as {seen[key]!r})"
            )
        seen[key] = name
    return frame


def _long_row(text: str, sep: str) -> str:
    """Which data row has more fields than the header (found only on that error path)."""
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    width = len(next(rows, []))
    for i, row in enumerate(rows, start=1):
        if len(row) > width:
            return (
                f"data row {i} (header row not counted): {len(row)} fields, but the "
                f"header has {width}"
            )
    return "a data row has more fields than the header"


def _read_parquet(data: bytes, file: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise WorkloadError(
            f"{file}: cannot read as Parquet: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc


def read_table(
    source, *, name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[pd.DataFrame, str, RowLabels]:
    """(raw table, file label, row labels); raises WorkloadError for anything unreadable."""
    data, file = _read_bytes(source, name, max_bytes)
    if not data.strip():
        raise WorkloadError(f"{file}: empty file")
    kind = _kind(file, data)
    lines = None
    if kind == "parquet":
        frame = _read_parquet(data, file)
    elif kind == "jsonl":
        frame, lines = _read_jsonl(_decode(data, file), file)
    else:
        reader = {"csv": _read_csv, "json": _read_json}[kind]
        frame = reader(_decode(data, file), file)
    if len(frame) == 0:
        raise WorkloadError(f"{file}: no queries (the file has no data rows)")
    return frame, file, RowLabels(kind, lines)
