"""Reading workload files into raw tables, with errors that name the file and row.

Row numbers are 1-based as a user sees them: for CSV "data row N" (the header row not
counted), for JSONL "line N" of the file (blank lines counted), for a JSON list
"record N", for Parquet "row N".
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import stat
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


# json.loads recurses once per level; a workload record needs two or three levels
TOO_DEEP = "JSON nested too deeply to read (a workload record is an object of token counts)"


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
        return _read_path(Path(source), max_bytes), str(source)
    file = getattr(source, "name", None) or name or "<uploaded workload>"
    data = source.read(max_bytes + 1)
    if isinstance(data, str):
        data = data.encode()
    if len(data) > max_bytes:
        raise WorkloadError(f"{file}: over the {max_bytes:,}-byte limit")
    return data, str(file)


def _read_path(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; what stands in the way (a loop of links, a FIFO) named in words."""
    file = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise WorkloadError(
                f"{file}: a symbolic link to {os.readlink(path)!r}, which does not exist"
            ) from None
        raise WorkloadError(f"{file}: no such file") from None
    except OSError as exc:  # ELOOP, EACCES, ENOTDIR, ENAMETOOLONG: the system's own words
        raise WorkloadError(f"{file}: cannot open: {_os_reason(exc)}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise WorkloadError(f"{file}: is a directory, not a workload file")
    if not stat.S_ISREG(info.st_mode):
        # a FIFO or device (/dev/zero) has no size to check and may never end
        raise WorkloadError(f"{file}: not a regular file (a pipe, socket or device)")
    if info.st_size > max_bytes:
        raise WorkloadError(f"{file}: {info.st_size:,} bytes is over the {max_bytes:,}-byte limit")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # a file growing while read stays bounded
    except OSError as exc:
        raise WorkloadError(f"{file}: cannot read: {_os_reason(exc)}") from exc
    if len(data) > max_bytes:
        raise WorkloadError(f"{file}: over the {max_bytes:,}-byte limit")
    return data


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


# Leading bytes of files people upload by mistake, and what to call them.
NOT_A_TABLE = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one: save it as CSV)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel/Office document (save it as CSV)"),
    (b"\x1f\x8b", "gzip-compressed (decompress it first)"),
    (b"\xfd7zXZ\x00", "xz-compressed (decompress it first)"),
    (b"(\xb5/\xfd", "zstd-compressed (decompress it first)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program (ELF executable)"),
)


def _not_a_table(data: bytes, file: str) -> None:
    """Refuse a known non-table file by what it is, before it fails as undecodable text."""
    for magic, what in NOT_A_TABLE:
        if data.startswith(magic):
            raise WorkloadError(
                f"{file}: this is {what}, not UTF-8 text or Parquet: a workload is a "
                "CSV, JSONL, JSON or Parquet table of token counts"
            )


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
        except RecursionError:
            raise WorkloadError(f"{file}: line {lineno}: {TOO_DEEP}") from None
        lines.append(lineno)
        records.append(rec)
    return _records_frame(records, file, lambda i: f"line {lines[i]}"), lines


def _read_json(text: str, file: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{file}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    except RecursionError:
        raise WorkloadError(f"{file}: {TOO_DEEP}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise WorkloadError(f"{file}: expected a JSON list of records")
    return _records_frame(data, file, lambda i: f"record {i + 1}")


def _read_csv(text: str, file: str, data: bytes | None = None) -> pd.DataFrame:
    sep = "\t" if file.lower().endswith(".tsv") else ","
    try:  # newline="": the csv module's own line ends, old Mac "\r" ones included
        # the header lies in the first megabyte of any real file; no copy of the rest
        header = next(csv.reader(io.StringIO(text[:_HEAD_CHARS], newline=""), delimiter=sep), [])
    except csv.Error as exc:  # such as a header field over csv's size limit
        raise WorkloadError(f"{file}: header row: cannot parse as CSV: {exc}") from exc
    seen: dict[str, str] = {}
    for name in header:
        key = name.strip().lower()
        if key in seen:
            raise WorkloadError(
                f"{file}: header row: column {name!r} appears more than once "
                f"(also as {seen[key]!r})"
            )
        seen[key] = name
    frame = _arrow_csv(data, text, sep, header) if data is not None else None
    if frame is not None:
        return frame
    try:
        with warnings.catch_warnings():
            # index_col=False: rows longer than the header are an error, not an index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, index_col=False
            )
    except pd.errors.EmptyDataError as exc:
        raise WorkloadError(f"{file}: empty file (no header and no rows)") from exc
    except pd.errors.ParserWarning as exc:
        raise WorkloadError(f"{file}: {_long_row(text, sep)}") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WorkloadError(f"{file}: cannot parse as CSV: {detail}") from exc


def _arrow_csv(data: bytes, text: str, sep: str, header: list[str]) -> pd.DataFrame | None:
    """The table by Arrow's CSV reader, some ten times faster than pandas' on a million rows,
    or None when Arrow stops at anything (a short or long row, a newline inside quotes):
    pandas then reads the file and names the problem, or fills short rows as it always has.

    Every column is text, as pandas reads it (``dtype=str``, empty cells kept as "").
    """
    if (
        not header
        or not all(name.strip() for name in header)  # pandas names these "Unnamed: N"
        or '"' in text  # quoting: Arrow takes an unclosed quote at the end, pandas refuses it
        or "\x00" in text
        or ("\r" in text and text.count("\r") != text.count("\r\n"))  # old Mac line ends
        or _blankish_line(text)
    ):
        return None
    end = text.find("\n")
    first = text[: end if end >= 0 else len(text)].rstrip("\r")
    if next(csv.reader([first], delimiter=sep), None) != header:
        return None  # blank lines above the header
    import pyarrow as pa
    import pyarrow.csv as pcsv

    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    try:
        table = pcsv.read_csv(
            io.BytesIO(body),
            read_options=pcsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pcsv.ParseOptions(delimiter=sep),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    text_dtype = _TEXT if isinstance(_TEXT, pd.api.extensions.ExtensionDtype) else None
    return table.to_pandas(types_mapper={pa.string(): text_dtype}.get)


_TEXT = pd.Series(dtype=str).dtype  # what pandas reads a dtype=str column as
_HEAD_CHARS = 1 << 20
_BLANKISH_LINE = re.compile(r"^[ \t]+\r?$", re.MULTILINE)


def _blankish_line(text: str) -> bool:
    """Whether a line holds spaces or tabs alone (pandas skips it; Arrow reads a row)."""
    starts = "\n " in text or "\n\t" in text or text.startswith((" ", "\t"))
    return starts and _BLANKISH_LINE.search(text) is not None


def _long_row(text: str, sep: str) -> str:
    """Which data row has more fields than the header (found only on that error path)."""
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        width = len(next(rows, []))
        for i, row in enumerate((r for r in rows if r), start=1):  # pandas skips blank lines
            if len(row) > width:
                return (
                    f"data row {i} (header row not counted): {len(row)} fields, but the "
                    f"header has {width}"
                )
    except csv.Error:
        pass
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
    _not_a_table(data, file)
    kind = _kind(file, data)
    lines = None
    if kind == "parquet":
        frame = _read_parquet(data, file)
    elif kind == "jsonl":
        frame, lines = _read_jsonl(_decode(data, file), file)
    elif kind == "csv":
        frame = _read_csv(_decode(data, file), file, data)
    else:
        frame = _read_json(_decode(data, file), file)
    if len(frame) == 0:
        raise WorkloadError(f"{file}: no queries (the file has no data rows)")
    return frame, file, RowLabels(kind, lines)
