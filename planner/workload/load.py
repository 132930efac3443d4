"""Workloads: per-query input and output token counts, read from a file or made up for demos.

``load_workload`` reads CSV, JSONL, JSON (a list of records, as Alpaca ships) or Parquet.
Token counts come from columns such as ``input_tokens``/``output_tokens`` or
``prompt_tokens``/``completion_tokens``; an optional ``count`` column repeats a row and an
optional ``task`` column labels it (per-task accuracy scores key on it).  Text columns
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
)
COUNT_COLUMNS = ("count", "n_queries", "repeats")
MAX_COUNT = 10**12  # repeats of one row; more is a corrupt file, not a workload
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


def _check_ints(
    values: pd.Series, column: str, file: str, label: RowLabels, minimum: int
) -> np.ndarray:
    """Integers in [minimum, MAX_TOKENS]; the first bad row is named, with how many are bad."""
    if values.dtype.kind in "iu" and len(values):  # the usual case, checked vectorised
        ints = values.to_numpy()
        top = MAX_COUNT if column == "count" else min(MAX_TOKENS, MAX_COUNT)
        if ints.min() >= minimum and ints.max() <= top:
            return ints.astype(np.int64)
    raw = values.to_numpy(dtype=object)  # else row by row, to name the first bad one
    problems: list[tuple[int, str]] = []
    out = np.zeros(len(raw), dtype=np.int64)
    for i, v in enumerate(raw):
        problem = None
        if isinstance(v, (bool, np.bool_)):
            problem = f"{v!r} is not a number"
        elif v is None or (isinstance(v, str) and v.strip().lower() in ("", "nan", "na", "null")):
            problem = "missing (empty or NaN)"
        else:
            try:
                x = float(v)
            except (TypeError, ValueError):
                problem = f"{v!r} is not a number"
            else:
                if np.isnan(x):
                    problem = "missing (empty or NaN)"
                elif not np.isfinite(x) or x != np.floor(x):
                    problem = f"{v!r} is not an integer"
                elif x < minimum:
                    problem = f"{v!r} is negative" if x < 0 else f"{v!r} is below {minimum}"
                elif column != "count" and x > MAX_TOKENS:
                    problem = f"{v!r} is absurd (over {MAX_TOKENS:,} tokens)"
                elif x > MAX_COUNT:
                    problem = f"{v!r} is absurd (over {MAX_COUNT:,} queries)"
                else:
                    out[i] = int(x)
        if problem:
            problems.append((i, problem))
    if problems:
        i, problem = problems[0]
        more = f" ({len(problems)} rows have problems in this column)" if len(problems) > 1 else ""
        raise WorkloadError(f"{file}: {label(i)}: column {column!r}: {problem}{more}")
    return out


def _texts(frame: pd.DataFrame, cols: tuple[str, ...], file: str, label: RowLabels) -> list[str]:
    parts = []
    for col in cols:
        series = frame[col]
        bad = series.isna() & (col == cols[0])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise WorkloadError(f"{file}: {label(i)}: column {col!r} is empty")
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
        return _check_ints(frame[col], col, file, label, 0)
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
    count_col = _find(columns, COUNT_COLUMNS)
    count = (
        _check_ints(frame[count_col], count_col, file, label, 1)
        if count_col
        else np.ones(len(frame), dtype=np.int64)
    )
    task_col = _find(columns, TASK_COLUMNS)
    task = (
        frame[task_col]
        .fillna(DEFAULT_TASK)
        .astype(str)
        .str.strip()
        .replace("", DEFAULT_TASK)
        .to_numpy()
        if task_col
        else DEFAULT_TASK
    )
    queries = pd.DataFrame(
        {"input_tokens": tin, "output_tokens": tout, "task": task, "count": count}
    )
    notes = []
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
