"""Workloads: per-query input and output token counts, read from a file or made up for demos.

``load_workload`` reads CSV, JSONL, JSON (a list of records, as Alpaca ships) or Parquet.
Token counts come from columns such as ``input_tokens``/``output_tokens`` or
``prompt_tokens``/``completion_tokens``, or a published trace's own spellings (Azure's
``ContextTokens``/``GeneratedTokens``, Splitwise/Vidur's ``num_prefill_tokens``/
``num_decode_tokens``, Mooncake's ``input_length``/``output_length``, BurstGPT's
``Request tokens``/``Response tokens``); an optional ``count`` column repeats a row and an
optional ``task`` column labels it (per-task accuracy scores key on it).  An arrival-time
column (``TIMESTAMP``, ``arrived_at``, ...: date-times or seconds) is kept as ``arrival_s``,
seconds from the first arrival.  Text columns
(``prompt``, ``response``, or Alpaca's ``instruction``/``input``/``output``) are counted with
a transformers tokenizer the caller names (a local path; a hub id only with
``allow_download``).  Every problem becomes a ``WorkloadError`` naming the file, the row and
what is wrong; nothing is dropped or repaired silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.workload.formats import (
    DEFAULT_MAX_BYTES,
    MAX_TOKENS,
    RowLabels,
    WorkloadError,
    read_table,
)
from planner.workload.synthetic import synthetic_tokens

__all__ = [
    "Workload",
    "WorkloadError",
    "load_workload",
    "synthetic_workload",
    "DEFAULT_MAX_BYTES",
    "MAX_TOKENS",
    "DEFAULT_TASK",
]

DEFAULT_TASK = "general"
INPUT_COLUMNS = (
    "input_tokens",
    "prompt_tokens",
    "num_input_tokens",
    "n_input_tokens",
    "tin",
    "input_len",
    "input_length",
    "number of input tokens",
    "contexttokens",
    "num_prefill_tokens",
    "request tokens",
)
OUTPUT_COLUMNS = (
    "output_tokens",
    "completion_tokens",
    "num_output_tokens",
    "n_output_tokens",
    "tout",
    "output_len",
    "output_length",
    "number of output tokens",
    "output token limit",
    "generatedtokens",
    "num_decode_tokens",
    "response tokens",
)
COUNT_COLUMNS = ("count", "n_queries", "repeats")
# Queries in a whole workload (so also in one row): more is a corrupt file, and below it
# queries x MAX_TOKENS x 2 fits int64, so token totals cannot wrap around.
MAX_COUNT = 10**12
ARRIVAL_COLUMNS = ("arrival_s", "arrived_at", "timestamp")
# (arrival column, input column) of traces that give arrival numbers in milliseconds:
# Mooncake's JSONL "timestamp" is milliseconds since its first request.
MILLISECOND_TRACES = {("timestamp", "input_length")}
MISSING_TEXT = ("", "nan", "na", "null")
TASK_COLUMNS = ("task", "category")
PROMPT_TEXT = (("prompt",), ("question",), ("instruction", "input"), ("instruction",))
RESPONSE_TEXT = ("response", "completion", "answer", "output")


@dataclass
class Workload:
    """Queries as a table: one row per input row, ``count`` queries each."""

    queries: pd.DataFrame
    name: str = "workload"
    source: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_queries(self) -> int:
        return int(self.queries["count"].sum())

    @property
    def n_rows(self) -> int:
        return len(self.queries)

    def total_tokens(self) -> int:
        q = self.queries
        return int(((q["input_tokens"] + q["output_tokens"]) * q["count"]).sum())

    def groups(self) -> tuple[pd.DataFrame, np.ndarray]:
        """Distinct (input_tokens, output_tokens, task) with summed counts, and each row's group."""
        keys = ["input_tokens", "output_tokens", "task"]
        grouped = self.queries.groupby(keys, sort=True)
        codes = grouped.ngroup().to_numpy()
        groups = grouped["count"].sum().reset_index()
        groups["count"] = groups["count"].astype(np.int64)
        return groups, codes.astype(np.int64)


def _find(columns: dict[str, str], names) -> str | None:
    for name in names:
        if name in columns:
            return columns[name]
    return None


def _numbers(values: pd.Series) -> np.ndarray:
    """The column as float64, NaN where a value is not a number (booleans are not)."""
    if values.dtype.kind == "b":
        return np.full(len(values), np.nan)
    x = _arrow_numbers(values) if getattr(values.dtype, "storage", None) == "pyarrow" else None
    if x is None:
        x = pd.to_numeric(values, errors="coerce")
        x = pd.Series(x).to_numpy(dtype=np.float64, na_value=np.nan)
    if values.dtype == object:  # JSON: to_numeric reads True as 1
        isbool = np.fromiter(
            (isinstance(v, (bool, np.bool_)) for v in values.to_numpy()), bool, len(values)
        )
        x = np.where(isbool, np.nan, x)
    return x


def _arrow_numbers(values: pd.Series) -> np.ndarray | None:
    """A text column (CSV) as float64 by Arrow's parser, or None when a cell does not parse.

    Arrow's cast is some 30 times faster than ``to_numeric`` on a million-row column; a
    column with any unparsable cell is left to ``to_numeric``, which marks the cells.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(pa.array(values), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _arrow_times(values: pd.Series) -> pd.Series | None:
    """A text column of offset-free ISO 8601 date-times by Arrow's parser (some ten times
    faster than ``to_datetime``), or None when a cell does not parse that way."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        times = pc.cast(pa.array(values), pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(times.to_numpy(zero_copy_only=False))


def _nested(values: pd.Series) -> np.ndarray:
    """Which cells hold a JSON object or list (only an object column can)."""
    if values.dtype != object:
        return np.zeros(len(values), dtype=bool)
    cells = values.to_numpy()
    return np.fromiter((isinstance(v, (dict, list, tuple)) for v in cells), bool, len(cells))


def _is_missing(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in MISSING_TEXT
    return v is None or (not isinstance(v, (dict, list, tuple)) and bool(pd.isna(v)))


def _shown(v) -> str:
    """A cell as an error message quotes it: short, and never the repr of a nested value."""
    if isinstance(v, dict):
        return "a JSON object"
    if isinstance(v, (list, tuple)):
        return "a JSON list"
    text = repr(v.item() if isinstance(v, np.generic) else v)
    return text if len(text) <= 40 else text[:37] + "..."


def _int_problem(v, x: float, minimum: int, top: int, unit: str) -> str:
    """Why one cell is not an integer in [minimum, top]."""
    if _is_missing(v):
        return "missing (empty or NaN)"
    if np.isnan(x):
        return f"{_shown(v)} is not a number"
    if not np.isfinite(x) or x != np.floor(x):
        return f"{_shown(v)} is not an integer"
    if x < minimum:
        return f"{_shown(v)} is negative" if x < 0 else f"{_shown(v)} is below {minimum}"
    return f"{_shown(v)} is absurd (over {top:,} {unit})"


def _first_bad(bad: np.ndarray, column, file, label, problem) -> None:
    """Raise naming the first row flagged in ``bad`` (``problem(i)`` says why), if any."""
    rows = np.flatnonzero(bad)
    if len(rows):
        i = int(rows[0])
        more = f" ({len(rows)} rows have problems in this column)" if len(rows) > 1 else ""
        raise WorkloadError(f"{file}: {label(i)}: column {column!r}: {problem(i)}{more}")


def _check_ints(
    values: pd.Series, column: str, file: str, label: RowLabels, minimum: int, top: int, unit: str
) -> np.ndarray:
    """Integers in [minimum, top]; the first bad row is named, with how many are bad.

    Checked vectorised: only the first bad cell is described on its own.
    """
    x = _numbers(values)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & (x == np.floor(x)) & (x >= minimum) & (x <= top)
    _first_bad(
        ~ok,
        column,
        file,
        label,
        lambda i: _int_problem(values.iloc[i], x[i], minimum, top, unit),
    )
    return x.astype(np.int64)


def _arrival_seconds(
    values: pd.Series, column: str, file: str, label: RowLabels, unit_s: float
) -> np.ndarray:
    """Arrival times (date-times, or numbers of ``unit_s`` seconds) as seconds from the first.

    The first row decides which: a number there means numbers throughout.
    """
    kind = values.dtype.kind
    if kind in "Mm":  # Parquet's own timestamp or duration types
        t = pd.Series(values)
        bad = t.isna().to_numpy()
        _first_bad(bad, column, file, label, lambda i: "missing arrival time")
        return ((t - t.min()) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    if kind in "iuf" or not np.isnan(_numbers(values.iloc[:1])[0]):
        seconds = _numbers(values) * unit_s
        ok = np.isfinite(seconds)
        _first_bad(
            ~ok,
            column,
            file,
            label,
            lambda i: (
                "missing arrival time"
                if _is_missing(values.iloc[i])
                else f"{_shown(values.iloc[i])} is not a finite number of seconds"
            ),
        )
        return seconds - seconds.min()
    t = _arrow_times(values) if getattr(values.dtype, "storage", None) == "pyarrow" else None
    if t is None:  # an object or list cell becomes missing text, refused as unreadable
        text = values.where(~_nested(values), None).astype("string")
        t = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    _first_bad(
        t.isna().to_numpy(),
        column,
        file,
        label,
        lambda i: (
            "missing arrival time"
            if _is_missing(values.iloc[i])
            else f"{_shown(values.iloc[i])} is neither a date-time (such as "
            "2023-11-16 18:15:46.68) nor a number of seconds"
        ),
    )
    return ((t - t.min()) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)


def _tasks(values: pd.Series, column: str, file: str, label: RowLabels):
    """Task names, blank ones the default; as pandas' own array (no copy to numpy and back)."""
    _first_bad(
        _nested(values), column, file, label, lambda i: f"{_shown(values.iloc[i])}, not a task name"
    )
    return values.fillna(DEFAULT_TASK).astype(str).str.strip().replace("", DEFAULT_TASK).array


def _texts(frame: pd.DataFrame, cols: tuple[str, ...], file: str, label: RowLabels) -> list[str]:
    parts = []
    for col in cols:
        series = frame[col]
        bad = series.isna() & (col == cols[0])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise WorkloadError(f"{file}: {label(i)}: column {col!r} is empty")
        _first_bad(
            _nested(series),
            col,
            file,
            label,
            lambda i, cells=series: f"{_shown(cells.iloc[i])}, not text",
        )
        parts.append(series.fillna("").astype(str))
    text = parts[0]
    for extra in parts[1:]:
        text = text.where(extra == "", text + "\n" + extra)
    return text.tolist()


def _count_tokens(texts: list[str], tokenizer, allow_download: bool, file: str) -> np.ndarray:
    tok = _load_tokenizer(tokenizer, allow_download)
    try:
        ids = tok(texts, add_special_tokens=True)["input_ids"]
    except Exception as exc:  # a user's tokenizer may raise anything
        raise WorkloadError(f"{file}: tokenizer failed: {exc}") from exc
    return np.array([len(x) for x in ids], dtype=np.int64)


def _load_tokenizer(tokenizer, allow_download: bool):
    if not isinstance(tokenizer, (str, os.PathLike)):
        return tokenizer
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise WorkloadError(
            "counting tokens from text needs transformers installed (pip install transformers)"
        ) from exc
    try:
        return AutoTokenizer.from_pretrained(str(tokenizer), local_files_only=not allow_download)
    except Exception as exc:
        hint = "" if allow_download else " (local files only; allow downloads to fetch a hub id)"
        raise WorkloadError(
            f"cannot load tokenizer {str(tokenizer)!r}{hint}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc


def _token_column(frame, columns, names, text_cols, what, file, label, tokenizer, allow_dl):
    col = _find(columns, names)
    if col is not None:
        return _check_ints(frame[col], col, file, label, 0, MAX_TOKENS, "tokens")
    if text_cols:
        if tokenizer is None:
            raise WorkloadError(
                f"{file}: no {what} token column ({', '.join(names[:2])}) but text column(s) "
                f"{', '.join(text_cols)}: name a tokenizer (a local path) to count tokens"
            )
        counts = _count_tokens(_texts(frame, text_cols, file, label), tokenizer, allow_dl, file)
        too_big = np.flatnonzero(counts > MAX_TOKENS)
        if len(too_big):
            raise WorkloadError(
                f"{file}: {label(int(too_big[0]))}: {what} text is "
                f"absurd (over {MAX_TOKENS:,} tokens)"
            )
        return counts
    raise WorkloadError(
        f"{file}: missing column for {what} tokens: expected one of "
        f"{', '.join(names)} (found: {', '.join(frame.columns.astype(str))})"
    )


def _text_columns(columns: dict[str, str], options) -> tuple[str, ...]:
    for option in options:
        option = option if isinstance(option, tuple) else (option,)
        if option[0] in columns:
            return tuple(columns[c] for c in option if c in columns)
    return ()


def load_workload(
    source,
    *,
    name: str | None = None,
    tokenizer=None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_download: bool = False,
) -> Workload:
    """Read a workload file (path or file-like with a ``name``) into a validated ``Workload``."""
    frame, file, label = read_table(source, name=name, max_bytes=max_bytes)
    columns: dict[str, str] = {}
    for c in frame.columns:
        key = str(c).strip().lower()
        if key in columns:
            raise WorkloadError(
                f"{file}: columns {columns[key]!r} and {c!r} differ only in "
                "case or spaces: which one is meant is unclear"
            )
        columns[key] = c
    prompt_cols = _text_columns(columns, PROMPT_TEXT)
    response_cols = _text_columns(columns, RESPONSE_TEXT)
    if _find(columns, OUTPUT_COLUMNS) is None and response_cols == prompt_cols[1:2]:
        response_cols = ()  # Alpaca's 'input' is prompt text; 'output' is the response
    tin = _token_column(
        frame, columns, INPUT_COLUMNS, prompt_cols, "input", file, label, tokenizer, allow_download
    )
    tout = _token_column(
        frame,
        columns,
        OUTPUT_COLUMNS,
        response_cols,
        "output",
        file,
        label,
        tokenizer,
        allow_download,
    )
    empty = np.flatnonzero((tin == 0) & (tout == 0))
    if len(empty):  # nothing to serve; and a workload of them alone has no tokens to weigh
        more = f" ({len(empty)} rows are)" if len(empty) > 1 else ""
        raise WorkloadError(
            f"{file}: {label(int(empty[0]))}: 0 input and 0 output tokens is not a query{more}"
        )
    count_col = _find(columns, COUNT_COLUMNS)
    count = (
        _check_ints(frame[count_col], count_col, file, label, 1, MAX_COUNT, "queries")
        if count_col
        else np.ones(len(frame), dtype=np.int64)
    )
    total = float(count.sum(dtype=np.float64))
    if total > MAX_COUNT:
        raise WorkloadError(
            f"{file}: column {count_col!r}: the counts add up to {total:,.0f} queries, "
            f"over the {MAX_COUNT:,} a workload may hold"
        )
    task_col = _find(columns, TASK_COLUMNS)
    task = _tasks(frame[task_col], task_col, file, label) if task_col else DEFAULT_TASK
    queries = pd.DataFrame(
        {"input_tokens": tin, "output_tokens": tout, "task": task, "count": count}
    )
    notes = []
    arrival_col = _find(columns, ARRIVAL_COLUMNS)
    if arrival_col is not None:
        key = str(arrival_col).strip().lower()
        input_key = str(_find(columns, INPUT_COLUMNS) or "").strip().lower()
        ms = (key, input_key) in MILLISECOND_TRACES
        queries["arrival_s"] = _arrival_seconds(
            frame[arrival_col], arrival_col, file, label, 0.001 if ms else 1.0
        )
        notes.append(
            f"arrival times from column {arrival_col!r}"
            + (" read as milliseconds (Mooncake's trace convention)" if ms else "")
            + ", kept as seconds from the first arrival"
        )
    if (tin == 0).any() or (tout == 0).any():
        notes.append(f"{int(((tin == 0) | (tout == 0)).sum())} rows have zero tokens")
    return Workload(queries=queries, name=name or Path(file).stem, source=file, notes=notes)


def synthetic_workload(kind: str, n_queries: int, seed: int = 0) -> Workload:
    """A seeded made-up workload shaped like chat, math or code queries (one row per query)."""
    cols = synthetic_tokens(kind, n_queries, seed)
    queries = pd.DataFrame(
        {
            "input_tokens": cols[0],
            "output_tokens": cols[1],
            "task": kind,
            "count": np.ones(int(n_queries), dtype=np.int64),
        }
    )
    return Workload(
        queries=queries,
        name=f"synthetic-{kind}-{n_queries}-seed{seed}",
        source=None,
        notes=[f"synthetic {kind} workload (seed {seed}), not measured"],
    )
